#!/usr/bin/env python3
"""The `extract-fields` worker of the document-processing example, on the Python SDK
(sdks/python, package conveyor-worker): finds dates, amounts and e-mail addresses in a
document's text.

    AMQP_URL=amqp://guest:guest@127.0.0.1:5672 python3 worker.py

Environment: AMQP_URL, QUEUE (default extract-fields), PREFETCH (default 8), CONNECTION_NAME,
OCR_QUEUE (unset: no OCR; e.g. ocr: also serve the OCR step, reading pages under PAGES_ROOT),
STEP_QUEUE_TYPE (classic, the default, or quorum: must equal the orchestrator's),
CONTINUE_CHAINS (default 1; 0 ignores `chain` and leaves every dispatch to the orchestrator).
Debian packages: python3-pika (python3-jsonschema optional).

`extract-fields` reads no files: its input is the document's text. The optional OCR handler reads
page URIs only inside the pages root, by the README's rule ("Page URIs", page_path.py).
"""

from __future__ import annotations

import errno
import importlib.util
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable, Dict

if importlib.util.find_spec("conveyor_worker") is None:  # a clone without `pip install ./sdks/python`
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "sdks" / "python" / "src"))

from conveyor_worker import FatalStepError, QueueTypeMismatch, StepContext, Worker
from page_path import Refused, pages_root_from_env, quote, resolve_page_path

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


def ocr_page(root: str) -> Callable[[StepContext], Dict[str, Any]]:
    """The `ocr` stand-in of src/handlers/ocr.ts in Python: a page is a text file under the pages
    root (page_path.py, the README's rule) or inline text."""

    def ocr(ctx: StepContext) -> Dict[str, Any]:
        page = ctx.input.get("page") if isinstance(ctx.input, dict) else None
        number = ctx.input.get("pageNumber") if isinstance(ctx.input, dict) else None
        if not isinstance(page, dict) or not isinstance(number, int) or number < 1:
            raise FatalStepError('input must be {"page": {"uri"} or {"text"}, "pageNumber": n >= 1}', code="INVALID_INPUT")
        if isinstance(page.get("text"), str):
            return {"pageNumber": number, "text": page["text"]}
        uri = page.get("uri")
        if not isinstance(uri, str) or not uri:
            raise FatalStepError("input.page needs a uri or a text", code="INVALID_INPUT")
        resolved = resolve_page_path(root, uri)
        # Neither a refused URI nor a missing scan will change by retrying.
        if isinstance(resolved, Refused):
            raise FatalStepError(f"cannot read page {number}: {resolved.reason}", code=resolved.code)
        try:
            with open(resolved.path, encoding="utf-8") as file:
                return {"pageNumber": number, "text": file.read().strip()}
        except OSError as error:
            why = errno.errorcode.get(error.errno or 0, "read failed")
            raise FatalStepError(
                f"cannot read page {number} at {quote(resolved.relative)} under the pages root: {why}",
                code="PAGE_UNREADABLE",
            ) from error

    return ocr


worker.handler(os.environ.get("QUEUE", "extract-fields"), concurrency=int(os.environ.get("PREFETCH", "8")))(
    extract_fields
)
if os.environ.get("OCR_QUEUE"):  # optional: also serve OCR, e.g. OCR_QUEUE=ocr
    worker.handler(os.environ["OCR_QUEUE"], concurrency=8)(ocr_page(pages_root_from_env()))


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
