import type { BackupResource } from './backup/backup-resource.ts';
import type { ScheduledBackupResource } from './backup/scheduled-backup-resource.ts';
import type { ClusterResource } from './cluster/cluster-resource.ts';
import type { SecretResource } from './secret/secret-resource.ts';

/** A resource users apply: a CNPG Cluster, Backup or ScheduledBackup, or a core Secret. */
export type UserResource = ClusterResource | SecretResource | BackupResource | ScheduledBackupResource;
