"""The SDK with the real orchestrator (its own process, as libs/test-support spawnOrchestrator
starts it) on the real RabbitMQ: chains, retries, fatal failures and fan-out, end to end."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from conftest import AMQP_URL, PREFIX, Running, wait_for
from conveyor_worker import FatalStepError, RetryableStepError, StepContext, Worker
from conveyor_worker.protocol import JSON

REPO = Path(__file__).resolve().parents[3]
Q = {role: f"{PREFIX}orch-{role}" for role in ("echo", "flaky", "fatal")}

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
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "PORT": str(port),
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
