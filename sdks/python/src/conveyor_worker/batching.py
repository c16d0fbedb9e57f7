"""Micro-batching across runs (protocol §9): which requests of a batch queue run together.

The connection thread owns a :class:`Batching`: it adds each valid request as it arrives and
takes batches out when one is full, or its oldest item has waited ``max_wait`` seconds, while
fewer than ``concurrency`` batches run. Each item stays an :class:`~.attempts.Attempt` of its
own: its result, heartbeats, chain and ack are the single-item path's.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Callable, Deque, List, Optional, Sequence, Tuple, Union

from .context import StepContext
from .errors import FatalStepError
from .protocol import JSON

#: One item's outcome: its output (JSON), or the exception that failed it.
ItemOutcome = Union[JSON, BaseException]
#: ``fn(items)`` handles a batch; it returns one outcome per item, in order.
BatchFunction = Callable[[List[StepContext]], Sequence[ItemOutcome]]


@dataclass
class Batching:
    """A batch queue's policy and the items waiting for a batch (connection thread only)."""

    fn: BatchFunction
    max_batch_size: int
    #: Seconds the oldest item waits for company.
    max_wait: float
    #: Batches running at once.
    concurrency: int
    prefetch: int
    running: int = 0
    #: (attempt id, input, monotonic arrival time), oldest first.
    waiting: Deque[Tuple[int, JSON, float]] = field(default_factory=collections.deque)

    def take(self, now: float) -> Optional[List[Tuple[int, JSON, float]]]:
        """The next batch to start now, or None (none full or due, or no free slot)."""
        if self.running >= self.concurrency or not self.waiting:
            return None
        if len(self.waiting) < self.max_batch_size and now - self.waiting[0][2] < self.max_wait:
            return None
        size = min(self.max_batch_size, len(self.waiting))
        self.running += 1
        return [self.waiting.popleft() for _ in range(size)]

    def due_in(self, now: float) -> Optional[float]:
        """Seconds until the oldest waiting item is due (None: nothing to wait for)."""
        if self.running >= self.concurrency or not self.waiting:
            return None
        return max(0.0, self.waiting[0][2] + self.max_wait - now)


def run_batch(fn: BatchFunction, queue: str, contexts: List[StepContext]) -> List[ItemOutcome]:
    """Calls ``fn`` and pairs its answer with the items: a call that raises, or that answers
    with the wrong number of outcomes, fails every item (each with its own result)."""
    try:
        returned = fn(contexts)
    except Exception as error:  # reported per item, like a single handler's exception
        return [error] * len(contexts)
    if not isinstance(returned, (list, tuple)) or len(returned) != len(contexts):
        got = f"{len(returned)} outcomes" if isinstance(returned, (list, tuple)) else type(returned).__name__
        mismatch = FatalStepError(
            f"the {queue} batch handler returned {got} for {len(contexts)} items: return a list "
            "with one outcome (an output, or an exception) per item, in order",
            code="INVALID_BATCH_OUTPUT",
        )
        return [mismatch] * len(contexts)
    return list(returned)
