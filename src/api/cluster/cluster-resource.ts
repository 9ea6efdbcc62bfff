import { z } from 'zod';
import { metadataSchema, type ObjectMeta } from '../object-meta.ts';
import { type ClusterSpec, checkClusterName, clusterSpecSchema } from './cluster-spec-schema.ts';

/** A condition of a Cluster (Kubernetes' metav1.Condition, as CNPG writes them). */
export interface ClusterCondition {
  /** Such as `Initialized`, `Ready`, `ContinuousArchiving`, `LastBackupSucceeded`. */
  type: string;
  status: 'True' | 'False' | 'Unknown';
  /** CamelCase, such as `ContinuousArchivingSuccess`. */
  reason: string;
  message: string;
  /** RFC 3339. */
  lastTransitionTime: string;
}

/** CNPG's condition types (api/v1/cluster_types.go ClusterConditionType) pgherd writes. */
export const CLUSTER_CONDITIONS = {
  /** WAL archiving works (True) or fails (False) on the primary. */
  continuousArchiving: 'ContinuousArchiving',
  /** The last backup succeeded (True), started (False, BackupStarted) or failed (False). */
  lastBackupSucceeded: 'LastBackupSucceeded',
} as const;

/** CNPG's condition reasons (api/v1/cluster_types.go ConditionReason) for the conditions above. */
export const CLUSTER_CONDITION_REASONS = {
  continuousArchivingSuccess: 'ContinuousArchivingSuccess',
  continuousArchivingFailing: 'ContinuousArchivingFailing',
  backupStarted: 'BackupStarted',
  lastBackupSucceeded: 'LastBackupSucceeded',
  lastBackupFailed: 'LastBackupFailed',
} as const;

/** What pgherd observes about a Cluster, in CNPG's status field names. */
export interface ClusterStatus {
  phase?: string;
  phaseReason?: string;
  currentPrimary?: string;
  targetPrimary?: string;
  currentPrimaryTimestamp?: string;
  targetPrimaryTimestamp?: string;
  instances?: number;
  readyInstances?: number;
  instanceNames?: string[];
  latestGeneratedNode?: number;
  timelineID?: number;
  conditions?: ClusterCondition[];
  instancesStatus?: Record<string, string[]>;
  /** The oldest point the cluster can be recovered to: the end of its oldest backup (RFC 3339). */
  firstRecoverabilityPoint?: string;
  /** When the last successful backup finished (RFC 3339). */
  lastSuccessfulBackup?: string;
  /** When the last failed backup failed (RFC 3339). */
  lastFailedBackup?: string;
  [k: string]: unknown;
}

/** A CNPG Cluster with defaults applied. */
export interface ClusterResource {
  apiVersion: 'postgresql.cnpg.io/v1';
  kind: 'Cluster';
  metadata: ObjectMeta;
  spec: ClusterSpec;
  status?: ClusterStatus;
}

/** A whole Cluster document (apiVersion and kind are checked before this schema applies). */
export const clusterDocumentSchema = z.strictObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: metadataSchema(checkClusterName),
  spec: clusterSpecSchema,
  status: z.unknown().optional(),
});
