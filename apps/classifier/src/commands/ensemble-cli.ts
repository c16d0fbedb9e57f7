import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_HOLDOUT } from '../data/holdout';
import { DEFAULT_VALIDATION } from '../data/selection-split';
import { COMBINE_RULES, type CombineRule } from '../model/ensemble-manifest';
import { SO_QUALITY_DIR } from '../paths';
import { baselineCommand } from './baseline-command';
import { ensembleCommand } from './ensemble-command';

/**
 * The N-member ensemble tools: `baseline` with a choice of features (word or character n-grams,
 * or structural tokens) and `ensemble` with any number of members. A second entry point beside
 * src/cli.ts (whose `baseline` and two-member `ensemble` keep working unchanged) because cli.ts
 * belongs to another part of the project; the two belong together in it.
 *
 *   npx tsx --tsconfig apps/classifier/tsconfig.json apps/classifier/src/commands/ensemble-cli.ts --help
 */
const number = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got "${value}"`);
  return n;
};
const positiveInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
};
const DEFAULT_TRAIN = path.join(SO_QUALITY_DIR, 'train.csv');

const program = new Command()
  .name('classifier-ensemble')
  .description('train ensemble members and fit N-member ensembles on the validation split')
  .showHelpAfterError();

program
  .command('baseline')
  .description(
    'train a TF-IDF + logistic-regression member on the training side minus the validation split, scored on the validation split',
  )
  .option('--train <file>', 'training CSV', DEFAULT_TRAIN)
  .addOption(
    new Option(
      '--analyzer <kind>',
      'word: word uni+bigrams; char: character n-grams (--char-min..--char-max); structure: binned length/markup/code tokens',
    )
      .choices(['word', 'char', 'structure'])
      .default('word'),
  )
  .option('--char-min <n>', 'shortest character n-gram', positiveInt, 3)
  .option('--char-max <n>', 'longest character n-gram', positiveInt, 5)
  .option('--max-features <n>', 'vocabulary size cap (default 50,000)', positiveInt)
  .option('--min-df <n>', 'minimum document frequency of a term (default 2)', positiveInt)
  .option('--epochs <n>', 'passes over the training rows', positiveInt)
  .option('--l2 <x>', 'L2 regularisation', number)
  .option('--holdout-fraction <f>', 'fraction held out', number, DEFAULT_HOLDOUT.fraction)
  .option('--seed <n>', 'held-out split seed and training seed', number, DEFAULT_HOLDOUT.seed)
  .option(
    '--validation-fraction <f>',
    'fraction of the training side kept out for validation',
    number,
    DEFAULT_VALIDATION.fraction,
  )
  .option('--validation-seed <n>', 'seed of the validation split', number, DEFAULT_VALIDATION.seed)
  .option('--limit <n>', 'use only the first n rows of --train (as train --limit)', positiveInt)
  .requiredOption('--save <dir>', 'write the trained member here')
  .action(
    async (opts: {
      train: string;
      analyzer: 'word' | 'char' | 'structure';
      charMin: number;
      charMax: number;
      maxFeatures?: number;
      minDf?: number;
      epochs?: number;
      l2?: number;
      holdoutFraction: number;
      seed: number;
      validationFraction: number;
      validationSeed: number;
      limit?: number;
      save: string;
    }) => {
      if (opts.charMin > opts.charMax)
        throw new Error(`--char-min ${opts.charMin} is above --char-max ${opts.charMax}`);
      await baselineCommand({
        train: opts.train,
        evalFiles: [],
        holdout: { fraction: opts.holdoutFraction, seed: opts.seed },
        excludeValidation: { fraction: opts.validationFraction, seed: opts.validationSeed },
        ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
        save: opts.save,
        model: {
          seed: opts.seed,
          analyzer: opts.analyzer,
          ...(opts.analyzer === 'char' ? { charMin: opts.charMin, charMax: opts.charMax } : {}),
          ...(opts.maxFeatures !== undefined ? { maxFeatures: opts.maxFeatures } : {}),
          ...(opts.minDf !== undefined ? { minDocumentFrequency: opts.minDf } : {}),
          ...(opts.epochs !== undefined ? { epochs: opts.epochs } : {}),
          ...(opts.l2 !== undefined ? { l2: opts.l2 } : {}),
        },
      });
    },
  );

program
  .command('ensemble')
  .description(
    "combine members' class probabilities; every weight is fitted on the validation split only",
  )
  .option('--t5 <dir>', 'a T5 trained with a validation split kept out (member "t5")')
  .option(
    '--baseline <dir>',
    'a TF-IDF baseline trained on the same rows (member "baseline"; the TF-IDF comparison)',
  )
  .option(
    '--member <spec...>',
    'more members: NAME=DIR or DIR (named after the directory), e.g. structure=var/classifier/structure-5400',
  )
  .requiredOption('--out <dir>', 'ensemble directory to write (the members are copied into it)')
  .option('--data <file>', 'the labelled CSV the members were trained on', DEFAULT_TRAIN)
  .addOption(
    new Option('--combine <rule>', 'log-linear or linear')
      .choices(COMBINE_RULES)
      .default('log-linear'),
  )
  .option('--grid-step <x>', 'step of the weight grid (weights sum to 1)', number, 0.05)
  .option('--cv-folds <n>', 'folds of the cross-validation inside validation', positiveInt, 5)
  .option('--cv-repeats <n>', 'repeats of it, each with its own shuffle', positiveInt, 10)
  .action(
    async (opts: {
      t5?: string;
      baseline?: string;
      member?: string[];
      out: string;
      data: string;
      combine: CombineRule;
      gridStep: number;
      cvFolds: number;
      cvRepeats: number;
    }) => {
      const { member, ...rest } = opts;
      await ensembleCommand({ ...rest, ...(member ? { members: member } : {}) });
    },
  );

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`classifier-ensemble: ${(error as Error).message}\n`);
  process.exit(1);
});
