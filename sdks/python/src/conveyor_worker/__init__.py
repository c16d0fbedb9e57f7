"""Conveyor step workers in Python: see sdks/python/README.md and docs/worker-protocol.md."""

from .batching import ItemOutcome
from .context import StepContext
from .errors import FatalStepError, RetryableStepError, StepFailure
from .protocol import step_idempotency_key
from .topology import QueueTypeMismatch
from .validation import InvalidMessage
from .worker import Worker

__all__ = [
    "FatalStepError",
    "InvalidMessage",
    "ItemOutcome",
    "QueueTypeMismatch",
    "RetryableStepError",
    "StepContext",
    "StepFailure",
    "Worker",
    "step_idempotency_key",
]
__version__ = "0.1.0"
