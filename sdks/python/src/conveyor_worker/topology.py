"""Declaring a step queue with its dead-letter exchange and queue (protocol §1)."""

from __future__ import annotations

from typing import Any, Optional

import pika
import pika.exceptions

from .protocol import QUEUE_TYPES, queue_arguments


class QueueTypeMismatch(RuntimeError):
    """The step queue exists with the other type: restarting cannot fix it, an operator must."""

    def __init__(self, queue: str, existing: str, declared: str) -> None:
        super().__init__(
            f"queue {queue} exists on the broker as a {existing} queue, but this worker declares it "
            f"as {declared} (RabbitMQ refuses it: PRECONDITION_FAILED, queue types cannot change in "
            f"place). Either set STEP_QUEUE_TYPE={existing} on the orchestrator and every worker to "
            f"keep it, or drain the queue and delete it (rabbitmqctl delete_queue {queue}) so that "
            f"it is re-created as {declared}; its dead-letter queue can stay"
        )
        self.queue = queue
        self.existing = existing
        self.declared = declared


def declare_step_queue(connection: Any, channel: Any, queue: str, queue_type: str) -> None:
    """``<queue>.dlx`` → ``<queue>.dlq`` (quorum whatever the type), then the queue itself.

    The arguments are exactly the orchestrator's, so either side may start first.
    """
    channel.exchange_declare(exchange=f"{queue}.dlx", exchange_type="fanout", durable=True)
    channel.queue_declare(queue=f"{queue}.dlq", durable=True, arguments={"x-queue-type": "quorum"})
    channel.queue_bind(queue=f"{queue}.dlq", exchange=f"{queue}.dlx", routing_key="")
    try:
        channel.queue_declare(queue=queue, durable=True, arguments=queue_arguments(queue, queue_type))
    except pika.exceptions.ChannelClosedByBroker as error:
        found = _existing_type(connection, queue, queue_type) if error.reply_code == 406 else None
        if found is None:
            raise
        raise QueueTypeMismatch(queue, found, queue_type) from error


def _existing_type(connection: Any, queue: str, declared: str) -> Optional[str]:
    """After a refused declaration: the queue's type, if it is exactly another type's.

    RabbitMQ names the first argument it finds different, rarely ``x-queue-type``; re-declaring
    with the other type's exact arguments is a no-op if that is what the queue is.
    """
    for other in QUEUE_TYPES:
        if other == declared:
            continue
        probe = connection.channel()
        try:
            probe.queue_declare(queue=queue, durable=True, arguments=queue_arguments(queue, other))
        except pika.exceptions.ChannelClosedByBroker:
            continue
        probe.close()
        return other
    return None
