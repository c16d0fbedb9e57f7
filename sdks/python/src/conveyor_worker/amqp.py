"""AMQP operations of the protocol on a pika BlockingChannel with publisher confirms."""

from __future__ import annotations

import json
import logging
from typing import Any, Optional

import pika
import pika.exceptions

from .protocol import ATTEMPT_HEADER, MAX_DELIVERIES, Message

log = logging.getLogger("conveyor_worker")

#: The connection went away (broker restart, network, a channel error): reconnect.
RECONNECTABLE = (
    pika.exceptions.AMQPConnectionError,
    pika.exceptions.AMQPChannelError,
    ConnectionError,
)

#: A confirmed publish that did not reach a queue (§3.4): returned as unroutable, or nacked.
REFUSED = (pika.exceptions.UnroutableError, pika.exceptions.NackError)


def publish(
    channel: Any,
    queue: str,
    body: Message,
    message_id: Optional[str] = None,
    correlation_id: Optional[str] = None,
) -> None:
    """Persistent, mandatory and confirmed (§3.4): raises UnroutableError when no queue took it
    (a missing queue), NackError when the broker refused it."""
    channel.basic_publish(
        exchange="",
        routing_key=queue,
        body=json.dumps(body, allow_nan=False).encode("utf-8"),
        properties=pika.BasicProperties(
            content_type="application/json",
            delivery_mode=2,
            message_id=message_id,
            correlation_id=correlation_id,
        ),
        mandatory=True,
    )


def count_redelivery(channel: Any, queue: str, method: Any, properties: Any, body: bytes) -> bool:
    """Classic queues only, for a delivery flagged ``redelivered`` (§3.5): dead-letters it at
    the limit, else requeues a copy with the count + 1 (confirmed) and acks the original.
    Always True: the delivery is settled and must not run."""
    headers = dict(properties.headers or {})
    try:
        count = max(1, int(headers.get(ATTEMPT_HEADER, 1)))
    except (TypeError, ValueError):
        count = 1
    if count >= MAX_DELIVERIES:
        log.warning(
            "dead-lettering a request of %s redelivered %d times (does it kill its workers?)", queue, count
        )
        channel.basic_reject(delivery_tag=method.delivery_tag, requeue=False)
        return True
    headers[ATTEMPT_HEADER] = count + 1
    channel.basic_publish(
        exchange="",
        routing_key=queue,
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
