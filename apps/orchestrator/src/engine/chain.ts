import type { ChainInput, ChainLink, StepResult } from '@conveyor/contracts';
import { MAX_CHAIN_LINKS } from '@conveyor/contracts';
import {
  ON_FAILURE_STEP,
  type StepDefinition,
  type WorkflowDefinition,
} from '../definitions/model';

/**
 * Chains: which steps a worker may start itself (protocol §7, `StepRequest.chain`).
 *
 * A Conveyor link costs two broker hops (worker → orchestrator → worker) where Celery's chain
 * costs one, because Celery's worker publishes the next task itself. A request can carry the
 * same: the steps that follow, as long as each is fully determined before the previous one
 * runs — a plain queue step whose only need is the previous step, with no `when`, and whose
 * input is the previous step's output (`steps.X`), the run input (`input`) or absent (= the run
 * input). The orchestrator still records every step: the result names the request the worker
 * published (`continuedAs`), and applying the result records that step as dispatched instead
 * of publishing it again. A result may overtake the result of the step before it; the engine
 * holds it until that step is recorded (ResultsIntake.onResult, results-intake.ts).
 */

interface NextStep {
  readonly step: StepDefinition & { readonly action: { readonly kind: 'queue'; queue: string } };
  readonly input: 'output' | 'run-input';
}

/** Run inputs embedded in one request's links, at most (each `value` link carries a copy). */
const MAX_EMBEDDED_INPUT_CHARS = 64 * 1024;

const nextByDefinition = new WeakMap<WorkflowDefinition, Map<string, NextStep | null>>();

/** The step a worker may start right after `stepName` succeeds, if there is one. */
export function nextInChain(def: WorkflowDefinition, stepName: string): NextStep | undefined {
  let byStep = nextByDefinition.get(def);
  if (!byStep) nextByDefinition.set(def, (byStep = new Map()));
  let next = byStep.get(stepName);
  if (next === undefined) byStep.set(stepName, (next = findNext(def, stepName) ?? null));
  return next ?? undefined;
}

function findNext(def: WorkflowDefinition, stepName: string): NextStep | undefined {
  const from = def.stepsByName.get(stepName);
  if (!from || stepName === ON_FAILURE_STEP || from.action.kind !== 'queue' || from.forEach)
    return undefined;
  for (const name of def.dependents.get(stepName) ?? []) {
    const step = def.stepsByName.get(name);
    if (!step || step.needs.length !== 1 || step.when || step.forEach) continue;
    if (step.action.kind !== 'queue') continue;
    const ref = step.input?.reference;
    const input =
      step.input === undefined || ref?.kind === 'input'
        ? ('run-input' as const)
        : ref?.kind === 'step' && ref.step === stepName
          ? ('output' as const)
          : undefined;
    if (input) return { step: step as NextStep['step'], input };
  }
  return undefined;
}

/**
 * The `chain` of a request for `stepName`: the following steps a worker may start, up to
 * `maxLinks` (0 = chains off). `runInput` is read only if a link needs it.
 */
export function chainAfter(
  def: WorkflowDefinition,
  stepName: string,
  maxLinks: number,
  runInput: () => { readonly json: string; readonly value: unknown },
  /** False for a queue the orchestrator must admit itself (queue limits): the chain stops there. */
  mayChainTo: (queue: string) => boolean = () => true,
): ChainLink[] | undefined {
  const links: ChainLink[] = [];
  let embedded = 0;
  for (
    let next = nextInChain(def, stepName);
    next && links.length < Math.min(maxLinks, MAX_CHAIN_LINKS);
    next = nextInChain(def, next.step.name)
  ) {
    if (!mayChainTo(next.step.action.queue)) break;
    let input: ChainInput;
    if (next.input === 'output') input = { from: 'output' };
    else {
      const run = runInput();
      embedded += run.json.length;
      if (embedded > MAX_EMBEDDED_INPUT_CHARS) break;
      input = { from: 'value', value: run.value };
    }
    links.push({
      step: next.step.name,
      queue: next.step.action.queue,
      timeoutMs: next.step.timeoutMs,
      input,
    });
  }
  return links.length > 0 ? links : undefined;
}

/**
 * Whether applying `result` can only record what already happened: the success of a chain link
 * whose worker has started the next step itself (`continuedAs`), when that next step is the
 * step's only dependent. Applying it dispatches nothing, completes nothing and wakes no one, so
 * it may wait for the transaction of a result that does (results-intake.ts,
 * DEFAULT_CHAINED_RECORD_WAIT_MS), and the links after it may be written with it
 * (transition/links-ahead.ts).
 */
export function chainedOnly(def: WorkflowDefinition, result: StepResult): boolean {
  if (result.status !== 'succeeded' || result.continuedAs === undefined) return false;
  const next = nextInChain(def, result.step);
  const dependents = def.dependents.get(result.step);
  return next !== undefined && dependents?.length === 1 && dependents[0] === next.step.name;
}
