/**
 * Backup settings shared by the Cluster (`spec.backup.target`), Backup and ScheduledBackup:
 * CNPG's BackupTarget and BackupMethod (api/v1/backup_types.go, cluster_types.go).
 */
import { z } from 'zod';
import { notImplementedMessage } from '../field-notes.ts';
import { addIssue } from '../zod-helpers.ts';

/** Which instance takes a backup: always the primary, or the most advanced standby when there is one. */
export const BACKUP_TARGETS = ['primary', 'prefer-standby'] as const;

/** Which instance takes a backup (CNPG's BackupTarget). */
export type BackupTarget = (typeof BACKUP_TARGETS)[number];

/** CNPG's backup methods; pgherd implements barmanObjectStore only. */
const BACKUP_METHODS = ['barmanObjectStore', 'volumeSnapshot', 'plugin'] as const;

/** How a backup is taken (CNPG's BackupMethod, narrowed to what pgherd implements). */
export type BackupMethod = 'barmanObjectStore';

export const backupTargetSchema = z.enum(BACKUP_TARGETS);

/** `spec.method` of a Backup or ScheduledBackup: CNPG's enum and default, the others refused by value. */
export const backupMethodSchema = z
  .enum(BACKUP_METHODS)
  .superRefine((method, ctx) => {
    if (method === 'barmanObjectStore') return;
    addIssue(
      ctx,
      'PGHERD_API_NOT_IMPLEMENTED',
      notImplementedMessage(
        `method "${method}"`,
        "use barmanObjectStore (the default): a base backup to the cluster's spec.backup.barmanObjectStore",
      ),
    );
  })
  .transform((): BackupMethod => 'barmanObjectStore') // the only method past the check above
  .default('barmanObjectStore');

/**
 * `online` and `onlineConfiguration` tune volume snapshot backups only. CNPG's Backup and
 * ScheduledBackup webhooks refuse them with the barmanObjectStore method (barman backups are
 * always online), so they are accepted by the schema and refused by a rule.
 */
export const onlineFields = {
  online: z.boolean().optional(),
  onlineConfiguration: z
    .strictObject({
      waitForArchive: z.boolean().optional(),
      immediateCheckpoint: z.boolean().optional(),
    })
    .optional(),
};

/** CNPG's webhook rule on online/onlineConfiguration with the barmanObjectStore method. */
export function refuseOnlineSettings(
  spec: { method: string; online?: boolean | undefined; onlineConfiguration?: object | undefined },
  ctx: z.RefinementCtx,
): void {
  // Another method is refused by itself already: do not blame its settings too.
  if (spec.method !== 'barmanObjectStore') return;
  for (const field of ['online', 'onlineConfiguration'] as const) {
    if (spec[field] === undefined) continue;
    addIssue(
      ctx,
      'PGHERD_API_INVALID_VALUE',
      `${field} can be specified only if the backup method is volumeSnapshot; barmanObjectStore backups are always online`,
      [field],
      'key',
    );
  }
}
