/**
 * The ScheduledBackup kind (`postgresql.cnpg.io/v1`, api/v1/scheduledbackup_types.go): Backups
 * of a cluster on a six-field cron schedule (seconds first), named `<name>-<YYYYMMDDHHMMSS>`.
 * `spec.cluster` is immutable (CNPG's CEL rule); the status is written by pgherd.
 */
import { z } from 'zod';
import { checkSchedule } from '../../lib/cron.ts';
import { checkDns1123Subdomain } from '../names.ts';
import { metadataSchema, type ObjectMeta } from '../object-meta.ts';
import { refineWith } from '../zod-helpers.ts';
import {
  backupMethodSchema,
  backupTargetSchema,
  onlineFields,
  refuseOnlineSettings,
} from './backup-options.ts';
import { clusterReferenceSchema } from './backup-resource.ts';

export const scheduledBackupSpecSchema = z
  .strictObject({
    /** Six fields, seconds first: `second minute hour day-of-month month day-of-week`, in UTC. */
    schedule: z.string().superRefine(refineWith(checkSchedule, 'PGHERD_API_FORMAT')),
    cluster: clusterReferenceSchema,
    /** Take the first backup at once, without waiting for the schedule (unset means false). */
    immediate: z.boolean().optional(),
    /** Create no backups while true (unset means false). */
    suspend: z.boolean().optional(),
    /**
     * What the Backups it creates belong to, and so what deletes them: nothing (`none`), this
     * ScheduledBackup (`self`) or the cluster (`cluster`).
     */
    backupOwnerReference: z.enum(['none', 'self', 'cluster']).default('none'),
    /** Unset: the cluster's `spec.backup.target` decides (CNPG). */
    target: backupTargetSchema.optional(),
    method: backupMethodSchema,
    ...onlineFields,
  })
  .superRefine(refuseOnlineSettings);

/** A ScheduledBackup spec with CNPG's defaults applied. */
export type ScheduledBackupSpec = z.output<typeof scheduledBackupSpecSchema>;

/** What pgherd observes about a ScheduledBackup, in CNPG's status field names (RFC 3339 times). */
export interface ScheduledBackupStatus {
  /** When the schedule was last looked at. */
  lastCheckTime?: string;
  /** When the last Backup was created. */
  lastScheduleTime?: string;
  /** When the next Backup will be created. */
  nextScheduleTime?: string;
  /** Why the ScheduledBackup cannot run, when it cannot. */
  error?: string;
  [k: string]: unknown;
}

/** A CNPG ScheduledBackup with defaults applied. */
export interface ScheduledBackupResource {
  apiVersion: 'postgresql.cnpg.io/v1';
  kind: 'ScheduledBackup';
  metadata: ObjectMeta;
  spec: ScheduledBackupSpec;
  status?: ScheduledBackupStatus;
}

/** A whole ScheduledBackup document (apiVersion and kind are checked before this schema applies). */
export const scheduledBackupDocumentSchema = z.strictObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: metadataSchema(checkDns1123Subdomain),
  spec: scheduledBackupSpecSchema,
  status: z.unknown().optional(),
});

/** Label CNPG puts on the Backups a ScheduledBackup creates, with the ScheduledBackup's name. */
export const SCHEDULED_BACKUP_LABEL = 'cnpg.io/scheduled-backup';
/** Label CNPG puts on every Backup it creates, with the cluster's name. */
export const BACKUP_CLUSTER_LABEL = 'cnpg.io/cluster';
/** Label CNPG puts on the Backups a ScheduledBackup creates: "true" for the `immediate` one. */
export const IMMEDIATE_BACKUP_LABEL = 'cnpg.io/immediateBackup';

/**
 * The name of the Backup a ScheduledBackup creates for the run scheduled at `scheduledTime`:
 * `<name>-<YYYYMMDDHHMMSS>` in UTC (CNPG's ScheduledBackup.BackupName), the same on every
 * retry so that a run is never taken twice.
 */
export function scheduledBackupName(
  scheduledBackup: { metadata: { name: string } },
  scheduledTime: Date,
): string {
  const compact = scheduledTime
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace(/[-:T]/g, '');
  return `${scheduledBackup.metadata.name}-${compact}`;
}
