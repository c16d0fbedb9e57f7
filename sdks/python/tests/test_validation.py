"""Request validation with and without jsonschema agree on what the protocol rejects (§3.2)."""

from __future__ import annotations

import json
from typing import Any, Dict, Iterator

import pytest

from conftest import request
from conveyor_worker import validation
from conveyor_worker.validation import InvalidMessage, parse_request

VALID = request("q", "results", "progress")
CHAIN = [{"step": "b", "queue": "q2", "timeoutMs": 1000, "input": {"from": "value", "value": None}}]
INVALID: Dict[str, Dict[str, Any]] = {
    "attempt 0": {**VALID, "attempt": 0},
    "no replyTo": {k: v for k, v in VALID.items() if k != "replyTo"},
    "no input": {k: v for k, v in VALID.items() if k != "input"},
    "empty taskId": {**VALID, "taskId": ""},
    "negative itemIndex": {**VALID, "itemIndex": -1},
    "bad deadline": {**VALID, "deadline": "tomorrow"},
    "empty chain": {**VALID, "chain": []},
    "link without value": {**VALID, "chain": [{**CHAIN[0], "input": {"from": "value"}}]},
    "unknown link source": {**VALID, "chain": [{**CHAIN[0], "input": {"from": "previous"}}]},
    "workflow without version": {**VALID, "workflow": {"name": "wf"}},
}


@pytest.fixture(params=["jsonschema", "by hand"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "by hand":
        monkeypatch.setattr(validation, "jsonschema", None)
    validation._request_checker.cache_clear()
    yield str(request.param)
    validation._request_checker.cache_clear()


def test_accepts_valid_requests(mode: str) -> None:
    for body in (VALID, {**VALID, "chain": CHAIN, "itemIndex": 0, "input": None}):
        assert parse_request(json.dumps(body).encode()) == body


@pytest.mark.parametrize("case", sorted(INVALID))
def test_rejects_invalid_requests(mode: str, case: str) -> None:
    with pytest.raises(InvalidMessage, match="invalid workflow.step.request"):
        parse_request(json.dumps(INVALID[case]).encode())


def test_rejects_what_is_not_a_request(mode: str) -> None:
    for body, message in ((b"\xff", "not JSON"), (b"[1]", "not a JSON object"), (b'{"type": "x"}', "unsupported message")):
        with pytest.raises(InvalidMessage, match=message):
            parse_request(body)


def test_input_schema_without_jsonschema_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validation, "jsonschema", None)
    with pytest.raises(RuntimeError, match="apt-get install python3-jsonschema"):
        validation.schema_checker({"type": "object"}, "input_schema of q")
