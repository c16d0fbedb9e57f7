"""Finishing an attempt (protocol §3.4, §7.3): its result, the next link of its chain, its ack.

Connection thread only. An outcome stays queued until its result is published, so that one
whose connection was lost meanwhile is sent after reconnecting (§3.7).
"""

from __future__ import annotations

import json
import logging
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Optional

from .amqp import REFUSED, publish
from .attempts import Handler, Outcome
from .errors import FatalStepError, to_step_error
from .executors import Executors
from .in_flight import InFlight
from .protocol import JSON, Message, chained_request, now_iso, result_message
from .session import Session

log = logging.getLogger("conveyor_worker")


class Finisher:
    def __init__(
        self, in_flight: InFlight, session: Session, executors: Executors, worker_id: str, continue_chains: bool
    ) -> None:
        self._in_flight = in_flight
        self._session = session
        self._executors = executors
        self._worker_id = worker_id
        self._continue_chains = continue_chains

    def finish_outcomes(self) -> None:
        outcomes = self._in_flight.outcomes
        while outcomes:
            outcome = outcomes[0]
            # Left in the queue until sent: a connection lost meanwhile sends it after reconnecting.
            self._finish(outcome)
            outcomes.popleft()
            self._in_flight.remove(outcome.attempt.id)

    def _finish(self, outcome: Outcome) -> None:
        attempt, handler, request = outcome.attempt, outcome.attempt.handler, outcome.attempt.request
        result = result_message(request, self._worker_id, attempt.started_at)
        output = outcome.output
        error = outcome.error if outcome.error is not None else output_problem(handler, output)
        if isinstance(error, BrokenProcessPool):
            self._executors.replace_broken_pool(handler)
            error = RuntimeError(f"the worker process running {handler.queue} died ({error})")
        if error is None:
            result.update(status="succeeded", output=output)
        else:
            if not isinstance(error, FatalStepError):
                log.warning("%s attempt %s of run %s failed: %r", request["step"], request["attempt"], request["runId"], error)
            result.update(status="failed", error=to_step_error(error))
        result["finishedAt"] = now_iso()
        channel = self._session.channels[handler.queue]
        if error is None and self._continue_chains and "chain" in request:
            continued_as = self._continue_chain(channel, request, output)
            if continued_as:
                result["continuedAs"] = continued_as
        current = self._session.owns_delivery(attempt)
        try:
            publish(channel, request["replyTo"], result, f"{request['taskId']}:{request['attempt']}", request["runId"])
        except REFUSED as refused:
            log.error("the result of %s could not be delivered to %s (%r); the request goes back to its queue", request["step"], request["replyTo"], refused)
            if current:
                attempt.channel.basic_nack(delivery_tag=attempt.delivery_tag, requeue=True)
            return
        if current:
            attempt.channel.basic_ack(delivery_tag=attempt.delivery_tag)
        # else: the delivery died with its connection and the broker redelivers it; the
        # orchestrator keeps the first result of an attempt and ignores the second.

    def _continue_chain(self, channel: Any, request: Message, output: JSON) -> Optional[str]:
        """Starts the next step itself (§7.3): its taskId once confirmed, else None (logged)."""
        following = chained_request(request, output)
        try:
            publish(channel, following["queue"], following, f"{following['taskId']}:1", request["runId"])
        except REFUSED as error:
            log.warning("starting step %s on queue %s failed (%r); the orchestrator will dispatch it", following["step"], following["queue"], error)
            return None
        return str(following["taskId"])


def output_problem(handler: Handler, output: JSON) -> Optional[FatalStepError]:
    """Why a handler's return value cannot be the step's output (a worker bug: fatal)."""
    try:
        json.dumps(output, allow_nan=False)
    except (TypeError, ValueError) as problem:
        return FatalStepError(
            f"the {handler.queue} handler returned output that is not JSON ({problem}): return dicts, "
            "lists, strings, finite numbers, booleans or None",
            code="INVALID_OUTPUT",
        )
    problems = handler.output_check(output) if handler.output_check else []
    if not problems:
        return None
    return FatalStepError(
        f"the {handler.queue} handler returned output that does not match its output_schema: {'; '.join(problems[:5])}",
        code="INVALID_OUTPUT",
        details=problems,
    )
