import { allContracts, parseMessage, type Contract } from '../src';

const label = (c: Contract) => `${c.type} v${c.version}`;

describe('every registered contract', () => {
  it('has at least one contract registered', () => {
    expect(allContracts.length).toBeGreaterThan(0);
  });

  it('is registered once per type and version', () => {
    const keys = allContracts.map(label);
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
  });

  describe.each(allContracts.map((c) => [label(c), c] as const))('%s', (_name, contract) => {
    it('documents itself: a description, valid and invalid examples', () => {
      expect(contract.description.trim().length).toBeGreaterThan(10);
      expect(contract.examples.length).toBeGreaterThan(0);
      expect(contract.invalidExamples.length).toBeGreaterThan(0);
    });

    it.each(contract.examples.map((e, i) => [i, e] as const))(
      'accepts example %i, keeping the type and version literals',
      (_i, example) => {
        const result = parseMessage(contract, example);
        if (!result.ok) throw new Error(`documented example rejected: ${result.message}`);
        expect(result.value).toMatchObject({ type: contract.type, version: contract.version });
      },
    );

    it('rejects a message whose type or version is not its own', () => {
      const example = contract.examples[0] as Record<string, unknown>;
      const wrongType = parseMessage(contract, { ...example, type: `${contract.type}.other` });
      const wrongVersion = parseMessage(contract, { ...example, version: contract.version + 1 });
      expect(wrongType.ok ? [] : wrongType.errors.map((e) => e.path)).toContain('type');
      expect(wrongVersion.ok ? [] : wrongVersion.errors.map((e) => e.path)).toContain('version');
    });

    it.each(contract.invalidExamples.map((e, i) => [i, e.field, e] as const))(
      'rejects invalid example %i with an error on %s',
      (_i, field, { value }) => {
        const result = parseMessage(contract, value);
        expect(result.ok).toBe(false);
        if (result.ok) return;
        const paths = result.errors.map((e) => e.path);
        const named = paths.some((p) => p === field || p.startsWith(`${field}.`));
        if (!named) throw new Error(`expected an error on "${field}", got: ${result.message}`);
        expect(result.message).toContain(`${label(contract)} message: `);
      },
    );
  });
});
