import { describe, expect, it } from 'vitest';
import { parseSyncStandbyNames, planSyncStandbyNames, type SyncInput } from './synchronous.ts';

const base: SyncInput = {
  minSyncReplicas: 0,
  maxSyncReplicas: 0,
  primary: 'pg-1',
  standbys: [
    { name: 'pg-3', healthy: true },
    { name: 'pg-2', healthy: true },
  ],
};
const any1 = { method: 'any' as const, number: 1, dataDurability: 'required' as const };

const cases: Array<{ name: string; input: Partial<SyncInput>; expect: string }> = [
  { name: 'no synchronous settings means asynchronous', input: {}, expect: '' },
  {
    name: 'required lists every standby, healthy first, then the primary',
    input: {
      synchronous: any1,
      standbys: [
        { name: 'pg-2', healthy: false },
        { name: 'pg-3', healthy: true },
      ],
    },
    expect: 'ANY 1 ("pg-3","pg-2","pg-1")',
  },
  {
    name: 'required keeps writes waiting when no standby is healthy',
    input: { synchronous: any1, standbys: [{ name: 'pg-2', healthy: false }] },
    expect: 'ANY 1 ("pg-2","pg-1")',
  },
  {
    name: 'first, with names before and after the cluster ones',
    input: {
      synchronous: {
        ...any1,
        method: 'first',
        number: 2,
        standbyNamesPre: ['angus'],
        standbyNamesPost: ['malcolm'],
      },
    },
    expect: 'FIRST 2 ("angus","pg-2","pg-3","pg-1","malcolm")',
  },
  {
    name: 'maxStandbyNamesFromCluster limits the cluster names',
    input: { synchronous: { ...any1, maxStandbyNamesFromCluster: 1 } },
    expect: 'ANY 1 ("pg-2")',
  },
  {
    name: 'preferred lists only healthy standbys and lowers the number to what is available',
    input: {
      synchronous: { ...any1, number: 2, dataDurability: 'preferred' },
      standbys: [
        { name: 'pg-2', healthy: true },
        { name: 'pg-3', healthy: false },
      ],
    },
    expect: 'ANY 1 ("pg-2")',
  },
  {
    name: 'preferred without a healthy standby turns synchronous replication off',
    input: {
      synchronous: { ...any1, dataDurability: 'preferred' },
      standbys: [{ name: 'pg-2', healthy: false }],
    },
    expect: '',
  },
  {
    name: 'legacy min/max: as many as ready, up to max',
    input: { minSyncReplicas: 1, maxSyncReplicas: 2 },
    expect: 'ANY 2 ("pg-2","pg-3")',
  },
  {
    name: 'legacy min/max never goes below min',
    input: { minSyncReplicas: 1, maxSyncReplicas: 2, standbys: [{ name: 'pg-2', healthy: false }] },
    expect: 'ANY 1 ("pg-2")',
  },
];

describe('planSyncStandbyNames', () => {
  it.each(cases)('$name', (c) => {
    expect(planSyncStandbyNames({ ...base, ...c.input })).toBe(c.expect);
  });
});

describe('parseSyncStandbyNames', () => {
  it('reads back every value planSyncStandbyNames writes', () => {
    for (const c of cases) {
      const value = planSyncStandbyNames({ ...base, ...c.input });
      const parsed = parseSyncStandbyNames(value);
      if (value === '') expect(parsed).toBeUndefined();
      else
        expect(
          `${parsed!.method.toUpperCase()} ${parsed!.number} (${parsed!.names.map((n) => `"${n}"`).join(',')})`,
        ).toBe(value);
    }
  });
  it('gives undefined for asynchronous replication or a foreign value', () => {
    expect(parseSyncStandbyNames('')).toBeUndefined();
    expect(parseSyncStandbyNames('*')).toBeUndefined();
  });
});
