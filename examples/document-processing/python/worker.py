#!/usr/bin/env python3
"""The `extract-fields` worker of the document-processing example, on the Python SDK
(sdks/python, package conveyor-worker): finds dates, amounts and e-mail addresses in a
document's text.

    AMQP_URL=amqp://guest:guest@127.0.0.1:5672 python3 worker.py

Environment: AMQP_URL, QUEUE (default extract-fields), PREFETCH (default 8), CONNECTION_NAME,
STEP_QUEUE_TYPE (classic, the default, or quorum: must equal the orchestrator's),
CONTINUE_CHAINS (default 1; 0 ignores `chain` and leaves every dispatch to the orchestrator).
Debian packages: python3-pika (python3-jsonschema optional).

It reads no files: its input is the document's text, which the TypeScript `ocr` step read from
the page URIs under the pages root (see ../README.md); a Python step that reads page URIs must
apply the same rule.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any, Dict

if importlib.util.find_spec("conveyor_worker") is None:  # a clone without `pip install ./sdks/python`
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "sdks" / "python" / "src"))

from conveyor_worker import FatalStepError, QueueTypeMismatch, StepContext, Worker

WORKER_ID = f"python-extract/{os.getpid()}"

DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
AMOUNT = re.compile(r"\b\d{1,3}(?:,\d{3})*(?:\.\d{2})?\s?(?:EUR|USD|GBP)\b")
EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")

worker = Worker(worker_id=WORKER_ID, continue_chains=os.environ.get("CONTINUE_CHAINS", "1") != "0")


def extract_fields(ctx: StepContext) -> Dict[str, Any]:
    step_input = ctx.input if isinstance(ctx.input, dict) else {}
    text = step_input.get("text")
    if not isinstance(text, str):
        raise FatalStepError("input.text must be a string (the document text)", code="INVALID_INPUT")
    if not text.strip():
        raise FatalStepError("the document has no text to extract fields from", code="EMPTY_DOCUMENT")
    return {
        "documentId": step_input.get("documentId"),
        "fields": {
            "dates": DATE.findall(text),
            "amounts": AMOUNT.findall(text),
            "emails": EMAIL.findall(text),
        },
        "words": len(text.split()),
        "worker": WORKER_ID,
    }


worker.handler(os.environ.get("QUEUE", "extract-fields"), concurrency=int(os.environ.get("PREFETCH", "8")))(
    extract_fields
)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("pika").setLevel(logging.WARNING)
    try:
        worker.run()  # prints "ready: consuming <queue>" once consuming
    except QueueTypeMismatch as error:
        print(f"cannot start: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
