/**
 * Six-field cron schedules with seconds first, as CNPG's ScheduledBackup reads them
 * (robfig/cron v1: `second minute hour day-of-month month day-of-week`), evaluated in UTC as in
 * CNPG's operator container. Pure: the caller passes the time in; nothing here starts a timer.
 */
import { Cron, type CronOptions } from 'croner';

/** What each of the six fields is, in order (for messages). */
const FIELDS = ['second', 'minute', 'hour', 'day of month', 'month', 'day of week'] as const;

/**
 * `paused` with no callback: croner only parses and computes, it never schedules. Exactly six
 * parts: croner would also read five parts (no seconds) or seven (a year), which CNPG does not.
 */
const OPTIONS: CronOptions = { paused: true, timezone: 'UTC', mode: '6-part' };

/** robfig/cron's syntax: numbers, `*`, `?`, ranges, lists and steps; names only for month and weekday. */
const PLAIN_FIELD = /^[0-9*?,/-]*$/;
const MONTH_NAMES = /JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC/gi;
const DAY_NAMES = /SUN|MON|TUE|WED|THU|FRI|SAT/gi;

/** Any fixed instant: whether a schedule can ever fire does not depend on when it is asked. */
const PROBE = new Date(Date.UTC(2000, 0, 1));

const EXAMPLE = '"0 0 0 * * *" (every day at midnight UTC)';

/** Croner's message without its class-name prefix. */
function croner(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/^CronPattern:\s*/, '');
}

/**
 * Why a ScheduledBackup schedule is not usable, or undefined. Refuses anything robfig/cron v1
 * (CNPG's parser) would refuse or CNPG warns about: not exactly six fields (so no `@daily`
 * descriptors and no year field), croner-only syntax (`L`, `W`, `#`), and schedules that never
 * fire (such as February 30th), which CNPG's controller would skip forever.
 */
export function checkSchedule(schedule: string): string | undefined {
  const fields = schedule
    .trim()
    .split(/\s+/)
    .filter((field) => field !== '');
  if (fields.length !== FIELDS.length) {
    return `schedule ${JSON.stringify(schedule)} has ${fields.length} field${fields.length === 1 ? '' : 's'}; it needs exactly 6, seconds first: second minute hour day-of-month month day-of-week, such as ${EXAMPLE}`;
  }
  for (const [index, field] of fields.entries()) {
    const names = index === 4 ? MONTH_NAMES : index === 5 ? DAY_NAMES : undefined;
    const rest = names === undefined ? field : field.replace(names, '');
    if (!PLAIN_FIELD.test(rest)) {
      return `schedule field ${index + 1} (${FIELDS[index]}) ${JSON.stringify(field)} is not valid: use numbers, *, ?, ranges (1-5), lists (1,3) and steps (*/15)${names === undefined ? '' : ', or names such as ' + (index === 4 ? 'JAN' : 'MON')}`;
    }
  }
  let job: Cron;
  try {
    job = new Cron(schedule, OPTIONS);
  } catch (error) {
    return `schedule ${JSON.stringify(schedule)} is not valid: ${croner(error)}`;
  }
  if (job.nextRun(PROBE) === null) {
    return `schedule ${JSON.stringify(schedule)} never fires: no date matches its day of month and month`;
  }
  return undefined;
}

/**
 * The first time strictly after `after` that the schedule fires (UTC), or undefined when the
 * schedule is invalid (see checkSchedule) or never fires. As robfig/cron's `Next`.
 */
export function nextRun(schedule: string, after: Date): Date | undefined {
  if (checkSchedule(schedule) !== undefined) return undefined;
  return new Cron(schedule, OPTIONS).nextRun(after) ?? undefined;
}
