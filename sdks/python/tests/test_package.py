"""The package itself: its schema copies, installation, and the command line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import venv
from pathlib import Path

from conftest import AMQP_URL, PREFIX, Broker, name, request

SDK = Path(__file__).resolve().parents[1]
REPO = SDK.parents[1]
SCHEMAS = SDK / "src" / "conveyor_worker" / "schemas"


def test_schema_copies_equal_the_generated_ones() -> None:
    for copy in sorted(SCHEMAS.glob("*.json")):
        source = REPO / "libs" / "contracts" / "json-schema" / copy.name
        assert json.loads(copy.read_text()) == json.loads(source.read_text()), (
            f"{copy.relative_to(REPO)} is stale: cp {source.relative_to(REPO)} {copy.relative_to(REPO)}"
        )
    assert len(list(SCHEMAS.glob("*.json"))) == 3


def test_pip_installs_it_offline_next_to_debian_pika(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    # The system site packages hold Debian's python3-pika (and python3-setuptools to build with).
    venv.EnvBuilder(system_site_packages=True, with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # Built from a copy: a setuptools build leaves build/ and *.egg-info next to its sources.
    source = tmp_path / "conveyor-worker"
    shutil.copytree(SDK, source, ignore=shutil.ignore_patterns("build", "*.egg-info", ".*cache", "__pycache__"))
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-build-isolation", "--no-index", "--quiet", str(source)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    probe = subprocess.run(
        [str(python), "-c", "import conveyor_worker, importlib.resources as r; "
         "print(conveyor_worker.__file__); print(r.files('conveyor_worker').joinpath('py.typed').is_file()); "
         "print(sorted(p.name for p in r.files('conveyor_worker').joinpath('schemas').iterdir()))"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    assert probe.returncode == 0, probe.stderr
    where, typed, schemas = probe.stdout.splitlines()
    assert str(env_dir) in where and typed == "True"
    assert "workflow.step.request.v1.json" in schemas
    assert (env_dir / "bin" / "conveyor-worker").exists()


def test_command_line_runs_a_file_and_stops_gracefully_on_sigterm(broker: Broker, tmp_path: Path) -> None:
    queue, results = name("cli"), broker.declare(name("cli-results"))
    script = tmp_path / "slow_worker.py"
    script.write_text(
        "import time\n"
        "from conveyor_worker import Worker\n"
        "worker = Worker()\n"
        f"@worker.handler({queue!r})\n"
        "def slow(ctx):\n"
        "    print('started', flush=True)\n"
        "    time.sleep(1)\n"
        "    return 'finished'\n"
    )
    env = {**os.environ, "AMQP_URL": AMQP_URL, "CONNECTION_NAME": f"{PREFIX}cli", "PYTHONPATH": str(SDK / "src")}
    child = subprocess.Popen(
        [sys.executable, "-m", "conveyor_worker", str(script)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().startswith("ready: consuming")
        broker.publish(queue, request(queue, results, name("p"), taskId="t1"))
        assert child.stdout.readline().strip() == "started"
        child.send_signal(signal.SIGTERM)
        assert child.wait(30) == 0
    finally:
        if child.poll() is None:
            child.kill()
    assert broker.take(results)[0]["output"] == "finished"
    assert broker.depth(queue) == 0


def test_command_line_explains_a_bad_target() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "conveyor_worker", "no_such_module_here"],
        env={**os.environ, "PYTHONPATH": str(SDK / "src")}, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 2
    assert "cannot start: No module named 'no_such_module_here'" in out.stderr
    assert "usage: python3 -m conveyor_worker" in out.stderr
