import {
  defineQueue,
  defineTopic,
  type QueueDefinition,
  type TopicDefinition,
} from '@conveyor/bus';
import { RunEvent, StepProgress, StepRequest, StepResult } from '@conveyor/contracts';

/**
 * The AMQP names of the workflow protocol. Orchestrator and workers both import these, so the
 * queue arguments they declare (dead-lettering, retries) can never disagree — RabbitMQ refuses a
 * redeclaration with different arguments. docs/worker-protocol.md lists the same names.
 */
export const STEP_RESULTS_QUEUE = 'conveyor.step-results';
export const STEP_PROGRESS_QUEUE = 'conveyor.step-progress';
export const RUN_EVENTS_EXCHANGE = 'conveyor.workflow-events';

/**
 * Bus-level redeliveries of a step request: only infrastructure failures count here (the worker
 * could not publish its result). Step failures are reported as results and retried by the
 * orchestrator with backoff, so they never consume these.
 */
export const STEP_REQUEST_MAX_DELIVERIES = 5;

const stepQueues = new Map<string, QueueDefinition<StepRequest>>();

/** The queue a step's requests go to: named exactly after the step's `queue` in the workflow YAML. */
export function stepQueue(name: string): QueueDefinition<StepRequest> {
  let queue = stepQueues.get(name);
  if (!queue) {
    queue = defineQueue({
      name,
      schema: StepRequest,
      maxAttempts: STEP_REQUEST_MAX_DELIVERIES,
      retryDelayMs: 1000,
    });
    stepQueues.set(name, queue);
  }
  return queue;
}

const resultQueues = new Map<string, QueueDefinition<StepResult>>();
const progressQueues = new Map<string, QueueDefinition<StepProgress>>();
const eventTopics = new Map<string, TopicDefinition<RunEvent>>();

/**
 * The queue results are sent to (a request's `replyTo`). One name per orchestrator deployment;
 * tests and benchmarks use their own so that they never steal each other's results.
 */
export function stepResultsQueue(name: string = STEP_RESULTS_QUEUE): QueueDefinition<StepResult> {
  let queue = resultQueues.get(name);
  if (!queue) {
    queue = defineQueue({
      name,
      schema: StepResult,
      // A result the orchestrator cannot store (database down) is retried; one that fails
      // validation is dead-lettered by the bus, so a malformed message never corrupts a run.
      maxAttempts: 10,
      retryDelayMs: 500,
    });
    resultQueues.set(name, queue);
  }
  return queue;
}

/** The queue heartbeats are sent to (a request's `progressTo`). */
export function stepProgressQueue(
  name: string = STEP_PROGRESS_QUEUE,
): QueueDefinition<StepProgress> {
  let queue = progressQueues.get(name);
  if (!queue) {
    // Heartbeats are advisory and superseded by the next one: no retries.
    queue = defineQueue({ name, schema: StepProgress, maxAttempts: 1 });
    progressQueues.set(name, queue);
  }
  return queue;
}

/** The topic exchange run events are published on. */
export function runEventsTopic(exchange: string = RUN_EVENTS_EXCHANGE): TopicDefinition<RunEvent> {
  let topic = eventTopics.get(exchange);
  if (!topic) {
    topic = defineTopic({ exchange, schema: RunEvent });
    eventTopics.set(exchange, topic);
  }
  return topic;
}

/** Routing key of a run event: `<event>.<workflow name>`, e.g. `run.completed.document-processing`. */
export function runEventRoutingKey(event: RunEvent): string {
  return `${event.event}.${event.workflow.name}`;
}
