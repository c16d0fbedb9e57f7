"""Fixtures for tests against the real RabbitMQ (and, in test_orchestrator.py, the orchestrator).

Every queue and exchange a test creates starts with the session's prefix; the session deletes
them all at the end (rabbitmqctl lists them, as apps/orchestrator/test/rabbitmq.ts does).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, Iterator, List, Optional, TypeVar

import pika
import pytest

from conveyor_worker import Worker

AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672")
PREFIX = f"pysdk-{os.getpid()}-{int(time.time()) % 100000}-"

T = TypeVar("T")


def rabbitmqctl(*args: str) -> str:
    return subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, text=True, timeout=60).stdout


def sweep(prefix: str) -> None:
    """Deletes every queue and exchange whose name starts with ``prefix``."""
    queues = rabbitmqctl("list_queues", "-q", "--no-table-headers", "name").split()
    exchanges = rabbitmqctl("list_exchanges", "-q", "--no-table-headers", "name").split()
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    for queue in (q for q in queues if q.startswith(prefix)):
        channel.queue_delete(queue)
    for exchange in (x for x in exchanges if x.startswith(prefix)):
        channel.exchange_delete(exchange)
    connection.close()


def close_connections(name_prefix: str) -> int:
    """Force-closes the broker connections whose connection_name starts with ``name_prefix``."""
    out = rabbitmqctl("list_connections", "-q", "--no-table-headers", "pid", "client_properties")
    closed = 0
    for line in out.splitlines():
        pid, _, props = line.partition("\t")
        if f'{{"connection_name","{name_prefix}' in props:
            rabbitmqctl("close_connection", pid, "conveyor_worker test: broker loss")
            closed += 1
    return closed


@pytest.fixture(scope="session", autouse=True)
def _delete_topology() -> Iterator[None]:
    yield
    sweep(PREFIX)


_names = iter(range(1, 1_000_000))


def name(what: str) -> str:
    """A queue name of this session."""
    return f"{PREFIX}{what}-{next(_names)}"


def wait_for(what: str, probe: Callable[[], Optional[T]], timeout: float = 20) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


class Broker:
    """The test's side of the broker: plays the orchestrator (requests in, results out)."""

    def __init__(self) -> None:
        params = pika.URLParameters(AMQP_URL)
        params.client_properties = {"connection_name": f"{PREFIX}test"}
        self.connection = pika.BlockingConnection(params)
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()

    def declare(self, queue: str) -> str:
        self.channel.queue_declare(queue=queue, durable=True, arguments={"x-queue-type": "classic"})
        return queue

    def publish(self, queue: str, body: Any, headers: Optional[Dict[str, Any]] = None) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.channel.basic_publish(
            exchange="",
            routing_key=queue,
            body=raw,
            properties=pika.BasicProperties(content_type="application/json", delivery_mode=2, headers=headers),
            mandatory=True,
        )

    def get(self, queue: str) -> Optional[Dict[str, Any]]:
        method, properties, body = self.channel.basic_get(queue, auto_ack=True)
        if method is None:
            return None
        message: Dict[str, Any] = json.loads(body)
        message["_properties"] = properties
        return message

    def take(self, queue: str, count: int = 1, timeout: float = 20) -> List[Dict[str, Any]]:
        out: List[Dict[str, Any]] = []

        def probe() -> Optional[bool]:
            message = self.get(queue)
            if message is not None:
                out.append(message)
            return len(out) >= count or None

        wait_for(f"{count} message(s) on {queue}", probe, timeout)
        return out

    def depth(self, queue: str) -> int:
        return int(self.channel.queue_declare(queue=queue, passive=True).method.message_count)

    def close(self) -> None:
        self.connection.close()


@pytest.fixture()
def broker() -> Iterator[Broker]:
    b = Broker()
    yield b
    b.close()


def request(queue: str, results: str, progress: str, **overrides: Any) -> Dict[str, Any]:
    out: Dict[str, Any] = {
        "type": "workflow.step.request",
        "version": 1,
        "taskId": str(uuid.uuid4()),
        "attempt": 1,
        "runId": "run-py",
        "workflow": {"name": "wf", "version": 1},
        "step": "s",
        "queue": queue,
        "idempotencyKey": "run-py:s",
        "input": {"text": "hello"},
        "deadline": (datetime.now(timezone.utc) + timedelta(seconds=60)).isoformat().replace("+00:00", "Z"),
        "timeoutMs": 60_000,
        "replyTo": results,
        "progressTo": progress,
    }
    out.update(overrides)
    return out


class Running:
    """A Worker run on a thread of the test process."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.error: Optional[BaseException] = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        wait_for("the worker to consume", lambda: worker.ready.is_set() or self.error is not None, 30)
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        try:
            self.worker.run()
        except BaseException as error:  # reported to the test
            self.error = error

    def stop(self) -> None:
        self.worker.stop()
        self.thread.join(30)
        assert not self.thread.is_alive(), "the worker did not stop within 30 s"
        if self.error is not None:
            raise self.error
