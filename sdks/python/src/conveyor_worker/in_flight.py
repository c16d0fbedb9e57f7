"""Attempts in flight and the outcomes waiting to be sent, shared by every thread of a worker.

The connection thread adds attempts and sends outcomes; handler threads (and pool callbacks)
append outcomes and look attempts up for heartbeats, hence the lock around the table.
"""

from __future__ import annotations

import collections
import itertools
import threading
from typing import Deque, Dict, Iterable, List, Optional

from .attempts import Attempt, Outcome


class InFlight:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._attempts: Dict[int, Attempt] = {}
        self._ids = itertools.count(1)
        #: Appended from any thread; only the connection thread takes them out.
        self.outcomes: Deque[Outcome] = collections.deque()

    def next_id(self) -> int:
        return next(self._ids)

    def add(self, attempt: Attempt) -> None:
        with self._lock:
            self._attempts[attempt.id] = attempt

    def get(self, attempt_id: int) -> Optional[Attempt]:
        with self._lock:
            return self._attempts.get(attempt_id)

    def get_all(self, attempt_ids: Iterable[int]) -> List[Attempt]:
        with self._lock:
            return [self._attempts[attempt_id] for attempt_id in attempt_ids]

    def remove(self, attempt_id: int) -> None:
        with self._lock:
            self._attempts.pop(attempt_id, None)

    def count(self) -> int:
        with self._lock:
            return len(self._attempts)

    def with_heartbeats(self) -> List[Attempt]:
        """Attempts whose handler heartbeats on its own schedule."""
        with self._lock:
            return [a for a in self._attempts.values() if a.next_heartbeat is not None]
