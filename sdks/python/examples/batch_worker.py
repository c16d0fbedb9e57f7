"""A batch worker: ``python3 -m conveyor_worker examples/batch_worker.py`` (README, micro-batching).

Requests of the ``classify`` queue from any runs reach ``classify`` together, up to 32 at a
time, the first waiting at most 5 ms for company; each gets its own result.
"""

from typing import List

from conveyor_worker import FatalStepError, ItemOutcome, StepContext, Worker

worker = Worker()  # AMQP_URL, STEP_QUEUE_TYPE from the environment


def predict(texts: List[str]) -> List[str]:
    """Stands in for one call of a batched model (a GPU answers 32 texts in the time of one)."""
    return ["invoice" if "invoice" in text.lower() else "other" for text in texts]


@worker.batch_handler("classify", max_batch_size=32, max_wait_ms=5)
def classify(items: List[StepContext]) -> List[ItemOutcome]:
    texts = [str(item.input.get("text", "")) for item in items]
    labels = predict([text for text in texts if text])
    outcomes: List[ItemOutcome] = []
    for text in texts:
        if not text:
            # Fails this item only; the other runs of the batch get their labels.
            outcomes.append(FatalStepError("input.text is empty: send the document text", code="EMPTY_TEXT"))
        else:
            outcomes.append({"label": labels.pop(0)})
    return outcomes
