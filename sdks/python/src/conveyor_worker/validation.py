"""Validation against the protocol's JSON Schemas (copies of libs/contracts/json-schema).

With ``jsonschema`` installed (Debian: python3-jsonschema) requests are checked against the
generated schema itself; without it, against the same required fields, types and chain shape by
hand, so that the SDK runs on ``pika`` alone. Handler ``input_schema``/``output_schema`` need
``jsonschema``: there is no honest subset of JSON Schema to fall back on.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any, Callable, List, Mapping, Optional

from .protocol import JSON, Message, parse_time

try:
    import jsonschema
except ImportError:  # optional dependency
    jsonschema = None

REQUEST_SCHEMA = "workflow.step.request.v1.json"
RESULT_SCHEMA = "workflow.step.result.v1.json"
PROGRESS_SCHEMA = "workflow.step.progress.v1.json"


class InvalidMessage(ValueError):
    """A message that is not what the protocol says: the worker dead-letters it (§3.2)."""


def load_schema(name: str) -> Mapping[str, Any]:
    """One of the packaged JSON Schemas, by file name."""
    return _load(name)


@lru_cache(maxsize=None)
def _load(name: str) -> Mapping[str, Any]:
    text = resources.files(__package__).joinpath("schemas", name).read_text(encoding="utf-8")
    schema: Mapping[str, Any] = json.loads(text)
    return schema


#: A function that returns the problems of a value (empty list: valid).
Checker = Callable[[JSON], List[str]]


def schema_checker(schema: Mapping[str, Any], what: str) -> Checker:
    """Problems of a value against a JSON Schema, as ``path: message`` lines."""
    if jsonschema is None:
        raise RuntimeError(
            f"{what} needs the jsonschema package to validate with a JSON Schema: install it "
            "(Debian: apt-get install python3-jsonschema; pip: pip install jsonschema)"
        )
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)

    def check(value: JSON) -> List[str]:
        return [
            f"{'.'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
            for error in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        ]

    return check


@lru_cache(maxsize=None)
def _request_checker() -> Optional[Checker]:
    return schema_checker(load_schema(REQUEST_SCHEMA), "request validation") if jsonschema else None


def parse_request(body: bytes) -> Message:
    """The request as a dict; ``InvalidMessage`` when it is not a valid step request v1."""
    try:
        request = json.loads(body)
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidMessage(f"body is not JSON: {error}") from error
    if not isinstance(request, dict):
        raise InvalidMessage("body is not a JSON object")
    if request.get("type") != "workflow.step.request" or request.get("version") != 1:
        raise InvalidMessage(
            f"unsupported message type/version {request.get('type')}/{request.get('version')}"
            " (this worker speaks workflow.step.request version 1)"
        )
    checker = _request_checker()
    problems = checker(request) if checker else _structural_problems(request)
    if not problems:
        try:
            parse_time(request["deadline"])
        except ValueError:
            problems = [f"deadline: {request['deadline']!r} is not an ISO-8601 time"]
    if problems:
        raise InvalidMessage("invalid workflow.step.request: " + "; ".join(problems[:5]))
    return request


_STRINGS = ("taskId", "runId", "step", "queue", "deadline", "replyTo", "progressTo")


def _positive_int(value: JSON) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _structural_problems(request: Message) -> List[str]:
    """The schema's rules that matter, for when jsonschema is not installed."""
    problems = [f"{k}: required, a non-empty string" for k in _STRINGS if not isinstance(request.get(k), str) or not request[k]]
    for key in ("attempt", "timeoutMs"):
        if not _positive_int(request.get(key)):
            problems.append(f"{key}: required, an integer > 0")
    if "input" not in request:
        problems.append("input: required")
    workflow = request.get("workflow")
    if not isinstance(workflow, dict) or not isinstance(workflow.get("name"), str) or not _positive_int(workflow.get("version")):
        problems.append("workflow: required, {name, version}")
    item = request.get("itemIndex")
    if item is not None and (not isinstance(item, int) or isinstance(item, bool) or item < 0):
        problems.append("itemIndex: an integer >= 0")
    if "chain" in request:
        problems.extend(_chain_problems(request["chain"]))
    return problems


def _chain_problems(chain: JSON) -> List[str]:
    if not isinstance(chain, list) or not chain:
        return ["chain: a non-empty list of links"]
    for index, link in enumerate(chain):
        where = f"chain.{index}"
        if not isinstance(link, dict) or not all(isinstance(link.get(k), str) and link[k] for k in ("step", "queue")):
            return [f"{where}: every link needs a step and a queue"]
        if not _positive_int(link.get("timeoutMs")):
            return [f"{where}.timeoutMs: an integer > 0"]
        source = link.get("input")
        if not isinstance(source, dict) or source.get("from") not in ("output", "value"):
            return [f'{where}.input: {{"from": "output"}} or {{"from": "value", "value": …}}']
        if source["from"] == "value" and "value" not in source:
            return [f'{where}.input: {{"from": "value"}} needs the value']
    return []
