import { describe, expect, it } from 'vitest';
import { parseDurationMs } from './duration.ts';

describe('parseDurationMs', () => {
  it.each([
    ['250ms', 250],
    ['45s', 45_000],
    ['30m', 1_800_000],
    ['12h', 43_200_000],
    ['90d', 7_776_000_000],
    ['1.5h', 5_400_000],
    ['30', 30_000],
  ])('reads %s', (text, ms) => expect(parseDurationMs(text)).toBe(ms));
  it.each(['', 'soon', '5 m', '-3s', '1w'])('refuses %j', (text) =>
    expect(parseDurationMs(text)).toBeUndefined(),
  );
});
