/**
 * pgherd's user-facing API: CNPG `postgresql.cnpg.io/v1` Cluster, Backup and ScheduledBackup
 * and core Secret manifests — loading, schemas, defaults and validation. Pure.
 */

export { BACKUP_TARGETS, type BackupMethod, type BackupTarget } from './backup/backup-options.ts';
export {
  BACKUP_PHASES,
  type BackupPhase,
  type BackupResource,
  type BackupSpec,
  type BackupStatus,
  backupDocumentSchema,
  effectiveBackupTarget,
} from './backup/backup-resource.ts';
export {
  type BarmanObjectStoreConfiguration,
  type Compression,
  checkDestinationPath,
  type DataBackupConfiguration,
  destinationKind,
  IMPLEMENTED_COMPRESSIONS,
  type S3Credentials,
  type SecretKeySelector,
  type WalBackupConfiguration,
} from './backup/barman-object-store.ts';
export {
  BACKUP_CLUSTER_LABEL,
  IMMEDIATE_BACKUP_LABEL,
  SCHEDULED_BACKUP_LABEL,
  type ScheduledBackupResource,
  type ScheduledBackupSpec,
  type ScheduledBackupStatus,
  scheduledBackupDocumentSchema,
  scheduledBackupName,
} from './backup/scheduled-backup-resource.ts';
export { validateBackupUpdate, validateScheduledBackupUpdate } from './backup/validate-backup-update.ts';
export {
  type ApplicationDatabase,
  applicationDatabase,
  type BootstrapMethod,
  bootstrapMethod,
} from './cluster/bootstrap-method.ts';
export {
  CLUSTER_CONDITION_REASONS,
  CLUSTER_CONDITIONS,
  type ClusterCondition,
  type ClusterResource,
  type ClusterStatus,
  clusterDocumentSchema,
} from './cluster/cluster-resource.ts';
export type {
  BackupConfiguration,
  BootstrapSpec,
  ClusterSpec,
  ExternalCluster,
  InitdbBootstrap,
  RecoveryBootstrap,
} from './cluster/cluster-spec-schema.ts';
export { checkClusterName, clusterSpecSchema } from './cluster/cluster-spec-schema.ts';
export { declaredMajor } from './cluster/declared-major.ts';
export { formatTargetTime, parseTargetTime, type RecoveryTarget } from './cluster/recovery-target.ts';
export { validateUpdate } from './cluster/validate-update.ts';
export { ISSUE_CODES, type IssueCode } from './issue-codes.ts';
export { CNPG_API_VERSION, UNIMPLEMENTED_KINDS } from './kinds.ts';
export { type LoadResult, loadManifests } from './load-manifests.ts';
export { formatIssue, type ManifestIssue } from './manifest-issue.ts';
export { DEFAULT_NAMESPACE, type ObjectMeta } from './object-meta.ts';
export {
  BASIC_AUTH_SECRET_TYPE,
  type SecretResource,
  secretDocumentSchema,
} from './secret/secret-resource.ts';
export type { UserResource } from './user-resource.ts';
export { validateReferences } from './validate-references.ts';
