import { describe, expect, it } from 'vitest';
import { checkSchedule, nextRun } from './cron.ts';

describe('checkSchedule', () => {
  it.each([
    '0 0 0 * * *',
    '*/30 * * * * *',
    '0 15 3 * * SUN',
    '0 0 0 1 JAN-MAR mon-fri',
    '0 0 12 ? * 1-5',
    '0 0 0 29 2 *',
  ])('accepts the six-field schedule %j', (schedule) => {
    expect(checkSchedule(schedule)).toBeUndefined();
  });

  it.each([
    ['0 0 * * *', 'has 5 fields; it needs exactly 6, seconds first'],
    ['0 0 0 * * * 2030', 'has 7 fields; it needs exactly 6'],
    ['@daily', 'has 1 field; it needs exactly 6'],
    ['', 'has 0 fields'],
    ['0 0 0 L * *', 'field 4 (day of month) "L" is not valid'],
    ['0 0 0 ? * FRI#2', 'field 6 (day of week) "FRI#2" is not valid'],
    ['0 0 0 * FOO *', 'field 5 (month) "FOO" is not valid'],
    ['61 0 0 * * *', 'is not valid: Invalid value for second: 61'],
    ['0 0 0 30 2 *', 'never fires: no date matches its day of month and month'],
  ])('refuses %j', (schedule, message) => {
    expect(checkSchedule(schedule)).toContain(message);
  });
});

describe('nextRun', () => {
  it('is the first run strictly after the given time, in UTC (robfig/cron Next)', () => {
    expect(nextRun('0 0 0 * * *', new Date('2026-01-01T12:00:00Z'))).toEqual(
      new Date('2026-01-02T00:00:00Z'),
    );
    expect(nextRun('0 0 0 * * *', new Date('2026-01-02T00:00:00Z'))).toEqual(
      new Date('2026-01-03T00:00:00Z'),
    );
    expect(nextRun('*/15 * * * * *', new Date('2026-01-01T00:00:07.500Z'))).toEqual(
      new Date('2026-01-01T00:00:15Z'),
    );
  });

  it('fires when either the day of month or the day of week matches, as cron does', () => {
    // 2026-01-01 is a Thursday: the 1st (next February) or the next Monday, whichever is first.
    expect(nextRun('0 0 0 1 * MON', new Date('2026-01-01T00:00:00Z'))).toEqual(
      new Date('2026-01-05T00:00:00Z'),
    );
  });

  it('is undefined for a schedule that is not valid', () => {
    expect(nextRun('0 0 * * *', new Date('2026-01-01T00:00:00Z'))).toBeUndefined();
    expect(nextRun('0 0 0 31 4 *', new Date('2026-01-01T00:00:00Z'))).toBeUndefined();
  });
});
