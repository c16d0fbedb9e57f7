#!/usr/bin/env python3
# The document-processing example's Python worker as it was before it moved to the Python SDK
# (examples/document-processing/python/worker.py at commit a17ad08): written from
# docs/worker-protocol.md and the JSON Schemas alone, with pika. Its code is kept as it was: the
# conformance kit's one implementation without an SDK (tools/conformance/README.md), not an example.
"""Conveyor step worker in Python (pika), written from docs/worker-protocol.md alone.

Serves the `extract-fields` queue of the document-processing example: finds dates, amounts and
e-mail addresses in a document's text. Honours chains (§7): when a request lists the steps that
follow, a successful attempt publishes the next step's request itself (confirmed) and names it
in its result (`continuedAs`), saving the orchestrator's dispatch hop.

    AMQP_URL=amqp://guest:guest@127.0.0.1:5672 QUEUE=extract-fields python3 worker.py

Environment: AMQP_URL, QUEUE (default extract-fields), PREFETCH (default 8), CONNECTION_NAME,
STEP_QUEUE_TYPE (classic, the default, or quorum: must equal the orchestrator's),
CONTINUE_CHAINS (default 1; 0 ignores `chain` and leaves every dispatch to the orchestrator).
Debian packages: python3-pika.
"""
import json
import os
import re
import signal
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

import pika

QUEUE = os.environ.get("QUEUE", "extract-fields")
PREFETCH = int(os.environ.get("PREFETCH", "8"))
WORKER_ID = f"python-extract/{os.getpid()}"
CONTINUE_CHAINS = os.environ.get("CONTINUE_CHAINS", "1") != "0"

QUEUE_TYPE = os.environ.get("STEP_QUEUE_TYPE") or "classic"
if QUEUE_TYPE not in ("classic", "quorum"):
    sys.exit(f'STEP_QUEUE_TYPE must be classic or quorum, got "{QUEUE_TYPE}"')

# Must equal the arguments the orchestrator declares (docs/worker-protocol.md §1): RabbitMQ
# refuses a redeclaration with different ones.
ARGUMENTS_BY_TYPE = {
    "quorum": {
        "x-queue-type": "quorum",
        "x-delivery-limit": 10,
        "x-dead-letter-exchange": f"{QUEUE}.dlx",
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    },
    "classic": {
        "x-queue-type": "classic",
        "x-dead-letter-exchange": f"{QUEUE}.dlx",
    },
}
QUEUE_ARGUMENTS = ARGUMENTS_BY_TYPE[QUEUE_TYPE]

# Classic queues have no broker delivery limit: a redelivered request counts as an attempt of
# x-conveyor-attempt, dead-lettered once it reaches this many (§3.5).
MAX_DELIVERIES = 5

REQUIRED = ("taskId", "attempt", "runId", "workflow", "step", "input", "deadline", "replyTo", "progressTo")


class StepError(Exception):
    """A failure with a retry decision (protocol §4)."""

    def __init__(self, message, code, retryable):
        super().__init__(message)
        self.code = code
        self.retryable = retryable


DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
AMOUNT = re.compile(r"\b\d{1,3}(?:,\d{3})*(?:\.\d{2})?\s?(?:EUR|USD|GBP)\b")
EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")


def extract_fields(step_input):
    text = step_input.get("text") if isinstance(step_input, dict) else None
    if not isinstance(text, str):
        raise StepError("input.text must be a string (the document text)", "INVALID_INPUT", False)
    if not text.strip():
        raise StepError("the document has no text to extract fields from", "EMPTY_DOCUMENT", False)
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


def now_iso(after_ms=0):
    """Now (plus `after_ms`) as ISO-8601 UTC with milliseconds and Z, like JavaScript's toISOString."""
    moment = datetime.now(timezone.utc) + timedelta(milliseconds=after_ms)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class QueueTypeMismatch(Exception):
    """The step queue exists with the other type (§1): restarting cannot fix it, an operator must."""


def existing_type(connection):
    """After a refused declaration: the queue's type, if it is exactly the other type's (§1)."""
    other = "quorum" if QUEUE_TYPE == "classic" else "classic"
    probe = connection.channel()
    try:
        # Equivalent arguments make this a no-op; anything else closes the probe channel.
        probe.queue_declare(queue=QUEUE, durable=True, arguments=ARGUMENTS_BY_TYPE[other])
    except pika.exceptions.ChannelClosedByBroker:
        return None
    probe.close()
    return other


def declare(connection, channel):
    channel.exchange_declare(exchange=f"{QUEUE}.dlx", exchange_type="fanout", durable=True)
    channel.queue_declare(queue=f"{QUEUE}.dlq", durable=True, arguments={"x-queue-type": "quorum"})
    channel.queue_bind(queue=f"{QUEUE}.dlq", exchange=f"{QUEUE}.dlx", routing_key="")
    try:
        channel.queue_declare(queue=QUEUE, durable=True, arguments=QUEUE_ARGUMENTS)
    except pika.exceptions.ChannelClosedByBroker as error:
        found = existing_type(connection) if error.reply_code == 406 else None
        if found is None:
            raise
        raise QueueTypeMismatch(
            f"queue {QUEUE} exists on the broker as a {found} queue, but this worker declares it as "
            f"{QUEUE_TYPE} (RabbitMQ refuses it: PRECONDITION_FAILED, queue types cannot change in "
            f"place). Either set STEP_QUEUE_TYPE={found} on the orchestrator and every worker to keep "
            f"it, or drain the queue and delete it (rabbitmqctl delete_queue {QUEUE}) so that it is "
            f"re-created as {QUEUE_TYPE}"
        ) from error


def publish(channel, queue, body, message_id=None, correlation_id=None, headers=None):
    # With confirm_delivery() on, basic_publish waits for the broker's confirm and raises if the
    # message was nacked or unroutable, so the request is acked only after its result is safe.
    channel.basic_publish(
        exchange="",
        routing_key=queue,
        body=json.dumps(body).encode("utf-8"),
        properties=pika.BasicProperties(
            content_type="application/json",
            delivery_mode=2,
            message_id=message_id,
            correlation_id=correlation_id,
            headers=headers,
        ),
        mandatory=True,
    )


def count_redelivery(channel, method, properties, body):
    """Classic queues only (§3.5): True when the redelivered request was re-queued or dead-lettered."""
    if QUEUE_TYPE != "classic" or not method.redelivered:
        return False
    headers = dict(properties.headers or {})
    try:
        attempt = max(1, int(headers.get("x-conveyor-attempt", 1)))
    except (TypeError, ValueError):
        attempt = 1
    if attempt >= MAX_DELIVERIES:
        # Kept killing its consumers: to QUEUE.dlq through the queue's dead-letter exchange.
        channel.basic_reject(delivery_tag=method.delivery_tag, requeue=False)
        return True
    headers["x-conveyor-attempt"] = attempt + 1
    # A copy with the count, confirmed before the redelivered original is acked.
    channel.basic_publish(
        exchange="",
        routing_key=QUEUE,
        body=body,
        properties=pika.BasicProperties(
            content_type=properties.content_type,
            delivery_mode=2,
            message_id=properties.message_id,
            correlation_id=properties.correlation_id,
            headers=headers,
        ),
        mandatory=True,
    )
    channel.basic_ack(delivery_tag=method.delivery_tag)
    return True


def link_problem(link):
    """Why a `chain` entry is not a link as §7 describes it, or None."""
    if not isinstance(link, dict) or not all(isinstance(link.get(k), str) and link[k] for k in ("step", "queue")):
        return "every chain link needs a step and a queue"
    timeout = link.get("timeoutMs")
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0:
        return "a chain link's timeoutMs must be a positive integer"
    source = link.get("input")
    if not isinstance(source, dict) or source.get("from") not in ("output", "value"):
        return 'a chain link\'s input must be {"from": "output"} or {"from": "value", "value": …}'
    if source["from"] == "value" and "value" not in source:
        return 'a chain link with input {"from": "value"} needs the value'
    return None


def chain_problem(chain):
    """Why an optional `chain` is not a non-empty list of links (§7), or None."""
    if not isinstance(chain, list) or not chain:
        return "chain must be a non-empty list"
    return next((problem for problem in map(link_problem, chain) if problem), None)


def parse_request(body):
    """The request as a dict; ValueError when it is not a valid workflow.step.request v1 (§3.2)."""
    request = json.loads(body)  # json.JSONDecodeError is a ValueError
    if not isinstance(request, dict):
        raise ValueError("body is not a JSON object")
    if request.get("type") != "workflow.step.request" or request.get("version") != 1:
        raise ValueError(f"unsupported message type/version {request.get('type')}/{request.get('version')}")
    missing = [f for f in REQUIRED if f not in request]
    if missing:
        raise ValueError(f"missing fields {missing}")
    problem = chain_problem(request["chain"]) if "chain" in request else None
    if problem:
        raise ValueError(problem)
    return request


def run_attempt(request):
    """Runs the step once; the workflow.step.result to send (§2, §4)."""
    result = {
        "type": "workflow.step.result",
        "version": 1,
        "taskId": request["taskId"],
        "attempt": request["attempt"],
        "runId": request["runId"],
        "step": request["step"],
        "workerId": WORKER_ID,
        "startedAt": now_iso(),
    }
    try:
        result.update(status="succeeded", output=extract_fields(request["input"]))
    except StepError as error:
        result.update(status="failed", error={"message": str(error), "code": error.code, "retryable": error.retryable})
    except Exception as error:  # an unexpected bug: let the orchestrator retry it (§4)
        result.update(status="failed", error={"message": f"{type(error).__name__}: {error}", "code": "UNHANDLED", "retryable": True})
    result["finishedAt"] = now_iso()
    return result


def next_request(request, output):
    """The request of the chain's first link (§7.2): a new taskId, attempt 1, the rest of the chain."""
    link, rest = request["chain"][0], request["chain"][1:]
    source = link["input"]
    following = {
        "type": "workflow.step.request",
        "version": 1,
        "taskId": str(uuid.uuid4()),
        "attempt": 1,
        "runId": request["runId"],
        "workflow": request["workflow"],
        "step": link["step"],
        "queue": link["queue"],
        "input": output if source["from"] == "output" else source["value"],
        "deadline": now_iso(after_ms=link["timeoutMs"]),
        "timeoutMs": link["timeoutMs"],
        "replyTo": request["replyTo"],
        "progressTo": request["progressTo"],
    }
    if rest:
        following["chain"] = rest
    return following


def continue_chain(channel, request, output):
    """Starts the next step itself (§7.3): its taskId once the broker confirmed it, else None.

    Published before the result, so a crash in between leaves the request unacked and redelivered,
    never a next step the orchestrator believes sent; the re-run continues under a new taskId and
    the orchestrator drops the result of whichever continuation its accepted result does not name.
    """
    following = next_request(request, output)
    try:
        publish(channel, following["queue"], following, f"{following['taskId']}:1", request["runId"])
    except (pika.exceptions.UnroutableError, pika.exceptions.NackError) as error:
        # E.g. no such queue: the result goes without continuedAs and the orchestrator dispatches it.
        print(
            f"starting step {following['step']} on queue {following['queue']} failed ({error!r}); "
            "the orchestrator will dispatch it",
            file=sys.stderr,
            flush=True,
        )
        return None
    return following["taskId"]


def on_request(channel, method, properties, body):
    if count_redelivery(channel, method, properties, body):
        return
    try:
        request = parse_request(body)
    except ValueError as error:
        # Never ack-and-drop: rejected without requeue, the broker moves it to QUEUE.dlq (§3.2).
        print(f"rejecting malformed request: {error}", file=sys.stderr, flush=True)
        channel.basic_reject(delivery_tag=method.delivery_tag, requeue=False)
        return

    deadline = datetime.fromisoformat(request["deadline"].replace("Z", "+00:00"))
    if deadline < datetime.now(timezone.utc):
        # The orchestrator has already given up on this attempt (§3.3).
        channel.basic_ack(delivery_tag=method.delivery_tag)
        return

    result = run_attempt(request)
    # Only a success continues; a failed attempt leaves retries and what follows to the orchestrator.
    if result["status"] == "succeeded" and CONTINUE_CHAINS and "chain" in request:
        continued_as = continue_chain(channel, request, result["output"])
        if continued_as:
            result["continuedAs"] = continued_as
    publish(channel, request["replyTo"], result, f"{request['taskId']}:{request['attempt']}", request["runId"])
    channel.basic_ack(delivery_tag=method.delivery_tag)


def main():
    params = pika.URLParameters(os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672"))
    params.client_properties = {"connection_name": os.environ.get("CONNECTION_NAME", WORKER_ID)}
    while True:
        try:
            connection = pika.BlockingConnection(params)
            channel = connection.channel()
            channel.confirm_delivery()
            declare(connection, channel)
            channel.basic_qos(prefetch_count=PREFETCH)
            channel.basic_consume(queue=QUEUE, on_message_callback=on_request)

            def stop(*_):
                # Graceful: stop taking requests; the one in progress finishes and is acked.
                connection.add_callback_threadsafe(channel.stop_consuming)

            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
            print(f"ready: consuming {QUEUE}", flush=True)
            channel.start_consuming()
            connection.close()
            return
        except QueueTypeMismatch as error:
            sys.exit(f"cannot start: {error}")
        except (pika.exceptions.AMQPConnectionError, pika.exceptions.ChannelClosedByBroker) as error:
            # Unacked requests are redelivered by the broker; reconnect and carry on.
            print(f"connection lost ({error!r}); reconnecting in 1 s", file=sys.stderr, flush=True)
            time.sleep(1)


if __name__ == "__main__":
    main()
