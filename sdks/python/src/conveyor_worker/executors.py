"""Where handlers run: a thread pool per queue, or a process pool for CPU-bound models (§9 batches too).

Pools report back only through :class:`~.in_flight.InFlight` outcomes and session calls: the
connection thread does all publishing and acking.
"""

from __future__ import annotations

import functools
import multiprocessing
import threading
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, Dict, List, Optional

from .attempts import Attempt, Handler, Outcome
from .batching import ItemOutcome, run_batch
from .child import init_child, run_in_child
from .context import StepContext, make_context
from .heartbeats import Heartbeats
from .in_flight import InFlight
from .protocol import JSON, parse_time
from .session import Session


class Executors:
    def __init__(
        self,
        handlers: Dict[str, Handler],
        in_flight: InFlight,
        session: Session,
        heartbeats: Heartbeats,
        stopping: threading.Event,
    ) -> None:
        self._handlers = handlers
        self._in_flight = in_flight
        self._session = session
        self._heartbeats = heartbeats
        self._stopping = stopping
        self._progress_queue: Any = None
        self._child_stopping: Any = None

    # ----------------------------------------------------------------------------------------
    # Pools

    def start(self) -> None:
        needs_processes = any(h.processes for h in self._handlers.values())
        if needs_processes and self._progress_queue is None:
            context = multiprocessing.get_context("spawn")
            self._progress_queue = context.Queue()
            self._child_stopping = context.Event()
            threading.Thread(target=self._forward_progress, name="conveyor-progress", daemon=True).start()
        for handler in self._handlers.values():
            handler.executor = self._new_executor(handler)

    def _new_executor(self, handler: Handler) -> Executor:
        if handler.processes:
            # spawn, not fork: a forked child would inherit the connection thread's locks.
            return ProcessPoolExecutor(
                max_workers=handler.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=init_child,
                initargs=(self._progress_queue, self._child_stopping),
            )
        return ThreadPoolExecutor(max_workers=handler.concurrency, thread_name_prefix=f"conveyor-{handler.queue}")

    def stop_children(self) -> None:
        """Lets process handlers see ``ctx.stopping`` (any thread)."""
        if self._child_stopping is not None:
            self._child_stopping.set()

    def shutdown(self) -> None:
        for handler in self._handlers.values():
            if handler.executor is not None:
                handler.executor.shutdown(wait=True, cancel_futures=True)
                handler.executor = None
        if self._progress_queue is not None:
            self._progress_queue.put(None)
            self._progress_queue = None

    def replace_broken_pool(self, handler: Handler) -> None:
        broken = handler.executor
        if isinstance(broken, ProcessPoolExecutor) and getattr(broken, "_broken", False):
            handler.executor = self._new_executor(handler)
            broken.shutdown(wait=False, cancel_futures=True)

    def _forward_progress(self) -> None:
        queue = self._progress_queue
        while True:
            item = queue.get()
            if item is None:
                return
            attempt_id, progress, message = item
            self._heartbeats.from_child(attempt_id, progress, message)

    # ----------------------------------------------------------------------------------------
    # Single requests

    def submit(self, attempt: Attempt, step_input: JSON) -> None:
        """Starts a valid request: at once, or once its batch is due (connection thread)."""
        handler = attempt.handler
        if handler.batch is not None:
            handler.batch.waiting.append((attempt.id, step_input, time.monotonic()))
            self.start_due_batches()
            return
        future: "Future[JSON]"
        assert handler.executor is not None and handler.fn is not None
        if handler.processes:
            future = handler.executor.submit(run_in_child, handler.fn, attempt.request, step_input, attempt.key, attempt.id)
        else:
            future = handler.executor.submit(self._run_in_thread, attempt, step_input)
        future.add_done_callback(functools.partial(self._done, attempt))

    def _context(self, attempt: Attempt, step_input: JSON) -> StepContext:
        return make_context(
            attempt.request,
            step_input,
            attempt.key,
            parse_time(attempt.request["deadline"]),
            lambda progress, message: self._heartbeats.from_thread(attempt, progress, message),
            self._stopping.is_set,
        )

    def _run_in_thread(self, attempt: Attempt, step_input: JSON) -> JSON:
        assert attempt.handler.fn is not None
        return attempt.handler.fn(self._context(attempt, step_input))

    def _done(self, attempt: Attempt, future: "Future[JSON]") -> None:
        error = future.exception()
        self._in_flight.outcomes.append(Outcome(attempt, error=error) if error else Outcome(attempt, output=future.result()))
        self._session.wake()

    # ----------------------------------------------------------------------------------------
    # Batches (§9): items wait in their handler's Batching; each still finishes on its own.

    def start_due_batches(self) -> None:
        now = time.monotonic()
        for handler in self._handlers.values():
            batching = handler.batch
            if batching is None:
                continue
            while True:
                taken = batching.take(now)
                if taken is None:
                    break
                attempts = self._in_flight.get_all(attempt_id for attempt_id, _, _ in taken)
                contexts = [self._context(a, step_input) for a, (_, step_input, _) in zip(attempts, taken)]
                assert handler.executor is not None
                future = handler.executor.submit(run_batch, batching.fn, handler.queue, contexts)
                future.add_done_callback(functools.partial(self._batch_done, handler, attempts))

    def batch_due_in(self, now: float) -> List[float]:
        """Seconds until each batch queue's oldest item is due, so the connection thread wakes for it."""
        due: List[float] = []
        for handler in self._handlers.values():
            batch_due: Optional[float] = handler.batch.due_in(now) if handler.batch else None
            if batch_due is not None:
                due.append(batch_due)
        return due

    def _batch_done(self, handler: Handler, attempts: List[Attempt], future: "Future[List[ItemOutcome]]") -> None:
        error = future.exception()
        outcomes: List[ItemOutcome] = [error] * len(attempts) if error else future.result()
        for attempt, outcome in zip(attempts, outcomes):
            self._in_flight.outcomes.append(
                Outcome(attempt, error=outcome) if isinstance(outcome, BaseException) else Outcome(attempt, output=outcome)
            )
        # Only the connection thread takes batches; it looks again once woken.
        self._session.call(functools.partial(self._release_batch_slot, handler))

    def _release_batch_slot(self, handler: Handler) -> None:
        assert handler.batch is not None
        handler.batch.running -= 1
