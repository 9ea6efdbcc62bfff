import { describe, expect, it } from 'vitest';
import { loadManifests } from '../load-manifests.ts';
import type { ManifestIssue } from '../manifest-issue.ts';
import type { ClusterResource } from './cluster-resource.ts';

/** A Cluster document whose `spec` body is `spec` (indented by the caller with two spaces per level). */
function cluster(spec: string): string {
  return `apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: c\nspec:\n${spec}`;
}

/** Line 6 is the first line of the spec body. */
const SPEC_LINE = 6;

function loadCluster(spec: string): ClusterResource {
  const result = loadManifests(cluster(spec), 'c.yaml');
  expect(result.errors).toEqual([]);
  const [resource] = result.resources;
  if (resource?.kind !== 'Cluster') throw new Error('expected a Cluster');
  return resource;
}

interface ExpectedIssue {
  line: number;
  column: number;
  path: string;
  code: string;
  messageContains: string;
}

function expectErrors(spec: string, expected: ExpectedIssue[]): void {
  const result = loadManifests(cluster(spec), 'c.yaml');
  const summary = (issues: readonly (ManifestIssue | ExpectedIssue)[]) =>
    issues.map(({ line, column, path, code }) => ({ line, column, path, code }));
  expect(summary(result.errors)).toEqual(summary(expected));
  expected.forEach((issue, index) => {
    expect(result.errors[index]?.message).toContain(issue.messageContains);
  });
  expect(result.resources).toEqual([]);
}

describe('Cluster defaults', () => {
  it('gives a minimal Cluster every CNPG default', () => {
    const resource = loadCluster('  storage:\n    size: 1Gi\n');
    expect(resource).toEqual({
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'Cluster',
      metadata: { name: 'c', namespace: 'default' },
      spec: {
        instances: 1,
        minSyncReplicas: 0,
        maxSyncReplicas: 0,
        postgresql: { parameters: {}, pg_hba: [], pg_ident: [] },
        replicationSlots: {
          highAvailability: { enabled: true, slotPrefix: '_cnpg_', synchronizeLogicalDecoding: false },
          updateInterval: 30,
          synchronizeReplicas: { enabled: true },
        },
        bootstrap: {
          initdb: {
            database: 'app',
            owner: 'app',
            encoding: 'UTF8',
            localeCollate: 'C',
            localeCType: 'C',
            dataChecksums: false,
          },
        },
        enableSuperuserAccess: false,
        storage: { size: '1Gi', resizeInUseVolumes: true },
        startDelay: 3600,
        stopDelay: 1800,
        smartShutdownTimeout: 180,
        switchoverDelay: 3600,
        failoverDelay: 0,
        primaryUpdateStrategy: 'unsupervised',
        primaryUpdateMethod: 'restart',
        logLevel: 'info',
      },
    });
  });

  it('defaults the owner to the database, and synchronous durability to required', () => {
    const resource = loadCluster(
      [
        '  instances: 3',
        '  storage: {size: 1Gi}',
        '  postgresql:',
        '    synchronous: {method: first, number: 1}',
        '  bootstrap:',
        '    initdb: {database: appdb}',
        '',
      ].join('\n'),
    );
    expect(resource.spec.bootstrap.initdb?.owner).toBe('appdb');
    expect(resource.spec.postgresql.synchronous).toEqual({
      method: 'first',
      number: 1,
      dataDurability: 'required',
      failoverQuorum: false,
    });
  });

  it('keeps what the user set over the defaults', () => {
    const resource = loadCluster(
      [
        '  instances: 2',
        '  description: "test"',
        '  imageName: ghcr.io/cloudnative-pg/postgresql:15.8-1',
        '  enableSuperuserAccess: true',
        '  superuserSecret: {name: su}',
        '  startDelay: 30',
        '  stopDelay: 60',
        '  smartShutdownTimeout: 10',
        '  switchoverDelay: 20',
        '  failoverDelay: 5',
        '  primaryUpdateStrategy: supervised',
        '  primaryUpdateMethod: switchover',
        '  logLevel: debug',
        '  storage: {size: 2Gi, resizeInUseVolumes: false}',
        '  walStorage: {size: 1Gi}',
        '  replicationSlots:',
        '    highAvailability: {enabled: false, slotPrefix: my_}',
        '    updateInterval: 10',
        '    synchronizeReplicas: {enabled: false, excludePatterns: ["^foo"]}',
        '  bootstrap:',
        '    initdb:',
        '      database: db',
        '      owner: me',
        '      secret: {name: app-secret}',
        '      encoding: LATIN1',
        '      localeCollate: en_US.UTF-8',
        '      localeCType: en_US.UTF-8',
        '      dataChecksums: true',
        '      walSegmentSize: 64',
        '      postInitSQL: [select 1]',
        '      postInitApplicationSQL: [select 2]',
        '      postInitTemplateSQL: [select 3]',
        '',
      ].join('\n'),
    );
    expect(resource.spec).toMatchObject({
      instances: 2,
      description: 'test',
      imageName: 'ghcr.io/cloudnative-pg/postgresql:15.8-1',
      enableSuperuserAccess: true,
      superuserSecret: { name: 'su' },
      startDelay: 30,
      stopDelay: 60,
      smartShutdownTimeout: 10,
      switchoverDelay: 20,
      failoverDelay: 5,
      primaryUpdateStrategy: 'supervised',
      primaryUpdateMethod: 'switchover',
      logLevel: 'debug',
      storage: { size: '2Gi', resizeInUseVolumes: false },
      walStorage: { size: '1Gi', resizeInUseVolumes: true },
      replicationSlots: {
        highAvailability: { enabled: false, slotPrefix: 'my_', synchronizeLogicalDecoding: false },
        updateInterval: 10,
        synchronizeReplicas: { enabled: false, excludePatterns: ['^foo'] },
      },
      bootstrap: {
        initdb: {
          database: 'db',
          owner: 'me',
          secret: { name: 'app-secret' },
          encoding: 'LATIN1',
          localeCollate: 'en_US.UTF-8',
          localeCType: 'en_US.UTF-8',
          dataChecksums: true,
          walSegmentSize: 64,
          postInitSQL: ['select 1'],
          postInitApplicationSQL: ['select 2'],
          postInitTemplateSQL: ['select 3'],
        },
      },
    });
  });

  it('takes the size from pvcTemplate when storage.size is absent', () => {
    const resource = loadCluster(
      '  storage:\n    pvcTemplate:\n      resources: {requests: {storage: 3Gi}}\n',
    );
    expect(resource.spec.storage.size).toBe('3Gi');
  });

  it('accepts an image catalog reference', () => {
    const resource = loadCluster(
      '  storage: {size: 1Gi}\n  imageCatalogRef: {apiGroup: postgresql.cnpg.io, kind: ClusterImageCatalog, name: pg, major: 16}\n',
    );
    expect(resource.spec.imageCatalogRef).toEqual({
      apiGroup: 'postgresql.cnpg.io',
      kind: 'ClusterImageCatalog',
      name: 'pg',
      major: 16,
    });
  });

  it('drops server-written metadata and keeps labels and annotations', () => {
    const result = loadManifests(
      [
        'apiVersion: postgresql.cnpg.io/v1',
        'kind: Cluster',
        'metadata:',
        '  name: c',
        '  namespace: prod',
        '  uid: 1234',
        '  resourceVersion: "7"',
        '  labels: {app: db}',
        '  annotations: {example.com/note: "hello, world"}',
        'spec: {storage: {size: 1Gi}}',
        '',
      ].join('\n'),
      'c.yaml',
    );
    expect(result.errors).toEqual([]);
    expect(result.resources[0]?.metadata).toEqual({
      name: 'c',
      namespace: 'prod',
      labels: { app: 'db' },
      annotations: { 'example.com/note': 'hello, world' },
    });
  });
});

describe('postgresql.parameters', () => {
  it('accepts string values, including extension settings', () => {
    const resource = loadCluster(
      [
        '  storage: {size: 1Gi}',
        '  postgresql:',
        '    parameters:',
        '      shared_buffers: 256MB',
        "      pg_stat_statements.max: '10000'",
        '      pg_stat_statements.track: all',
        "      auto_explain.log_min_duration: '10s'",
        '      search_path: \'"$user", public\'',
        '',
      ].join('\n'),
    );
    expect(resource.spec.postgresql.parameters).toEqual({
      shared_buffers: '256MB',
      'pg_stat_statements.max': '10000',
      'pg_stat_statements.track': 'all',
      'auto_explain.log_min_duration': '10s',
      search_path: '"$user", public',
    });
  });

  it('refuses numbers and booleans: CNPG parameters are strings', () => {
    expectErrors(
      [
        '  storage: {size: 1Gi}',
        '  postgresql:',
        '    parameters:',
        '      max_connections: 100',
        '      hot_standby_feedback: on',
        '      random_page_cost: 1.1',
        '',
      ].join('\n'),
      [
        {
          line: SPEC_LINE + 3,
          column: 24,
          path: 'spec.postgresql.parameters.max_connections',
          code: 'PGHERD_API_TYPE',
          messageContains: 'must be a string, quote it: "100"',
        },
        {
          line: SPEC_LINE + 4,
          column: 29,
          path: 'spec.postgresql.parameters.hot_standby_feedback',
          code: 'PGHERD_API_TYPE',
          messageContains: 'must be a string, quote it: "on"',
        },
        {
          line: SPEC_LINE + 5,
          column: 25,
          path: 'spec.postgresql.parameters.random_page_cost',
          code: 'PGHERD_API_TYPE',
          messageContains: 'must be a string, quote it: "1.1"',
        },
      ],
    );
  });

  it('refuses fixed and blocked parameters by name, at the key', () => {
    expectErrors(
      [
        '  storage: {size: 1Gi}',
        '  postgresql:',
        '    parameters:',
        '      port: "5433"',
        '      listen_addresses: "*"',
        '      ssl_ciphers: "ALL"',
        '      synchronous_standby_names: "*"',
        '      unix_socket_directories: /tmp',
        '',
      ].join('\n'),
      [
        {
          line: SPEC_LINE + 3,
          column: 7,
          path: 'spec.postgresql.parameters.port',
          code: 'PGHERD_API_PARAMETER_FIXED',
          messageContains: 'parameter "port" is managed by pgherd and cannot be set',
        },
        {
          line: SPEC_LINE + 4,
          column: 7,
          path: 'spec.postgresql.parameters.listen_addresses',
          code: 'PGHERD_API_PARAMETER_BLOCKED',
          messageContains: 'parameter "listen_addresses" is blocked and can never be set',
        },
        {
          line: SPEC_LINE + 5,
          column: 7,
          path: 'spec.postgresql.parameters.ssl_ciphers',
          code: 'PGHERD_API_PARAMETER_FIXED',
          messageContains: 'parameter "ssl_ciphers" is managed by pgherd',
        },
        {
          line: SPEC_LINE + 6,
          column: 7,
          path: 'spec.postgresql.parameters.synchronous_standby_names',
          code: 'PGHERD_API_PARAMETER_FIXED',
          messageContains: 'use spec.postgresql.synchronous',
        },
        {
          line: SPEC_LINE + 7,
          column: 7,
          path: 'spec.postgresql.parameters.unix_socket_directories',
          code: 'PGHERD_API_PARAMETER_BLOCKED',
          messageContains: 'is blocked and can never be set',
        },
      ],
    );
  });

  it('refuses parameter names that could inject configuration', () => {
    expectErrors(
      [
        '  storage: {size: 1Gi}',
        '  postgresql:',
        '    parameters:',
        '      "x\\"; DROP TABLE t; --": "1"',
        '      "work_mem = 1\\nport": "2"',
        '      a.b.c: "3"',
        '      9lives: "4"',
        '',
      ].join('\n'),
      [
        {
          line: SPEC_LINE + 3,
          column: 7,
          path: 'spec.postgresql.parameters.x"; DROP TABLE t; --',
          code: 'PGHERD_API_PARAMETER_NAME',
          messageContains: 'is not a PostgreSQL setting name',
        },
        {
          line: SPEC_LINE + 4,
          column: 7,
          path: 'spec.postgresql.parameters["work_mem = 1\\nport"]',
          code: 'PGHERD_API_PARAMETER_NAME',
          messageContains: 'is not a PostgreSQL setting name',
        },
        {
          line: SPEC_LINE + 5,
          column: 7,
          path: 'spec.postgresql.parameters.a.b.c',
          code: 'PGHERD_API_PARAMETER_NAME',
          messageContains: 'is not a PostgreSQL setting name',
        },
        {
          line: SPEC_LINE + 6,
          column: 7,
          path: 'spec.postgresql.parameters.9lives',
          code: 'PGHERD_API_PARAMETER_NAME',
          messageContains: 'is not a PostgreSQL setting name',
        },
      ],
    );
  });

  it('refuses parameter values with a line break or NUL (configuration injection)', () => {
    expectErrors(
      [
        '  storage: {size: 1Gi}',
        '  postgresql:',
        '    parameters:',
        '      work_mem: "4MB\\nlisten_addresses = \'*\'"',
        '      maintenance_work_mem: "64MB\\r"',
        '      temp_buffers: "8MB\\0"',
        '      application_name: |',
        '        two',
        '        lines',
        '',
      ].join('\n'),
      [
        {
          line: SPEC_LINE + 3,
          column: 17,
          path: 'spec.postgresql.parameters.work_mem',
          code: 'PGHERD_API_PARAMETER_VALUE',
          messageContains: 'must be a single line',
        },
        {
          line: SPEC_LINE + 4,
          column: 29,
          path: 'spec.postgresql.parameters.maintenance_work_mem',
          code: 'PGHERD_API_PARAMETER_VALUE',
          messageContains: 'must be a single line',
        },
        {
          line: SPEC_LINE + 5,
          column: 21,
          path: 'spec.postgresql.parameters.temp_buffers',
          code: 'PGHERD_API_PARAMETER_VALUE',
          messageContains: 'NUL',
        },
        {
          line: SPEC_LINE + 6,
          column: 25,
          path: 'spec.postgresql.parameters.application_name',
          code: 'PGHERD_API_PARAMETER_VALUE',
          messageContains: 'must be a single line',
        },
      ],
    );
  });

  it('refuses the same setting spelled twice (names are case-insensitive)', () => {
    expectErrors(
      '  storage: {size: 1Gi}\n  postgresql:\n    parameters:\n      work_mem: 1MB\n      WORK_MEM: 2MB\n',
      [
        {
          line: SPEC_LINE + 4,
          column: 7,
          path: 'spec.postgresql.parameters.WORK_MEM',
          code: 'PGHERD_API_PARAMETER_NAME',
          messageContains: 'also set as "work_mem"',
        },
      ],
    );
  });
});

describe('pg_hba and pg_ident', () => {
  it('accepts rules on one line', () => {
    const resource = loadCluster(
      [
        '  storage: {size: 1Gi}',
        '  postgresql:',
        '    pg_hba:',
        '      - hostssl app all all cert',
        '      - host all all 10.244.0.0/16 md5',
        '    pg_ident:',
        '      - mymap alice app',
        '',
      ].join('\n'),
    );
    expect(resource.spec.postgresql.pg_hba).toEqual([
      'hostssl app all all cert',
      'host all all 10.244.0.0/16 md5',
    ]);
    expect(resource.spec.postgresql.pg_ident).toEqual(['mymap alice app']);
  });

  it('refuses several lines in one rule, trust over the network, and wrong types', () => {
    expectErrors(
      [
        '  storage: {size: 1Gi}',
        '  postgresql:',
        '    pg_hba:',
        '      - "host all all all scram-sha-256\\nhost all all 0.0.0.0/0 trust"',
        '      - host all all 0.0.0.0/0 trust',
        '      - 42',
        '    pg_ident:',
        '      - "m a b\\nlocal evil postgres"',
        '      - local evil postgres',
        '',
      ].join('\n'),
      [
        {
          line: SPEC_LINE + 3,
          column: 9,
          path: 'spec.postgresql.pg_hba[0]',
          code: 'PGHERD_API_PG_HBA',
          messageContains: 'must be a single line',
        },
        {
          line: SPEC_LINE + 4,
          column: 9,
          path: 'spec.postgresql.pg_hba[1]',
          code: 'PGHERD_API_PG_HBA',
          messageContains: 'trust',
        },
        {
          line: SPEC_LINE + 5,
          column: 9,
          path: 'spec.postgresql.pg_hba[2]',
          code: 'PGHERD_API_TYPE',
          messageContains: 'must be a string, quote it: "42"',
        },
        {
          line: SPEC_LINE + 7,
          column: 9,
          path: 'spec.postgresql.pg_ident[0]',
          code: 'PGHERD_API_PG_IDENT',
          messageContains: 'must be a single line',
        },
        {
          line: SPEC_LINE + 8,
          column: 9,
          path: 'spec.postgresql.pg_ident[1]',
          code: 'PGHERD_API_PG_IDENT',
          messageContains: 'owned by pgherd',
        },
      ],
    );
  });
});

describe('postgresql.synchronous fields', () => {
  it('refuses preferred durability with external standby names, and method/number errors', () => {
    expectErrors(
      [
        '  instances: 3',
        '  storage: {size: 1Gi}',
        '  postgresql:',
        '    synchronous:',
        '      method: all',
        '      number: 1',
        '      standbyNamesPre: [angus]',
        '      dataDurability: preferred',
        '',
      ].join('\n'),
      [
        {
          line: SPEC_LINE + 4,
          column: 15,
          path: 'spec.postgresql.synchronous.method',
          code: 'PGHERD_API_ENUM',
          messageContains: 'must be one of "any", "first", got "all"',
        },
      ],
    );
    expectErrors(
      [
        '  instances: 3',
        '  storage: {size: 1Gi}',
        '  postgresql:',
        '    synchronous:',
        '      method: any',
        '      number: 1',
        '      standbyNamesPre: [angus]',
        '      dataDurability: preferred',
        '',
      ].join('\n'),
      [
        {
          line: SPEC_LINE + 7,
          column: 23,
          path: 'spec.postgresql.synchronous.dataDurability',
          code: 'PGHERD_API_CONFLICT',
          messageContains:
            'dataDurability "preferred" cannot be combined with standbyNamesPre or standbyNamesPost',
        },
      ],
    );
  });

  it('refuses a failover quorum that external standby names could never reach', () => {
    expectErrors(
      [
        '  instances: 3',
        '  storage: {size: 1Gi}',
        '  postgresql:',
        '    synchronous:',
        '      method: first',
        '      number: 2',
        '      standbyNamesPre: [angus]',
        '      standbyNamesPost: [malcolm]',
        '      failoverQuorum: true',
        '',
      ].join('\n'),
      [
        {
          line: SPEC_LINE + 5,
          column: 15,
          path: 'spec.postgresql.synchronous.number',
          code: 'PGHERD_API_INVALID_VALUE',
          messageContains:
            'number (2) must be greater than the 2 names in standbyNamesPre and standbyNamesPost',
        },
      ],
    );
  });

  it('refuses standby names that would break out of synchronous_standby_names', () => {
    expectErrors(
      [
        '  instances: 3',
        '  storage: {size: 1Gi}',
        '  postgresql:',
        '    synchronous: {method: first, number: 1, standbyNamesPre: [\'a"b\', "c\\nd"]}',
        '',
      ].join('\n'),
      [
        {
          line: SPEC_LINE + 3,
          column: 63,
          path: 'spec.postgresql.synchronous.standbyNamesPre[0]',
          code: 'PGHERD_API_UNSAFE_TEXT',
          messageContains: 'double quote',
        },
        {
          line: SPEC_LINE + 3,
          column: 70,
          path: 'spec.postgresql.synchronous.standbyNamesPre[1]',
          code: 'PGHERD_API_UNSAFE_TEXT',
          messageContains: 'control characters',
        },
      ],
    );
  });
});

describe('bootstrap.initdb fields', () => {
  it('refuses database and owner names PostgreSQL cannot hold or pgherd reserves', () => {
    expectErrors(
      [
        '  storage: {size: 1Gi}',
        '  bootstrap:',
        '    initdb:',
        `      database: ${'d'.repeat(64)}`,
        '      owner: "a\\0b"',
        '',
      ].join('\n'),
      [
        {
          line: SPEC_LINE + 3,
          column: 17,
          path: 'spec.bootstrap.initdb.database',
          code: 'PGHERD_API_FORMAT',
          messageContains: 'database name is 64 bytes long',
        },
        {
          line: SPEC_LINE + 4,
          column: 14,
          path: 'spec.bootstrap.initdb.owner',
          code: 'PGHERD_API_FORMAT',
          messageContains: 'owner name must not contain a NUL byte',
        },
      ],
    );
  });

  it.each([
    ['database: postgres', 'database', 17, 'database "postgres" already exists in every cluster'],
    ['database: template1', 'database', 17, 'database "template1" already exists'],
    ['owner: postgres', 'owner', 14, 'owner "postgres" is a reserved role'],
    ['owner: streaming_replica', 'owner', 14, 'owner "streaming_replica" is a reserved role'],
    ['owner: cnpg_pooler_pgbouncer', 'owner', 14, 'is a reserved role'],
    ['owner: pg_monitor', 'owner', 14, 'is a reserved role'],
    ['database: streaming_replica', 'database', 17, 'owner defaults to the database name'],
  ])('refuses %s', (line, field, column, message) => {
    expectErrors(`  storage: {size: 1Gi}\n  bootstrap:\n    initdb:\n      ${line}\n`, [
      {
        line: SPEC_LINE + 3,
        column,
        path: `spec.bootstrap.initdb.${field}`,
        code: 'PGHERD_API_RESERVED_NAME',
        messageContains: message,
      },
    ]);
  });

  it('accepts multibyte names up to 63 bytes (quoted identifiers)', () => {
    const name = 'é'.repeat(31); // 62 bytes
    const resource = loadCluster(
      `  storage: {size: 1Gi}\n  bootstrap:\n    initdb:\n      database: "${name}"\n`,
    );
    expect(resource.spec.bootstrap.initdb?.database).toBe(name);
    expect(resource.spec.bootstrap.initdb?.owner).toBe(name);
  });

  it('refuses a WAL segment size that is not a power of 2 between 1 and 1024', () => {
    for (const [value, code, message] of [
      ['3', 'PGHERD_API_INVALID_VALUE', 'must be a power of 2'],
      ['2048', 'PGHERD_API_RANGE', 'must be at most 1024'],
      ['0', 'PGHERD_API_RANGE', 'must be at least 1'],
    ] as const) {
      expectErrors(`  storage: {size: 1Gi}\n  bootstrap:\n    initdb:\n      walSegmentSize: ${value}\n`, [
        {
          line: SPEC_LINE + 3,
          column: 23,
          path: 'spec.bootstrap.initdb.walSegmentSize',
          code,
          messageContains: message,
        },
      ]);
    }
  });

  it('refuses encodings and locales that are not plain tokens', () => {
    expectErrors(
      '  storage: {size: 1Gi}\n  bootstrap:\n    initdb:\n      encoding: "UTF8 --pwfile=/etc/shadow"\n      localeCType: "C;x"\n',
      [
        {
          line: SPEC_LINE + 3,
          column: 17,
          path: 'spec.bootstrap.initdb.encoding',
          code: 'PGHERD_API_FORMAT',
          messageContains: 'encoding "UTF8 --pwfile=/etc/shadow" is not valid',
        },
        {
          line: SPEC_LINE + 4,
          column: 20,
          path: 'spec.bootstrap.initdb.localeCType',
          code: 'PGHERD_API_FORMAT',
          messageContains: 'locale "C;x" is not valid',
        },
      ],
    );
  });

  it('refuses a secret reference that is not a Secret name', () => {
    expectErrors('  storage: {size: 1Gi}\n  bootstrap:\n    initdb:\n      secret: {name: Bad_Name}\n', [
      {
        line: SPEC_LINE + 3,
        column: 22,
        path: 'spec.bootstrap.initdb.secret.name',
        code: 'PGHERD_API_FORMAT',
        messageContains: 'DNS-1123 subdomain',
      },
    ]);
  });
});

describe('image, storage and slots fields', () => {
  it.each([
    ['postgres', 'can\'t use "latest"'],
    ['ghcr.io/cloudnative-pg/postgresql:latest', 'can\'t use "latest"'],
    ['ghcr.io/cloudnative-pg/postgresql@sha256:0123abcd', 'only an image digest'],
    ['ghcr.io/cloudnative-pg/postgresql:bookworm', 'invalid version tag "bookworm"'],
  ])('refuses imageName %s', (image, message) => {
    expectErrors(`  storage: {size: 1Gi}\n  imageName: ${image}\n`, [
      {
        line: SPEC_LINE + 1,
        column: 14,
        path: 'spec.imageName',
        code: 'PGHERD_API_FORMAT',
        messageContains: message,
      },
    ]);
  });

  it('refuses an image catalog that is not a CNPG catalog', () => {
    expectErrors(
      '  storage: {size: 1Gi}\n  imageCatalogRef: {apiGroup: example.com, kind: ImageCatalog, name: x, major: 16}\n',
      [
        {
          line: SPEC_LINE + 1,
          column: 31,
          path: 'spec.imageCatalogRef.apiGroup',
          code: 'PGHERD_API_ENUM',
          messageContains: 'must be "postgresql.cnpg.io", got "example.com"',
        },
      ],
    );
  });

  it.each([['1Gi'], ['500Mi'], ['5G'], ['1.5Ti'], ['1e9'], ['100']])('accepts storage size %s', (size) => {
    expect(loadCluster(`  storage: {size: "${size}"}\n`).spec.storage.size).toBe(size);
  });

  it.each([
    ['1 Gi', 'is not a Kubernetes quantity'],
    ['1GB', 'is not a Kubernetes quantity'],
    ['Gi', 'is not a Kubernetes quantity'],
    ['0', 'greater than zero'],
    ['-1Gi', 'greater than zero'],
  ])('refuses storage size %s', (size, message) => {
    expectErrors(`  storage: {size: "${size}"}\n`, [
      {
        line: SPEC_LINE,
        column: 19,
        path: 'spec.storage.size',
        code: 'PGHERD_API_FORMAT',
        messageContains: message,
      },
    ]);
  });

  it('refuses a walStorage without a size', () => {
    expectErrors('  storage: {size: 1Gi}\n  walStorage: {storageClass: fast}\n', [
      {
        line: SPEC_LINE + 1,
        column: 3,
        path: 'spec.walStorage.size',
        code: 'PGHERD_API_REQUIRED',
        messageContains: 'storage size is required',
      },
    ]);
  });

  it('refuses an invalid slot prefix and an invalid exclude pattern', () => {
    expectErrors(
      '  storage: {size: 1Gi}\n  replicationSlots:\n    highAvailability: {slotPrefix: "Bad-"}\n    synchronizeReplicas: {excludePatterns: ["(unclosed"]}\n',
      [
        {
          line: SPEC_LINE + 2,
          column: 36,
          path: 'spec.replicationSlots.highAvailability.slotPrefix',
          code: 'PGHERD_API_FORMAT',
          messageContains: 'lowercase letters, digits and "_"',
        },
        {
          line: SPEC_LINE + 3,
          column: 45,
          path: 'spec.replicationSlots.synchronizeReplicas.excludePatterns[0]',
          code: 'PGHERD_API_FORMAT',
          messageContains: 'is not a valid regular expression',
        },
      ],
    );
  });
});
