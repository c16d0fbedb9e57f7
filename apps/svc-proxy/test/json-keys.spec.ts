import { duplicateKeys } from './support/json-keys';

describe('duplicateKeys', () => {
  it('finds a key repeated in one object, at any depth, which JSON.parse silently drops', () => {
    const line = '{"service":"svc-proxy","pid":1,"service":"cart"}';
    expect(JSON.parse(line)).toEqual({ service: 'cart', pid: 1 });
    expect(duplicateKeys(line)).toEqual(['service']);
    expect(duplicateKeys('{"a":{"b":1,"c":[{"d":true},{"d":null,"d":2}],"b":"x"},"e":[]}')).toEqual(
      ['a.c[1].d', 'a.b'],
    );
  });

  it('accepts the same key in different objects, and keys inside strings', () => {
    expect(
      duplicateKeys(
        '{"service":"svc-proxy","target":{"service":"cart","pod":"c\\"0"},"msg":"\\"service\\":1","x":-1.5e3}',
      ),
    ).toEqual([]);
    expect(duplicateKeys(' [ {"a" : 1} , {"a":2} , {} ] ')).toEqual([]);
  });

  it('refuses text that is not JSON', () => {
    expect(() => duplicateKeys('{"a":1,')).toThrow(SyntaxError);
  });
});
