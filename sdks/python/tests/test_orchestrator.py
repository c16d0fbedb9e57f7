"""The SDK with the real orchestrator (its own process, as libs/test-support spawnOrchestrator
starts it) on the real RabbitMQ: chains, retries, fatal failures and fan-out, end to end."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

from conftest import AMQP_URL, PREFIX, Broker, Running, wait_for
from conveyor_worker import FatalStepError, ItemOutcome, RetryableStepError, StepContext, Worker
from conveyor_worker.protocol import JSON

REPO = Path(__file__).resolve().parents[3]
Q = {role: f"{PREFIX}orch-{role}" for role in ("echo", "flaky", "fatal", "rerun", "batch", "batchkill")}

WORKFLOWS = {
    "py-chain.yaml": f"""
name: py-chain
version: 1
steps:
  a: {{ queue: {Q['echo']}, input: 'input' }}
  b: {{ queue: {Q['echo']}, needs: [a], input: 'steps.a' }}
  c: {{ queue: {Q['echo']}, needs: [b], input: 'steps.b' }}
output: 'steps.c'
""",
    "py-retry.yaml": f"""
name: py-retry
version: 1
steps:
  flaky:
    queue: {Q['flaky']}
    retry: {{ maxAttempts: 3, backoff: {{ initial: 10ms, max: 20ms }} }}
  items: {{ queue: {Q['echo']}, needs: [flaky], forEach: '[1, 2, 3]' }}
output: 'steps.items'
""",
    "py-rerun.yaml": f"""
name: py-rerun
version: 1
steps:
  a: {{ queue: {Q['rerun']}, input: 'input' }}
  b: {{ queue: {Q['rerun']}, needs: [a], input: 'steps.a' }}
  c: {{ queue: {Q['rerun']}, needs: [b], input: 'steps.b' }}
output: 'steps.c'
""",
    "py-batch.yaml": f"""
name: py-batch
version: 1
steps:
  model:
    queue: {Q['batch']}
    input: 'input'
    retry: {{ maxAttempts: 3, backoff: {{ initial: 10ms, max: 20ms }} }}
output: 'steps.model'
""",
    "py-batch-chain.yaml": f"""
name: py-batch-chain
version: 1
steps:
  a: {{ queue: {Q['batch']}, input: 'input' }}
  b: {{ queue: {Q['batch']}, needs: [a], input: 'steps.a' }}
output: 'steps.b'
""",
    "py-batch-kill.yaml": f"""
name: py-batch-kill
version: 1
steps:
  model: {{ queue: {Q['batchkill']}, input: 'input' }}
output: 'steps.model'
""",
    "py-fatal.yaml": f"""
name: py-fatal
version: 1
steps:
  doomed: {{ queue: {Q['fatal']}, retry: {{ maxAttempts: 3 }} }}
""",
}


class Orchestrator:
    def __init__(self) -> None:
        self.workflows = Path(tempfile.mkdtemp(prefix="py-sdk-wf-"))
        self.data = Path(tempfile.mkdtemp(prefix="py-sdk-db-"))
        for file, text in WORKFLOWS.items():
            (self.workflows / file).write_text(text)
        # PORT=0: the orchestrator binds a port of its own and logs it. A port found free here
        # and passed on could be taken by another process's connection during the seconds tsx
        # takes to start it.
        self.base = ""
        env = {
            **os.environ,
            "PORT": "0",
            "AMQP_URL": AMQP_URL,
            "DATA_DIR": str(self.data),
            "WORKFLOWS_DIR": str(self.workflows),
            "RESULTS_QUEUE": f"{PREFIX}results",
            "PROGRESS_QUEUE": f"{PREFIX}progress",
            "EVENTS_EXCHANGE": f"{PREFIX}events",
            "LOG_LEVEL": "info",
            "TSX_TSCONFIG_PATH": str(REPO / "apps/orchestrator/tsconfig.json"),
        }
        node = shutil.which("node") or "node"
        self.process = subprocess.Popen(
            [node, "--import", "tsx", str(REPO / "apps/orchestrator/src/main.ts")],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.output: List[str] = []
        self.listening = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if "orchestrator listening" in line:
                port = urllib.parse.urlsplit(json.loads(line)["url"]).port
                self.base = f"http://127.0.0.1:{port}"
                self.listening.set()

    def wait_ready(self) -> None:
        # Generous: tsx compiling the orchestrator takes tens of seconds on a busy machine.
        if not self.listening.wait(120):
            raise AssertionError("the orchestrator did not start:\n" + "".join(self.output[-40:]))

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.base}{path}", data=data, method=method, headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as response:
            return json.loads(response.read())

    def run(self, workflow: str, step_input: Any) -> Dict[str, Any]:
        started = self.call("POST", f"/api/workflows/{workflow}/runs", {"input": step_input, "waitMs": 30_000})
        run: Dict[str, Any] = self.call("GET", f"/api/runs/{started['run']['id']}")
        return run

    def counter(self, metric: str, labels: str) -> float:
        with urllib.request.urlopen(f"{self.base}/metrics", timeout=30) as response:
            text = response.read().decode()
        match = re.search(rf"^{metric}\{{[^}}]*{re.escape(labels)}[^}}]*\}} (\S+)$", text, re.M)
        return float(match.group(1)) if match else 0.0

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.workflows, ignore_errors=True)
        shutil.rmtree(self.data, ignore_errors=True)


seen: List[StepContext] = []
worker = Worker(AMQP_URL, connection_name=f"{PREFIX}orch-worker", worker_id="py-sdk-test")


@worker.handler(Q["echo"], concurrency=4)
def echo(ctx: StepContext) -> JSON:
    seen.append(ctx)
    return {"step": ctx.step, "input": ctx.input}


@worker.handler(Q["flaky"])
def flaky(ctx: StepContext) -> JSON:
    seen.append(ctx)
    if ctx.attempt < 2:
        raise RetryableStepError("warming up", code="WARMING_UP")
    return {"attempt": ctx.attempt}


@worker.handler(Q["fatal"])
def fatal(ctx: StepContext) -> JSON:
    seen.append(ctx)
    raise FatalStepError("this document cannot be read: send a PDF", code="UNREADABLE")


@pytest.fixture(scope="module")
def orchestrator() -> Iterator[Orchestrator]:
    orch = Orchestrator()
    running = Running(worker)
    try:
        orch.wait_ready()
        yield orch
    finally:
        running.stop()
        orch.close()


def test_a_python_chain_runs_end_to_end_and_is_continued_by_the_worker(orchestrator: Orchestrator) -> None:
    run = orchestrator.run("py-chain", {"n": 1})
    assert run["status"] == "succeeded"
    assert run["output"] == {"step": "c", "input": {"step": "b", "input": {"step": "a", "input": {"n": 1}}}}
    assert [(s["step"], s["status"]) for s in run["steps"]] == [("a", "succeeded"), ("b", "succeeded"), ("c", "succeeded")]
    # b and c were started by the Python worker itself (§7), with the step's key.
    assert orchestrator.counter("conveyor_workflow_steps_continued_total", f'queue="{Q["echo"]}"') == 2
    keys = {c.step: c.idempotency_key for c in seen if c.run_id == run["id"]}
    assert keys == {step: f"{run['id']}:{step}" for step in ("a", "b", "c")}


def test_retries_keep_the_key_and_fan_out_items_get_their_own(orchestrator: Orchestrator) -> None:
    run = orchestrator.run("py-retry", {})
    assert run["status"] == "succeeded"
    flaky_attempts = [c for c in seen if c.run_id == run["id"] and c.step == "flaky"]
    assert [c.attempt for c in flaky_attempts] == [1, 2]
    assert {c.idempotency_key for c in flaky_attempts} == {f"{run['id']}:flaky"}
    items = sorted((c.item_index or 0, c.idempotency_key) for c in seen if c.run_id == run["id"] and c.step == "items")
    assert items == [(i, f"{run['id']}:items:{i}") for i in range(3)]
    assert [o["input"] for o in run["output"]] == [1, 2, 3]


def test_a_fatal_error_fails_the_run_at_once(orchestrator: Orchestrator) -> None:
    run = orchestrator.run("py-fatal", {})
    assert run["status"] == "failed"
    assert run["error"]["code"] == "UNREADABLE" and run["error"]["retryable"] is False
    assert len([c for c in seen if c.run_id == run["id"]]) == 1
    wait_for("no attempt in flight", lambda: worker.in_flight() == 0 or None)


# A worker killed after it started the next link of a chain but before its own result was
# confirmed (issue 19): the first process records what it runs, then dies (os._exit, as kill -9)
# when about to publish the result of step a; a second process takes over.
RERUN_WORKER = """
import json, os
import conveyor_worker.finishing as module
from conveyor_worker import Worker

worker = Worker()
publish = module.publish


def dying_publish(channel, queue, body, *args, **kwargs):
    if os.environ.get("DIE") and body.get("type") == "workflow.step.result" and body.get("step") == "a":
        os._exit(9)
    publish(channel, queue, body, *args, **kwargs)


module.publish = dying_publish


@worker.handler(os.environ["QUEUE"])
def step(ctx):
    with open(os.environ["RAN_LOG"], "a") as log:
        log.write(json.dumps({"step": ctx.step, "taskId": ctx.task_id, "key": ctx.idempotency_key, "sent": ctx.request.get("idempotencyKey")}) + "\\n")
    return {**ctx.input, ctx.step: True}
"""


def test_a_chain_re_run_after_a_kill_keeps_each_steps_key(orchestrator: Orchestrator, tmp_path: Path) -> None:
    script, ran_log = tmp_path / "rerun_worker.py", tmp_path / "ran.jsonl"
    script.write_text(RERUN_WORKER)
    env = {
        **os.environ,
        "AMQP_URL": AMQP_URL,
        "QUEUE": Q["rerun"],
        "CONNECTION_NAME": f"{PREFIX}rerun",
        "RAN_LOG": str(ran_log),
        "PYTHONPATH": str(REPO / "sdks/python/src"),
    }
    command = [sys.executable, "-m", "conveyor_worker", str(script)]
    first = subprocess.Popen(command, env={**env, "DIE": "1"})
    started = orchestrator.call("POST", "/api/workflows/py-rerun/runs", {"input": {"n": 1}})
    run_id = started["run"]["id"]
    assert first.wait(60) == 9, "the first worker should have died before publishing a's result"
    second = subprocess.Popen(command, env=env)
    try:

        def finished() -> Optional[Dict[str, Any]]:
            run: Dict[str, Any] = orchestrator.call("GET", f"/api/runs/{run_id}")
            return run if run["status"] != "running" else None

        def both_copies_of_c() -> Optional[List[Dict[str, Any]]]:
            rows = [json.loads(line) for line in ran_log.read_text().splitlines()]
            return rows if sum(r["step"] == "c" for r in rows) >= 2 else None

        run = wait_for("the run to finish", finished, 60)
        ran = wait_for("both copies of c", both_copies_of_c, 30)
    finally:
        second.terminate()
        second.wait(30)
    assert run["status"] == "succeeded" and run["output"] == {"n": 1, "a": True, "b": True, "c": True}
    for step in ("a", "b", "c"):
        runs = [r for r in ran if r["step"] == step]
        assert len(runs) == 2, ran
        # Both runs of each step got the step's key …
        assert {(r["key"], r["sent"]) for r in runs} == {(f"{run_id}:{step}", f"{run_id}:{step}")}
        # … where b and c, started by the two runs of the step before, had new task ids.
        if step != "a":
            assert runs[0]["taskId"] != runs[1]["taskId"]


def wait_for_depth(queue: str, count: int) -> None:
    broker = Broker()
    try:
        wait_for(f"{count} requests waiting on {queue}", lambda: broker.depth(queue) >= count or None, 60)
    finally:
        broker.close()


def finished(orchestrator: Orchestrator, run_id: str) -> Dict[str, Any]:
    def probe() -> Optional[Dict[str, Any]]:
        run: Dict[str, Any] = orchestrator.call("GET", f"/api/runs/{run_id}")
        return run if run["status"] not in ("running", "pending") else None

    return wait_for(f"run {run_id} to finish", probe, 60)


def test_batches_hold_steps_of_different_runs_and_each_fails_alone(orchestrator: Orchestrator) -> None:
    modes = ["ok", "retry", "fatal", "ok"]
    single = [orchestrator.call("POST", "/api/workflows/py-batch/runs", {"input": {"mode": m, "n": n}})["run"]["id"] for n, m in enumerate(modes)]
    chains = [orchestrator.call("POST", "/api/workflows/py-batch-chain/runs", {"input": {"mode": "ok", "n": n}})["run"]["id"] for n in range(2)]
    batches: List[List[str]] = []
    batcher = Worker(AMQP_URL, connection_name=f"{PREFIX}batch-worker")
    # Started once the runs' six first steps wait in the queue together: the API answers before
    # the orchestrator has published them all, which a loaded machine can spread over seconds.
    wait_for_depth(Q["batch"], 6)

    # Six at most per call: the first call is full, and taken, as soon as the six have arrived.
    @batcher.batch_handler(Q["batch"], max_batch_size=6, max_wait_ms=1000)
    def model(items: List[StepContext]) -> List[ItemOutcome]:
        batches.append([i.run_id for i in items])
        out: List[ItemOutcome] = []
        for item in items:
            mode = item.input["mode"]
            if mode == "fatal":
                out.append(FatalStepError("unreadable", code="UNREADABLE"))
            elif mode == "retry" and item.attempt == 1:
                out.append(RetryableStepError("warming up", code="WARMING_UP"))
            else:
                out.append({**item.input, item.step: True})
        return out

    running = Running(batcher)
    try:
        runs = [finished(orchestrator, run_id) for run_id in single]
        chained = [finished(orchestrator, run_id) for run_id in chains]
    finally:
        running.stop()
    assert set(batches[0]) == set(single + chains)
    for n, (mode, run) in enumerate(zip(modes, runs)):
        if mode == "fatal":
            assert run["status"] == "failed" and run["error"]["code"] == "UNREADABLE"
            assert len(run["steps"][0]["attempts"]) == 1
        else:
            assert run["status"] == "succeeded" and run["output"] == {"mode": mode, "n": n, "model": True}
            assert len(run["steps"][0]["attempts"]) == (2 if mode == "retry" else 1)
    for n, run in enumerate(chained):
        assert run["status"] == "succeeded" and run["output"] == {"mode": "ok", "n": n, "a": True, "b": True}
    # Each chain's b was started by the batch worker itself, item by item (§7).
    assert orchestrator.counter("conveyor_workflow_steps_continued_total", f'queue="{Q["batch"]}"') == 2


# A batch worker killed (os._exit, as kill -9) after its batch function returned, while
# publishing the first result: no item of the batch was acked, so every one is redelivered.
BATCH_KILL_WORKER = """
import json, os
import conveyor_worker.finishing as module
from conveyor_worker import Worker

worker = Worker()
publish = module.publish


def dying_publish(channel, queue, body, *args, **kwargs):
    if os.environ.get("DIE") and body.get("type") == "workflow.step.result":
        os._exit(9)
    publish(channel, queue, body, *args, **kwargs)


module.publish = dying_publish


@worker.batch_handler(os.environ["QUEUE"], max_batch_size=3, max_wait_ms=1000)
def model(items):
    with open(os.environ["RAN_LOG"], "a") as log:
        log.write(json.dumps([i.run_id for i in items]) + "\\n")
    return [{**i.input, "done": True} for i in items]
"""


def test_a_batch_killed_before_its_results_are_confirmed_is_redelivered_whole(orchestrator: Orchestrator, tmp_path: Path) -> None:
    script, ran_log = tmp_path / "batch_kill_worker.py", tmp_path / "ran.jsonl"
    script.write_text(BATCH_KILL_WORKER)
    env = {
        **os.environ,
        "AMQP_URL": AMQP_URL,
        "QUEUE": Q["batchkill"],
        "CONNECTION_NAME": f"{PREFIX}batchkill",
        "RAN_LOG": str(ran_log),
        "PYTHONPATH": str(REPO / "sdks/python/src"),
    }
    run_ids = [orchestrator.call("POST", "/api/workflows/py-batch-kill/runs", {"input": {"n": n}})["run"]["id"] for n in range(3)]
    # All three queued before the worker consumes, so that its one (full) call holds them all.
    wait_for_depth(Q["batchkill"], 3)
    command = [sys.executable, "-m", "conveyor_worker", str(script)]
    first = subprocess.Popen(command, env={**env, "DIE": "1"})
    assert first.wait(60) == 9, "the first worker should have died publishing its first result"
    second = subprocess.Popen(command, env=env)
    try:
        runs = [finished(orchestrator, run_id) for run_id in run_ids]
    finally:
        second.terminate()
        second.wait(30)
    for n, run in enumerate(runs):
        assert run["status"] == "succeeded" and run["output"] == {"n": n, "done": True}
    calls = [json.loads(line) for line in ran_log.read_text().splitlines()]
    # The dead worker's call held all three; none was acked, so each ran again in the second.
    assert sorted(calls[0]) == sorted(run_ids)
    assert sorted(r for call in calls[1:] for r in call) == sorted(run_ids)
