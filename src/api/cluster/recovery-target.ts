/**
 * `spec.bootstrap.recovery.recoveryTarget` (CNPG's RecoveryTarget): where point-in-time recovery
 * stops. Field formats follow CNPG's validateRecoveryTarget (internal/webhook/v1/cluster_webhook.go)
 * and machinery's ParseTargetTime; rules across the fields are in the schema's refinement.
 */
import { z } from 'zod';
import { parseLsn } from '../../postgres/lsn.ts';
import { addIssue, refineWith } from '../zod-helpers.ts';

const UINT32_MAX = 4_294_967_295;

/** PostgreSQL's MAXFNAMELEN: restore point names are shorter than 64 bytes. */
const MAX_TARGET_NAME_BYTES = 64;

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

const TARGET_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2})(?::(\d{2}))?(?::(\d{2}))?)?)?$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
}

/**
 * The instant a targetTime names, or undefined when it is not one. The formats CNPG accepts
 * (machinery's ParseTargetTime): PostgreSQL's `YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]]` (as
 * `SELECT now()` prints it), a bare date, and RFC 3339 `YYYY-MM-DDTHH:MM:SS[.ffffff](Z|±HH:MM)`.
 * A time with no zone is UTC, as in CNPG.
 */
export function parseTargetTime(text: string): Date | undefined {
  const m = TARGET_TIME.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const offsetHours = Number(m[10] ?? 0);
  const offsetMinutes = Number(m[11] ?? 0);
  const offsetSeconds = Number(m[12] ?? 0);
  if (offsetHours > 15 || offsetMinutes > 59 || offsetSeconds > 59) return undefined;
  const sign = m[9] === '-' ? -1 : 1;
  const offsetMs = sign * ((offsetHours * 60 + offsetMinutes) * 60 + offsetSeconds) * 1000;
  const milliseconds = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000);
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0-99 as 1900-1999.
  const local = new Date(0);
  local.setUTCFullYear(year, month - 1, day);
  local.setUTCHours(hour, minute, second, milliseconds);
  return new Date(local.getTime() - offsetMs);
}

/**
 * A valid targetTime written for PostgreSQL's `recovery_target_time`, keeping every digit of the
 * fraction (a Date keeps milliseconds only) and with the zone spelled out (`+00` when none was
 * given, as CNPG reads it): `2024-05-01 12:30:00.123456+00`. Undefined when it is not valid.
 */
export function formatTargetTime(text: string): string | undefined {
  const m = TARGET_TIME.exec(text);
  if (m === null || parseTargetTime(text) === undefined) return undefined;
  const time = `${m[4] ?? '00'}:${m[5] ?? '00'}:${m[6] ?? '00'}${m[7] === undefined ? '' : `.${m[7]}`}`;
  const zone =
    m[9] === undefined
      ? '+00'
      : `${m[9]}${m[10]}${m[11] === undefined ? '' : `:${m[11]}`}${m[12] === undefined ? '' : `:${m[12]}`}`;
  return `${m[1]}-${m[2]}-${m[3]} ${time}${zone}`;
}

function checkTargetTime(text: string): string | undefined {
  return parseTargetTime(text) === undefined
    ? `targetTime ${JSON.stringify(text)} is not a timestamp: use RFC 3339 (2024-05-01T12:30:00Z) or PostgreSQL's format (2024-05-01 12:30:00.000000+00); no time zone means UTC`
    : undefined;
}

function checkTargetLsn(text: string): string | undefined {
  try {
    parseLsn(text);
    return undefined;
  } catch {
    return `targetLSN ${JSON.stringify(text)} is not an LSN: two hexadecimal numbers of up to 8 digits, such as 0/3000060`;
  }
}

function checkTargetXid(text: string): string | undefined {
  // PostgreSQL reads recovery_target_xid as a 32-bit TransactionId: a larger value would be
  // truncated to another transaction.
  return /^\d+$/.test(text) && Number(text) <= UINT32_MAX
    ? undefined
    : `targetXID ${JSON.stringify(text)} must be a transaction ID: a non-negative 32-bit integer`;
}

function checkTargetTli(text: string): string | undefined {
  return text === 'latest' || (/^\d+$/.test(text) && Number(text) >= 1 && Number(text) <= UINT32_MAX)
    ? undefined
    : `targetTLI ${JSON.stringify(text)} must be "latest" or a positive integer (a timeline ID)`;
}

function checkTargetName(text: string): string | undefined {
  if (text === '') return 'targetName must not be empty';
  if (new TextEncoder().encode(text).length >= MAX_TARGET_NAME_BYTES) {
    return `targetName must be shorter than ${MAX_TARGET_NAME_BYTES} bytes (PostgreSQL's limit for restore point names)`;
  }
  if (CONTROL_CHARACTERS.test(text)) return 'targetName must not contain control characters';
  return undefined;
}

/** A backup ID names a folder of the object store: a separator or `..` would leave it. */
function checkBackupId(text: string): string | undefined {
  if (text === '') return 'backupID must not be empty';
  if (text === '.' || text === '..' || /[/\\]/.test(text) || CONTROL_CHARACTERS.test(text)) {
    return `backupID ${JSON.stringify(text)} is not a backup ID (such as 20240501T123000): it names a folder of the object store`;
  }
  return undefined;
}

/** The fields that each name where recovery stops; CNPG allows one at a time. */
const TARGETS = ['targetTime', 'targetLSN', 'targetXID', 'targetName', 'targetImmediate'] as const;

/** Targets that cannot find their base backup by themselves (no time or LSN to compare with). */
const TARGETS_NEEDING_BACKUP_ID = ['targetXID', 'targetName', 'targetImmediate'] as const;

export const recoveryTargetSchema = z
  .strictObject({
    backupID: z.string().superRefine(refineWith(checkBackupId, 'PGHERD_API_FORMAT')).optional(),
    targetTLI: z.string().superRefine(refineWith(checkTargetTli, 'PGHERD_API_FORMAT')).optional(),
    targetXID: z.string().superRefine(refineWith(checkTargetXid, 'PGHERD_API_FORMAT')).optional(),
    targetName: z.string().superRefine(refineWith(checkTargetName, 'PGHERD_API_FORMAT')).optional(),
    targetLSN: z.string().superRefine(refineWith(checkTargetLsn, 'PGHERD_API_FORMAT')).optional(),
    targetTime: z.string().superRefine(refineWith(checkTargetTime, 'PGHERD_API_FORMAT')).optional(),
    targetImmediate: z
      .boolean()
      .superRefine(
        refineWith(
          (immediate: boolean) =>
            immediate
              ? undefined
              : 'targetImmediate can only be true (stop as soon as the backup is consistent); remove it to replay all the WAL',
          'PGHERD_API_INVALID_VALUE',
        ),
      )
      .optional(),
    exclusive: z.boolean().optional(),
  })
  .superRefine((target, ctx) => {
    const set = TARGETS.filter((field) => target[field] !== undefined);
    // CNPG's validateTargetExclusiveness: "Recovery target options are mutually exclusive".
    for (const field of set.slice(1)) {
      addIssue(
        ctx,
        'PGHERD_API_CONFLICT',
        `recovery targets are mutually exclusive: ${field} cannot be combined with ${set[0]}`,
        [field],
      );
    }
    // CNPG's validateRecoveryTarget: "BackupID is missing" whenever targetName, targetXID or
    // targetImmediate is set and the recovery does not come from volume snapshots (which pgherd
    // does not implement), so with `source` and with `backup` alike: only targetTime and
    // targetLSN let CNPG pick the base backup by itself.
    const needing = TARGETS_NEEDING_BACKUP_ID.find((field) => target[field] !== undefined);
    if (needing !== undefined && target.backupID === undefined) {
      addIssue(
        ctx,
        'PGHERD_API_REQUIRED',
        `backupID is required with ${needing}: the base backup to start from can only be chosen by itself for targetTime and targetLSN`,
        ['backupID'],
      );
    }
  });

/** Where point-in-time recovery stops (CNPG's RecoveryTarget); at most one target is set. */
export type RecoveryTarget = z.output<typeof recoveryTargetSchema>;
