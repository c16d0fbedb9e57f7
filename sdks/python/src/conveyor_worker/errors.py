"""Failures a handler raises to report a failed attempt with a retry decision (protocol §4)."""

from __future__ import annotations

import json
from typing import Any, Dict, Optional, Tuple

from .protocol import JSON


class StepFailure(Exception):
    """A failed attempt with an explicit retry decision; the base of the two below.

    Any other exception a handler raises is reported as retryable with code ``UNHANDLED``: an
    unknown failure is more often transient (a dependency timing out) than permanent, and the
    step's ``retry.maxAttempts`` bounds what retrying it costs.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        code: Optional[str] = None,
        details: JSON = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.code = code
        self.details = details

    def __reduce__(self) -> Tuple[Any, ...]:
        # Handlers in worker processes raise these across a pickle boundary: keep every field.
        return (_rebuild, (type(self), self.message, self.retryable, self.code, self.details))


def _rebuild(
    cls: type, message: str, retryable: bool, code: Optional[str], details: JSON
) -> StepFailure:
    failure: StepFailure = StepFailure.__new__(cls)
    StepFailure.__init__(failure, message, retryable=retryable, code=code, details=details)
    return failure


class FatalStepError(StepFailure):
    """Retrying cannot help (invalid input, unsupported document): the step fails at once."""

    def __init__(self, message: str, *, code: Optional[str] = None, details: JSON = None) -> None:
        super().__init__(message, retryable=False, code=code, details=details)


class RetryableStepError(StepFailure):
    """Transient (overload, model still loading): the orchestrator retries with backoff."""

    def __init__(self, message: str, *, code: Optional[str] = None, details: JSON = None) -> None:
        super().__init__(message, retryable=True, code=code, details=details)


def to_step_error(error: BaseException) -> Dict[str, JSON]:
    """The ``error`` object of a failed result (``StepError`` in the JSON Schema)."""
    if isinstance(error, StepFailure):
        out: Dict[str, JSON] = {
            "message": error.message or type(error).__name__,
            "retryable": error.retryable,
        }
        if error.code:
            out["code"] = error.code
        if error.details is not None:
            out["details"] = _as_json(error.details)
        return out
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return {"message": text, "code": "UNHANDLED", "retryable": True}


def _as_json(details: JSON) -> JSON:
    """``details`` if JSON can carry it, else its ``repr``: a failure report must still go out."""
    try:
        json.dumps(details, allow_nan=False)
    except (TypeError, ValueError):
        return repr(details)
    return details
