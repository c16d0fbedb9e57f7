"""The worker: consumes step queues, runs handlers in threads or processes, answers (protocol §3).

:class:`Worker` is the public face: it validates and registers handlers, then composes the
parts that do the work, each in the module named after it: :mod:`.consumer` (the connection
thread), :mod:`.executors` (thread and process pools, batches), :mod:`.finishing` (results,
chains, acks), :mod:`.heartbeats`, and the state they share, :mod:`.in_flight` and
:mod:`.session`.
"""

from __future__ import annotations

import os
import socket
import threading
from typing import Any, Callable, Dict, List, Mapping, Optional, TypeVar

from .attempts import Handler, HandlerFunction
from .batching import BatchFunction, Batching
from .consumer import Consumer
from .executors import Executors
from .finishing import Finisher
from .heartbeats import Heartbeats
from .in_flight import InFlight
from .protocol import queue_type_from_env
from .session import Session
from .signals import stop_on_signals
from .validation import schema_checker

F = TypeVar("F", bound=HandlerFunction)
B = TypeVar("B", bound=BatchFunction)

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672"


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
        self._in_flight = InFlight()
        self._session = Session()
        self._heartbeats = Heartbeats(self._in_flight, self._session)
        self._executors = Executors(self._handlers, self._in_flight, self._session, self._heartbeats, self._stopping)

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
        return self._in_flight.count()

    # ----------------------------------------------------------------------------------------
    # Running

    def run(self) -> None:
        """Consumes until :meth:`stop` (or SIGTERM/SIGINT in the main thread), reconnecting after
        broker loss. Raises :class:`QueueTypeMismatch` when a queue exists with the other type."""
        if not self._handlers:
            raise ValueError("no handlers: register one with @worker.handler(queue) before run()")
        # Built here, not in __init__, so that options set after construction still count.
        finisher = Finisher(self._in_flight, self._session, self._executors, self.worker_id, self.continue_chains)
        consumer = Consumer(
            amqp_url=self.amqp_url,
            connection_name=self.connection_name,
            queue_type=self.queue_type,
            skip_expired=self.skip_expired,
            handlers=self._handlers,
            in_flight=self._in_flight,
            session=self._session,
            executors=self._executors,
            heartbeats=self._heartbeats,
            finisher=finisher,
            ready=self.ready,
            stopping=self._stopping,
        )
        restore = stop_on_signals(self.stop)
        self._executors.start()
        try:
            consumer.run(self.reconnect_delay, self.max_reconnect_delay)
        finally:
            self.ready.clear()
            self._executors.shutdown()
            restore()

    def stop(self) -> None:
        """Graceful shutdown, from any thread: stop taking requests, finish the running ones and
        send their results; unstarted prefetched requests go back to the queue."""
        self._stopping.set()
        self._executors.stop_children()
        self._session.wake()
