import { describe, expect, it } from 'vitest';
import { loadManifests } from '../load-manifests.ts';

/** Spec lines are given one per array item; line 6 of the document is the first of them. */
function load(specLines: string[]) {
  const text = [
    'apiVersion: postgresql.cnpg.io/v1',
    'kind: Cluster',
    'metadata:',
    '  name: c',
    'spec:',
    ...specLines,
    '',
  ];
  return loadManifests(text.join('\n'), 'rules.yaml');
}

interface Expected {
  line: number;
  column: number;
  path: string;
  code: string;
  messageContains: string;
}

const cases: Array<{ name: string; spec: string[]; expect: { errors: Expected[] } }> = [
  {
    name: 'imageName and imageCatalogRef together',
    spec: [
      '  storage: {size: 1Gi}',
      '  imageName: ghcr.io/cloudnative-pg/postgresql:16.2',
      '  imageCatalogRef: {apiGroup: postgresql.cnpg.io, kind: ImageCatalog, name: pg, major: 16}',
    ],
    expect: {
      errors: [
        {
          line: 8,
          column: 20,
          path: 'spec.imageCatalogRef',
          code: 'PGHERD_API_CONFLICT',
          messageContains: 'imageName and imageCatalogRef are mutually exclusive',
        },
      ],
    },
  },
  {
    name: 'synchronous number as large as the instances',
    spec: [
      '  instances: 3',
      '  storage: {size: 1Gi}',
      '  postgresql:',
      '    synchronous: {method: any, number: 3}',
    ],
    expect: {
      errors: [
        {
          line: 9,
          column: 40,
          path: 'spec.postgresql.synchronous.number',
          code: 'PGHERD_API_INVALID_VALUE',
          messageContains:
            'number (3) must be less than the instances (3) plus the names in standbyNamesPre and standbyNamesPost (0)',
        },
      ],
    },
  },
  {
    name: 'synchronous number counting external standby names is fine',
    spec: [
      '  instances: 2',
      '  storage: {size: 1Gi}',
      '  postgresql:',
      '    synchronous: {method: first, number: 2, standbyNamesPost: [angus]}',
    ],
    expect: { errors: [] },
  },
  {
    name: 'synchronous together with the legacy settings',
    spec: [
      '  instances: 3',
      '  minSyncReplicas: 1',
      '  maxSyncReplicas: 1',
      '  storage: {size: 1Gi}',
      '  postgresql:',
      '    synchronous: {method: any, number: 1}',
    ],
    expect: {
      errors: [
        {
          line: 11,
          column: 18,
          path: 'spec.postgresql.synchronous',
          code: 'PGHERD_API_CONFLICT',
          messageContains: 'synchronous cannot be combined with minSyncReplicas/maxSyncReplicas',
        },
      ],
    },
  },
  {
    name: 'maxSyncReplicas not below instances, minSyncReplicas above max',
    spec: ['  instances: 2', '  minSyncReplicas: 3', '  maxSyncReplicas: 2', '  storage: {size: 1Gi}'],
    expect: {
      errors: [
        {
          line: 7,
          column: 20,
          path: 'spec.minSyncReplicas',
          code: 'PGHERD_API_INVALID_VALUE',
          messageContains: 'minSyncReplicas (3) cannot be greater than maxSyncReplicas (2)',
        },
        {
          line: 8,
          column: 20,
          path: 'spec.maxSyncReplicas',
          code: 'PGHERD_API_INVALID_VALUE',
          messageContains: 'maxSyncReplicas (2) must be lower than the number of instances (2)',
        },
      ],
    },
  },
  {
    name: 'negative legacy settings',
    spec: ['  minSyncReplicas: -1', '  storage: {size: 1Gi}'],
    expect: {
      errors: [
        {
          line: 6,
          column: 20,
          path: 'spec.minSyncReplicas',
          code: 'PGHERD_API_RANGE',
          messageContains: 'must be at least 0',
        },
      ],
    },
  },
  {
    name: 'supervised updates of a single instance',
    spec: ['  primaryUpdateStrategy: supervised', '  storage: {size: 1Gi}'],
    expect: {
      errors: [
        {
          line: 6,
          column: 26,
          path: 'spec.primaryUpdateStrategy',
          code: 'PGHERD_API_INVALID_VALUE',
          messageContains: 'supervised update strategy is not allowed for clusters with a single instance',
        },
      ],
    },
  },
  {
    name: 'parameter values CNPG checks at admission',
    spec: [
      '  instances: 2',
      '  storage: {size: 1Gi}',
      '  walStorage: {size: 1Gi}',
      '  postgresql:',
      '    parameters:',
      '      wal_level: minimal',
      '      wal_log_hints: "off"',
      '      hot_standby_feedback: maybe',
      '      shared_buffers: lots',
      '      max_wal_size: 2GB',
    ],
    expect: {
      errors: [
        {
          line: 11,
          column: 18,
          path: 'spec.postgresql.parameters.wal_level',
          code: 'PGHERD_API_INVALID_VALUE',
          messageContains: 'wal_level "minimal" is not supported',
        },
        {
          line: 12,
          column: 22,
          path: 'spec.postgresql.parameters.wal_log_hints',
          code: 'PGHERD_API_INVALID_VALUE',
          messageContains: 'wal_log_hints must be on when instances > 1',
        },
        {
          line: 13,
          column: 29,
          path: 'spec.postgresql.parameters.hot_standby_feedback',
          code: 'PGHERD_API_INVALID_VALUE',
          messageContains: 'must be a boolean (on or off), got "maybe"',
        },
        {
          line: 14,
          column: 23,
          path: 'spec.postgresql.parameters.shared_buffers',
          code: 'PGHERD_API_INVALID_VALUE',
          messageContains: 'must be a memory size such as 256MB, got "lots"',
        },
        {
          line: 15,
          column: 21,
          path: 'spec.postgresql.parameters.max_wal_size',
          code: 'PGHERD_API_INVALID_VALUE',
          messageContains:
            'parameter "max_wal_size" (2GB) must be smaller than the WAL volume (walStorage.size 1Gi)',
        },
      ],
    },
  },
  {
    name: 'min_wal_size not below max_wal_size',
    spec: [
      '  storage: {size: 1Gi}',
      '  postgresql:',
      '    parameters: {min_wal_size: "2048", max_wal_size: 1GB}',
    ],
    expect: {
      errors: [
        {
          line: 8,
          column: 32,
          path: 'spec.postgresql.parameters.min_wal_size',
          code: 'PGHERD_API_INVALID_VALUE',
          messageContains: 'min_wal_size (default 80MB) must be smaller than max_wal_size (default 1GB)',
        },
      ],
    },
  },
  {
    name: 'an unknown wal_level',
    spec: ['  storage: {size: 1Gi}', '  postgresql:', '    parameters: {wal_level: archive}'],
    expect: {
      errors: [
        {
          line: 8,
          column: 29,
          path: 'spec.postgresql.parameters.wal_level',
          code: 'PGHERD_API_INVALID_VALUE',
          messageContains: 'unrecognized wal_level "archive"',
        },
      ],
    },
  },
  {
    name: 'logical decoding slot sync on PostgreSQL 16',
    spec: [
      '  storage: {size: 1Gi}',
      '  imageName: ghcr.io/cloudnative-pg/postgresql:16.4',
      '  replicationSlots:',
      '    highAvailability: {synchronizeLogicalDecoding: true}',
    ],
    expect: {
      errors: [
        {
          line: 9,
          column: 52,
          path: 'spec.replicationSlots.highAvailability.synchronizeLogicalDecoding',
          code: 'PGHERD_API_INVALID_VALUE',
          messageContains:
            'synchronizeLogicalDecoding needs PostgreSQL 17 or later (this cluster declares 16)',
        },
      ],
    },
  },
  {
    name: 'logical decoding slot sync without the settings it needs',
    spec: [
      '  storage: {size: 1Gi}',
      '  imageName: ghcr.io/cloudnative-pg/postgresql:17',
      '  replicationSlots:',
      '    highAvailability: {synchronizeLogicalDecoding: true}',
      '  postgresql:',
      '    parameters: {hot_standby_feedback: "off"}',
    ],
    expect: {
      errors: [
        {
          line: 9,
          column: 52,
          path: 'spec.replicationSlots.highAvailability.synchronizeLogicalDecoding',
          code: 'PGHERD_API_INVALID_VALUE',
          messageContains: 'parameter "sync_replication_slots" must be on',
        },
        {
          line: 11,
          column: 40,
          path: 'spec.postgresql.parameters.hot_standby_feedback',
          code: 'PGHERD_API_INVALID_VALUE',
          messageContains: 'parameter "hot_standby_feedback" must be on',
        },
      ],
    },
  },
  {
    name: 'logical decoding slot sync with pg_failover_slots needs nothing else',
    spec: [
      '  storage: {size: 1Gi}',
      '  imageName: ghcr.io/cloudnative-pg/postgresql:16.4',
      '  replicationSlots:',
      '    highAvailability: {synchronizeLogicalDecoding: true}',
      '  postgresql:',
      '    parameters: {pg_failover_slots.synchronize_slot_names: "name_like:%%"}',
    ],
    expect: { errors: [] },
  },
];

describe('Cluster rules across fields', () => {
  it.each(cases)('$name', (testCase) => {
    const result = loadManifests(
      [
        'apiVersion: postgresql.cnpg.io/v1',
        'kind: Cluster',
        'metadata:',
        '  name: c',
        'spec:',
        ...testCase.spec,
        '',
      ].join('\n'),
      'rules.yaml',
    );
    expect(result.errors.map(({ line, column, path, code }) => ({ line, column, path, code }))).toEqual(
      testCase.expect.errors.map(({ line, column, path, code }) => ({ line, column, path, code })),
    );
    testCase.expect.errors.forEach((issue, index) => {
      expect(result.errors[index]?.message).toContain(issue.messageContains);
    });
    expect(result.resources).toHaveLength(testCase.expect.errors.length === 0 ? 1 : 0);
  });

  it('runs once every field is valid on its own (a type error hides the cross-field rules)', () => {
    const result = load([
      '  instances: 2',
      '  maxSyncReplicas: 5',
      '  storage: {size: 1Gi}',
      '  logLevel: 3',
    ]);
    expect(result.errors.map((issue) => issue.path)).toEqual(['spec.logLevel']);
  });
});
