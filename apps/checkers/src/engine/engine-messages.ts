import { defineQueue, defineTopic } from '@conveyor/bus';
import {
  engineMoveRequestSchema,
  engineMoveResponseSchema,
  type EngineMoveRequest,
  type EngineMoveResponse,
} from '@conveyor/contracts';

/**
 * Queue and topic carrying engine requests and replies. Names come from configuration so tests
 * (and several deployments on one broker) can use their own.
 */
export function engineRequestQueue(name: string) {
  return defineQueue<EngineMoveRequest>({
    name,
    schema: engineMoveRequestSchema,
    // A redelivery only helps when a worker died mid-search; a position that fails once fails again.
    maxAttempts: 2,
    retryDelayMs: 0,
  });
}

export function engineReplyTopic(exchange: string) {
  return defineTopic<EngineMoveResponse>({ exchange, schema: engineMoveResponseSchema });
}
