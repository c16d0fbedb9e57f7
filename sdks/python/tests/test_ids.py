"""The chain link's time-ordered task ids (ids.py): format, order, threads."""

from __future__ import annotations

import re
import threading
import time
import uuid
from typing import List

from conveyor_worker.ids import uuid7, uuid7_millis

V7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_a_uuid_of_version_7_variant_10_carrying_its_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    value = uuid7()
    assert V7.match(value)
    parsed = uuid.UUID(value)
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    # Ahead of the clock only after 2,048 ids in one millisecond (the counter's overflow).
    assert before <= uuid7_millis(value) <= time.time_ns() // 1_000_000 + 5


def test_ids_sort_in_the_order_made_many_per_millisecond_and_never_repeat() -> None:
    ids = [uuid7() for _ in range(20_000)]
    assert [i for i in range(1, len(ids)) if not ids[i] > ids[i - 1]] == []
    assert len(set(ids)) == len(ids)
    assert all(V7.match(i) for i in ids)


def test_ids_made_on_several_threads_are_distinct_and_well_formed() -> None:
    made: List[List[str]] = [[] for _ in range(4)]

    def make(out: List[str]) -> None:
        out.extend(uuid7() for _ in range(5_000))

    threads = [threading.Thread(target=make, args=(out,)) for out in made]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for out in made for i in out]
    assert len(set(every)) == len(every) == 20_000
    # Each thread's own ids are still in order (one process-wide counter under a lock).
    for out in made:
        assert out == sorted(out)
