"""What a handler gets for one attempt."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Optional

from .protocol import JSON, Message

#: Sends one heartbeat (progress 0..1 or None, message or None) for the attempt.
HeartbeatSink = Callable[[Optional[float], Optional[str]], None]
#: True once the worker is shutting down.
StoppingProbe = Callable[[], bool]


@dataclass(frozen=True)
class StepContext:
    """One attempt of one step: its input, identity and a way to heartbeat.

    ``idempotency_key`` is the key to deduplicate side effects on: equal for this step of this
    run (this fan-out item) across attempts, redeliveries and chain continuations. ``task_id``
    is not: a worker continuing a chain gives the next step a new one each time it runs.
    """

    input: JSON
    #: The raw ``workflow.step.request`` (a dict, as decoded from JSON).
    request: Message
    run_id: str
    task_id: str
    step: str
    attempt: int
    item_index: Optional[int]
    idempotency_key: str
    #: When the orchestrator gives up on this attempt unless a heartbeat pushes it further.
    deadline: datetime
    _heartbeat: HeartbeatSink = field(repr=False, compare=False)
    _stopping: StoppingProbe = field(repr=False, compare=False)

    def heartbeat(self, progress: Optional[float] = None, message: Optional[str] = None) -> None:
        """Reports progress (0..1) and pushes the attempt's deadline to now + the step timeout.

        In a thread handler it returns once the broker confirmed the heartbeat; in a process
        handler it returns at once (the parent process publishes it).
        """
        self._heartbeat(progress, message)

    @property
    def stopping(self) -> bool:
        """True once the worker is shutting down: a long handler may stop early and fail retryably."""
        return self._stopping()


def make_context(
    request: Message,
    step_input: JSON,
    key: str,
    deadline: datetime,
    heartbeat: HeartbeatSink,
    stopping: StoppingProbe,
) -> StepContext:
    item = request.get("itemIndex")
    return StepContext(
        input=step_input,
        request=request,
        run_id=request["runId"],
        task_id=request["taskId"],
        step=request["step"],
        attempt=request["attempt"],
        item_index=item if isinstance(item, int) else None,
        idempotency_key=key,
        deadline=deadline,
        _heartbeat=heartbeat,
        _stopping=stopping,
    )
