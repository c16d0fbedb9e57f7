"""Celery side of the orchestrator benchmark: no-op tasks that stamp their start/end times.

Broker: the same RabbitMQ as Conveyor; result backend: Redis (127.0.0.1:6379). Queue names are
prefixed with BENCH_PREFIX so that the benchmark never touches other users' queues.
"""
import os
import time

from celery import Celery

PREFIX = os.environ.get("BENCH_PREFIX", "orch-bench-celery")
app = Celery(
    "conveyor_bench",
    broker=os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672"),
    backend=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
)
app.conf.update(
    task_default_queue=f"{PREFIX}-tasks",
    task_default_exchange=f"{PREFIX}-tasks",
    task_default_routing_key=f"{PREFIX}-tasks",
    result_expires=600,
    worker_prefetch_multiplier=64,
    worker_enable_remote_control=False,
    worker_send_task_events=False,
    task_send_sent_event=False,
    broker_connection_retry_on_startup=True,
    accept_content=["json"],
    task_serializer="json",
    result_serializer="json",
)


def now_ms():
    return time.time() * 1000.0


@app.task(name="bench.stamp")
def stamp(stamps):
    """Chain link: appends this task's [start, end] to the list it received."""
    start = now_ms()
    return list(stamps or []) + [{"s": start, "e": now_ms()}]


@app.task(name="bench.work")
def work(stamps, ms):
    """Chain link of a step that takes `ms` (a wait, as for a model served elsewhere)."""
    start = now_ms()
    time.sleep(ms / 1000.0)
    return list(stamps or []) + [{"s": start, "e": now_ms()}]


@app.task(name="bench.noop")
def noop(i):
    return i


@app.task(name="bench.count")
def count(results):
    return len(results)
