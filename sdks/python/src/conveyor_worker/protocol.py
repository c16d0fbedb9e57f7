"""The wire protocol (docs/worker-protocol.md): AMQP names, queue arguments and messages."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Mapping, Optional

from .ids import uuid7

#: Any JSON value (what ``json.loads`` returns). Inputs and outputs are the worker's to shape.
JSON = Any
#: A decoded protocol message (``workflow.step.request`` and friends).
Message = Dict[str, Any]

STEP_RESULTS_QUEUE = "conveyor.step-results"
STEP_PROGRESS_QUEUE = "conveyor.step-progress"

#: Classic queues have no broker delivery limit: a request redelivered this many times (its
#: consumers kept dying) is dead-lettered instead of run again (§3.5).
MAX_DELIVERIES = 5
ATTEMPT_HEADER = "x-conveyor-attempt"

QUEUE_TYPES = ("classic", "quorum")
DEFAULT_QUEUE_TYPE = "classic"


def queue_type_from_env(env: Optional[Mapping[str, str]] = None) -> str:
    """``STEP_QUEUE_TYPE`` (classic when unset); must equal the orchestrator's."""
    value = (os.environ if env is None else env).get("STEP_QUEUE_TYPE") or DEFAULT_QUEUE_TYPE
    if value not in QUEUE_TYPES:
        raise ValueError(f'STEP_QUEUE_TYPE must be classic or quorum, got "{value}"')
    return value


def queue_arguments(queue: str, queue_type: str) -> Dict[str, Any]:
    """Exactly the arguments the orchestrator declares a step queue with (§1).

    RabbitMQ refuses a redeclaration with other arguments (``PRECONDITION_FAILED``).
    """
    if queue_type == "quorum":
        return {
            "x-queue-type": "quorum",
            "x-delivery-limit": 10,
            "x-dead-letter-exchange": f"{queue}.dlx",
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        }
    return {"x-queue-type": "classic", "x-dead-letter-exchange": f"{queue}.dlx"}


def step_idempotency_key(run_id: str, step: str, item_index: Optional[int] = None) -> str:
    """``<runId>:<step>[:<itemIndex>]``: one step of one run, whoever dispatched it (§2)."""
    return f"{run_id}:{step}" if item_index is None else f"{run_id}:{step}:{item_index}"


def idempotency_key_of(request: Message) -> str:
    """The request's key; computed as the orchestrator does when an older one left it out."""
    key = request.get("idempotencyKey")
    if isinstance(key, str) and key:
        return key
    item = request.get("itemIndex")
    return step_idempotency_key(request["runId"], request["step"], item if isinstance(item, int) else None)


def now_iso(after_ms: float = 0) -> str:
    """ISO-8601 UTC with milliseconds and ``Z``, like JavaScript's ``toISOString``."""
    moment = datetime.now(timezone.utc) + timedelta(milliseconds=after_ms)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: str) -> datetime:
    """An ISO-8601 time with ``Z`` or an offset (``datetime.fromisoformat`` before 3.11 lacks ``Z``)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def result_message(request: Message, worker_id: str, started_at: str) -> Message:
    """The fields every ``workflow.step.result`` of this request carries (§2)."""
    return {
        "type": "workflow.step.result",
        "version": 1,
        "taskId": request["taskId"],
        "attempt": request["attempt"],
        "runId": request["runId"],
        "step": request["step"],
        "workerId": worker_id,
        "startedAt": started_at,
    }


def progress_message(
    request: Message, progress: Optional[float] = None, message: Optional[str] = None
) -> Message:
    """A ``workflow.step.progress`` heartbeat for this request's attempt (§5)."""
    out: Message = {
        "type": "workflow.step.progress",
        "version": 1,
        "taskId": request["taskId"],
        "attempt": request["attempt"],
        "runId": request["runId"],
        "step": request["step"],
        "at": now_iso(),
    }
    if progress is not None:
        out["progress"] = min(1.0, max(0.0, float(progress)))
    if message is not None:
        out["message"] = message[:1000]
    return out


def chained_request(request: Message, output: JSON) -> Message:
    """The request of ``chain[0]`` (§7.2): a new taskId, attempt 1, the rest of the chain.

    Links are plain steps, never fan-out items, so the key is the run's and the step's. The new
    taskId is time-ordered (UUID v7, ``ids.py``), as §7.2 recommends: the orchestrator's store
    adds the link's task at the right edge of its indexes, fewer pages written per commit.
    """
    chain: List[Message] = request["chain"]
    link, rest = chain[0], chain[1:]
    source = link["input"]
    following: Message = {
        "type": "workflow.step.request",
        "version": 1,
        "taskId": uuid7(),
        "attempt": 1,
        "runId": request["runId"],
        "workflow": request["workflow"],
        "step": link["step"],
        "queue": link["queue"],
        "idempotencyKey": step_idempotency_key(request["runId"], link["step"]),
        "input": output if source["from"] == "output" else source["value"],
        "deadline": now_iso(after_ms=link["timeoutMs"]),
        "timeoutMs": link["timeoutMs"],
        "replyTo": request["replyTo"],
        "progressTo": request["progressTo"],
    }
    if rest:
        following["chain"] = rest
    return following
