import {
  defineQueue,
  defineTopic,
  QUEUE_TYPES,
  QueueTypeMismatchError,
  type Bus,
  type QueueDefinition,
  type QueueType,
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

/**
 * The RabbitMQ type of the protocol's queues (step queues, results, progress): classic by
 * default. The orchestrator's SQL state and per-step timeouts are what make a run durable — a
 * request lost with a broker node becomes a step timeout and a retry — while a quorum queue
 * costs a Raft fsync before every delivery, on every hop, and buys nothing on a single-node
 * broker. Operators of multi-node RabbitMQ clusters who want broker-level replication set
 * `STEP_QUEUE_TYPE=quorum` (see libs/bus/README.md, "Queue types"). Orchestrator and every
 * worker of a deployment must use the same one — RabbitMQ refuses a queue re-declared with
 * another type — so both read it from `STEP_QUEUE_TYPE`.
 */
export const DEFAULT_STEP_QUEUE_TYPE: QueueType = 'classic';

export function stepQueueTypeFromEnv(env: NodeJS.ProcessEnv = process.env): QueueType {
  const value = env['STEP_QUEUE_TYPE'];
  if (value === undefined || value === '') return DEFAULT_STEP_QUEUE_TYPE;
  if (!(QUEUE_TYPES as readonly string[]).includes(value))
    throw new Error(`STEP_QUEUE_TYPE must be ${QUEUE_TYPES.join(' or ')}, got "${value}"`);
  return value as QueueType;
}

/**
 * Start-up check for a protocol queue: a queue left on the broker with the other type (e.g. by an
 * older deployment) is refused by RabbitMQ; say which, and that STEP_QUEUE_TYPE is the knob.
 */
export async function assertStepQueue(bus: Bus, queue: QueueDefinition<unknown>): Promise<void> {
  await explainingStepQueueType(() => bus.assertQueue(queue));
}

/** Runs `declare` and turns a queue-type mismatch into one that names STEP_QUEUE_TYPE. */
export async function explainingStepQueueType<T>(declare: () => Promise<T>): Promise<T> {
  try {
    return await declare();
  } catch (error) {
    if (!(error instanceof QueueTypeMismatchError)) throw error;
    throw new QueueTypeMismatchError(
      error.queue,
      error.existingType,
      error.requestedType,
      `set STEP_QUEUE_TYPE=${error.existingType} on the orchestrator and every worker to keep it`,
      { cause: error },
    );
  }
}

/** One definition per (name, type): definitions are compared by reference in places. */
function memo<T>(
  cache: Map<string, QueueDefinition<T>>,
  name: string,
  queueType: QueueType,
  make: () => QueueDefinition<T>,
): QueueDefinition<T> {
  const key = `${queueType}:${name}`;
  let queue = cache.get(key);
  if (!queue) {
    queue = make();
    cache.set(key, queue);
  }
  return queue;
}

const stepQueues = new Map<string, QueueDefinition<StepRequest>>();

/** The queue a step's requests go to: named exactly after the step's `queue` in the workflow YAML. */
export function stepQueue(
  name: string,
  queueType: QueueType = DEFAULT_STEP_QUEUE_TYPE,
): QueueDefinition<StepRequest> {
  return memo(stepQueues, name, queueType, () =>
    defineQueue({
      name,
      schema: StepRequest,
      maxAttempts: STEP_REQUEST_MAX_DELIVERIES,
      retryDelayMs: 1000,
      queueType,
    }),
  );
}

const resultQueues = new Map<string, QueueDefinition<StepResult>>();
const progressQueues = new Map<string, QueueDefinition<StepProgress>>();
const eventTopics = new Map<string, TopicDefinition<RunEvent>>();

/**
 * The queue results are sent to (a request's `replyTo`). One name per orchestrator deployment;
 * tests and benchmarks use their own so that they never steal each other's results.
 */
export function stepResultsQueue(
  name: string = STEP_RESULTS_QUEUE,
  queueType: QueueType = DEFAULT_STEP_QUEUE_TYPE,
): QueueDefinition<StepResult> {
  return memo(resultQueues, name, queueType, () =>
    defineQueue({
      name,
      schema: StepResult,
      // A result the orchestrator cannot store (database down) is retried; one that fails
      // validation is dead-lettered by the bus, so a malformed message never corrupts a run.
      maxAttempts: 10,
      retryDelayMs: 500,
      queueType,
    }),
  );
}

/** The queue heartbeats are sent to (a request's `progressTo`). */
export function stepProgressQueue(
  name: string = STEP_PROGRESS_QUEUE,
  queueType: QueueType = DEFAULT_STEP_QUEUE_TYPE,
): QueueDefinition<StepProgress> {
  // Heartbeats are advisory and superseded by the next one: no retries.
  return memo(progressQueues, name, queueType, () =>
    defineQueue({ name, schema: StepProgress, maxAttempts: 1, queueType }),
  );
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
  return runEventKey(event.event, event.workflow.name);
}

/** The same key from its parts, for code that decides before the event is built. */
export function runEventKey(event: string, workflow: string): string {
  return `${event}.${workflow}`;
}
