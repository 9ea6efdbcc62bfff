import { describe, expect, it } from 'vitest';
import { age, jsonpath, parseDuration, parseJsonpath } from './output.ts';

describe('jsonpath', () => {
  it.each([
    ['.spec.port', ['spec', 'port']],
    ['.data.ca\\.crt', ['data', 'ca.crt']],
    [".data['tls.key']", ['data', 'tls.key']],
    ['.items[0].metadata.name', ['items', '0', 'metadata', 'name']],
  ])('parses %s', (expr, path) => {
    expect(parseJsonpath(expr)).toEqual(path);
  });
  it('evaluates templates with literal text', () => {
    expect(jsonpath('{.spec.host}:{.spec.port}', { spec: { host: '127.0.0.1', port: 5432 } })).toBe(
      '127.0.0.1:5432',
    );
    expect(jsonpath('{.missing}', {})).toBe('');
  });
  it('refuses expressions it does not understand', () => {
    expect(() => jsonpath('{$.a}', {})).toThrow(/unsupported jsonpath/);
  });
});

describe('durations and ages', () => {
  it.each([
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['250ms', 250],
    ['30', 30_000],
  ])('parses %s', (t, ms) => expect(parseDuration(t)).toBe(ms));
  it('refuses nonsense', () => expect(() => parseDuration('soon')).toThrow(/invalid duration/));
  it('formats ages like kubectl', () => {
    const now = new Date('2026-01-01T01:00:00Z');
    expect(age('2026-01-01T00:59:30Z', now)).toBe('30s');
    expect(age('2026-01-01T00:30:00Z', now)).toBe('30m');
  });
});
