/**
 * The Cluster spec (`postgresql.cnpg.io/v1`, api/v1/cluster_types.go) as far as pgherd
 * implements it: CNPG's field names, defaults and field-level validation. Rules that compare
 * several fields live in cluster-rules.ts; unimplemented and Kubernetes-only fields are listed in
 * cluster-fields.ts.
 */
import { z } from 'zod';
import { checkHbaRule, checkIdentRule } from '../../postgres/hba.ts';
import { checkIdentifier } from '../../postgres/identifiers.ts';
import { checkUserParameter } from '../../postgres/parameters.ts';
import { backupTargetSchema } from '../backup/backup-options.ts';
import { barmanObjectStoreSchema, secretKeySelectorSchema } from '../backup/barman-object-store.ts';
import { checkImageName } from '../image-name.ts';
import { checkDns1035Label, checkDns1123Subdomain } from '../names.ts';
import { checkStorageSize } from '../quantity.ts';
import { addIssue, refineWith } from '../zod-helpers.ts';
import { recoveryTargetSchema } from './recovery-target.ts';

const INT32_MAX = 2_147_483_647;

/** CNPG's generated names (`<cluster>-rw`, `<cluster>-12`, ...) must stay valid DNS labels. */
const MAX_CLUSTER_NAME_LENGTH = 50;

/** Why a Cluster name cannot be used (CNPG's validateName), or undefined. */
export function checkClusterName(name: string): string | undefined {
  const label = checkDns1035Label(name);
  if (label !== undefined) return `cluster name ${label}`;
  if (name.length > MAX_CLUSTER_NAME_LENGTH) {
    return `cluster name must be at most ${MAX_CLUSTER_NAME_LENGTH} characters (has ${name.length}): instance and service names are derived from it`;
  }
  return undefined;
}

/** A duration in whole seconds (int32, as CNPG declares them). */
const seconds = (defaultValue: number) => z.number().int().min(0).max(INT32_MAX).default(defaultValue);

const CONTROL_CHARACTERS = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/** A reference to a Secret in the Cluster's namespace (`LocalObjectReference`). */
const secretReference = z.strictObject({
  name: z.string().superRefine(refineWith(checkDns1123Subdomain, 'PGHERD_API_FORMAT')),
});

/** A Secret's name (CNPG's certificates section names secrets directly). */
const secretName = z.string().superRefine(refineWith(checkDns1123Subdomain, 'PGHERD_API_FORMAT'));

/** Anything Kubernetes defines that pgherd ignores: accepted as a mapping, not looked into. */
const ignoredMapping = z.record(z.string(), z.unknown());

// --- postgresql.parameters --------------------------------------------------------------------

/**
 * postgresql.conf setting names: a GUC name, optionally with one `extension.` qualifier. Stricter
 * than the file's lexer (no `$`): names are written verbatim into the file, so anything else
 * could carry `=` or a line break and a second setting.
 */
const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

/** Where to go instead of a fixed parameter, when the spec has a field for it. */
const FIXED_PARAMETER_HINTS: Readonly<Record<string, string>> = {
  synchronous_standby_names: 'use spec.postgresql.synchronous',
  synchronized_standby_slots: 'pgherd manages it from spec.replicationSlots',
};

const parameterName = z.string().superRefine((name, ctx) => {
  if (!PARAMETER_NAME.test(name)) {
    addIssue(
      ctx,
      'PGHERD_API_PARAMETER_NAME',
      `parameter name ${JSON.stringify(name)} is not a PostgreSQL setting name: use letters, digits and "_", optionally "extension.setting"`,
    );
    return;
  }
  switch (checkUserParameter(name)) {
    case 'fixed': {
      const hint = FIXED_PARAMETER_HINTS[name.toLowerCase()];
      const message = `parameter "${name}" is managed by pgherd and cannot be set`;
      addIssue(ctx, 'PGHERD_API_PARAMETER_FIXED', hint === undefined ? message : `${message}; ${hint}`);
      return;
    }
    case 'blocked':
      addIssue(ctx, 'PGHERD_API_PARAMETER_BLOCKED', `parameter "${name}" is blocked and can never be set`);
      return;
    case undefined:
      return;
  }
});

/** Values are written into postgresql.conf: a line break or NUL would start a second setting. */
const parameterValue = z.string().superRefine((value, ctx) => {
  if (/[\n\r]/.test(value)) {
    addIssue(
      ctx,
      'PGHERD_API_PARAMETER_VALUE',
      'parameter value must be a single line: it contains a line break',
    );
  } else if (value.includes('\0')) {
    addIssue(ctx, 'PGHERD_API_PARAMETER_VALUE', 'parameter value must not contain a NUL character');
  }
});

const parameters = z.record(parameterName, parameterValue).superRefine((values, ctx) => {
  // PostgreSQL setting names are case-insensitive: two spellings would race in postgresql.conf.
  const seen = new Map<string, string>();
  for (const name of Object.keys(values)) {
    const previous = seen.get(name.toLowerCase());
    if (previous !== undefined) {
      addIssue(
        ctx,
        'PGHERD_API_PARAMETER_NAME',
        `parameter ${JSON.stringify(name)} is also set as ${JSON.stringify(previous)} (setting names are case-insensitive)`,
        [name],
        'key',
      );
    } else {
      seen.set(name.toLowerCase(), name);
    }
  }
});

// --- postgresql.synchronous -------------------------------------------------------------------

/** Standby names are double-quoted inside synchronous_standby_names. */
function checkStandbyName(name: string): string | undefined {
  if (name.length === 0) return 'standby name must not be empty';
  if (CONTROL_CHARACTERS.test(name) || name.includes('\t'))
    return 'standby name must not contain control characters';
  if (name.includes('"')) return 'standby name must not contain a double quote';
  return undefined;
}

const standbyNames = z.array(z.string().superRefine(refineWith(checkStandbyName, 'PGHERD_API_UNSAFE_TEXT')));

const synchronous = z
  .strictObject({
    method: z.enum(['any', 'first']),
    number: z.number().int().min(1),
    maxStandbyNamesFromCluster: z.number().int().min(0).optional(),
    standbyNamesPre: standbyNames.optional(),
    standbyNamesPost: standbyNames.optional(),
    dataDurability: z.enum(['required', 'preferred']).default('required'),
    failoverQuorum: z.boolean().default(false),
  })
  .superRefine((sync, ctx) => {
    const external = (sync.standbyNamesPre?.length ?? 0) + (sync.standbyNamesPost?.length ?? 0);
    if (sync.dataDurability === 'preferred' && external > 0) {
      addIssue(
        ctx,
        'PGHERD_API_CONFLICT',
        'dataDurability "preferred" cannot be combined with standbyNamesPre or standbyNamesPost (CNPG lists only healthy cluster standbys in that mode)',
        ['dataDurability'],
      );
    }
    if (sync.failoverQuorum && sync.number <= external) {
      addIssue(
        ctx,
        'PGHERD_API_INVALID_VALUE',
        `number (${sync.number}) must be greater than the ${external} names in standbyNamesPre and standbyNamesPost when failoverQuorum is enabled, or no failover could ever reach a quorum`,
        ['number'],
      );
    }
  });

// --- postgresql -------------------------------------------------------------------------------

const postgresql = z.strictObject({
  parameters: parameters.default({}),
  pg_hba: z.array(z.string().superRefine(refineWith(checkHbaRule, 'PGHERD_API_PG_HBA'))).default([]),
  pg_ident: z.array(z.string().superRefine(refineWith(checkIdentRule, 'PGHERD_API_PG_IDENT'))).default([]),
  synchronous: synchronous.optional(),
});

// --- replicationSlots -------------------------------------------------------------------------

function checkRegularExpression(pattern: string): string | undefined {
  try {
    new RegExp(pattern);
    return undefined;
  } catch (error) {
    return `is not a valid regular expression: ${error instanceof Error ? error.message : String(error)}`;
  }
}

const replicationSlots = z.strictObject({
  highAvailability: z
    .strictObject({
      enabled: z.boolean().default(true),
      slotPrefix: z
        .string()
        .superRefine(
          refineWith(
            (prefix: string) =>
              /^[0-9a-z_]*$/.test(prefix)
                ? undefined
                : 'slot prefix may only contain lowercase letters, digits and "_"',
            'PGHERD_API_FORMAT',
          ),
        )
        .default('_cnpg_'),
      synchronizeLogicalDecoding: z.boolean().default(false),
    })
    .prefault({}),
  updateInterval: z.number().int().min(1).max(INT32_MAX).default(30),
  synchronizeReplicas: z
    .strictObject({
      enabled: z.boolean().default(true),
      excludePatterns: z
        .array(z.string().superRefine(refineWith(checkRegularExpression, 'PGHERD_API_FORMAT')))
        .optional(),
    })
    .prefault({}),
});

// --- bootstrap.initdb -------------------------------------------------------------------------

/** Databases that exist in every cluster: the application database must be another one. */
const RESERVED_DATABASES: ReadonlySet<string> = new Set(['postgres', 'template0', 'template1']);

/** Roles pgherd (and CNPG) create and own; `pg_` is reserved by PostgreSQL itself. */
const RESERVED_ROLES: ReadonlySet<string> = new Set(['postgres', 'streaming_replica']);
const RESERVED_ROLE_PREFIXES: readonly string[] = ['cnpg_', 'pg_'];

function isReservedRole(name: string): boolean {
  return RESERVED_ROLES.has(name) || RESERVED_ROLE_PREFIXES.some((prefix) => name.startsWith(prefix));
}

function identifier(what: 'database' | 'owner') {
  return z.string().superRefine((name, ctx) => {
    const invalid =
      checkIdentifier(name) ??
      (CONTROL_CHARACTERS.test(name)
        ? 'must not contain line breaks or other control characters'
        : undefined);
    if (invalid !== undefined) {
      addIssue(ctx, 'PGHERD_API_FORMAT', `${what} name ${invalid}`);
    } else if (what === 'database' && RESERVED_DATABASES.has(name)) {
      addIssue(
        ctx,
        'PGHERD_API_RESERVED_NAME',
        `database "${name}" already exists in every cluster; name the application database something else`,
      );
    } else if (what === 'owner' && isReservedRole(name)) {
      addIssue(
        ctx,
        'PGHERD_API_RESERVED_NAME',
        `owner "${name}" is a reserved role (postgres, streaming_replica, cnpg_* and pg_* are managed by pgherd or PostgreSQL)`,
      );
    }
  });
}

const initdbToken = (what: string, pattern: RegExp, example: string) =>
  z
    .string()
    .superRefine(
      refineWith(
        (value: string) =>
          pattern.test(value)
            ? undefined
            : `${what} ${JSON.stringify(value)} is not valid (example: ${example})`,
        'PGHERD_API_FORMAT',
      ),
    );

/** SQL is sent as query text: PostgreSQL cannot receive a NUL inside it. */
const sqlStatement = z
  .string()
  .superRefine(
    refineWith(
      (sql: string) => (sql.includes('\0') ? 'SQL must not contain a NUL character' : undefined),
      'PGHERD_API_UNSAFE_TEXT',
    ),
  );

const DEFAULT_DATABASE = 'app';

/**
 * The owner defaults to the database name: that default must not land on a reserved role. A
 * reserved database name (postgres) is already refused on its own.
 */
function refuseReservedDefaultOwner(
  init: { database?: string | undefined; owner?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  const database = init.database;
  if (init.owner !== undefined || database === undefined || RESERVED_DATABASES.has(database)) return;
  if (isReservedRole(database)) {
    addIssue(
      ctx,
      'PGHERD_API_RESERVED_NAME',
      `owner defaults to the database name, and "${database}" is a reserved role: set owner to another name`,
      ['database'],
    );
  }
}

/** CNPG's defaulting (api/v1/cluster_defaults.go): database `app`, owner the database name. */
function withApplicationDefaults<T extends { database?: string | undefined; owner?: string | undefined }>({
  database,
  owner,
  ...rest
}: T): Omit<T, 'database' | 'owner'> & { database: string; owner: string } {
  const db = database ?? DEFAULT_DATABASE;
  return { database: db, owner: owner ?? db, ...rest };
}

const initdb = z
  .strictObject({
    database: identifier('database').optional(),
    owner: identifier('owner').optional(),
    secret: secretReference.optional(),
    encoding: initdbToken('encoding', /^[A-Za-z0-9_-]+$/, 'UTF8').default('UTF8'),
    localeCollate: initdbToken('locale', /^[A-Za-z0-9_.@-]+$/, 'C or en_US.UTF-8').default('C'),
    localeCType: initdbToken('locale', /^[A-Za-z0-9_.@-]+$/, 'C or en_US.UTF-8').default('C'),
    dataChecksums: z.boolean().default(false),
    walSegmentSize: z
      .number()
      .int()
      .min(1)
      .max(1024)
      .superRefine(
        refineWith(
          (size: number) =>
            // Out-of-range sizes are reported by min/max already.
            size < 1 || size > 1024 || Number.isInteger(Math.log2(size))
              ? undefined
              : `WAL segment size must be a power of 2 (MB), got ${size}`,
          'PGHERD_API_INVALID_VALUE',
        ),
      )
      .optional(),
    postInitSQL: z.array(sqlStatement).optional(),
    postInitApplicationSQL: z.array(sqlStatement).optional(),
    postInitTemplateSQL: z.array(sqlStatement).optional(),
  })
  .superRefine(refuseReservedDefaultOwner)
  .transform(withApplicationDefaults);

/** `spec.bootstrap.initdb` with CNPG's defaults. */
export type InitdbBootstrap = z.output<typeof initdb>;

// --- bootstrap.recovery -----------------------------------------------------------------------

/** The name of an object in the cluster's namespace (a Backup). */
const objectName = z.string().superRefine(refineWith(checkDns1123Subdomain, 'PGHERD_API_FORMAT'));

const recovery = z
  .strictObject({
    /** The external cluster (spec.externalClusters[].name) whose object store holds the backup. */
    source: z.string().min(1).optional(),
    /** A Backup object of this namespace to restore. */
    backup: z.strictObject({ name: objectName, endpointCA: secretKeySelectorSchema.optional() }).optional(),
    recoveryTarget: recoveryTargetSchema.optional(),
    database: identifier('database').optional(),
    owner: identifier('owner').optional(),
    secret: secretReference.optional(),
  })
  .superRefine((recovery, ctx) => {
    // CNPG documents backup and source as mutually exclusive, and one is needed to know what to
    // restore (volumeSnapshots, the third way, is not implemented).
    if (recovery.source !== undefined && recovery.backup !== undefined) {
      addIssue(
        ctx,
        'PGHERD_API_CONFLICT',
        'source and backup are mutually exclusive: restore either a Backup object (backup.name) or the latest backup of an external cluster (source)',
        ['backup'],
        'key',
      );
    } else if (recovery.source === undefined && recovery.backup === undefined) {
      addIssue(
        ctx,
        'PGHERD_API_REQUIRED',
        'recovery needs what to restore: backup.name (a Backup object) or source (an entry of spec.externalClusters with a barmanObjectStore)',
        ['source'],
      );
    }
    refuseReservedDefaultOwner(recovery, ctx);
  })
  .transform(withApplicationDefaults);

/** `spec.bootstrap.recovery` with CNPG's defaults (database `app`, owner the database name). */
export type RecoveryBootstrap = z.output<typeof recovery>;

/**
 * `spec.bootstrap`: exactly one method. initdb is the default and gets CNPG's defaults only when
 * no other method is given (CNPG's Cluster.SetDefaults), so a recovery cluster has no initdb.
 */
export type BootstrapSpec =
  | { initdb: InitdbBootstrap; recovery?: never }
  | { initdb?: never; recovery: RecoveryBootstrap };

const bootstrap = z
  .strictObject({ initdb: initdb.optional(), recovery: recovery.optional() })
  .superRefine((methods, ctx) => {
    // CNPG's validateBootstrapMethod.
    if (methods.initdb !== undefined && methods.recovery !== undefined) {
      addIssue(
        ctx,
        'PGHERD_API_CONFLICT',
        'only one bootstrap method can be specified at a time: keep initdb or recovery',
        ['recovery'],
        'key',
      );
    }
  })
  .transform(
    (methods): BootstrapSpec =>
      methods.recovery !== undefined
        ? { recovery: methods.recovery }
        : { initdb: methods.initdb ?? initdb.parse({}) },
  );

// --- backup -----------------------------------------------------------------------------------

/** barman's retention policies as CNPG takes them: a recovery window in days, weeks or months. */
function checkRetentionPolicy(policy: string): string | undefined {
  return /^[1-9][0-9]*[dwm]$/.test(policy)
    ? undefined
    : `retentionPolicy ${JSON.stringify(policy)} is not valid: a positive number followed by d (days), w (weeks) or m (months), such as 30d`;
}

const backupConfiguration = z.strictObject({
  barmanObjectStore: barmanObjectStoreSchema.optional(),
  retentionPolicy: z.string().superRefine(refineWith(checkRetentionPolicy, 'PGHERD_API_FORMAT')).optional(),
  target: backupTargetSchema.default('prefer-standby'),
});

/** `spec.backup` with CNPG's defaults. */
export type BackupConfiguration = z.output<typeof backupConfiguration>;

// --- externalClusters -------------------------------------------------------------------------

/**
 * An external cluster's name is the default serverName (a folder of its object store) and, in
 * CNPG, a folder of the instance's secrets: no separators, not `.` or `..`.
 */
function checkExternalClusterName(name: string): string | undefined {
  if (name === '') return 'external cluster name must not be empty';
  if (name === '.' || name === '..' || /[/\\]/.test(name)) {
    return 'external cluster name cannot contain a path separator or be "." or ".."';
  }
  if (CONTROL_CHARACTERS.test(name) || name.includes('\t')) {
    return 'external cluster name must not contain control characters';
  }
  return undefined;
}

const externalCluster = z.strictObject({
  name: z.string().superRefine(refineWith(checkExternalClusterName, 'PGHERD_API_FORMAT')),
  barmanObjectStore: barmanObjectStoreSchema.optional(),
});

/** One entry of `spec.externalClusters`. */
export type ExternalCluster = z.output<typeof externalCluster>;

const externalClusters = z.array(externalCluster).superRefine((clusters, ctx) => {
  // CNPG's validateExternalClusters: "the list of external clusters contains duplicate values".
  const seen = new Map<string, number>();
  for (const [index, cluster] of clusters.entries()) {
    const first = seen.get(cluster.name);
    if (first === undefined) {
      seen.set(cluster.name, index);
    } else {
      addIssue(
        ctx,
        'PGHERD_API_DUPLICATE',
        `external cluster "${cluster.name}" is already defined at spec.externalClusters[${first}]; names must be unique`,
        [index, 'name'],
      );
    }
  }
});

// --- storage ----------------------------------------------------------------------------------

/** `pvcTemplate.resources.requests.storage`, which CNPG accepts instead of `size`. */
function pvcTemplateSize(template: Record<string, unknown> | undefined): unknown {
  const resources = template?.['resources'];
  if (typeof resources !== 'object' || resources === null) return undefined;
  const requests = (resources as Record<string, unknown>)['requests'];
  if (typeof requests !== 'object' || requests === null) return undefined;
  return (requests as Record<string, unknown>)['storage'];
}

const storage = z
  .strictObject({
    size: z.string().superRefine(refineWith(checkStorageSize, 'PGHERD_API_FORMAT')).optional(),
    storageClass: z.string().optional(),
    pvcTemplate: ignoredMapping.optional(),
    resizeInUseVolumes: z.boolean().default(true),
  })
  .superRefine((value, ctx) => {
    if (value.size !== undefined) return;
    const templateSize = pvcTemplateSize(value.pvcTemplate);
    if (templateSize === undefined) {
      addIssue(
        ctx,
        'PGHERD_API_REQUIRED',
        'storage size is required: set size (for example 1Gi), or a storage request in pvcTemplate',
        ['size'],
      );
    } else if (typeof templateSize !== 'string' && typeof templateSize !== 'number') {
      addIssue(ctx, 'PGHERD_API_TYPE', 'the storage request must be a quantity such as 1Gi', [
        'pvcTemplate',
        'resources',
        'requests',
        'storage',
      ]);
    } else {
      const problem = checkStorageSize(String(templateSize));
      if (problem !== undefined) {
        addIssue(ctx, 'PGHERD_API_FORMAT', problem, ['pvcTemplate', 'resources', 'requests', 'storage']);
      }
    }
  })
  .transform(({ size, ...rest }) => ({ size: size ?? String(pvcTemplateSize(rest.pvcTemplate)), ...rest }));

// --- imageCatalogRef --------------------------------------------------------------------------

const imageCatalogRef = z.strictObject({
  apiGroup: z.literal('postgresql.cnpg.io'),
  kind: z.enum(['ImageCatalog', 'ClusterImageCatalog']),
  name: z.string().min(1),
  major: z.number().int().min(1),
});

// --- spec -------------------------------------------------------------------------------------

/** The Cluster spec schema: input is the manifest's `spec`, output has every CNPG default applied. */
/**
 * spec.probes.liveness: on the local platform it sets how the control plane judges an
 * unresponsive primary (failed after `failureThreshold` checks `periodSeconds` apart, each
 * allowed `timeoutSeconds`) and how fast an isolated primary fences itself. pgherd's defaults
 * (1 s, 1 s, 5) differ from the kubelet's (10 s, 5 s, 3): see docs/failover.md.
 */
const livenessProbe = z.strictObject({
  periodSeconds: z.number().int().min(1).max(3600).optional(),
  timeoutSeconds: z.number().int().min(1).max(3600).optional(),
  failureThreshold: z.number().int().min(1).max(1000).optional(),
  initialDelaySeconds: z.number().int().min(0).optional(),
  successThreshold: z.number().int().min(1).optional(),
  terminationGracePeriodSeconds: z.number().int().min(0).optional(),
  isolationCheck: z
    .strictObject({
      enabled: z.boolean().default(true),
      requestTimeout: z.number().int().min(1).max(INT32_MAX).default(1000),
      connectionTimeout: z.number().int().min(1).max(INT32_MAX).default(1000),
    })
    .optional(),
});

export const clusterSpecSchema = z.strictObject({
  description: z.string().optional(),
  imageName: z.string().superRefine(refineWith(checkImageName, 'PGHERD_API_FORMAT')).optional(),
  imageCatalogRef: imageCatalogRef.optional(),
  instances: z.number().int().min(1).max(INT32_MAX).default(1),
  minSyncReplicas: z.number().int().min(0).max(INT32_MAX).default(0),
  maxSyncReplicas: z.number().int().min(0).max(INT32_MAX).default(0),
  postgresql: postgresql.prefault({}),
  replicationSlots: replicationSlots.prefault({}),
  bootstrap: bootstrap.prefault({}),
  backup: backupConfiguration.optional(),
  externalClusters: externalClusters.optional(),
  superuserSecret: secretReference.optional(),
  certificates: z
    .strictObject({
      /** CA of the server certificate (`ca.crt`; `ca.key` too when pgherd issues the certificate). */
      serverCASecret: secretName.optional(),
      /** The server certificate (`tls.crt`, `tls.key`); requires serverCASecret. */
      serverTLSSecret: secretName.optional(),
      /** CA that verifies client certificates (`ca.crt`; `ca.key` when pgherd issues replication's). */
      clientCASecret: secretName.optional(),
      /** The streaming_replica client certificate (`tls.crt`, `tls.key`); requires clientCASecret. */
      replicationTLSSecret: secretName.optional(),
      /** Extra DNS names for the server certificate (CNPG's serverAltDNSNames). */
      serverAltDNSNames: z
        .array(z.string().superRefine(refineWith(checkDns1123Subdomain, 'PGHERD_API_FORMAT')))
        .optional(),
    })
    .optional(),
  enableSuperuserAccess: z.boolean().default(false),
  storage: storage.prefault({}),
  walStorage: storage.optional(),
  startDelay: seconds(3600),
  stopDelay: seconds(1800),
  smartShutdownTimeout: seconds(180),
  switchoverDelay: seconds(3600),
  failoverDelay: seconds(0),
  probes: z.strictObject({ liveness: livenessProbe.optional() }).optional(),
  primaryUpdateStrategy: z.enum(['unsupervised', 'supervised']).default('unsupervised'),
  primaryUpdateMethod: z.enum(['restart', 'switchover']).default('restart'),
  logLevel: z.enum(['error', 'warning', 'info', 'debug', 'trace']).default('info'),

  // Kubernetes-only: accepted, warned about (CLUSTER_IGNORED_FIELDS), kept as written.
  inheritedMetadata: z
    .strictObject({
      labels: z.record(z.string(), z.string()).optional(),
      annotations: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
  imagePullPolicy: z.enum(['Always', 'Never', 'IfNotPresent']).optional(),
  imagePullSecrets: z.array(z.strictObject({ name: z.string() })).optional(),
  schedulerName: z.string().optional(),
  affinity: ignoredMapping.optional(),
  topologySpreadConstraints: z.array(ignoredMapping).optional(),
  priorityClassName: z.string().optional(),
  resources: ignoredMapping.optional(),
  postgresUID: z.number().int().optional(),
  postgresGID: z.number().int().optional(),
  serviceAccountTemplate: ignoredMapping.optional(),
  serviceAccountName: z.string().optional(),
  env: z.array(ignoredMapping).optional(),
  envFrom: z.array(ignoredMapping).optional(),
  seccompProfile: ignoredMapping.optional(),
  podSecurityContext: ignoredMapping.optional(),
  securityContext: ignoredMapping.optional(),
  ephemeralVolumeSource: ignoredMapping.optional(),
  ephemeralVolumesSizeLimit: ignoredMapping.optional(),
  projectedVolumeTemplate: ignoredMapping.optional(),
  livenessProbeTimeout: z.number().int().optional(),
  nodeMaintenanceWindow: ignoredMapping.optional(),
  enablePDB: z.boolean().optional(),
});

/** A Cluster spec with CNPG's defaults applied. */
export type ClusterSpec = z.output<typeof clusterSpecSchema>;
