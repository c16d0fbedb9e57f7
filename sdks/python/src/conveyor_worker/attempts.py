"""The worker's bookkeeping: handlers, attempts in flight and their outcomes."""

from __future__ import annotations

from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from .batching import Batching
from .context import StepContext
from .protocol import JSON, Message
from .validation import Checker

HandlerFunction = Callable[[StepContext], JSON]


@dataclass
class Handler:
    """One queue's handler and how it runs: ``fn`` per request, or ``batch`` (§9)."""

    queue: str
    fn: Optional[HandlerFunction]
    concurrency: int
    heartbeat_interval: Optional[float]
    processes: Optional[int]
    input_check: Optional[Checker]
    output_check: Optional[Checker]
    executor: Optional[Executor] = None
    batch: Optional[Batching] = None

    @property
    def prefetch(self) -> int:
        return self.batch.prefetch if self.batch else self.concurrency


@dataclass
class Attempt:
    id: int
    handler: Handler
    request: Message
    key: str
    channel: Any
    delivery_tag: int
    generation: int
    started_at: str
    next_heartbeat: Optional[float]


@dataclass
class Outcome:
    attempt: Attempt
    output: JSON = None
    error: Optional[BaseException] = None


@dataclass
class Call:
    """Work for the connection thread on behalf of a handler thread (a heartbeat)."""

    run: Callable[[], None]
    done: "Future[None]" = field(default_factory=Future)


