#!/usr/bin/env python3
"""The Celery side of the orchestrator benchmark, driven line by line over stdin/stdout.

Starts its own Celery worker (prefork, --concurrency WORKER_CONCURRENCY), prints one JSON line
{"ready": true, "celery": "<version>"}, then answers each command line with one JSON line:

  chain N        N sequential chains of CHAIN_LENGTH `stamp` tasks: per-link gaps and whole runs
  work N MS      the same with `work` tasks that each take MS ms
  chord SIZE     a group of SIZE `noop` tasks joined by `count`: {"ms": time to the result}
  quit           stops the worker and exits

The benchmark interleaves these with the same shapes on Conveyor, so both see the same machine.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from celery import chain, chord  # noqa: E402

import celery  # noqa: E402
from celery_tasks import app, count, noop, stamp, work  # noqa: E402

CHAIN_LENGTH = int(os.environ.get("CHAIN_LENGTH", "10"))


def now_ms():
    return time.time() * 1000.0


def run_chains(n, make_chain):
    gaps, runs = [], []
    for _ in range(n):
        t0 = now_ms()
        stamps = make_chain().apply_async().get(timeout=60)
        runs.append(now_ms() - t0)
        gaps += [stamps[i + 1]["s"] - stamps[i]["e"] for i in range(len(stamps) - 1)]
    return {"gaps": gaps, "runs": runs}


def answer(line):
    words = line.split()
    if words[0] == "chain":
        return run_chains(int(words[1]), lambda: chain(
            stamp.s([]), *[stamp.s() for _ in range(CHAIN_LENGTH - 1)]))
    if words[0] == "work":
        ms = float(words[2])
        return run_chains(int(words[1]), lambda: chain(
            work.s([], ms), *[work.s(ms) for _ in range(CHAIN_LENGTH - 1)]))
    if words[0] == "chord":
        size = int(words[1])
        t0 = now_ms()
        total = chord([noop.s(i) for i in range(size)])(count.s()).get(timeout=600)
        assert total == size, f"chord counted {total} of {size}"
        return {"ms": now_ms() - t0}
    raise ValueError(f"unknown command {line!r}")


def main():
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
        print(json.dumps({"ready": True, "celery": "celery " + celery.__version__}), flush=True)
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            if line == "quit":
                break
            print(json.dumps(answer(line)), flush=True)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()


if __name__ == "__main__":
    main()
