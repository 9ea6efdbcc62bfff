import { describe, expect, it } from 'vitest';
import { expandPattern, fieldPattern, formatPath, getAtPath, patternSegments } from './field-path.ts';
import { loadManifests } from './load-manifests.ts';
import { formatIssue } from './manifest-issue.ts';

describe('formatPath', () => {
  it('joins keys with dots and puts list indexes in brackets', () => {
    expect(formatPath(['spec', 'postgresql', 'pg_hba', 2])).toBe('spec.postgresql.pg_hba[2]');
    expect(formatPath(['spec', 'postgresql', 'parameters', 'pg_stat_statements.max'])).toBe(
      'spec.postgresql.parameters.pg_stat_statements.max',
    );
    expect(formatPath([])).toBe('');
  });

  it('quotes keys with control characters so a printed issue stays on one line', () => {
    expect(formatPath(['spec', 'a\nb'])).toBe('spec["a\\nb"]');
    const result = loadManifests(
      'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"x\\ny: forged": 1\n',
      'forge.yaml',
    );
    expect(result.errors.map(formatIssue)).toEqual([
      'forge.yaml:4:1  ["x\\ny: forged"]  unknown field "x\\ny: forged"',
    ]);
  });
});

describe('getAtPath', () => {
  it('reads nested values and stops at anything missing', () => {
    const data = { spec: { list: [{ a: 1 }] } };
    expect(getAtPath(data, ['spec', 'list', 0, 'a'])).toBe(1);
    expect(getAtPath(data, ['spec', 'list', 1, 'a'])).toBeUndefined();
    expect(getAtPath(data, ['spec', 'nope'])).toBeUndefined();
    expect(getAtPath(data, ['spec', 'list', 'a'])).toBeUndefined();
    expect(getAtPath({ a: {} }, ['a', 'toString'])).toBeUndefined();
  });
});

describe('field patterns', () => {
  it('name every item of a list with []', () => {
    expect(fieldPattern(['spec', 'externalClusters', 3, 'password'])).toBe(
      'spec.externalClusters[].password',
    );
    expect(patternSegments('spec.externalClusters[].password')).toEqual([
      'spec',
      'externalClusters',
      0,
      'password',
    ]);
  });

  it('expand to the paths present in the data', () => {
    const data = { spec: { list: [{ a: 1 }, { b: 2 }, { a: 3 }], one: { a: 1 } } };
    expect(expandPattern(data, 'spec.list[].a')).toEqual([
      ['spec', 'list', 0, 'a'],
      ['spec', 'list', 2, 'a'],
    ]);
    expect(expandPattern(data, 'spec.one.a')).toEqual([['spec', 'one', 'a']]);
    expect(expandPattern(data, 'spec.one[].a')).toEqual([]);
    expect(expandPattern(data, 'spec.none[].a')).toEqual([]);
  });
});
