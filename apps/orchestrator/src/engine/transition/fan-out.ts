import { uuidv7 } from '../../store/ids';
import type { StepError } from '@conveyor/contracts';
import type { StepDefinition } from '../../definitions/model';
import { dispatch, startChildRun } from './dispatch';
import { cancelTasks } from './runs';
import type { FanOutCounts, LockedRun, TaskRow, TransitionState } from './state';
import { insertTask, stepFinished } from './steps';

// Fan-out and fan-in: a `forEach` step is a parent task with counters and one task per item;
// items are released `concurrency` at a time, each finished item costs O(1), and the step
// succeeds with every item's output in item order, or fails by its join policy.

const ITEM_INSERT_CHUNK = 400;

export async function startFanOut(
  tx: TransitionState,
  run: LockedRun,
  step: StepDefinition,
  inputs: unknown[],
): Promise<void> {
  const parent = await insertTask(tx, run, step, {
    kind: 'fanout',
    status: 'running',
    input: null,
  });
  await tx.trx
    .updateTable('tasks')
    .set({ fan_total: inputs.length, fan_released: 0, fan_succeeded: 0, fan_failed: 0 })
    .where('id', '=', parent.id)
    .execute();
  const kind = step.action.kind;
  for (let start = 0; start < inputs.length; start += ITEM_INSERT_CHUNK) {
    const rows = inputs.slice(start, start + ITEM_INSERT_CHUNK).map((input, offset) => ({
      id: uuidv7(),
      run_id: run.row.id,
      step: step.name,
      item_index: start + offset,
      parent_id: parent.id,
      kind,
      status: 'pending' as const,
      attempt: 1,
      max_attempts: step.retry.maxAttempts,
      queue: step.action.kind === 'queue' ? step.action.queue : null,
      timeout_ms: step.timeoutMs,
      input: JSON.stringify(input ?? null),
      created_at: tx.now,
      published: 0,
      priority: run.row.priority,
    }));
    await tx.trx.insertInto('tasks').values(rows).execute();
  }
  if (inputs.length === 0) {
    await joinFanOut(tx, run, step, parent.id);
    return;
  }
  await release(
    tx,
    run,
    step,
    parent.id,
    Math.min(step.forEach?.concurrency ?? inputs.length, inputs.length),
  );
}

/** Sends up to `count` more pending items of a fan-out, in item order. */
async function release(
  tx: TransitionState,
  run: LockedRun,
  step: StepDefinition,
  parentId: string,
  count: number,
): Promise<void> {
  if (count <= 0) return;
  const items = await tx.all<TaskRow>(
    `SELECT * FROM tasks WHERE parent_id = ? AND status = 'pending' ORDER BY item_index LIMIT ?`,
    [parentId, count],
  );
  if (items.length === 0) return;
  await tx.run('UPDATE tasks SET fan_released = fan_released + ? WHERE id = ?', [
    items.length,
    parentId,
  ]);
  if (step.action.kind === 'queue') {
    await dispatch(tx, run, items);
  } else {
    for (const item of items) {
      await tx.trx
        .updateTable('tasks')
        .set({ status: 'running', dispatched_at: tx.now })
        .where('id', '=', item.id)
        .execute();
      await startChildRun(tx, run, step, item, JSON.parse(item.input ?? 'null') as unknown);
    }
  }
}

/**
 * An item finished: counted in memory, and the fan-out's counters, join, failure and releases
 * are settled once per transaction (settleFanOuts), so a batch of a fan-out's results costs one
 * UPDATE of the counters and one SELECT, UPDATE and INSERT for the items it frees, not one
 * each (on PostgreSQL each is a round trip). O(1) in the fan-out size.
 */
export function itemFinished(
  tx: TransitionState,
  run: LockedRun,
  task: TaskRow,
  status: 'succeeded' | 'failed',
  error: StepError | undefined,
): Promise<void> {
  const step = run.def.stepsByName.get(task.step);
  if (!task.parent_id || !step?.forEach)
    throw new Error(`task ${task.id} is not an item of a fan-out step of ${run.def.name}`);
  let counts = tx.fanOuts.get(task.parent_id);
  if (!counts) tx.fanOuts.set(task.parent_id, (counts = { run, step, succeeded: 0, failures: [] }));
  if (status === 'succeeded') counts.succeeded++;
  else counts.failures.push({ itemIndex: task.item_index, error });
  return Promise.resolve();
}

/**
 * Settles the fan-outs whose items finished in this transaction: counters, then fail (join
 * policy), join (every item done) or release the items the finished ones freed. Called by the
 * engine before every commit; a released sub-workflow item may finish at once and count
 * again, hence the loop.
 */
export async function settleFanOuts(tx: TransitionState): Promise<void> {
  for (let next = tx.fanOuts.entries().next(); !next.done; next = tx.fanOuts.entries().next()) {
    const [parentId, counts] = next.value;
    tx.fanOuts.delete(parentId);
    await settleFanOut(tx, parentId, counts);
  }
}

async function settleFanOut(
  tx: TransitionState,
  parentId: string,
  { run, step, succeeded, failures }: FanOutCounts,
): Promise<void> {
  const fan = step.forEach;
  if (!fan) return;
  const [parent] = await tx.all<
    Pick<TaskRow, 'id' | 'status' | 'fan_total' | 'fan_released' | 'fan_succeeded' | 'fan_failed'>
  >(
    `UPDATE tasks SET fan_succeeded = fan_succeeded + ?, fan_failed = fan_failed + ? WHERE id = ?
      RETURNING id, status, fan_total, fan_released, fan_succeeded, fan_failed`,
    [succeeded, failures.length, parentId],
  );
  if (!parent) throw new Error(`fan-out task ${parentId} of step ${step.name} is missing`);
  if (parent.status !== 'running' || run.row.status !== 'running') return;
  const total = parent.fan_total ?? 0;
  const failed = parent.fan_failed ?? 0;
  const done = (parent.fan_succeeded ?? 0) + failed;
  const tolerated =
    fan.join.kind === 'all-succeeded'
      ? 0
      : fan.join.kind === 'tolerate'
        ? fan.join.maxFailures
        : Infinity;
  if (failed > tolerated) {
    // The failure that went over the limit (the ones before it in this transaction were within).
    const before = failed - failures.length;
    const crossing = failures[Math.max(0, tolerated - before)] ?? failures[failures.length - 1];
    const policy =
      fan.join.kind === 'tolerate'
        ? `at most ${fan.join.maxFailures} failed item(s) tolerated`
        : 'every item must succeed';
    const stepError: StepError = {
      message: `fan-out ${step.name}: item ${crossing?.itemIndex ?? '?'} failed (${policy}): ${crossing?.error?.message ?? 'unknown error'}`,
      code: crossing?.error?.code ?? 'FAN_OUT_FAILED',
      retryable: false,
      details: { failedItems: failed, totalItems: total },
    };
    await failFanOut(tx, run, step, parent.id, stepError);
    return;
  }
  if (done >= total) {
    await joinFanOut(tx, run, step, parent.id);
    return;
  }
  const released = parent.fan_released ?? 0;
  await release(
    tx,
    run,
    step,
    parent.id,
    Math.min(fan.concurrency - (released - done), total - released),
  );
}

/** Fan-in: the step's output is the list of item outputs in item order (null for failed items). */
async function joinFanOut(
  tx: TransitionState,
  run: LockedRun,
  step: StepDefinition,
  parentId: string,
): Promise<void> {
  const items = await tx.trx
    .selectFrom('tasks')
    .select(['status', 'output'])
    .where('parent_id', '=', parentId)
    .orderBy('item_index')
    .execute();
  const output = items.map((i) =>
    i.status === 'succeeded' && i.output !== null ? (JSON.parse(i.output) as unknown) : null,
  );
  await tx.trx
    .updateTable('tasks')
    .set({ status: 'succeeded', output: JSON.stringify(output), finished_at: tx.now })
    .where('id', '=', parentId)
    .execute();
  tx.stepEvent(run, { event: 'step.succeeded', step: step.name, taskId: parentId, attempt: 1 });
  await stepFinished(tx, run, step.name, 'succeeded', undefined, { output });
}

async function failFanOut(
  tx: TransitionState,
  run: LockedRun,
  step: StepDefinition,
  parentId: string,
  error: StepError,
): Promise<void> {
  await cancelTasks(
    tx,
    'parent_id',
    parentId,
    `cancelled: fan-out ${step.name} of the parent run failed`,
  );
  await tx.trx
    .updateTable('tasks')
    .set({ status: 'failed', error: JSON.stringify(error), finished_at: tx.now })
    .where('id', '=', parentId)
    .execute();
  tx.stepEvent(run, {
    event: 'step.failed',
    step: step.name,
    taskId: parentId,
    attempt: 1,
    error,
  });
  await stepFinished(tx, run, step.name, 'failed', error);
}
