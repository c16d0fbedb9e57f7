"""The connection thread (protocol §3): connects, declares and consumes the step queues, and
between AMQP events starts batches, sends results and heartbeats; reconnects after broker loss
and subscribes again when the broker cancels a consumer.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone
from typing import Any, Dict, List, Tuple

import pika

from .amqp import RECONNECTABLE, count_redelivery
from .attempts import Attempt, Handler, Outcome
from .errors import FatalStepError
from .executors import Executors
from .finishing import Finisher
from .heartbeats import Heartbeats
from .in_flight import InFlight
from .protocol import idempotency_key_of, now_iso, parse_time
from .session import Session
from .topology import QueueTypeMismatch, declare_step_queue
from .validation import InvalidMessage, parse_request

log = logging.getLogger("conveyor_worker")


class _Resubscribe(Exception):
    """The broker cancelled a consumer (its queue was deleted): declare and consume again."""


class Consumer:
    def __init__(
        self,
        *,
        amqp_url: str,
        connection_name: str,
        queue_type: str,
        skip_expired: bool,
        handlers: Dict[str, Handler],
        in_flight: InFlight,
        session: Session,
        executors: Executors,
        heartbeats: Heartbeats,
        finisher: Finisher,
        ready: threading.Event,
        stopping: threading.Event,
    ) -> None:
        self._amqp_url = amqp_url
        self._connection_name = connection_name
        self._queue_type = queue_type
        self._skip_expired = skip_expired
        self._handlers = handlers
        self._in_flight = in_flight
        self._session = session
        self._executors = executors
        self._heartbeats = heartbeats
        self._finisher = finisher
        self._ready = ready
        self._stopping = stopping
        self._resubscribe = False

    def run(self, reconnect_delay: float, max_reconnect_delay: float) -> None:
        """Serves connection after connection until stopped, backing off while the broker is away."""
        delay = reconnect_delay
        while not self._stopping.is_set():
            try:
                self._serve()
                delay = reconnect_delay
            except QueueTypeMismatch:
                raise
            except (_Resubscribe, *RECONNECTABLE) as error:
                self._ready.clear()
                if self._stopping.is_set():
                    break
                # Unacked requests go back to their queue with the connection; results of
                # attempts still running are sent once connected again (§3.7).
                log.warning("connection lost (%r); reconnecting in %.1f s", error, delay)
                self._stopping.wait(delay)
                delay = min(delay * 2, max_reconnect_delay)

    def _serve(self) -> None:
        """One connection's life: declare, consume, answer; returns after a graceful stop."""
        params = pika.URLParameters(self._amqp_url)
        params.client_properties = {"connection_name": self._connection_name}
        connection = pika.BlockingConnection(params)
        try:
            self._session.connected(connection)
            self._resubscribe = False
            consumers: List[Tuple[Any, str]] = []
            for handler in self._handlers.values():
                channel = connection.channel()
                channel.confirm_delivery()
                declare_step_queue(connection, channel, handler.queue, self._queue_type)
                # Per consumer, not per channel: quorum queues refuse global QoS (§3.1).
                channel.basic_qos(prefetch_count=handler.prefetch, global_qos=False)
                channel.add_on_cancel_callback(lambda _frame: self._on_cancelled())
                tag = channel.basic_consume(
                    handler.queue,
                    on_message_callback=lambda ch, method, props, body, h=handler: self._on_request(
                        h, ch, method, props, body
                    ),
                )
                self._session.channels[handler.queue] = channel
                consumers.append((channel, tag))
            self._ready.set()
            log.info("ready: consuming %s", ", ".join(self._handlers))
            self._loop(connection, consumers)
            connection.close()
        finally:
            self._session.disconnected()
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
            self._session.run_calls()
            self._executors.start_due_batches()
            self._finisher.finish_outcomes()
            self._heartbeats.send_due()
            if cancelled and self._in_flight.count() == 0 and not self._in_flight.outcomes:
                return
            connection.process_data_events(time_limit=self._tick())

    def _tick(self) -> float:
        """How long to wait for AMQP events before the next heartbeat or batch is due."""
        now = time.monotonic()
        due = self._heartbeats.due_in(now) + self._executors.batch_due_in(now)
        return max(0.0, min([1.0, *due]))

    def _on_cancelled(self) -> None:
        self._resubscribe = True

    def _on_request(self, handler: Handler, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        if self._queue_type == "classic" and method.redelivered and count_redelivery(channel, handler.queue, method, properties, body):
            return
        try:
            request = parse_request(body)
        except InvalidMessage as error:
            # Never ack-and-drop: the broker moves it to <queue>.dlq (§3.2).
            log.warning("rejecting a malformed request on %s: %s", handler.queue, error)
            channel.basic_reject(delivery_tag=method.delivery_tag, requeue=False)
            return
        deadline = parse_time(request["deadline"])
        if self._skip_expired and deadline < datetime.now(timezone.utc):
            # The orchestrator has already retried or failed this attempt and ignores results (§3.3).
            log.warning("skipping %s attempt %s of run %s: its deadline %s has passed", request["step"], request["attempt"], request["runId"], request["deadline"])
            channel.basic_ack(delivery_tag=method.delivery_tag)
            return
        attempt = Attempt(
            id=self._in_flight.next_id(),
            handler=handler,
            request=request,
            key=idempotency_key_of(request),
            channel=channel,
            delivery_tag=method.delivery_tag,
            generation=self._session.generation,
            started_at=now_iso(),
            next_heartbeat=time.monotonic() + handler.heartbeat_interval if handler.heartbeat_interval else None,
        )
        self._in_flight.add(attempt)
        step_input = request["input"]
        problems = handler.input_check(step_input) if handler.input_check else []
        if problems:
            invalid = FatalStepError(
                f"input does not match the {handler.queue} handler's input_schema: {'; '.join(problems[:5])}",
                code="INVALID_INPUT",
                details=problems,
            )
            self._in_flight.outcomes.append(Outcome(attempt, error=invalid))
            return
        self._executors.submit(attempt, step_input)
