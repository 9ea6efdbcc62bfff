/**
 * The Backup kind (`postgresql.cnpg.io/v1`, api/v1/backup_types.go): a request for one base
 * backup of a cluster into its `spec.backup.barmanObjectStore`. The spec is immutable once set
 * (CNPG's CEL rule `oldSelf == self`); the status is written by pgherd.
 */
import { z } from 'zod';
import { checkDns1123Subdomain } from '../names.ts';
import { metadataSchema, type ObjectMeta } from '../object-meta.ts';
import { refineWith } from '../zod-helpers.ts';
import {
  type BackupMethod,
  type BackupTarget,
  backupMethodSchema,
  backupTargetSchema,
  onlineFields,
  refuseOnlineSettings,
} from './backup-options.ts';

/** `spec.cluster`: the cluster to back up, in the same namespace (a LocalObjectReference). */
export const clusterReferenceSchema = z.strictObject({
  name: z.string().superRefine(refineWith(checkDns1123Subdomain, 'PGHERD_API_FORMAT')),
});

export const backupSpecSchema = z
  .strictObject({
    cluster: clusterReferenceSchema,
    /** Unset: the cluster's `spec.backup.target` decides (CNPG). */
    target: backupTargetSchema.optional(),
    method: backupMethodSchema,
    ...onlineFields,
  })
  .superRefine(refuseOnlineSettings);

/** A Backup spec with CNPG's defaults applied. */
export type BackupSpec = z.output<typeof backupSpecSchema>;

/** CNPG's backup phases, in the order a backup goes through them (or fails). */
export const BACKUP_PHASES = [
  'pending',
  'started',
  'running',
  'finalizing',
  'completed',
  'failed',
  'walArchivingFailing',
] as const;

/** Where a backup is (CNPG's BackupPhase). */
export type BackupPhase = (typeof BACKUP_PHASES)[number];

/** What pgherd observes about a Backup, in CNPG's status field names. */
export interface BackupStatus {
  phase?: BackupPhase;
  /** barman's backup ID, such as `20240501T123000` (the backup's folder in the object store). */
  backupId?: string;
  /** barman's backup name (CNPG sets the Backup's name). */
  backupName?: string;
  /** The object store the backup went to, copied from the cluster when the backup started. */
  destinationPath?: string;
  endpointURL?: string;
  serverName?: string;
  /** The PostgreSQL major version that was running when the backup was taken. */
  majorVersion?: number;
  /** The first and last WAL files the backup needs, and their LSNs (`X/Y`). */
  beginWal?: string;
  endWal?: string;
  beginLSN?: string;
  endLSN?: string;
  /** When the backup tool started and stopped (RFC 3339). */
  startedAt?: string;
  stoppedAt?: string;
  /** When the control plane took the request up, and when it finished with it (RFC 3339). */
  reconciliationStartedAt?: string;
  reconciliationTerminatedAt?: string;
  /** Why the backup failed. */
  error?: string;
  /** The instance that takes the backup; `sessionID` is its manager's session, to notice a restart. */
  instanceID?: { podName: string; sessionID?: string };
  method?: BackupMethod;
  /** Always true for barmanObjectStore backups (hot backups). */
  online?: boolean;
  /** pgherd: bytes uploaded so far, and the size of the data directory when the backup started. */
  progress?: { bytesDone: number; bytesTotal?: number; updatedAt?: string };
  [k: string]: unknown;
}

/** A CNPG Backup with defaults applied. */
export interface BackupResource {
  apiVersion: 'postgresql.cnpg.io/v1';
  kind: 'Backup';
  metadata: ObjectMeta;
  spec: BackupSpec;
  status?: BackupStatus;
}

/** A whole Backup document (apiVersion and kind are checked before this schema applies). */
export const backupDocumentSchema = z.strictObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: metadataSchema(checkDns1123Subdomain),
  spec: backupSpecSchema,
  status: z.unknown().optional(),
});

/** The target a Backup runs with: its own, else its cluster's `spec.backup.target` (CNPG). */
export function effectiveBackupTarget(
  backup: { spec: { target?: BackupTarget | undefined } },
  cluster: { spec: { backup?: { target: BackupTarget } | undefined } },
): BackupTarget {
  return backup.spec.target ?? cluster.spec.backup?.target ?? 'prefer-standby';
}
