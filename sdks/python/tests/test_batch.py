"""Batch handlers (protocol §9) against the real RabbitMQ, the test playing the orchestrator."""

from __future__ import annotations

from typing import Any, Dict, List, Sequence

import pytest

from conftest import AMQP_URL, PREFIX, Broker, Running, name, request
from conveyor_worker import FatalStepError, ItemOutcome, RetryableStepError, StepContext, Worker
from conveyor_worker.protocol import queue_arguments


def queued(broker: Broker, bodies: Sequence[Dict[str, Any]]) -> Dict[str, str]:
    """Declares a step queue as the worker does and fills it before any worker consumes."""
    q = {"requests": name("batch"), "results": broker.declare(name("results")), "progress": broker.declare(name("progress"))}
    ch = broker.channel
    ch.exchange_declare(f"{q['requests']}.dlx", "fanout", durable=True)
    ch.queue_declare(f"{q['requests']}.dlq", durable=True, arguments={"x-queue-type": "quorum"})
    ch.queue_bind(f"{q['requests']}.dlq", f"{q['requests']}.dlx")
    ch.queue_declare(q["requests"], durable=True, arguments=queue_arguments(q["requests"], "classic"))
    for body in bodies:
        broker.publish(q["requests"], {**request(q["requests"], q["results"], q["progress"]), **body})
    return q


def new_worker() -> Worker:
    return Worker(AMQP_URL, connection_name=f"{PREFIX}batch-worker", worker_id="py-batch/1")


def test_requests_of_different_runs_share_a_call_and_fail_alone(broker: Broker) -> None:
    kinds = ["ok", "retryable", "fatal", "bug", "bad-input", "not-json", "ok2", "ok3", "ok4"]
    q = queued(broker, [{"taskId": kind, "runId": f"run-{kind}", "input": {"text": kind}} for kind in kinds])
    worker = new_worker()
    batches: List[List[str]] = []

    @worker.batch_handler(
        q["requests"],
        max_batch_size=4,
        # Never reached: both calls are full. A short wait would split them when a loaded
        # machine spaces the deliveries out.
        max_wait_ms=60_000,
        input_schema={"type": "object", "properties": {"text": {"enum": [k for k in kinds if k != "bad-input"]}}},
    )
    def model(items: List[StepContext]) -> List[ItemOutcome]:
        batches.append([i.run_id for i in items])
        out: List[ItemOutcome] = []
        for item in items:
            item.heartbeat(0.5, "in the model")
            text = item.input["text"]
            if text == "retryable":
                out.append(RetryableStepError("GPU busy", code="BUSY"))
            elif text == "fatal":
                out.append(FatalStepError("unreadable", code="UNREADABLE"))
            elif text == "bug":
                out.append(KeyError("label"))
            elif text == "not-json":
                out.append({"labels": {"a"}})
            else:
                out.append({"label": text, "batch": len(items)})
        return out

    running = Running(worker)
    try:
        results = {r["taskId"]: r for r in broker.take(q["results"], len(kinds))}
        beats = broker.take(q["progress"], len(kinds) - 1)
    finally:
        running.stop()
    # Eight valid requests, four at most per call: 4 + 4; the invalid input never reached the model.
    assert [len(b) for b in batches] == [4, 4]
    assert sorted(r for b in batches for r in b) == sorted(f"run-{k}" for k in kinds if k != "bad-input")
    for kind, result in results.items():
        assert result["runId"] == f"run-{kind}" and result["workerId"] == "py-batch/1"
    assert results["ok"]["status"] == "succeeded" and results["ok"]["output"]["label"] == "ok"
    assert all(results[k]["status"] == "succeeded" for k in ("ok2", "ok3", "ok4"))
    assert results["retryable"]["error"] == {"message": "GPU busy", "code": "BUSY", "retryable": True}
    assert results["fatal"]["error"] == {"message": "unreadable", "code": "UNREADABLE", "retryable": False}
    assert results["bug"]["error"] == {"message": "KeyError: 'label'", "code": "UNHANDLED", "retryable": True}
    assert results["not-json"]["error"]["code"] == "INVALID_OUTPUT"
    assert results["bad-input"]["error"]["code"] == "INVALID_INPUT"
    assert sorted(b["taskId"] for b in beats) == sorted(k for k in kinds if k != "bad-input")
    assert broker.depth(q["requests"]) == 0


def test_a_call_that_raises_or_miscounts_fails_each_item_with_its_own_result(broker: Broker) -> None:
    q = queued(broker, [{"taskId": f"t{i}", "input": {"text": "x" * i}} for i in range(4)])
    worker = new_worker()
    calls: List[int] = []

    # Both calls are full (2 + 2): the wait only matters if deliveries are spaced out.
    @worker.batch_handler(q["requests"], max_batch_size=2, max_wait_ms=60_000)
    def model(items: List[StepContext]) -> List[ItemOutcome]:
        calls.append(len(items))
        if len(calls) == 1:
            raise RetryableStepError("out of GPU memory", code="OOM")
        return [{"only": "one"}]

    running = Running(worker)
    try:
        results = broker.take(q["results"], 4)
    finally:
        running.stop()
    assert calls == [2, 2]
    codes = sorted(r["error"]["code"] for r in results)
    assert codes == ["INVALID_BATCH_OUTPUT", "INVALID_BATCH_OUTPUT", "OOM", "OOM"]
    assert len({r["taskId"] for r in results}) == 4
    mismatch = next(r for r in results if r["error"]["code"] == "INVALID_BATCH_OUTPUT")
    assert "returned 1 outcomes for 2 items" in mismatch["error"]["message"] and mismatch["error"]["retryable"] is False


def test_batch_settings_are_checked() -> None:
    worker = new_worker()
    with pytest.raises(ValueError, match="max_batch_size of the q batch handler must be an integer >= 1, got 0"):
        worker.batch_handler("q", max_batch_size=0, max_wait_ms=5)
    with pytest.raises(ValueError, match="prefetch of the q batch handler must be an integer >= 1, got 0"):
        worker.batch_handler("q", max_batch_size=4, max_wait_ms=5, prefetch=0)
    with pytest.raises(ValueError, match="max_wait_ms of the q batch handler must be >= 0"):
        worker.batch_handler("q", max_batch_size=4, max_wait_ms=-1)
