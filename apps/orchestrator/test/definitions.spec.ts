import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { formatProblem, loadWorkflowDir, loadWorkflowSources } from '../src/definitions/loader';
import { backoffDelay } from '../src/engine/backoff';

const ROOT = join(__dirname, '..', '..', '..');
const load = (files: Record<string, string>) =>
  loadWorkflowSources(Object.entries(files).map(([file, text]) => ({ file, text })));
const problems = (files: Record<string, string>) => load(files).problems.map(formatProblem);

describe('workflow definitions', () => {
  it('loads the document-processing example', () => {
    const result = loadWorkflowDir(join(ROOT, 'examples/document-processing/workflows'));
    expect(result.problems).toEqual([]);
    const main = result.definitions.find((d) => d.name === 'document-processing');
    expect(main?.steps.map((s) => s.name)).toEqual(['ocr', 'split', 'documents']);
    expect(main?.stepsByName.get('documents')?.forEach?.join).toEqual({
      kind: 'tolerate',
      maxFailures: 1,
    });
    expect(main?.validateInput?.({ bundleId: 'b', pages: [] })).toEqual([
      { path: '/pages', message: '/pages must NOT have fewer than 1 items' },
    ]);
  });

  it('reports unknown fields and wrong types with file, line and column', () => {
    expect(
      problems({
        'a.yaml': 'name: a\nversion: one\nsteps:\n  s:\n    queue: q\n    retires: 3\n',
      }),
    ).toEqual([
      'a.yaml:2:10: version: Invalid input: expected number, received string',
      'a.yaml:6:5: steps.s.retires: unknown field "retires"',
    ]);
    expect(problems({ 'b.yaml': 'version: 1\nsteps:\n  s: { queue: q }\n' })).toEqual([
      'b.yaml:1:1: name: missing required field "name"',
    ]);
  });

  it('reports YAML syntax errors with their position', () => {
    const [problem] = problems({ 'c.yaml': 'name: c\nversion: 1\nsteps:\n  s: { queue: q\n' });
    expect(problem).toMatch(/^c\.yaml:\d+:\d+: YAML syntax: /);
  });

  it('rejects cycles, unknown steps, bad expressions and reads of unfinished steps', () => {
    expect(
      problems({
        'd.yaml': [
          'name: d',
          'version: 1',
          'steps:',
          '  a: { queue: q, needs: [c] }',
          '  b:',
          '    queue: q',
          '    needs: [a, nope]',
          '    input: |',
          '      {',
          '        "x": steps.a +',
          '      }',
          '  c: { queue: q, needs: [b] }',
          '  e: { queue: q, input: "steps.a" }',
          '',
        ].join('\n'),
      }),
    ).toEqual([
      'd.yaml:7:16: steps.b.needs[1]: unknown step "nope": steps are a, b, c, e',
      'd.yaml:11:7: steps.b.input: invalid JSONata expression: The symbol "}" cannot be used as a unary operator (at token "}")',
      'd.yaml:4:25: steps.a.needs: dependency cycle: a → c → b → a; a step can only need steps that finish before it',
      'd.yaml:13:25: steps.e.input: reads steps.a, which may not have finished: add "a" to this step\'s needs',
    ]);
  });

  it('checks queues against queues.yaml and sub-workflow references across files', () => {
    expect(
      problems({
        'queues.yaml': 'queues:\n  ocr: {}\n',
        'x.yaml': 'name: x\nversion: 1\nsteps:\n  s: { queue: orc }\n',
        'w.yaml': 'name: w\nversion: 1\nsteps:\n  t: { workflow: y }\n',
        'z.yaml': 'name: z\nversion: 1\nsteps:\n  u: { workflow: z }\n',
      }),
    ).toEqual([
      'x.yaml:4:15: steps.s.queue: unknown queue "orc": add it to queues.yaml (known: ocr)',
      'w.yaml:4:18: steps.t.workflow: unknown workflow "y": known workflows are w, z',
      'z.yaml:4:18: steps.u.workflow: workflows call each other in a cycle (z → z): a sub-workflow may not (indirectly) run its caller',
    ]);
  });

  it('rejects fan-out options without forEach, two actions, duplicate versions and bad schemas', () => {
    expect(
      problems({
        'f.yaml':
          'name: f\nversion: 1\ninputSchema: { type: nonsense }\nsteps:\n  s: { queue: q, concurrency: 2 }\n  t: { queue: q, workflow: f }\n',
        'g.yaml': 'name: g\nversion: 1\nsteps:\n  s: { queue: q }\n',
        'h.yaml': 'name: g\nversion: 1\nsteps:\n  s: { queue: q }\n',
      }),
    ).toEqual([
      'f.yaml:5:31: steps.s.concurrency: `concurrency` and `join` only apply to a fan-out: add `forEach` or remove them',
      'f.yaml:6:6: steps.t: a step runs either on a worker `queue` or as a sub-`workflow`: set exactly one of them',
      expect.stringMatching(/^f\.yaml:3:14: inputSchema: not a valid JSON Schema: /),
      'h.yaml:2:10: version: workflow g version 1 is also defined in g.yaml: bump one version',
    ]);
  });
});

describe('backoff', () => {
  it('grows exponentially, is capped, and jitters within the configured fraction', () => {
    const policy = { maxAttempts: 10, initialMs: 100, maxMs: 1000, multiplier: 2, jitter: 0.2 };
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(policy, a, () => 0.5))).toEqual([
      100, 200, 400, 800, 1000,
    ]);
    expect(backoffDelay(policy, 2, () => 0)).toBe(160);
    expect(backoffDelay(policy, 2, () => 1)).toBe(240);
  });
});

describe('docs/worker-protocol.md', () => {
  it('has JSON Schemas identical to the contracts (regenerate with orchestrator:protocol-doc)', async () => {
    // A child process: Prettier (used to format the section) loads ESM, which Jest's VM cannot.
    const run = promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'apps/orchestrator/src/cli/protocol-schemas.ts'),
        join(ROOT, 'docs/worker-protocol.md'),
      ],
      {
        cwd: ROOT,
        env: { ...process.env, TSX_TSCONFIG_PATH: join(ROOT, 'apps/orchestrator/tsconfig.json') },
      },
    );
    await expect(run).resolves.toBeDefined();
    // A child process starting tsx and Prettier takes seconds on a busy 2-core machine.
  }, 60_000);
});
