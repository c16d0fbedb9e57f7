"""Time-ordered task ids: UUID version 7 (RFC 9562 §5.7), for the next link of a chain (§7.2).

A 48-bit Unix time in milliseconds, the version, a 12-bit counter of ids made in the same
millisecond (RFC 9562 §6.2, method 1: starting from a random value below 2,048, so it cannot run
out before 2,048 ids in one millisecond; past that the time moves on by one), the variant and
62 random bits. Still a UUID in the 8-4-4-4-12 form, so the orchestrator accepts it like any
other id; made one after another, the ids sort one after another, so the orchestrator's store
adds each new chain link at the right edge of its task-keyed indexes instead of on a random page
(fewer pages written per commit; the protocol recommends it, it does not require it). Python
3.11 has no ``uuid.uuid7`` (3.14 does); this is the same generator as the TypeScript one
(libs/contracts/src/ids.ts). Thread-safe: handlers may finish on several threads.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7() -> str:
    """A new UUID v7 as a string; strictly increasing within this process."""
    global _last_ms, _counter
    # Nine bytes: the counter's start comes from its own byte, so the tail's 62 bits say nothing
    # about it (as in the TypeScript generator).
    random_bytes = os.urandom(9)
    rand = int.from_bytes(random_bytes[:8], "big")
    with _lock:
        now = time.time_ns() // 1_000_000
        if now > _last_ms:
            _last_ms = now
            _counter = random_bytes[8] * 8  # 0 … 2,040
        else:
            _counter += 1
            if _counter > 0xFFF:
                _last_ms += 1
                _counter = 0
        ms, counter = _last_ms, _counter
    value = (
        (ms & 0xFFFF_FFFF_FFFF) << 80
        | 0x7 << 76
        | counter << 64
        | 0b10 << 62
        | (rand & 0x3FFF_FFFF_FFFF_FFFF)
    )
    return str(uuid.UUID(int=value))


def uuid7_millis(value: str) -> int:
    """The millisecond a v7 id was made (its first 48 bits)."""
    return uuid.UUID(value).int >> 80
