/**
 * The targets of issue 20 part 4, each against what this run measured: the first table of the
 * results, so that a reader sees at once what is met and what is not.
 */
import { fmt } from './harness';

export interface TargetInputs {
  /** Which orchestrator configuration the figures are from (the first measured). */
  label: string;
  postgres: boolean;
  cpuPerStepMs: number;
  stepsPerSecond: number;
  /** The largest fan-out measured. */
  fanout: { n: number; itemsPerSecond: number } | undefined;
  /** Celery / Conveyor ratios (> 1: Conveyor faster); unset when Celery was skipped. */
  celery?: { p50: number; p99: number; run: number };
  /** Two replicas / one; unset with the reason when not measured. */
  replicas: { sustained: number; fanout: number } | { skipped: string };
}

const verdict = (ok: boolean) => (ok ? 'met' : '**not met**');

export function targetsTable(t: TargetInputs): string[] {
  const db = t.postgres ? 'PostgreSQL' : 'SQLite';
  const sustainedTarget = t.postgres ? 1000 : 1500;
  const fanoutTarget = t.postgres ? 1000 : 2000;
  const rows: string[] = [
    `| orchestrator CPU per step (one chain at a time) | ≤ 0.5 ms | ${fmt(t.cpuPerStepMs)} ms | ${verdict(t.cpuPerStepMs <= 0.5)} |`,
    `| sustained 3-step workflow (${db}) | ≥ ${sustainedTarget.toLocaleString('en')} steps/s | ${fmt(t.stepsPerSecond, 0)} steps/s | ${verdict(t.stepsPerSecond >= sustainedTarget)} |`,
    t.fanout
      ? `| fan-out of ${t.fanout.n.toLocaleString('en')} (${db}) | ≥ ${fanoutTarget.toLocaleString('en')} items/s | ${fmt(t.fanout.itemsPerSecond, 0)} items/s | ${verdict(t.fanout.itemsPerSecond >= fanoutTarget)} |`
      : `| fan-out (${db}) | ≥ ${fanoutTarget.toLocaleString('en')} items/s | not measured | |`,
  ];
  const celery = t.celery;
  if (celery)
    rows.push(
      `| per-step p50 vs Celery (Celery / Conveyor) | ≥ 1.5× | ${fmt(celery.p50)}× | ${verdict(celery.p50 >= 1.5)} |`,
      `| per-step p99 vs Celery | ≥ 1.0× | ${fmt(celery.p99)}× | ${verdict(celery.p99 >= 1.0)} |`,
      `| whole 10-step no-op run p50 vs Celery | ≥ 1.2× | ${fmt(celery.run)}× | ${verdict(celery.run >= 1.2)} |`,
    );
  else
    rows.push(
      '| per-step p50 / p99 and whole run vs Celery | ≥ 1.5× / 1.0× / 1.2× | not measured (`--no-celery`) | |',
    );
  const r = t.replicas;
  if ('skipped' in r) rows.push(`| two replicas vs one (PostgreSQL) | ≥ 1.0× | ${r.skipped} | |`);
  else
    rows.push(
      `| two replicas vs one, sustained steps/s (two / one, section (g)) | ≥ 1.0× | ${fmt(r.sustained)}× | ${verdict(r.sustained >= 1)} |`,
      `| two replicas vs one, fan-out items/s | ≥ 1.0× | ${fmt(r.fanout)}× | ${verdict(r.fanout >= 1)} |`,
    );
  return [
    `### Targets (issue 20), ${t.label}, ${db}, this run`,
    '',
    '| measure | target | measured | |',
    '| --- | --- | ---: | --- |',
    ...rows,
    '',
  ];
}
