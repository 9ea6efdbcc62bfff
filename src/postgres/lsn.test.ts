import { describe, expect, it } from 'vitest';
import { compareLsn, formatLsn, lsnDiff, parseLsn } from './lsn.ts';

describe('lsn', () => {
  it.each([
    ['0/0', 0n],
    ['0/3000148', 0x3000148n],
    ['16/B374D848', (0x16n << 32n) | 0xb374d848n],
  ])('parses %s', (text, value) => {
    expect(parseLsn(text)).toBe(value);
    expect(formatLsn(value)).toBe(text.toUpperCase());
  });
  it('refuses a malformed LSN', () => {
    expect(() => parseLsn('0-3')).toThrow(/malformed LSN/);
  });
  it('measures lag in bytes and never negative', () => {
    expect(lsnDiff('1/0', '0/FFFFFFFF')).toBe(1);
    expect(lsnDiff('0/10', '0/20')).toBe(0);
    expect(lsnDiff(null, '0/20')).toBeNull();
  });
  it('compares numerically, not as text', () => {
    expect(compareLsn('0/9', '0/10')).toBe(-1);
    expect(compareLsn('A/0', '9/FFFFFFFF')).toBe(1);
    expect(compareLsn('16/B374D848', '16/b374d848')).toBe(0);
  });
});
