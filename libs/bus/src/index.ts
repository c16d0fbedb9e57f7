export * from './definitions';
export * from './transport';
export * from './errors';
export { HEADERS } from './headers';
export { createBus, type CreateBusOptions } from './create-bus';
export {
  createEmbeddedBroker,
  defaultEmbeddedBroker,
  type EmbeddedBroker,
} from './embedded/broker';
export { topicMatches } from './topic-pattern';
