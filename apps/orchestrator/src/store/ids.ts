/**
 * Run and task ids: UUID version 7, time-ordered (the generator lives in @conveyor/contracts,
 * libs/contracts/src/ids.ts, shared with the TypeScript worker SDK, which names chain links
 * with it). New entries of the indexes keyed by these ids (the runs' and tasks' primary keys,
 * tasks (run_id, step, item_index), attempts (task_id, attempt)) go to the right edge instead of
 * a random page; runs and tasks made together also share index pages, so a group commit
 * (results-intake.ts) writes fewer of them.
 */
export { uuidv7 } from '@conveyor/contracts';
