/**
 * What may not change when a Cluster is applied again (CNPG's validateClusterChanges, plus the
 * bootstrap settings pgherd refuses to change because they only act when a cluster is created).
 */
import type { PathSegment } from '../field-path.ts';
import type { IssueCode } from '../issue-codes.ts';
import { compareIssues, type ManifestIssue } from '../manifest-issue.ts';
import { parseQuantity } from '../quantity.ts';
import { issueInResource } from '../resource-sources.ts';
import { bootstrapMethod } from './bootstrap-method.ts';
import type { ClusterResource } from './cluster-resource.ts';
import type { ClusterSpec, InitdbBootstrap, RecoveryBootstrap } from './cluster-spec-schema.ts';
import { declaredMajor } from './declared-major.ts';

interface UpdateFinding {
  path: PathSegment[];
  code: IssueCode;
  message: string;
}

interface UpdateRule {
  name: string;
  check(previous: ClusterSpec, next: ClusterSpec): UpdateFinding[];
}

type InitdbField = keyof InitdbBootstrap;
type RecoveryField = keyof RecoveryBootstrap;

/** initdb settings that act only when a cluster is created, and why changing them is refused. */
const IMMUTABLE_INITDB_FIELDS: ReadonlyArray<{ field: InitdbField; why: string }> = [
  { field: 'database', why: 'the application database was created at bootstrap' },
  { field: 'owner', why: 'the application owner was created at bootstrap' },
  { field: 'encoding', why: 'initdb fixed the encoding of the template databases' },
  { field: 'localeCollate', why: 'initdb fixed the collation of the template databases' },
  { field: 'localeCType', why: 'initdb fixed the character classification of the template databases' },
  { field: 'dataChecksums', why: 'initdb decided whether data pages carry checksums' },
  { field: 'walSegmentSize', why: 'initdb fixed the WAL segment size' },
  { field: 'postInitSQL', why: 'it ran once, when the cluster was created' },
  { field: 'postInitApplicationSQL', why: 'it ran once, when the cluster was created' },
  { field: 'postInitTemplateSQL', why: 'it ran once, when the cluster was created' },
];

/** recovery settings that act only when a cluster is created, and why changing them is refused. */
const IMMUTABLE_RECOVERY_FIELDS: ReadonlyArray<{ field: RecoveryField; why: string }> = [
  { field: 'source', why: 'the cluster was restored from it' },
  { field: 'backup', why: 'the cluster was restored from it' },
  { field: 'recoveryTarget', why: 'recovery stopped there when the cluster was created' },
  { field: 'database', why: 'the application database came with the restored backup' },
  { field: 'owner', why: 'the application owner came with the restored backup' },
];

/** What an unset optional initdb field means, so that spelling the default out is not a change. */
const UNSET_INITDB_VALUES: Partial<Record<InitdbField, unknown>> = {
  walSegmentSize: 16,
  postInitSQL: [],
  postInitApplicationSQL: [],
  postInitTemplateSQL: [],
};

function show(value: unknown): string {
  return value === undefined ? '(unset)' : JSON.stringify(value);
}

function storageShrink(
  section: 'storage' | 'walStorage',
  previous: { size: string } | undefined,
  next: { size: string } | undefined,
): UpdateFinding[] {
  if (previous === undefined || next === undefined) return [];
  const before = parseQuantity(previous.size);
  const after = parseQuantity(next.size);
  if (before === undefined || after === undefined || after >= before) return [];
  return [
    {
      path: ['spec', section, 'size'],
      code: 'PGHERD_API_STORAGE_SHRINK',
      message: `can't shrink ${section} from ${previous.size} to ${next.size}: sizes can only grow`,
    },
  ];
}

/** The update rules, as data. */
export const UPDATE_RULES: readonly UpdateRule[] = [
  {
    name: 'the bootstrap method is fixed at creation',
    check: (previous, next) => {
      const before = bootstrapMethod(previous);
      const after = bootstrapMethod(next);
      if (before === after) return [];
      return [
        {
          path: ['spec', 'bootstrap', after],
          code: 'PGHERD_API_IMMUTABLE',
          message: `the bootstrap method cannot change from ${before} to ${after} once the cluster exists: it was created with ${before}; keep bootstrap.${before} as it was`,
        },
      ];
    },
  },
  {
    name: 'initdb settings are fixed at bootstrap',
    check: ({ bootstrap: { initdb: previous } }, { bootstrap: { initdb: next } }) => {
      if (previous === undefined || next === undefined) return [];
      return IMMUTABLE_INITDB_FIELDS.flatMap(({ field, why }) => {
        const before = previous[field] ?? UNSET_INITDB_VALUES[field];
        const after = next[field] ?? UNSET_INITDB_VALUES[field];
        if (JSON.stringify(before) === JSON.stringify(after)) return [];
        return [
          {
            path: ['spec', 'bootstrap', 'initdb', field],
            code: 'PGHERD_API_IMMUTABLE' as const,
            message: `bootstrap.initdb.${field} cannot change once the cluster exists: ${why} (was ${show(before)}, now ${show(after)})`,
          },
        ];
      });
    },
  },
  {
    name: 'recovery settings are fixed at bootstrap',
    check: ({ bootstrap: { recovery: previous } }, { bootstrap: { recovery: next } }) => {
      if (previous === undefined || next === undefined) return [];
      return IMMUTABLE_RECOVERY_FIELDS.flatMap(({ field, why }) => {
        const before = previous[field];
        const after = next[field];
        if (JSON.stringify(before) === JSON.stringify(after)) return [];
        return [
          {
            path: ['spec', 'bootstrap', 'recovery', field],
            code: 'PGHERD_API_IMMUTABLE' as const,
            message: `bootstrap.recovery.${field} cannot change once the cluster exists: ${why} (was ${show(before)}, now ${show(after)})`,
          },
        ];
      });
    },
  },
  {
    name: 'walStorage cannot be removed',
    check: (previous, next) =>
      previous.walStorage !== undefined && next.walStorage === undefined
        ? [
            {
              path: ['spec', 'walStorage'],
              code: 'PGHERD_API_IMMUTABLE',
              message: 'walStorage cannot be removed once configured: the WAL of every instance lives there',
            },
          ]
        : [],
  },
  {
    name: 'storage only grows',
    check: (previous, next) => [
      ...storageShrink('storage', previous.storage, next.storage),
      ...storageShrink('walStorage', previous.walStorage, next.walStorage),
    ],
  },
  {
    name: 'same PostgreSQL major',
    check: (previous, next) => {
      const before = declaredMajor(previous);
      const after = declaredMajor(next);
      if (before === undefined || after === undefined || before === after) return [];
      const path: PathSegment[] =
        next.imageCatalogRef !== undefined ? ['spec', 'imageCatalogRef', 'major'] : ['spec', 'imageName'];
      return [
        {
          path,
          code: 'PGHERD_API_MAJOR_UPGRADE',
          message:
            after < before
              ? `can't downgrade from PostgreSQL ${before} to ${after}`
              : `major upgrade from PostgreSQL ${before} to ${after} is not supported by pgherd yet; keep major ${before}`,
        },
      ];
    },
  },
  {
    name: 'HA slot prefix is kept while slots exist',
    check: (previous, next) =>
      previous.replicationSlots.highAvailability.enabled &&
      previous.replicationSlots.highAvailability.slotPrefix !==
        next.replicationSlots.highAvailability.slotPrefix
        ? [
            {
              path: ['spec', 'replicationSlots', 'highAvailability', 'slotPrefix'],
              code: 'PGHERD_API_IMMUTABLE',
              message: `slotPrefix cannot change while highAvailability is enabled (was "${previous.replicationSlots.highAvailability.slotPrefix}"): the existing slots could not be cleaned up`,
            },
          ]
        : [],
  },
  {
    name: 'no image and configuration change together with switchover updates',
    check: (previous, next) => {
      if (previous.imageName === next.imageName || next.primaryUpdateMethod !== 'switchover') return [];
      const names = new Set([
        ...Object.keys(previous.postgresql.parameters),
        ...Object.keys(next.postgresql.parameters),
      ]);
      const changed = [...names].filter(
        (name) => previous.postgresql.parameters[name] !== next.postgresql.parameters[name],
      );
      if (changed.length === 0) return [];
      return [
        {
          path: ['spec', 'imageName'],
          code: 'PGHERD_API_CONFLICT',
          message: `can't change imageName and PostgreSQL parameters (${changed.join(', ')}) at the same time when primaryUpdateMethod is switchover; apply them one after the other`,
        },
      ];
    },
  },
];

/**
 * Refuses changes to immutable fields when a Cluster is re-applied: the bootstrap method and its
 * settings,
 * walStorage removal, storage shrinking, PostgreSQL major changes (unsupported for now), the HA
 * slot prefix. Issues are located in `next` (its file position when it was loaded from one).
 */
export function validateUpdate(previous: ClusterResource, next: ClusterResource): ManifestIssue[] {
  return UPDATE_RULES.flatMap((rule) => rule.check(previous.spec, next.spec))
    .map((finding) => issueInResource(next, finding.path, finding.code, finding.message))
    .sort(compareIssues);
}
