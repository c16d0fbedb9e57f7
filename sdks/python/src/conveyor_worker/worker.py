"""The worker: consumes step queues, runs handlers in threads or processes, answers (protocol §3).

One thread owns the AMQP connection (pika's BlockingConnection is not thread-safe): it receives
requests, publishes results, heartbeats and chained requests, and acks. Handlers run in a thread
pool per queue, or a process pool for CPU-bound models; when one finishes, its outcome is queued
for the connection thread, which is woken at once.
"""

from __future__ import annotations

import collections
import functools
import itertools
import json
import logging
import multiprocessing
import os
import socket
import threading
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timezone
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Tuple, TypeVar

import pika

from .amqp import RECONNECTABLE, REFUSED, count_redelivery, publish
from .attempts import Attempt, Call, Handler, HandlerFunction, Outcome
from .batching import BatchFunction, Batching, ItemOutcome, run_batch
from .child import init_child, run_in_child
from .context import StepContext, make_context
from .errors import FatalStepError, to_step_error
from .protocol import (
    JSON,
    Message,
    chained_request,
    idempotency_key_of,
    now_iso,
    parse_time,
    progress_message,
    queue_type_from_env,
    result_message,
)
from .signals import stop_on_signals
from .topology import QueueTypeMismatch, declare_step_queue
from .validation import InvalidMessage, parse_request, schema_checker

log = logging.getLogger("conveyor_worker")

F = TypeVar("F", bound=HandlerFunction)
B = TypeVar("B", bound=BatchFunction)

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672"



class _Resubscribe(Exception):
    """The broker cancelled a consumer (its queue was deleted): declare and consume again."""


class Worker:
    """A step worker: register handlers with :meth:`handler`, then :meth:`run`.

    ``amqp_url`` defaults to ``AMQP_URL``, ``queue_type`` to ``STEP_QUEUE_TYPE`` (classic; must
    equal the orchestrator's), ``connection_name`` to ``CONNECTION_NAME``, else the worker id
    (``<hostname>/<pid>``). ``continue_chains=False`` leaves every dispatch to the orchestrator
    (§7); ``skip_expired=False`` runs requests whose deadline has passed (§3.3).
    """

    def __init__(
        self,
        amqp_url: Optional[str] = None,
        *,
        worker_id: Optional[str] = None,
        queue_type: Optional[str] = None,
        connection_name: Optional[str] = None,
        continue_chains: bool = True,
        skip_expired: bool = True,
        reconnect_delay: float = 1.0,
        max_reconnect_delay: float = 30.0,
        env: Optional[Mapping[str, str]] = None,
    ) -> None:
        environ = os.environ if env is None else env
        self.amqp_url = amqp_url or environ.get("AMQP_URL") or DEFAULT_AMQP_URL
        self.worker_id = worker_id or f"{socket.gethostname()}/{os.getpid()}"
        self.queue_type = queue_type or queue_type_from_env(environ)
        if self.queue_type not in ("classic", "quorum"):
            raise ValueError(f'queue_type must be classic or quorum, got "{self.queue_type}"')
        self.connection_name = connection_name or environ.get("CONNECTION_NAME") or self.worker_id
        self.continue_chains = continue_chains
        self.skip_expired = skip_expired
        self.reconnect_delay = reconnect_delay
        self.max_reconnect_delay = max_reconnect_delay
        #: Set while consuming (cleared while reconnecting).
        self.ready = threading.Event()
        self._handlers: Dict[str, Handler] = {}
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._outcomes: Deque[Outcome] = collections.deque()
        self._calls: Deque[Call] = collections.deque()
        self._attempts: Dict[int, Attempt] = {}
        self._ids = itertools.count(1)
        self._connection: Any = None
        self._channels: Dict[str, Any] = {}
        self._generation = 0
        self._resubscribe = False
        self._progress_queue: Any = None
        self._child_stopping: Any = None

    # ----------------------------------------------------------------------------------------
    # Registration

    def handler(
        self,
        queue: str,
        *,
        concurrency: int = 8,
        heartbeat_interval: Optional[float] = None,
        processes: Optional[int] = None,
        input_schema: Optional[Mapping[str, Any]] = None,
        output_schema: Optional[Mapping[str, Any]] = None,
    ) -> Callable[[F], F]:
        """Decorator: ``fn(ctx)`` handles the step requests of ``queue``; it returns the output.

        ``concurrency``: attempts run at once (the consumer's prefetch). ``heartbeat_interval``
        (seconds): heartbeats sent while it runs. ``processes``: run it in that many worker
        processes instead of threads (CPU-bound models; ``fn`` must be a module-level function).
        ``input_schema``/``output_schema``: JSON Schemas the input/output must match (fatal
        ``INVALID_INPUT``/``INVALID_OUTPUT`` otherwise; needs ``jsonschema``).
        """
        if queue in self._handlers:
            raise ValueError(f'two handlers for queue "{queue}": keep one per queue')
        if concurrency < 1:
            raise ValueError(f"concurrency of {queue} must be >= 1, got {concurrency}")
        if processes is not None and processes < 1:
            raise ValueError(f"processes of {queue} must be >= 1, got {processes}")
        if heartbeat_interval is not None and heartbeat_interval <= 0:
            raise ValueError(f"heartbeat_interval of {queue} must be > 0 seconds")
        input_check = schema_checker(input_schema, f"input_schema of {queue}") if input_schema else None
        output_check = schema_checker(output_schema, f"output_schema of {queue}") if output_schema else None

        def register(fn: F) -> F:
            self._handlers[queue] = Handler(
                queue, fn, concurrency, heartbeat_interval, processes, input_check, output_check
            )
            return fn

        return register

    def batch_handler(
        self,
        queue: str,
        *,
        max_batch_size: int,
        max_wait_ms: float,
        concurrency: int = 1,
        prefetch: Optional[int] = None,
        heartbeat_interval: Optional[float] = None,
        input_schema: Optional[Mapping[str, Any]] = None,
        output_schema: Optional[Mapping[str, Any]] = None,
    ) -> Callable[[B], B]:
        """Decorator: ``fn(items)`` handles the requests of ``queue`` in batches (protocol §9).

        ``items`` is a list of :class:`StepContext` (requests of any runs); ``fn`` returns a list
        with one outcome per item, in order: the item's output, or an exception instance that
        fails that item only (``FatalStepError``, ``RetryableStepError``; any other is retryable
        ``UNHANDLED``). Raising fails every item of the call. A batch starts when it holds
        ``max_batch_size`` items or its oldest has waited ``max_wait_ms``, while fewer than
        ``concurrency`` batches run (threads). ``prefetch`` defaults to
        ``max_batch_size * (concurrency + 1)``. Heartbeats, schemas, results, chains and acks are
        per item, as for :meth:`handler`.
        """
        if queue in self._handlers:
            raise ValueError(f'two handlers for queue "{queue}": keep one per queue')
        for what, value, least in (("max_batch_size", max_batch_size, 1), ("concurrency", concurrency, 1), ("prefetch", 1 if prefetch is None else prefetch, 1)):
            if not isinstance(value, int) or value < least:
                raise ValueError(f"{what} of the {queue} batch handler must be an integer >= {least}, got {value!r}")
        if max_wait_ms < 0:
            raise ValueError(f"max_wait_ms of the {queue} batch handler must be >= 0, got {max_wait_ms}")
        if heartbeat_interval is not None and heartbeat_interval <= 0:
            raise ValueError(f"heartbeat_interval of {queue} must be > 0 seconds")
        input_check = schema_checker(input_schema, f"input_schema of {queue}") if input_schema else None
        output_check = schema_checker(output_schema, f"output_schema of {queue}") if output_schema else None

        def register(fn: B) -> B:
            batching = Batching(
                fn, max_batch_size, max_wait_ms / 1000, concurrency, max_batch_size * (concurrency + 1) if prefetch is None else prefetch
            )
            self._handlers[queue] = Handler(
                queue, None, concurrency, heartbeat_interval, None, input_check, output_check, batch=batching
            )
            return fn

        return register

    @property
    def queues(self) -> List[str]:
        return list(self._handlers)

    def in_flight(self) -> int:
        """Attempts being handled right now."""
        with self._lock:
            return len(self._attempts)

    # ----------------------------------------------------------------------------------------
    # Running

    def run(self) -> None:
        """Consumes until :meth:`stop` (or SIGTERM/SIGINT in the main thread), reconnecting after
        broker loss. Raises :class:`QueueTypeMismatch` when a queue exists with the other type."""
        if not self._handlers:
            raise ValueError("no handlers: register one with @worker.handler(queue) before run()")
        restore = stop_on_signals(self.stop)
        self._start_executors()
        delay = self.reconnect_delay
        try:
            while not self._stopping.is_set():
                try:
                    self._serve()
                    delay = self.reconnect_delay
                except QueueTypeMismatch:
                    raise
                except (_Resubscribe, *RECONNECTABLE) as error:
                    self.ready.clear()
                    if self._stopping.is_set():
                        break
                    # Unacked requests go back to their queue with the connection; results of
                    # attempts still running are sent once connected again (§3.7).
                    log.warning("connection lost (%r); reconnecting in %.1f s", error, delay)
                    self._stopping.wait(delay)
                    delay = min(delay * 2, self.max_reconnect_delay)
        finally:
            self.ready.clear()
            self._stop_executors()
            restore()

    def stop(self) -> None:
        """Graceful shutdown, from any thread: stop taking requests, finish the running ones and
        send their results; unstarted prefetched requests go back to the queue."""
        self._stopping.set()
        if self._child_stopping is not None:
            self._child_stopping.set()
        self._wake()

    def _start_executors(self) -> None:
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

    def _stop_executors(self) -> None:
        for handler in self._handlers.values():
            if handler.executor is not None:
                handler.executor.shutdown(wait=True, cancel_futures=True)
                handler.executor = None
        if self._progress_queue is not None:
            self._progress_queue.put(None)
            self._progress_queue = None

    def _forward_progress(self) -> None:
        queue = self._progress_queue
        while True:
            item = queue.get()
            if item is None:
                return
            attempt_id, progress, message = item
            with self._lock:
                attempt = self._attempts.get(attempt_id)
            if attempt is not None:
                self._call(functools.partial(self._send_progress, attempt, progress, message))

    def _serve(self) -> None:
        """One connection's life: declare, consume, answer; returns after a graceful stop."""
        params = pika.URLParameters(self.amqp_url)
        params.client_properties = {"connection_name": self.connection_name}
        connection = pika.BlockingConnection(params)
        try:
            with self._lock:
                self._connection = connection
                self._generation += 1
                self._resubscribe = False
            consumers: List[Tuple[Any, str]] = []
            for handler in self._handlers.values():
                channel = connection.channel()
                channel.confirm_delivery()
                declare_step_queue(connection, channel, handler.queue, self.queue_type)
                # Per consumer, not per channel: quorum queues refuse global QoS (§3.1).
                channel.basic_qos(prefetch_count=handler.prefetch, global_qos=False)
                channel.add_on_cancel_callback(lambda _frame: self._on_cancelled())
                tag = channel.basic_consume(
                    handler.queue,
                    on_message_callback=lambda ch, method, props, body, h=handler: self._on_request(
                        h, ch, method, props, body
                    ),
                )
                self._channels[handler.queue] = channel
                consumers.append((channel, tag))
            self.ready.set()
            log.info("ready: consuming %s", ", ".join(self._handlers))
            self._loop(connection, consumers)
            connection.close()
        finally:
            with self._lock:
                self._connection = None
            self._channels.clear()
            if connection.is_open:
                try:
                    connection.close()
                except Exception:  # already failing: the original error is the one to report
                    pass

    def _loop(self, connection: Any, consumers: List[Tuple[Any, str]]) -> None:
        cancelled = False
        while True:
            if self._resubscribe:
                raise _Resubscribe("the broker cancelled a consumer (queue deleted?)")
            if self._stopping.is_set() and not cancelled:
                # Unstarted prefetched requests are nacked back to the queue by pika.
                for channel, tag in consumers:
                    channel.basic_cancel(tag)
                cancelled = True
            self._run_calls()
            self._start_due_batches()
            self._finish_outcomes()
            self._send_due_heartbeats()
            if cancelled and self.in_flight() == 0 and not self._outcomes:
                return
            connection.process_data_events(time_limit=self._tick())

    def _tick(self) -> float:
        now = time.monotonic()
        with self._lock:
            due = [a.next_heartbeat - now for a in self._attempts.values() if a.next_heartbeat is not None]
        for handler in self._handlers.values():
            batch_due = handler.batch.due_in(now) if handler.batch else None
            if batch_due is not None:
                due.append(batch_due)
        return max(0.0, min([1.0, *due]))

    def _wake(self) -> None:
        """Makes the connection thread look at its queues now (from any thread)."""
        with self._lock:
            connection = self._connection
        if connection is None:
            return
        try:
            connection.add_callback_threadsafe(lambda: None)
        except Exception:  # closing: the loop notices by itself
            pass

    def _on_cancelled(self) -> None:
        self._resubscribe = True

    # ----------------------------------------------------------------------------------------
    # One request

    def _on_request(self, handler: Handler, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        if self.queue_type == "classic" and method.redelivered and count_redelivery(channel, handler.queue, method, properties, body):
            return
        try:
            request = parse_request(body)
        except InvalidMessage as error:
            # Never ack-and-drop: the broker moves it to <queue>.dlq (§3.2).
            log.warning("rejecting a malformed request on %s: %s", handler.queue, error)
            channel.basic_reject(delivery_tag=method.delivery_tag, requeue=False)
            return
        deadline = parse_time(request["deadline"])
        if self.skip_expired and deadline < datetime.now(timezone.utc):
            # The orchestrator has already retried or failed this attempt and ignores results (§3.3).
            log.warning("skipping %s attempt %s of run %s: its deadline %s has passed", request["step"], request["attempt"], request["runId"], request["deadline"])
            channel.basic_ack(delivery_tag=method.delivery_tag)
            return
        attempt = Attempt(
            id=next(self._ids),
            handler=handler,
            request=request,
            key=idempotency_key_of(request),
            channel=channel,
            delivery_tag=method.delivery_tag,
            generation=self._generation,
            started_at=now_iso(),
            next_heartbeat=time.monotonic() + handler.heartbeat_interval if handler.heartbeat_interval else None,
        )
        with self._lock:
            self._attempts[attempt.id] = attempt
        step_input = request["input"]
        problems = handler.input_check(step_input) if handler.input_check else []
        if problems:
            invalid = FatalStepError(
                f"input does not match the {handler.queue} handler's input_schema: {'; '.join(problems[:5])}",
                code="INVALID_INPUT",
                details=problems,
            )
            self._outcomes.append(Outcome(attempt, error=invalid))
            return
        if handler.batch is not None:
            handler.batch.waiting.append((attempt.id, step_input, time.monotonic()))
            self._start_due_batches()
            return
        future: "Future[JSON]"
        assert handler.executor is not None and handler.fn is not None
        if handler.processes:
            future = handler.executor.submit(run_in_child, handler.fn, request, step_input, attempt.key, attempt.id)
        else:
            future = handler.executor.submit(self._run_in_thread, attempt, step_input)
        future.add_done_callback(functools.partial(self._done, attempt))

    def _context(self, attempt: Attempt, step_input: JSON) -> StepContext:
        return make_context(
            attempt.request,
            step_input,
            attempt.key,
            parse_time(attempt.request["deadline"]),
            lambda progress, message: self._heartbeat_from_thread(attempt, progress, message),
            self._stopping.is_set,
        )

    def _run_in_thread(self, attempt: Attempt, step_input: JSON) -> JSON:
        assert attempt.handler.fn is not None
        return attempt.handler.fn(self._context(attempt, step_input))

    # ----------------------------------------------------------------------------------------
    # Batches (§9): items wait in their handler's Batching; each still finishes on its own.

    def _start_due_batches(self) -> None:
        now = time.monotonic()
        for handler in self._handlers.values():
            batching = handler.batch
            if batching is None:
                continue
            while True:
                taken = batching.take(now)
                if taken is None:
                    break
                with self._lock:
                    attempts = [self._attempts[attempt_id] for attempt_id, _, _ in taken]
                contexts = [self._context(a, step_input) for a, (_, step_input, _) in zip(attempts, taken)]
                assert handler.executor is not None
                future = handler.executor.submit(run_batch, batching.fn, handler.queue, contexts)
                future.add_done_callback(functools.partial(self._batch_done, handler, attempts))

    def _batch_done(self, handler: Handler, attempts: List[Attempt], future: "Future[List[ItemOutcome]]") -> None:
        error = future.exception()
        outcomes: List[ItemOutcome] = [error] * len(attempts) if error else future.result()
        for attempt, outcome in zip(attempts, outcomes):
            self._outcomes.append(
                Outcome(attempt, error=outcome) if isinstance(outcome, BaseException) else Outcome(attempt, output=outcome)
            )
        # Only the connection thread takes batches; it looks again once woken.
        self._call(functools.partial(self._release_batch_slot, handler))

    def _release_batch_slot(self, handler: Handler) -> None:
        assert handler.batch is not None
        handler.batch.running -= 1

    def _done(self, attempt: Attempt, future: "Future[JSON]") -> None:
        error = future.exception()
        self._outcomes.append(Outcome(attempt, error=error) if error else Outcome(attempt, output=future.result()))
        self._wake()

    def _finish_outcomes(self) -> None:
        while self._outcomes:
            outcome = self._outcomes[0]
            # Left in the queue until sent: a connection lost meanwhile sends it after reconnecting.
            self._finish(outcome)
            self._outcomes.popleft()
            with self._lock:
                self._attempts.pop(outcome.attempt.id, None)

    def _finish(self, outcome: Outcome) -> None:
        attempt, handler, request = outcome.attempt, outcome.attempt.handler, outcome.attempt.request
        result = result_message(request, self.worker_id, attempt.started_at)
        output = outcome.output
        error = outcome.error if outcome.error is not None else _output_problem(handler, output)
        if isinstance(error, BrokenProcessPool):
            self._replace_broken_pool(handler)
            error = RuntimeError(f"the worker process running {handler.queue} died ({error})")
        if error is None:
            result.update(status="succeeded", output=output)
        else:
            if not isinstance(error, FatalStepError):
                log.warning("%s attempt %s of run %s failed: %r", request["step"], request["attempt"], request["runId"], error)
            result.update(status="failed", error=to_step_error(error))
        result["finishedAt"] = now_iso()
        channel = self._channels[handler.queue]
        if error is None and self.continue_chains and "chain" in request:
            continued_as = self._continue_chain(channel, request, output)
            if continued_as:
                result["continuedAs"] = continued_as
        current = attempt.generation == self._generation and attempt.channel.is_open
        try:
            publish(channel, request["replyTo"], result, f"{request['taskId']}:{request['attempt']}", request["runId"])
        except REFUSED as refused:
            log.error("the result of %s could not be delivered to %s (%r); the request goes back to its queue", request["step"], request["replyTo"], refused)
            if current:
                attempt.channel.basic_nack(delivery_tag=attempt.delivery_tag, requeue=True)
            return
        if current:
            attempt.channel.basic_ack(delivery_tag=attempt.delivery_tag)
        # else: the delivery died with its connection and the broker redelivers it; the
        # orchestrator keeps the first result of an attempt and ignores the second.

    def _continue_chain(self, channel: Any, request: Message, output: JSON) -> Optional[str]:
        """Starts the next step itself (§7.3): its taskId once confirmed, else None (logged)."""
        following = chained_request(request, output)
        try:
            publish(channel, following["queue"], following, f"{following['taskId']}:1", request["runId"])
        except REFUSED as error:
            log.warning("starting step %s on queue %s failed (%r); the orchestrator will dispatch it", following["step"], following["queue"], error)
            return None
        return str(following["taskId"])

    def _replace_broken_pool(self, handler: Handler) -> None:
        broken = handler.executor
        if isinstance(broken, ProcessPoolExecutor) and getattr(broken, "_broken", False):
            handler.executor = self._new_executor(handler)
            broken.shutdown(wait=False, cancel_futures=True)

    # ----------------------------------------------------------------------------------------
    # Heartbeats

    def _heartbeat_from_thread(self, attempt: Attempt, progress: Optional[float], message: Optional[str]) -> None:
        call = self._call(lambda: self._send_progress(attempt, progress, message))
        try:
            call.done.result(timeout=10)
        except Exception as error:  # advisory: a lost heartbeat at worst times the attempt out
            log.warning("heartbeat of %s not confirmed: %r", attempt.request["step"], error)

    def _call(self, run: Callable[[], None]) -> Call:
        call = Call(run)
        self._calls.append(call)
        self._wake()
        return call

    def _run_calls(self) -> None:
        while self._calls:
            call = self._calls.popleft()
            try:
                call.run()
            except RECONNECTABLE as error:
                call.done.set_exception(error)
                raise
            except Exception as error:
                call.done.set_exception(error)
            else:
                call.done.set_result(None)

    def _send_due_heartbeats(self) -> None:
        now = time.monotonic()
        with self._lock:
            due = [a for a in self._attempts.values() if a.next_heartbeat is not None and a.next_heartbeat <= now]
        for attempt in due:
            interval = attempt.handler.heartbeat_interval or 1.0
            attempt.next_heartbeat = now + interval
            self._send_progress(attempt, None, None)

    def _send_progress(self, attempt: Attempt, progress: Optional[float], message: Optional[str]) -> None:
        request = attempt.request
        channel = self._channels.get(attempt.handler.queue)
        if channel is None:
            raise ConnectionError("not connected to the broker")
        try:
            publish(channel, request["progressTo"], progress_message(request, progress, message))
        except REFUSED as error:
            log.warning("heartbeat of %s to %s refused: %r", request["step"], request["progressTo"], error)


def _output_problem(handler: Handler, output: JSON) -> Optional[FatalStepError]:
    """Why a handler's return value cannot be the step's output (a worker bug: fatal)."""
    try:
        json.dumps(output, allow_nan=False)
    except (TypeError, ValueError) as problem:
        return FatalStepError(
            f"the {handler.queue} handler returned output that is not JSON ({problem}): return dicts, "
            "lists, strings, finite numbers, booleans or None",
            code="INVALID_OUTPUT",
        )
    problems = handler.output_check(output) if handler.output_check else []
    if not problems:
        return None
    return FatalStepError(
        f"the {handler.queue} handler returned output that does not match its output_schema: {'; '.join(problems[:5])}",
        code="INVALID_OUTPUT",
        details=problems,
    )
