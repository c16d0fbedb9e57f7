"""The side of a process handler that runs in a worker process (``processes=N``).

Handlers of CPU-bound models run here, outside the interpreter that holds the connection, so
that they neither hold its GIL nor starve its AMQP heartbeats. Heartbeats go back to the parent
through a queue; the parent publishes them.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from .context import StepContext, make_context
from .protocol import JSON, Message, parse_time

_progress: Optional[Any] = None
_stopping: Optional[Any] = None


def init_child(progress: Any, stopping: Any) -> None:
    """Pool initializer: the queue heartbeats go to and the event set on shutdown."""
    global _progress, _stopping
    _progress, _stopping = progress, stopping


def run_in_child(
    fn: Callable[[StepContext], JSON], request: Message, step_input: JSON, key: str, attempt_id: int
) -> JSON:
    def heartbeat(progress: Optional[float], message: Optional[str]) -> None:
        if _progress is not None:
            _progress.put((attempt_id, progress, message))

    def stopping() -> bool:
        return bool(_stopping is not None and _stopping.is_set())

    context = make_context(request, step_input, key, parse_time(request["deadline"]), heartbeat, stopping)
    return fn(context)
