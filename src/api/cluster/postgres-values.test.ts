import { describe, expect, it } from 'vitest';
import { parsePostgresBoolean, parsePostgresMemory } from './postgres-values.ts';

describe('parsePostgresBoolean', () => {
  it.each([
    ['on', true],
    ['ON', true],
    ['true', true],
    ['t', true],
    ['yes', true],
    ['y', true],
    ['1', true],
    ['off', false],
    ['of', false],
    ['false', false],
    ['f', false],
    ['no', false],
    ['0', false],
    [' on ', true],
  ])('%j is %s', (text, value) => {
    expect(parsePostgresBoolean(text)).toBe(value);
  });

  it.each(['', 'o', 'maybe', '2', 'onn', 'yess'])('%j is not a boolean', (text) => {
    expect(parsePostgresBoolean(text)).toBeUndefined();
  });
});

describe('parsePostgresMemory', () => {
  it('reads units, and bare numbers in the default unit', () => {
    expect(parsePostgresMemory('256MB', 'kB')).toBe(256 * 1024 ** 2);
    expect(parsePostgresMemory('1 GB', 'kB')).toBe(1024 ** 3);
    expect(parsePostgresMemory('1024', 'MB')).toBe(1024 ** 3);
    expect(parsePostgresMemory('8kB', 'MB')).toBe(8192);
  });

  it('refuses what PostgreSQL refuses', () => {
    for (const bad of ['lots', '1Gi', '1gb', '-1MB', '1.5GB', ''])
      expect(parsePostgresMemory(bad, 'MB'), bad).toBeUndefined();
  });
});
