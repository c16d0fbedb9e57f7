import { Counter, Histogram, type Registry } from 'prom-client';

export interface EngineMetrics {
  readonly stepDuration: Histogram<'queue' | 'outcome'>;
  readonly transition: Histogram<'kind'>;
  readonly runsStarted: Counter<'workflow'>;
  readonly runsCompleted: Counter<'workflow' | 'status'>;
  readonly retries: Counter<'queue' | 'reason'>;
  readonly ignoredResults: Counter<'reason'>;
  readonly deadLetters: Counter<'queue'>;
  readonly continuedSteps: Counter<'queue'>;
  readonly linksRecordedAhead: Counter;
  readonly stepEventsSkipped: Counter;
}

export function createEngineMetrics(registry: Registry): EngineMetrics {
  return {
    stepDuration: new Histogram({
      name: 'conveyor_workflow_step_duration_seconds',
      help: 'Time from dispatching a step attempt to receiving its result, per worker queue',
      labelNames: ['queue', 'outcome'],
      buckets: [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
      ],
      registers: [registry],
    }),
    transition: new Histogram({
      name: 'conveyor_workflow_transition_seconds',
      help: 'Time of one state transition (database transaction plus publishing its effects)',
      labelNames: ['kind'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    runsStarted: new Counter({
      name: 'conveyor_workflow_runs_started_total',
      help: 'Runs started, per workflow',
      labelNames: ['workflow'],
      registers: [registry],
    }),
    runsCompleted: new Counter({
      name: 'conveyor_workflow_runs_completed_total',
      help: 'Runs finished, per workflow and final status',
      labelNames: ['workflow', 'status'],
      registers: [registry],
    }),
    retries: new Counter({
      name: 'conveyor_workflow_step_retries_total',
      help: 'Step attempts scheduled for retry, per queue and reason (error or timeout)',
      labelNames: ['queue', 'reason'],
      registers: [registry],
    }),
    ignoredResults: new Counter({
      name: 'conveyor_workflow_ignored_results_total',
      help: 'Results that changed nothing (duplicate, late or for a finished run), per reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'conveyor_workflow_dead_letters_total',
      help: 'Messages found in the orchestrator dead-letter queues (malformed results, …)',
      labelNames: ['queue'],
      registers: [registry],
    }),
    continuedSteps: new Counter({
      name: 'conveyor_workflow_steps_continued_total',
      help: 'Steps a worker started itself from a chain (one broker hop saved each), per queue',
      labelNames: ['queue'],
      registers: [registry],
    }),
    linksRecordedAhead: new Counter({
      name: 'conveyor_workflow_links_recorded_ahead_total',
      help: 'Chain links recorded succeeded with the link before them, their results having come together (one statement for the stretch)',
      registers: [registry],
    }),
    stepEventsSkipped: new Counter({
      name: 'conveyor_workflow_step_events_skipped_total',
      help: 'Step events not published because, a moment before, nobody was bound to receive them',
      registers: [registry],
    }),
  };
}
