"""Reference conformance worker on the Python SDK (sdks/python): the contract of
tools/conformance/README.md in a few lines per queue.

    PYTHONPATH=sdks/python/src python3 -m conveyor_worker tools/conformance/workers/python/conformance_worker.py
"""

import os
import time

from conveyor_worker import FatalStepError, RetryableStepError, StepContext, Worker

PREFIX = os.environ["CONFORMANCE_PREFIX"]  # set by the conformance kit
worker = Worker()  # AMQP_URL, STEP_QUEUE_TYPE from the environment


@worker.handler(f"{PREFIX}.echo")
def echo(ctx: StepContext) -> object:
    return ctx.input


@worker.handler(f"{PREFIX}.flaky")
def flaky(ctx: StepContext) -> object:
    until = ctx.input["failUntilAttempt"]
    if ctx.attempt < until:
        raise RetryableStepError(f"failing until attempt {until}", code="FLAKY")
    return {"attempt": ctx.attempt}


@worker.handler(f"{PREFIX}.fatal")
def fatal(ctx: StepContext) -> object:
    raise FatalStepError("this step always fails (conformance contract)", code="CONFORMANCE_FATAL")


@worker.handler(f"{PREFIX}.crash")
def crash(ctx: StepContext) -> object:
    return ctx.input["missing"]  # a bug the handler did not decide on: KeyError → UNHANDLED


@worker.handler(f"{PREFIX}.key")
def key(ctx: StepContext) -> object:
    return {"idempotencyKey": ctx.idempotency_key}


@worker.handler(f"{PREFIX}.slow")
def slow(ctx: StepContext) -> object:
    ms, every = ctx.input["ms"], ctx.input.get("heartbeatMs")
    started = time.monotonic()
    while (elapsed := (time.monotonic() - started) * 1000) < ms:
        if every:
            ctx.heartbeat(progress=elapsed / ms)
        time.sleep(min(every or ms, ms - elapsed) / 1000)
    return {"sleptMs": ms}
