#!/usr/bin/env python3
"""Conveyor step worker in Python (pika), written from docs/worker-protocol.md alone.

Serves the `extract-fields` queue of the document-processing example: finds dates, amounts and
e-mail addresses in a document's text.

    AMQP_URL=amqp://guest:guest@127.0.0.1:5672 QUEUE=extract-fields python3 worker.py

Environment: AMQP_URL, QUEUE (default extract-fields), PREFETCH (default 8), CONNECTION_NAME,
STEP_QUEUE_TYPE (classic, the default, or quorum: must equal the orchestrator's).
Debian packages: python3-pika.
"""
import json
import os
import re
import signal
import sys
import time
from datetime import datetime, timezone

import pika

QUEUE = os.environ.get("QUEUE", "extract-fields")
PREFETCH = int(os.environ.get("PREFETCH", "8"))
WORKER_ID = f"python-extract/{os.getpid()}"

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

REQUIRED = ("taskId", "attempt", "runId", "step", "input", "deadline", "replyTo", "progressTo")


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


def now_iso():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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


def on_request(channel, method, properties, body):
    if count_redelivery(channel, method, properties, body):
        return
    try:
        request = json.loads(body)
        if not isinstance(request, dict):
            raise ValueError("body is not a JSON object")
        if request.get("type") != "workflow.step.request" or request.get("version") != 1:
            raise ValueError(f"unsupported message type/version {request.get('type')}/{request.get('version')}")
        missing = [f for f in REQUIRED if f not in request]
        if missing:
            raise ValueError(f"missing fields {missing}")
    except ValueError as error:  # json.JSONDecodeError is a ValueError
        # Never ack-and-drop: rejected without requeue, the broker moves it to QUEUE.dlq (§3.2).
        print(f"rejecting malformed request: {error}", file=sys.stderr, flush=True)
        channel.basic_reject(delivery_tag=method.delivery_tag, requeue=False)
        return

    deadline = datetime.fromisoformat(request["deadline"].replace("Z", "+00:00"))
    if deadline < datetime.now(timezone.utc):
        # The orchestrator has already given up on this attempt (§3.3).
        channel.basic_ack(delivery_tag=method.delivery_tag)
        return

    started = now_iso()
    result = {
        "type": "workflow.step.result",
        "version": 1,
        "taskId": request["taskId"],
        "attempt": request["attempt"],
        "runId": request["runId"],
        "step": request["step"],
        "workerId": WORKER_ID,
        "startedAt": started,
    }
    try:
        output = extract_fields(request["input"])
        result.update(status="succeeded", output=output)
    except StepError as error:
        result.update(status="failed", error={"message": str(error), "code": error.code, "retryable": error.retryable})
    except Exception as error:  # an unexpected bug: let the orchestrator retry it (§4)
        result.update(status="failed", error={"message": f"{type(error).__name__}: {error}", "code": "UNHANDLED", "retryable": True})
    result["finishedAt"] = now_iso()

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
