/**
 * The kinds a manifest may hold: the ones pgherd implements (with their schema and field tables)
 * and the CNPG kinds it refuses by name until it implements them.
 */
import type { z } from 'zod';
import {
  BACKUP_IGNORED_FIELDS,
  BACKUP_UNIMPLEMENTED_FIELDS,
  SCHEDULED_BACKUP_IGNORED_FIELDS,
  SCHEDULED_BACKUP_UNIMPLEMENTED_FIELDS,
} from './backup/backup-fields.ts';
import { type BackupResource, backupDocumentSchema } from './backup/backup-resource.ts';
import {
  type ScheduledBackupResource,
  scheduledBackupDocumentSchema,
} from './backup/scheduled-backup-resource.ts';
import { CLUSTER_IGNORED_FIELDS, CLUSTER_UNIMPLEMENTED_FIELDS } from './cluster/cluster-fields.ts';
import type { ClusterResource } from './cluster/cluster-resource.ts';
import { clusterDocumentSchema } from './cluster/cluster-resource.ts';
import { checkClusterRules, type RuleFinding } from './cluster/cluster-rules.ts';
import {
  type IgnoredField,
  METADATA_IGNORED_FIELDS,
  METADATA_UNIMPLEMENTED_FIELDS,
  type UnimplementedField,
} from './field-notes.ts';
import { toObjectMeta } from './object-meta.ts';
import type { SecretResource } from './secret/secret-resource.ts';
import { secretDocumentSchema } from './secret/secret-resource.ts';
import type { UserResource } from './user-resource.ts';

/** CNPG's API group and version. */
export const CNPG_API_VERSION = 'postgresql.cnpg.io/v1';

/** CNPG kinds that pgherd refuses by name until it implements them. */
export const UNIMPLEMENTED_KINDS: readonly string[] = [
  'Pooler',
  'Database',
  'DatabaseRole',
  'Publication',
  'Subscription',
  'ImageCatalog',
  'ClusterImageCatalog',
  'FailoverQuorum',
];

/** What validating one document of an implemented kind found. */
export interface KindLoad {
  /** Set when the document is valid on its own (no schema issue, no rule finding). */
  resource?: UserResource;
  issues: readonly z.core.$ZodIssue[];
  findings: readonly RuleFinding[];
}

/** How pgherd reads one implemented kind. */
export interface KindHandler {
  apiVersion: string;
  schema: z.ZodType;
  ignored: readonly IgnoredField[];
  unimplemented: ReadonlyMap<string, UnimplementedField>;
  load(data: unknown): KindLoad;
}

function byPath(fields: readonly UnimplementedField[]): ReadonlyMap<string, UnimplementedField> {
  return new Map([...METADATA_UNIMPLEMENTED_FIELDS, ...fields].map((field) => [field.path, field]));
}

const clusterHandler: KindHandler = {
  apiVersion: CNPG_API_VERSION,
  schema: clusterDocumentSchema,
  ignored: [...METADATA_IGNORED_FIELDS, ...CLUSTER_IGNORED_FIELDS],
  unimplemented: byPath(CLUSTER_UNIMPLEMENTED_FIELDS),
  load(data) {
    const parsed = clusterDocumentSchema.safeParse(data, { reportInput: true });
    if (!parsed.success) return { issues: parsed.error.issues, findings: [] };
    const cluster: ClusterResource = {
      apiVersion: CNPG_API_VERSION,
      kind: 'Cluster',
      metadata: toObjectMeta(parsed.data.metadata),
      spec: parsed.data.spec,
    };
    const findings = checkClusterRules(cluster.spec);
    return findings.length > 0 ? { issues: [], findings } : { resource: cluster, issues: [], findings };
  },
};

const secretHandler: KindHandler = {
  apiVersion: 'v1',
  schema: secretDocumentSchema,
  ignored: METADATA_IGNORED_FIELDS,
  unimplemented: byPath([{ path: 'immutable' }]),
  load(data) {
    const parsed = secretDocumentSchema.safeParse(data, { reportInput: true });
    if (!parsed.success) return { issues: parsed.error.issues, findings: [] };
    const secret: SecretResource = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: toObjectMeta(parsed.data.metadata),
      type: parsed.data.type,
      data: parsed.data.data,
    };
    return { resource: secret, issues: [], findings: [] };
  },
};

const backupHandler: KindHandler = {
  apiVersion: CNPG_API_VERSION,
  schema: backupDocumentSchema,
  ignored: [...METADATA_IGNORED_FIELDS, ...BACKUP_IGNORED_FIELDS],
  unimplemented: byPath(BACKUP_UNIMPLEMENTED_FIELDS),
  load(data) {
    const parsed = backupDocumentSchema.safeParse(data, { reportInput: true });
    if (!parsed.success) return { issues: parsed.error.issues, findings: [] };
    const backup: BackupResource = {
      apiVersion: CNPG_API_VERSION,
      kind: 'Backup',
      metadata: toObjectMeta(parsed.data.metadata),
      spec: parsed.data.spec,
    };
    return { resource: backup, issues: [], findings: [] };
  },
};

const scheduledBackupHandler: KindHandler = {
  apiVersion: CNPG_API_VERSION,
  schema: scheduledBackupDocumentSchema,
  ignored: [...METADATA_IGNORED_FIELDS, ...SCHEDULED_BACKUP_IGNORED_FIELDS],
  unimplemented: byPath(SCHEDULED_BACKUP_UNIMPLEMENTED_FIELDS),
  load(data) {
    const parsed = scheduledBackupDocumentSchema.safeParse(data, { reportInput: true });
    if (!parsed.success) return { issues: parsed.error.issues, findings: [] };
    const scheduledBackup: ScheduledBackupResource = {
      apiVersion: CNPG_API_VERSION,
      kind: 'ScheduledBackup',
      metadata: toObjectMeta(parsed.data.metadata),
      spec: parsed.data.spec,
    };
    return { resource: scheduledBackup, issues: [], findings: [] };
  },
};

/** The kinds pgherd implements, by `kind`. */
export const KIND_HANDLERS: Readonly<Record<string, KindHandler>> = {
  Cluster: clusterHandler,
  Secret: secretHandler,
  Backup: backupHandler,
  ScheduledBackup: scheduledBackupHandler,
};
