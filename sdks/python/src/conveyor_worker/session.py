"""The connection thread's side of a worker: its connection, channels, and work other threads hand it.

pika's BlockingConnection is not thread-safe, so handler threads never touch it: they queue a
:class:`~.attempts.Call` here and wake the connection thread, which runs it between events.
"""

from __future__ import annotations

import collections
import threading
from typing import Any, Callable, Deque, Dict

from .amqp import RECONNECTABLE
from .attempts import Attempt, Call


class Session:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connection: Any = None
        #: Queue name -> its channel on the current connection (empty while disconnected).
        self.channels: Dict[str, Any] = {}
        #: Counts connections, so that an attempt knows whether its delivery tag is still valid.
        self.generation = 0
        self._calls: Deque[Call] = collections.deque()

    def connected(self, connection: Any) -> None:
        with self._lock:
            self._connection = connection
            self.generation += 1

    def disconnected(self) -> None:
        with self._lock:
            self._connection = None
        self.channels.clear()

    def owns_delivery(self, attempt: Attempt) -> bool:
        """Whether the attempt's delivery can still be acked: after a reconnect its tag is void."""
        return attempt.generation == self.generation and bool(attempt.channel.is_open)

    def wake(self) -> None:
        """Makes the connection thread look at its queues now (from any thread)."""
        with self._lock:
            connection = self._connection
        if connection is None:
            return
        try:
            connection.add_callback_threadsafe(lambda: None)
        except Exception:  # closing: the loop notices by itself
            pass

    def call(self, run: Callable[[], None]) -> Call:
        """Runs ``run`` on the connection thread soon (from any thread)."""
        call = Call(run)
        self._calls.append(call)
        self.wake()
        return call

    def run_calls(self) -> None:
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
