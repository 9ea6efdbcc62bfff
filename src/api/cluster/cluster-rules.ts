/**
 * Cluster rules that compare several fields (CNPG's admission webhook,
 * internal/webhook/v1/cluster_webhook.go). They run once every field is valid on its own; each
 * rule says which field it blames and why.
 */

import { type BarmanObjectStoreConfiguration, checkObjectStore } from '../backup/barman-object-store.ts';
import type { PathSegment } from '../field-path.ts';
import type { IssueCode } from '../issue-codes.ts';
import { parseQuantity } from '../quantity.ts';
import type { ClusterSpec } from './cluster-spec-schema.ts';
import { declaredMajor } from './declared-major.ts';
import { parsePostgresBoolean, parsePostgresMemory } from './postgres-values.ts';

/** One broken rule: the field it is reported at, and why. */
export interface RuleFinding {
  path: PathSegment[];
  code: IssueCode;
  message: string;
}

/** A named rule over a whole Cluster spec. */
interface ClusterRule {
  name: string;
  check(spec: ClusterSpec): RuleFinding[];
}

const PARAMETERS: PathSegment[] = ['spec', 'postgresql', 'parameters'];
const SYNCHRONOUS: PathSegment[] = ['spec', 'postgresql', 'synchronous'];

/** Parameters whose value must read as a PostgreSQL boolean (CNPG parses them at admission). */
const BOOLEAN_PARAMETERS = ['hot_standby_feedback', 'sync_replication_slots', 'wal_log_hints'] as const;

/** Defaults CNPG compares min_wal_size and max_wal_size against when the user sets only one. */
const WAL_SIZE_DEFAULTS = { min_wal_size: '80MB', max_wal_size: '1GB' } as const;

/** The user's value of a parameter, looked up case-insensitively like PostgreSQL does. */
function parameter(spec: ClusterSpec, name: string): { key: string; value: string } | undefined {
  for (const [key, value] of Object.entries(spec.postgresql.parameters)) {
    if (key.toLowerCase() === name) return { key, value };
  }
  return undefined;
}

function usesPgFailoverSlots(spec: ClusterSpec): boolean {
  return Object.keys(spec.postgresql.parameters).some((key) =>
    key.toLowerCase().startsWith('pg_failover_slots.'),
  );
}

/** The rules, in the order their findings are reported for the same position. */
export const CLUSTER_RULES: readonly ClusterRule[] = [
  {
    name: 'one image source',
    check: (spec) =>
      spec.imageName !== undefined && spec.imageCatalogRef !== undefined
        ? [
            {
              path: ['spec', 'imageCatalogRef'],
              code: 'PGHERD_API_CONFLICT',
              message: 'imageName and imageCatalogRef are mutually exclusive; keep one',
            },
          ]
        : [],
  },
  {
    name: 'synchronous number fits the cluster',
    check: (spec) => {
      const sync = spec.postgresql.synchronous;
      if (sync === undefined) return [];
      const external = (sync.standbyNamesPre?.length ?? 0) + (sync.standbyNamesPost?.length ?? 0);
      if (sync.number < spec.instances + external) return [];
      return [
        {
          path: [...SYNCHRONOUS, 'number'],
          code: 'PGHERD_API_INVALID_VALUE',
          message: `number (${sync.number}) must be less than the instances (${spec.instances}) plus the names in standbyNamesPre and standbyNamesPost (${external}): a cluster of ${spec.instances} instances has ${spec.instances - 1} standby${spec.instances === 2 ? '' : 's'}`,
        },
      ];
    },
  },
  {
    name: 'one synchronous replication API',
    check: (spec) =>
      spec.postgresql.synchronous !== undefined && (spec.minSyncReplicas > 0 || spec.maxSyncReplicas > 0)
        ? [
            {
              path: SYNCHRONOUS,
              code: 'PGHERD_API_CONFLICT',
              message:
                'synchronous cannot be combined with minSyncReplicas/maxSyncReplicas (the legacy settings); keep one',
            },
          ]
        : [],
  },
  {
    name: 'maxSyncReplicas below instances',
    check: (spec) =>
      spec.maxSyncReplicas >= spec.instances
        ? [
            {
              path: ['spec', 'maxSyncReplicas'],
              code: 'PGHERD_API_INVALID_VALUE',
              message: `maxSyncReplicas (${spec.maxSyncReplicas}) must be lower than the number of instances (${spec.instances})`,
            },
          ]
        : [],
  },
  {
    name: 'minSyncReplicas at most maxSyncReplicas',
    check: (spec) =>
      spec.minSyncReplicas > spec.maxSyncReplicas
        ? [
            {
              path: ['spec', 'minSyncReplicas'],
              code: 'PGHERD_API_INVALID_VALUE',
              message: `minSyncReplicas (${spec.minSyncReplicas}) cannot be greater than maxSyncReplicas (${spec.maxSyncReplicas})`,
            },
          ]
        : [],
  },
  {
    name: 'supervised updates need a standby',
    check: (spec) =>
      spec.primaryUpdateStrategy === 'supervised' && spec.instances === 1
        ? [
            {
              path: ['spec', 'primaryUpdateStrategy'],
              code: 'PGHERD_API_INVALID_VALUE',
              message: 'supervised update strategy is not allowed for clusters with a single instance',
            },
          ]
        : [],
  },
  {
    name: 'boolean parameters read as booleans',
    check: (spec) =>
      BOOLEAN_PARAMETERS.flatMap((name) => {
        const set = parameter(spec, name);
        if (set === undefined || parsePostgresBoolean(set.value) !== undefined) return [];
        return [
          {
            path: [...PARAMETERS, set.key],
            code: 'PGHERD_API_INVALID_VALUE' as const,
            message: `parameter "${set.key}" must be a boolean (on or off), got "${set.value}"`,
          },
        ];
      }),
  },
  {
    name: 'wal_level allows standbys',
    check: (spec) => {
      const set = parameter(spec, 'wal_level');
      if (set === undefined) return [];
      const value = set.value.trim().toLowerCase();
      if (value === 'replica' || value === 'logical') return [];
      return [
        {
          path: [...PARAMETERS, set.key],
          code: 'PGHERD_API_INVALID_VALUE',
          message:
            value === 'minimal'
              ? 'wal_level "minimal" is not supported: standbys and WAL archiving need "replica" or "logical"'
              : `unrecognized wal_level "${set.value}": use "logical" or "replica"`,
        },
      ];
    },
  },
  {
    name: 'wal_log_hints on with standbys',
    check: (spec) => {
      const set = parameter(spec, 'wal_log_hints');
      if (set === undefined || parsePostgresBoolean(set.value) !== false || spec.instances <= 1) return [];
      return [
        {
          path: [...PARAMETERS, set.key],
          code: 'PGHERD_API_INVALID_VALUE',
          message:
            'wal_log_hints must be on when instances > 1: pg_rewind needs it to bring a former primary back',
        },
      ];
    },
  },
  {
    name: 'shared_buffers is a memory size',
    check: (spec) => {
      const set = parameter(spec, 'shared_buffers');
      if (set === undefined || parsePostgresMemory(set.value, 'kB') !== undefined) return [];
      return [
        {
          path: [...PARAMETERS, set.key],
          code: 'PGHERD_API_INVALID_VALUE',
          message: `parameter "${set.key}" must be a memory size such as 256MB, got "${set.value}"`,
        },
      ];
    },
  },
  {
    name: 'WAL sizes are ordered and fit the WAL volume',
    check: (spec) => {
      const findings: RuleFinding[] = [];
      const read = (name: keyof typeof WAL_SIZE_DEFAULTS) => {
        const set = parameter(spec, name);
        const text = set?.value ?? WAL_SIZE_DEFAULTS[name];
        const bytes = parsePostgresMemory(text, 'MB');
        if (set !== undefined && bytes === undefined) {
          findings.push({
            path: [...PARAMETERS, set.key],
            code: 'PGHERD_API_INVALID_VALUE',
            message: `parameter "${set.key}" must be a size such as 1GB, got "${set.value}"`,
          });
        }
        return { set, bytes };
      };
      const min = read('min_wal_size');
      const max = read('max_wal_size');
      if (min.bytes !== undefined && max.bytes !== undefined && min.bytes >= max.bytes) {
        findings.push({
          path: [...PARAMETERS, min.set?.key ?? max.set?.key ?? 'min_wal_size'],
          code: 'PGHERD_API_INVALID_VALUE',
          message: `min_wal_size (default ${WAL_SIZE_DEFAULTS.min_wal_size}) must be smaller than max_wal_size (default ${WAL_SIZE_DEFAULTS.max_wal_size})`,
        });
      }
      const volume = spec.walStorage === undefined ? undefined : parseQuantity(spec.walStorage.size);
      if (volume !== undefined) {
        for (const size of [min, max]) {
          if (size.set !== undefined && size.bytes !== undefined && size.bytes >= volume) {
            findings.push({
              path: [...PARAMETERS, size.set.key],
              code: 'PGHERD_API_INVALID_VALUE',
              message: `parameter "${size.set.key}" (${size.set.value}) must be smaller than the WAL volume (walStorage.size ${spec.walStorage?.size})`,
            });
          }
        }
      }
      return findings;
    },
  },
  {
    name: 'logical decoding slot synchronization has what it needs',
    check: (spec) => {
      if (!spec.replicationSlots.highAvailability.synchronizeLogicalDecoding || usesPgFailoverSlots(spec))
        return [];
      const path: PathSegment[] = [
        'spec',
        'replicationSlots',
        'highAvailability',
        'synchronizeLogicalDecoding',
      ];
      const major = declaredMajor(spec);
      if (major !== undefined && major < 17) {
        return [
          {
            path,
            code: 'PGHERD_API_INVALID_VALUE',
            message: `synchronizeLogicalDecoding needs PostgreSQL 17 or later (this cluster declares ${major}), or the pg_failover_slots extension`,
          },
        ];
      }
      return (['hot_standby_feedback', 'sync_replication_slots'] as const).flatMap((name) => {
        const set = parameter(spec, name);
        if (set !== undefined && parsePostgresBoolean(set.value) === true) return [];
        return [
          {
            path: set === undefined ? path : [...PARAMETERS, set.key],
            code: 'PGHERD_API_INVALID_VALUE' as const,
            message: `parameter "${name}" must be on to use spec.replicationSlots.highAvailability.synchronizeLogicalDecoding`,
          },
        ];
      });
    },
  },
];

/** Rules about backups, external clusters and recovery (CNPG's cluster webhook and barman-cloud's). */
const BACKUP_RULES: readonly ClusterRule[] = [
  {
    name: 'object stores have what their destination needs',
    check: (spec) => {
      const stores: Array<{ path: PathSegment[]; store: BarmanObjectStoreConfiguration | undefined }> = [
        { path: ['spec', 'backup', 'barmanObjectStore'], store: spec.backup?.barmanObjectStore },
        ...(spec.externalClusters ?? []).map((cluster, index) => ({
          path: ['spec', 'externalClusters', index, 'barmanObjectStore'],
          store: cluster.barmanObjectStore,
        })),
      ];
      return stores.flatMap(({ path, store }) =>
        store === undefined
          ? []
          : checkObjectStore(store).map((finding) => ({ ...finding, path: [...path, ...finding.path] })),
      );
    },
  },
  {
    name: 'external clusters have an object store',
    // CNPG's validateExternalCluster: "one of connectionParameters, plugin and barmanObjectStore
    // is required"; pgherd implements barmanObjectStore only.
    check: (spec) =>
      (spec.externalClusters ?? []).flatMap((cluster, index) =>
        cluster.barmanObjectStore !== undefined
          ? []
          : [
              {
                path: ['spec', 'externalClusters', index],
                code: 'PGHERD_API_REQUIRED' as const,
                message: `external cluster "${cluster.name}" needs a barmanObjectStore: pgherd reads external clusters from their object store (connectionParameters and plugin are not implemented yet)`,
              },
            ],
      ),
  },
  {
    name: 'the recovery source is an external cluster with an object store',
    // CNPG's validateBootstrapRecoverySource.
    check: (spec) => {
      const source = spec.bootstrap.recovery?.source;
      if (source === undefined) return [];
      const path: PathSegment[] = ['spec', 'bootstrap', 'recovery', 'source'];
      const names = (spec.externalClusters ?? []).map((cluster) => cluster.name);
      // An entry without a barmanObjectStore is reported by the rule above.
      if (names.includes(source)) return [];
      const known = names.length === 0 ? 'there is none' : `it has ${names.map((n) => `"${n}"`).join(', ')}`;
      return [
        {
          path,
          code: 'PGHERD_API_INVALID_VALUE',
          message: `external cluster "${source}" not found in spec.externalClusters (${known}); add it, with the barmanObjectStore that holds its backups`,
        },
      ];
    },
  },
];

/** Every finding of every rule for a spec whose fields are valid on their own. */
export function checkClusterRules(spec: ClusterSpec): RuleFinding[] {
  return [...CLUSTER_RULES, ...BACKUP_RULES].flatMap((rule) => rule.check(spec));
}
