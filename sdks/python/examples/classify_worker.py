"""A whole worker: ``python3 -m conveyor_worker examples/classify_worker.py`` (see README.md)."""

from conveyor_worker import FatalStepError, StepContext, Worker

worker = Worker()  # AMQP_URL, STEP_QUEUE_TYPE from the environment


@worker.handler("classify", concurrency=16)
def classify(ctx: StepContext) -> dict[str, str]:
    text = ctx.input.get("text", "")
    if not text:
        raise FatalStepError("input.text is empty: send the document text", code="EMPTY_TEXT")
    return {"label": "invoice" if "invoice" in text.lower() else "other"}
