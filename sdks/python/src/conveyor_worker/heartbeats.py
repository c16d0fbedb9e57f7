"""Heartbeats and progress (protocol §3.5): on each handler's schedule, and when a handler asks."""

from __future__ import annotations

import functools
import logging
import time
from typing import List, Optional

from .amqp import REFUSED, publish
from .attempts import Attempt
from .in_flight import InFlight
from .protocol import progress_message
from .session import Session

log = logging.getLogger("conveyor_worker")


class Heartbeats:
    def __init__(self, in_flight: InFlight, session: Session) -> None:
        self._in_flight = in_flight
        self._session = session

    def from_thread(self, attempt: Attempt, progress: Optional[float], message: Optional[str]) -> None:
        """A thread handler's ``ctx.heartbeat``: returns once the broker confirmed it."""
        call = self._session.call(lambda: self.send(attempt, progress, message))
        try:
            call.done.result(timeout=10)
        except Exception as error:  # advisory: a lost heartbeat at worst times the attempt out
            log.warning("heartbeat of %s not confirmed: %r", attempt.request["step"], error)

    def from_child(self, attempt_id: int, progress: Optional[float], message: Optional[str]) -> None:
        """A process handler's heartbeat, forwarded by its parent (any thread)."""
        attempt = self._in_flight.get(attempt_id)
        if attempt is not None:
            self._session.call(functools.partial(self.send, attempt, progress, message))

    def due_in(self, now: float) -> List[float]:
        """Seconds until each scheduled heartbeat, so the connection thread wakes for them."""
        return [a.next_heartbeat - now for a in self._in_flight.with_heartbeats() if a.next_heartbeat is not None]

    def send_due(self) -> None:
        now = time.monotonic()
        due = [a for a in self._in_flight.with_heartbeats() if a.next_heartbeat is not None and a.next_heartbeat <= now]
        for attempt in due:
            interval = attempt.handler.heartbeat_interval or 1.0
            attempt.next_heartbeat = now + interval
            self.send(attempt, None, None)

    def send(self, attempt: Attempt, progress: Optional[float], message: Optional[str]) -> None:
        """Connection thread only."""
        request = attempt.request
        channel = self._session.channels.get(attempt.handler.queue)
        if channel is None:
            raise ConnectionError("not connected to the broker")
        try:
            publish(channel, request["progressTo"], progress_message(request, progress, message))
        except REFUSED as error:
            log.warning("heartbeat of %s to %s refused: %r", request["step"], request["progressTo"], error)
