export * from './definitions';
export * from './transport';
export * from './errors';
export { HEADERS } from './headers';
export { createBus, joinEmbeddedBroker, type CreateBusOptions } from './create-bus';
export { serveEmbeddedBroker } from './embedded/port-link';
export {
  createEmbeddedBroker,
  defaultEmbeddedBroker,
  type EmbeddedBroker,
} from './embedded/broker';
export { topicMatches } from './topic-pattern';
// The queue arguments are part of the wire contract: workers in other languages declaring the
// same queues must use exactly these (RabbitMQ refuses a redeclaration with other arguments).
export {
  DELIVERY_LIMIT,
  classicQueueArguments,
  queueArguments,
  quorumQueueArguments,
} from './amqp/topology';
