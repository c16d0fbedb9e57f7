"""The SDK against the real RabbitMQ, the test playing the orchestrator (protocol §2–§7)."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from typing import Any, Dict, List, Optional

import jsonschema
import pytest

from conftest import AMQP_URL, PREFIX, Broker, Running, close_connections, name, request, wait_for
from conveyor_worker import FatalStepError, QueueTypeMismatch, RetryableStepError, StepContext, Worker
from conveyor_worker.protocol import JSON, queue_arguments
from conveyor_worker.validation import RESULT_SCHEMA, PROGRESS_SCHEMA, REQUEST_SCHEMA, load_schema
import process_handlers


def queues(broker: Broker) -> Dict[str, str]:
    return {
        "requests": name("q"),
        "results": broker.declare(name("results")),
        "progress": broker.declare(name("progress")),
    }


def valid(message: Dict[str, Any], schema: str) -> None:
    body = {k: v for k, v in message.items() if k != "_properties"}
    jsonschema.validate(body, load_schema(schema))


def new_worker(**options: Any) -> Worker:
    return Worker(AMQP_URL, connection_name=f"{PREFIX}worker", **options)


def test_outputs_and_errors_become_results(broker: Broker) -> None:
    q = queues(broker)
    worker = new_worker(worker_id="py-test/1")
    seen: List[StepContext] = []

    @worker.handler(q["requests"], concurrency=4)
    def handle(ctx: StepContext) -> JSON:
        seen.append(ctx)
        kind = ctx.input.get("kind")
        if kind == "retryable":
            raise RetryableStepError("model still loading", code="MODEL_UNAVAILABLE")
        if kind == "fatal":
            raise FatalStepError("empty text", code="EMPTY_TEXT", details={"field": "text"})
        if kind == "bug":
            raise KeyError("oops")
        if kind == "nothing":
            return None
        if kind == "not-json":
            return {"tags": {"a", "b"}}
        if kind == "nan":
            return {"score": float("nan")}
        if kind == "odd-details":
            raise FatalStepError("cannot parse", code="PARSE", details={"at": object()})
        return {"echo": ctx.input}

    running = Running(worker)
    try:
        sent = {
            kind: request(q["requests"], q["results"], q["progress"], input={"kind": kind}, itemIndex=2, idempotencyKey=None)
            for kind in ("ok", "retryable", "fatal", "bug", "nothing", "not-json", "nan", "odd-details")
        }
        for body in sent.values():
            body.pop("idempotencyKey")
            broker.publish(q["requests"], body)
        results = {r["taskId"]: r for r in broker.take(q["results"], 8)}
    finally:
        running.stop()
    by_kind = {kind: results[body["taskId"]] for kind, body in sent.items()}
    for kind, result in by_kind.items():
        valid(result, RESULT_SCHEMA)
        assert result["attempt"] == 1 and result["workerId"] == "py-test/1"
        props = result["_properties"]
        assert props.message_id == f"{sent[kind]['taskId']}:1" and props.correlation_id == "run-py"
        assert props.delivery_mode == 2 and props.content_type == "application/json"
    assert by_kind["ok"]["status"] == "succeeded" and by_kind["ok"]["output"] == {"echo": {"kind": "ok"}}
    assert by_kind["nothing"]["output"] is None
    assert by_kind["retryable"]["error"] == {"message": "model still loading", "code": "MODEL_UNAVAILABLE", "retryable": True}
    assert by_kind["fatal"]["error"] == {"message": "empty text", "code": "EMPTY_TEXT", "retryable": False, "details": {"field": "text"}}
    assert by_kind["bug"]["error"] == {"message": "KeyError: 'oops'", "code": "UNHANDLED", "retryable": True}
    # A return value JSON cannot carry is a worker bug: fatal, and the worker carries on.
    for kind in ("not-json", "nan"):
        assert by_kind[kind]["error"]["code"] == "INVALID_OUTPUT" and by_kind[kind]["error"]["retryable"] is False
        assert "returned output that is not JSON" in by_kind[kind]["error"]["message"]
    assert by_kind["odd-details"]["error"]["details"].startswith("{'at': <object object")
    # Requests without idempotencyKey (older orchestrators): the SDK computes the same key.
    assert {c.idempotency_key for c in seen} == {"run-py:s:2"}
    assert {c.item_index for c in seen} == {2}
    assert broker.depth(q["requests"]) == 0


def test_input_and_output_schemas(broker: Broker) -> None:
    q = queues(broker)
    worker = new_worker()
    schema = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}

    @worker.handler(q["requests"], input_schema=schema, output_schema={"type": "object", "required": ["label"]})
    def classify(ctx: StepContext) -> JSON:
        return {"label": "invoice"} if ctx.input["text"] else {"wrong": True}

    running = Running(worker)
    try:
        for text in ("a", "", 7):
            broker.publish(q["requests"], request(q["requests"], q["results"], q["progress"], taskId=f"t-{text!r}", input={"text": text}))
        results = {r["taskId"]: r for r in broker.take(q["results"], 3)}
    finally:
        running.stop()
    assert results["t-'a'"]["output"] == {"label": "invoice"}
    assert results["t-''"]["error"]["code"] == "INVALID_OUTPUT" and results["t-''"]["error"]["retryable"] is False
    assert results["t-7"]["error"]["code"] == "INVALID_INPUT"
    assert "text: 7 is not of type 'string'" in results["t-7"]["error"]["message"]


def test_heartbeats_manual_and_automatic(broker: Broker) -> None:
    q = queues(broker)
    worker = new_worker()
    release = threading.Event()

    @worker.handler(q["requests"], heartbeat_interval=0.1)
    def slow(ctx: StepContext) -> JSON:
        ctx.heartbeat(0.5, "half way")
        release.wait(10)
        return "done"

    running = Running(worker)
    try:
        body = request(q["requests"], q["results"], q["progress"])
        broker.publish(q["requests"], body)
        beats = broker.take(q["progress"], 3)
        release.set()
        broker.take(q["results"])
    finally:
        running.stop()
    for beat in beats:
        valid(beat, PROGRESS_SCHEMA)
        assert (beat["taskId"], beat["attempt"], beat["runId"], beat["step"]) == (body["taskId"], 1, "run-py", "s")
    assert {"progress": 0.5, "message": "half way"}.items() <= beats[0].items()
    assert all("progress" not in b for b in beats[1:])


def test_rejects_malformed_requests_and_skips_expired_ones(broker: Broker) -> None:
    q = queues(broker)
    worker = new_worker()
    ran: List[str] = []

    @worker.handler(q["requests"])
    def handle(ctx: StepContext) -> JSON:
        ran.append(ctx.task_id)
        return None

    running = Running(worker)
    try:
        broker.publish(q["requests"], b"{not json")
        broker.publish(q["requests"], {**request(q["requests"], q["results"], q["progress"]), "attempt": 0})
        broker.publish(q["requests"], {**request(q["requests"], q["results"], q["progress"]), "version": 2})
        broker.publish(q["requests"], {**request(q["requests"], q["results"], q["progress"]), "chain": [{"step": "n", "queue": "x", "timeoutMs": 1, "input": {"from": "previous"}}]})
        broker.publish(q["requests"], request(q["requests"], q["results"], q["progress"], taskId="expired", deadline="2020-01-01T00:00:00.000Z"))
        letters: List[bytes] = []

        def four_dead_letters() -> Optional[bool]:
            body = broker.channel.basic_get(f"{q['requests']}.dlq", auto_ack=True)[2]
            if body:
                letters.append(body)
            return len(letters) == 4 or None

        wait_for("4 dead letters", four_dead_letters)
        wait_for("the expired request to be acked", lambda: broker.depth(q["requests"]) == 0 or None)
    finally:
        running.stop()
    assert letters[0] == b"{not json"
    assert sorted(json.loads(d)["attempt"] for d in letters[1:]) == [0, 1, 1]
    assert ran == [] and broker.get(q["results"]) is None


def test_counts_redeliveries_on_classic_queues(broker: Broker) -> None:
    q = queues(broker)
    ch = broker.channel
    worker = new_worker()
    ran: List[str] = []

    @worker.handler(q["requests"])
    def handle(ctx: StepContext) -> JSON:
        ran.append(ctx.task_id)
        return None

    # Declared as the worker declares it, then "crashed" on: delivered, never acked, redelivered.
    ch.exchange_declare(f"{q['requests']}.dlx", "fanout", durable=True)
    ch.queue_declare(f"{q['requests']}.dlq", durable=True, arguments={"x-queue-type": "quorum"})
    ch.queue_bind(f"{q['requests']}.dlq", f"{q['requests']}.dlx")
    ch.queue_declare(q["requests"], durable=True, arguments=queue_arguments(q["requests"], "classic"))
    broker.publish(q["requests"], request(q["requests"], q["results"], q["progress"], taskId="poison"), headers={"x-conveyor-attempt": 5})
    broker.publish(q["requests"], request(q["requests"], q["results"], q["progress"], taskId="survivor"))
    for _ in range(2):
        method, _, _ = ch.basic_get(q["requests"])
        ch.basic_nack(method.delivery_tag, requeue=True)
    running = Running(worker)
    try:
        result = broker.take(q["results"])[0]
        dead = broker.take(f"{q['requests']}.dlq")[0]
    finally:
        running.stop()
    assert result["taskId"] == "survivor" and ran == ["survivor"]
    assert dead["taskId"] == "poison"


def test_chains_start_the_next_step(broker: Broker) -> None:
    q = queues(broker)
    nxt = broker.declare(name("next"))
    worker = new_worker()

    @worker.handler(q["requests"])
    def handle(ctx: StepContext) -> JSON:
        return {"n": ctx.input["n"] + 1}

    chain = [
        {"step": "b", "queue": nxt, "timeoutMs": 5000, "input": {"from": "output"}},
        {"step": "c", "queue": nxt, "timeoutMs": 5000, "input": {"from": "value", "value": {"run": "input"}}},
    ]
    running = Running(worker)
    try:
        broker.publish(q["requests"], request(q["requests"], q["results"], q["progress"], runId="r7", step="a", input={"n": 1}, chain=chain))
        broker.publish(q["requests"], request(q["requests"], q["results"], q["progress"], taskId="to-nowhere", input={"n": 1}, chain=[{**chain[0], "queue": name("missing")}]))
        results = {r["taskId"]: r for r in broker.take(q["results"], 2)}
        following = broker.take(nxt)[0]
    finally:
        running.stop()
    valid(following, REQUEST_SCHEMA)
    continued = next(r for r in results.values() if r["taskId"] != "to-nowhere")
    assert continued["continuedAs"] == following["taskId"]
    assert uuid.UUID(following["taskId"]).version == 7  # time-ordered, as §7.2 recommends
    assert following["_properties"].message_id == f"{following['taskId']}:1"
    assert {k: following[k] for k in ("attempt", "runId", "step", "queue", "idempotencyKey", "input", "timeoutMs", "replyTo", "progressTo")} == {
        "attempt": 1, "runId": "r7", "step": "b", "queue": nxt, "idempotencyKey": "r7:b", "input": {"n": 2},
        "timeoutMs": 5000, "replyTo": q["results"], "progressTo": q["progress"],
    }
    assert following["chain"] == chain[1:]
    # The publish to a missing queue came back unroutable: the orchestrator will dispatch it.
    assert "continuedAs" not in results["to-nowhere"] and results["to-nowhere"]["status"] == "succeeded"


def test_process_handlers(broker: Broker) -> None:
    q = queues(broker)
    dying = name("dying")
    worker = new_worker()
    worker.handler(q["requests"], concurrency=2, processes=2)(process_handlers.crunch)
    worker.handler(dying, processes=1)(process_handlers.die)
    running = Running(worker)
    try:
        broker.publish(q["requests"], request(q["requests"], q["results"], q["progress"], taskId="ok", input={"numbers": [1, 2, 3]}))
        broker.publish(q["requests"], request(q["requests"], q["results"], q["progress"], taskId="fail", input={"fail": True}))
        broker.publish(dying, request(dying, q["results"], q["progress"], taskId="dies", input={}))
        results = {r["taskId"]: r for r in broker.take(q["results"], 3, timeout=60)}
        beat = broker.take(q["progress"])[0]
    finally:
        running.stop()
    assert results["ok"]["output"]["sum"] == 6 and results["ok"]["output"]["key"] == "run-py:s"
    assert results["ok"]["output"]["pid"] != os.getpid()
    assert results["fail"]["error"] == {"message": "cannot crunch this", "code": "NO_CRUNCH", "retryable": False, "details": {"why": "asked to"}}
    assert results["dies"]["error"]["retryable"] is True and "died" in results["dies"]["error"]["message"]
    assert (beat["taskId"], beat["progress"], beat["message"]) == ("ok", 0.5, "half way")


def test_graceful_stop_finishes_running_attempts_and_leaves_the_rest(broker: Broker) -> None:
    q = queues(broker)
    worker = new_worker()
    started = threading.Event()

    @worker.handler(q["requests"], concurrency=1)
    def slow(ctx: StepContext) -> JSON:
        started.set()
        # Runs until the stop is requested (a fixed sleep could end first on a loaded machine,
        # and the worker would take the next request).
        deadline = time.monotonic() + 30
        while not ctx.stopping and time.monotonic() < deadline:
            time.sleep(0.01)
        return ctx.stopping

    running = Running(worker)
    for i in range(3):
        broker.publish(q["requests"], request(q["requests"], q["results"], q["progress"], taskId=f"t{i}"))
    assert started.wait(10)
    running.stop()
    results = broker.take(q["results"])
    assert [(r["taskId"], r["output"]) for r in results] == [("t0", True)]
    assert broker.get(q["results"]) is None
    assert broker.depth(q["requests"]) == 2


def test_reconnects_after_the_broker_closes_its_connection(broker: Broker) -> None:
    q = queues(broker)
    connection_name = f"{PREFIX}reconnect-{os.getpid()}"
    worker = Worker(AMQP_URL, connection_name=connection_name, reconnect_delay=0.2)
    release = threading.Event()

    @worker.handler(q["requests"])
    def handle(ctx: StepContext) -> JSON:
        if ctx.input.get("wait"):
            release.wait(20)
        return ctx.input

    running = Running(worker)
    try:
        broker.publish(q["requests"], request(q["requests"], q["results"], q["progress"], taskId="in-flight", input={"wait": True}))
        wait_for("the attempt to start", lambda: worker.in_flight() == 1 or None)
        assert close_connections(connection_name) == 1
        wait_for("the worker to reconnect", lambda: worker.ready.is_set() or None, 30)
        release.set()
        broker.publish(q["requests"], request(q["requests"], q["results"], q["progress"], taskId="after", input={}))
        # The in-flight attempt's result is sent on the new connection; its request, requeued
        # when the connection died, runs again and is answered a second time.
        results = broker.take(q["results"], 3, timeout=30)
    finally:
        running.stop()
    assert sorted(r["taskId"] for r in results) == ["after", "in-flight", "in-flight"]
    assert broker.depth(q["requests"]) == 0


def test_stops_with_the_fix_when_the_queue_has_the_other_type(broker: Broker) -> None:
    queue = name("old-quorum")
    broker.channel.queue_declare(queue, durable=True, arguments=queue_arguments(queue, "quorum"))
    worker = new_worker(queue_type="classic")
    worker.handler(queue)(lambda ctx: None)
    with pytest.raises(QueueTypeMismatch) as raised:
        worker.run()
    assert f"queue {queue} exists on the broker as a quorum queue, but this worker declares it as classic" in str(raised.value)
    assert "set STEP_QUEUE_TYPE=quorum on the orchestrator and every worker" in str(raised.value)


def test_prefetch_is_per_consumer_so_quorum_queues_work(broker: Broker) -> None:
    q = queues(broker)
    worker = new_worker(queue_type="quorum")
    worker.handler(q["requests"], concurrency=3)(lambda ctx: ctx.input)
    running = Running(worker)
    try:
        broker.publish(q["requests"], request(q["requests"], q["results"], q["progress"]))
        assert broker.take(q["results"])[0]["status"] == "succeeded"
    finally:
        running.stop()


def test_registration_errors() -> None:
    worker = new_worker()
    worker.handler("q")(lambda ctx: None)
    with pytest.raises(ValueError, match='two handlers for queue "q"'):
        worker.handler("q")(lambda ctx: None)
    with pytest.raises(ValueError, match="concurrency"):
        worker.handler("r", concurrency=0)
    with pytest.raises(ValueError, match="STEP_QUEUE_TYPE must be classic or quorum"):
        Worker(env={"STEP_QUEUE_TYPE": "stream"})
    with pytest.raises(ValueError, match="no handlers"):
        new_worker().run()
