import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import {
  AdamW,
  deserializeAdamWState,
  loadT5,
  saveT5,
  serializeAdamWState,
  type T5Model,
} from '@conveyor/t5';
import type { CurvePoint } from './learning-curve';
import type { TrainOptions } from './train-options';

/**
 * Where a run stands. Every random choice of a run is derived from `--seed` and a counter kept
 * here: the batch order of an epoch from (seed, epoch), pre-training samples and dropout masks
 * from (seed, step) — seedrandom's alea, as `rng` records — so (step, epoch, batchInEpoch) is the
 * whole data-order and RNG state, and no generator has to be serialised.
 */
export interface RunState {
  optionsHash: string;
  step: number;
  epoch: number;
  batchInEpoch: number;
  history: CurvePoint[];
  examplesSeen: number;
  trainSeconds: number;
}

export interface SavedState extends RunState {
  /** Bumped when the checkpoint layout changes. */
  format: 2;
  savedAt: string;
  rng: { algorithm: 'alea'; epochOrder: string; perStep: string };
  options: TrainOptions;
}

const LATEST = 'latest.json';
const CHECKPOINTS = 'checkpoints';
const OPTIMIZER_FILE = 'optimizer.safetensors';
const STATE_FILE = 'state.json';

/** Writes a file by writing a temporary sibling and renaming it over: readers see old or new, never half. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const temp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  writeFileSync(temp, data);
  renameSync(temp, file);
}

/**
 * A run directory's checkpoints: each is a complete directory (HF weights, AdamW state, run
 * state with the options) written under a temporary name and renamed into place, and
 * `latest.json` — itself replaced atomically — names the newest. A crash or kill at any moment
 * leaves the previous checkpoint intact and named.
 */
export class CheckpointStore {
  constructor(readonly runDir: string) {}

  /** True when the run directory holds a run (this format or the older single-state one). */
  exists(): boolean {
    return (
      existsSync(path.join(this.runDir, LATEST)) || existsSync(path.join(this.runDir, STATE_FILE))
    );
  }

  async save(model: T5Model, optimizer: AdamW, state: SavedState): Promise<string> {
    const root = path.join(this.runDir, CHECKPOINTS);
    const name = `step-${String(state.step).padStart(8, '0')}`;
    const final = path.join(root, name);
    const temp = path.join(root, `.${name}.tmp-${process.pid}`);
    rmSync(temp, { recursive: true, force: true });
    mkdirSync(temp, { recursive: true });
    await saveT5(model, temp);
    writeFileSync(path.join(temp, OPTIMIZER_FILE), serializeAdamWState(await optimizer.getState()));
    writeFileSync(path.join(temp, STATE_FILE), JSON.stringify(state, null, 1) + '\n');
    // A checkpoint of this step may exist (a run stopped and checkpointed twice at one step).
    rmSync(final, { recursive: true, force: true });
    renameSync(temp, final);
    writeFileAtomic(
      path.join(this.runDir, LATEST),
      JSON.stringify({ checkpoint: path.join(CHECKPOINTS, name), step: state.step }) + '\n',
    );
    // Older checkpoints are only history once the pointer names the new one.
    for (const entry of readdirSync(root)) {
      if (entry !== name) rmSync(path.join(root, entry), { recursive: true, force: true });
    }
    return final;
  }

  /** The newest checkpoint: its state, and loaders for the weights and the optimiser state. */
  latest(): {
    dir: string;
    state: SavedState;
    model: () => T5Model;
    restore: (o: AdamW, m: T5Model) => void;
  } {
    const pointerFile = path.join(this.runDir, LATEST);
    if (!this.exists())
      throw new Error(
        `${this.runDir} holds no training run to resume (no ${LATEST}); check the directory, or start a run there without --resume`,
      );
    if (!existsSync(pointerFile)) {
      throw new Error(
        `${this.runDir} holds a run from an older version of \`classifier train\` (state.json without checkpoints/), which did not save the optimiser state and cannot be resumed exactly; start a new --run-dir (use --init ${path.join(this.runDir, 'checkpoint')} --tokenizer ${path.join(this.runDir, 'tokenizer')} to continue from its weights)`,
      );
    }
    const pointer = JSON.parse(readFileSync(pointerFile, 'utf8')) as { checkpoint: string };
    const dir = path.join(this.runDir, pointer.checkpoint);
    const state = JSON.parse(readFileSync(path.join(dir, STATE_FILE), 'utf8')) as SavedState;
    return {
      dir,
      state,
      model: () => loadT5(dir),
      restore: (optimizer, model) => {
        const file = path.join(dir, OPTIMIZER_FILE);
        optimizer.setState(deserializeAdamWState(readFileSync(file), file), model.params);
      },
    };
  }
}

/** The best weights seen on the validation rows at an evaluation, kept beside the checkpoints. */
export interface BestRecord {
  step: number;
  accuracy: number;
  rows: number;
}

const BEST = 'best';

/** Replaces run-dir/best/ with these weights (written aside, then swapped in by renames). */
export async function saveBest(runDir: string, model: T5Model, record: BestRecord): Promise<void> {
  const final = path.join(runDir, BEST);
  const temp = path.join(runDir, `.${BEST}.tmp-${process.pid}`);
  const old = path.join(runDir, `.${BEST}.old-${process.pid}`);
  rmSync(temp, { recursive: true, force: true });
  await saveT5(model, temp);
  writeFileSync(path.join(temp, 'best.json'), JSON.stringify(record) + '\n');
  if (existsSync(final)) renameSync(final, old);
  renameSync(temp, final);
  rmSync(old, { recursive: true, force: true });
}

export function readBest(runDir: string): { record: BestRecord; dir: string } | undefined {
  const dir = path.join(runDir, BEST);
  const file = path.join(dir, 'best.json');
  if (!existsSync(file)) return undefined;
  return { record: JSON.parse(readFileSync(file, 'utf8')) as BestRecord, dir };
}
