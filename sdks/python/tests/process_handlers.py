"""Handlers run in worker processes (module level: spawned processes import them by name)."""

from __future__ import annotations

import os
import time

from conveyor_worker import FatalStepError, StepContext
from conveyor_worker.protocol import JSON


def crunch(ctx: StepContext) -> JSON:
    if ctx.input.get("fail"):
        raise FatalStepError("cannot crunch this", code="NO_CRUNCH", details={"why": "asked to"})
    ctx.heartbeat(0.5, "half way")
    time.sleep(0.2)
    return {"pid": os.getpid(), "key": ctx.idempotency_key, "sum": sum(ctx.input["numbers"])}


def die(ctx: StepContext) -> JSON:
    os._exit(3)
