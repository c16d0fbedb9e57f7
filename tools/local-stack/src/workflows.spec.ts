import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { WORKSPACE_ROOT } from './settings';
import { prefixedWorkflowsDir } from './workflows';

const SOURCE = join(WORKSPACE_ROOT, 'examples/document-processing/workflows');

describe('prefixed workflow copies', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'local-stack-wf-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('uses the original directory when there is no prefix', () => {
    expect(prefixedWorkflowsDir(SOURCE, '', join(dir, 'copy'))).toBe(SOURCE);
  });

  it('renames every step queue, the onFailure queue and the queues.yaml keys', () => {
    const copy = prefixedWorkflowsDir(SOURCE, 'run-1.', join(dir, 'copy'));
    const main = parse(readFileSync(join(copy, 'document-processing.yaml'), 'utf8')) as {
      steps: Record<string, { queue?: string }>;
      onFailure: { queue: string };
    };
    expect(main.steps['ocr']?.queue).toBe('run-1.ocr');
    expect(main.steps['split']?.queue).toBe('run-1.split-documents');
    expect(main.steps['documents']?.queue).toBeUndefined();
    expect(main.onFailure.queue).toBe('run-1.notify-failure');
    const queues = parse(readFileSync(join(copy, 'queues.yaml'), 'utf8')) as {
      queues: Record<string, unknown>;
    };
    expect(Object.keys(queues.queues).sort()).toEqual([
      'run-1.classify',
      'run-1.extract-fields',
      'run-1.notify-failure',
      'run-1.ocr',
      'run-1.split-documents',
    ]);
    const steps = (
      parse(readFileSync(join(copy, 'process-document.yaml'), 'utf8')) as {
        steps: Record<string, { queue: string }>;
      }
    ).steps;
    expect(Object.values(steps).map((s) => s.queue)).toEqual([
      'run-1.classify',
      'run-1.extract-fields',
    ]);
  });
});
