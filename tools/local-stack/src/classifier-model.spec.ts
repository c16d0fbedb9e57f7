import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chooseClassifierModel } from './classifier-model';

describe("the classifier's model in local mode", () => {
  let root: string;
  const ship = (dir: string) => {
    mkdirSync(join(root, 'apps/classifier', dir), { recursive: true });
    writeFileSync(join(root, 'apps/classifier', dir, 'classifier.json'), '{}');
  };
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'local-stack-model-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('uses MODEL_DIR when given, whatever is shipped', () => {
    ship('model');
    expect(chooseClassifierModel(root, 'some/dir')).toEqual({ dir: resolve('some/dir') });
  });

  it("keeps the classifier's default when the default model is shipped", () => {
    ship('model');
    ship('model-baseline');
    expect(chooseClassifierModel(root, undefined)).toEqual({ dir: undefined });
  });

  it('falls back to the shipped baseline, and says so, when the default model is missing', () => {
    ship('model-baseline');
    expect(chooseClassifierModel(root, undefined)).toEqual({
      dir: join(root, 'apps/classifier/model-baseline'),
      note: expect.stringContaining('the default model is not in this checkout'),
    });
  });

  it("leaves the classifier's own error when neither is there", () => {
    expect(chooseClassifierModel(root, undefined)).toEqual({ dir: undefined });
  });
});
