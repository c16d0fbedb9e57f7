import type { Target, TargetProblem } from './targets';

/** The state of one discovery feed (an informer, or the static file), for readiness and /debug/vars. */
export type FeedStatus =
  | { readonly phase: 'starting' }
  | { readonly phase: 'synced'; readonly since: string }
  | {
      readonly phase: 'backing-off';
      readonly error: string;
      readonly retryInMs: number;
      readonly failures: number;
    }
  | { readonly phase: 'stopped' };

/**
 * What routing, the landing page and readiness need from discovery. The Kubernetes informers
 * (Directory) and the static endpoints file (StaticDirectory) both implement it, so proxy rules
 * and the refusal of unknown endpoints are the same whichever source feeds them.
 */
export interface TargetSource {
  /** Every feed has delivered a complete view at least once (cached data may be served). */
  readonly synced: boolean;
  /** Synced and no feed is failing right now; what /readyz reports. */
  readonly healthy: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): Record<string, FeedStatus>;
  list(): readonly Target[];
  currentProblems(): readonly TargetProblem[];
  /** The only way a proxied request finds an upstream address. */
  find(namespace: string, service: string, pod: string): Target | undefined;
  subscribe(listener: (targets: readonly Target[]) => void): () => void;
}
