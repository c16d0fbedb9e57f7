#!/usr/bin/env python3
"""Runs the Celery shapes of the benchmark and prints one JSON object on stdout.

chain: CHAIN_RUNS sequential chains of CHAIN_LENGTH `stamp` tasks (per-hop overhead from the
stamps, like the Conveyor chain); work chain: WORK_RUNS sequential chains of CHAIN_LENGTH `work`
tasks of WORK_MS each; chord: a group of CHORD_SIZE `noop` tasks joined by `count`.
Starts its own Celery worker (prefork, --concurrency WORKER_CONCURRENCY) and stops it after.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from celery import chain, chord  # noqa: E402

import celery_tasks  # noqa: E402
from celery_tasks import app, count, noop, stamp, work  # noqa: E402


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


def main():
    chain_runs = int(os.environ.get("CHAIN_RUNS", "50"))
    chain_length = int(os.environ.get("CHAIN_LENGTH", "10"))
    work_runs = int(os.environ.get("WORK_RUNS", "0"))
    work_ms = float(os.environ.get("WORK_MS", "10"))
    chord_sizes = [int(s) for s in os.environ.get("CHORD_SIZES", "1000").split(",") if s]
    concurrency = os.environ.get("WORKER_CONCURRENCY", "2")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celery_tasks", "worker", "--loglevel=WARNING",
         f"--concurrency={concurrency}", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-Q", app.conf.task_default_queue],
        cwd=os.path.dirname(os.path.abspath(__file__)),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        # Warm-up: the worker is ready once a task round-trips.
        noop.delay(0).get(timeout=60)
        gaps, chain_ms = [], []
        for _ in range(chain_runs):
            t0 = time.time() * 1000.0
            stamps = chain(stamp.s([]), *[stamp.s() for _ in range(chain_length - 1)]).apply_async().get(timeout=60)
            chain_ms.append(time.time() * 1000.0 - t0)
            gaps += [stamps[i + 1]["s"] - stamps[i]["e"] for i in range(len(stamps) - 1)]
        work_gaps, work_chain_ms = [], []
        for _ in range(work_runs):
            t0 = time.time() * 1000.0
            stamps = chain(work.s([], work_ms), *[work.s(work_ms) for _ in range(chain_length - 1)]).apply_async().get(timeout=60)
            work_chain_ms.append(time.time() * 1000.0 - t0)
            work_gaps += [stamps[i + 1]["s"] - stamps[i]["e"] for i in range(len(stamps) - 1)]
        chords = {}
        for size in chord_sizes:
            t0 = time.time()
            total = chord([noop.s(i) for i in range(size)])(count.s()).get(timeout=600)
            assert total == size, f"chord counted {total} of {size}"
            chords[str(size)] = (time.time() - t0) * 1000.0
        print(json.dumps({
            "chain": {"runs": chain_runs, "length": chain_length,
                      "gap_p50_ms": percentile(gaps, 50), "gap_p99_ms": percentile(gaps, 99),
                      "run_p50_ms": percentile(chain_ms, 50), "run_p99_ms": percentile(chain_ms, 99)},
            "work_chain": {"runs": work_runs, "ms": work_ms,
                           "gap_p50_ms": percentile(work_gaps, 50) if work_gaps else None,
                           "run_p50_ms": percentile(work_chain_ms, 50) if work_chain_ms else None,
                           "run_p99_ms": percentile(work_chain_ms, 99) if work_chain_ms else None},
            "chord_ms": chords,
            "celery": celery_tasks.app.__class__.__module__.split(".")[0] + " " + __import__("celery").__version__,
        }))
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()


if __name__ == "__main__":
    main()
