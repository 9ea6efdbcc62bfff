import { describe, expect, it } from 'vitest';
import { loadManifests } from '../load-manifests.ts';
import { formatIssue } from '../manifest-issue.ts';
import type { ClusterResource } from './cluster-resource.ts';
import { formatTargetTime, parseTargetTime } from './recovery-target.ts';

describe('parseTargetTime', () => {
  it.each([
    // PostgreSQL's format, as CNPG's sample writes it.
    ['2020-11-26 15:22:00.00000+00', '2020-11-26T15:22:00.000Z'],
    ['2020-11-26 15:22:00', '2020-11-26T15:22:00.000Z'],
    ['2020-11-26 17:22:00+02', '2020-11-26T15:22:00.000Z'],
    ['2020-11-26 10:52:00.5-04:30', '2020-11-26T15:22:00.500Z'],
    ['2020-11-26', '2020-11-26T00:00:00.000Z'],
    // RFC 3339, and RFC 3339 without a zone (UTC, as CNPG).
    ['2020-11-26T15:22:00Z', '2020-11-26T15:22:00.000Z'],
    ['2020-11-26T16:22:00+01:00', '2020-11-26T15:22:00.000Z'],
    ['2020-11-26T15:22:00.123456Z', '2020-11-26T15:22:00.123Z'],
    ['2020-11-26T15:22:00', '2020-11-26T15:22:00.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
  ])('reads %j', (text, iso) => {
    expect(parseTargetTime(text)?.toISOString()).toBe(iso);
  });

  it.each([
    'yesterday',
    '2020-11-26T15:22',
    '2020-13-01 00:00:00',
    '2023-02-29 00:00:00',
    '2020-11-26 24:00:00',
    '2020-11-26 15:22:00 +00',
    '26/11/2020 15:22:00',
    '2020-11-26T15:22:00+0100',
  ])('refuses %j', (text) => {
    expect(parseTargetTime(text)).toBeUndefined();
  });

  it('writes a target for recovery_target_time with every digit and an explicit zone', () => {
    expect(formatTargetTime('2020-11-26T15:22:00.123456')).toBe('2020-11-26 15:22:00.123456+00');
    expect(formatTargetTime('2020-11-26T16:22:00+01:00')).toBe('2020-11-26 16:22:00+01:00');
    expect(formatTargetTime('2020-11-26 15:22:00.00000+00')).toBe('2020-11-26 15:22:00.00000+00');
    expect(formatTargetTime('2020-11-26T15:22:00Z')).toBe('2020-11-26 15:22:00+00');
    expect(formatTargetTime('2020-11-26')).toBe('2020-11-26 00:00:00+00');
    expect(formatTargetTime('2020-02-30')).toBeUndefined();
  });
});

/** A Cluster with `bootstrap` and `rest` (spec lines); the bootstrap section starts at line 7. */
function cluster(bootstrap: string[], rest: string[] = EXTERNAL): string {
  return [
    'apiVersion: postgresql.cnpg.io/v1',
    'kind: Cluster',
    'metadata: {name: c}',
    'spec:',
    '  storage: {size: 1Gi}',
    '  bootstrap:',
    ...bootstrap,
    ...rest,
    '',
  ].join('\n');
}

const EXTERNAL = [
  '  externalClusters:',
  '    - name: origin',
  '      barmanObjectStore:',
  '        destinationPath: s3://backups/',
  '        s3Credentials: {inheritFromIAMRole: true}',
];

function load(text: string): ClusterResource {
  const result = loadManifests(text, 'r.yaml');
  expect(result.errors.map(formatIssue)).toEqual([]);
  const [resource] = result.resources;
  if (resource?.kind !== 'Cluster') throw new Error('expected a Cluster');
  return resource;
}

function errors(text: string): string[] {
  const result = loadManifests(text, 'r.yaml');
  expect(result.resources).toEqual([]);
  return result.errors.map(formatIssue);
}

describe('bootstrap.recovery', () => {
  it('recovers from an external cluster, with CNPG defaults and no initdb', () => {
    const resource = load(cluster(['    recovery:', '      source: origin']));
    expect(resource.spec.bootstrap).toEqual({
      recovery: { source: 'origin', database: 'app', owner: 'app' },
    });
    expect(resource.spec.bootstrap.initdb).toBeUndefined();
    expect(resource.spec.externalClusters).toEqual([
      {
        name: 'origin',
        barmanObjectStore: {
          destinationPath: 's3://backups/',
          s3Credentials: { inheritFromIAMRole: true },
          wal: { maxParallel: 1 },
          data: { jobs: 2, immediateCheckpoint: false },
        },
      },
    ]);
  });

  it('recovers from a Backup object, with its own application database, owner and secret', () => {
    const resource = load(
      cluster(
        [
          '    recovery:',
          '      backup: {name: nightly, endpointCA: {name: minio-ca, key: ca.crt}}',
          '      database: shop',
          '      secret: {name: shop-owner}',
        ],
        [],
      ),
    );
    expect(resource.spec.bootstrap.recovery).toEqual({
      backup: { name: 'nightly', endpointCA: { name: 'minio-ca', key: 'ca.crt' } },
      database: 'shop',
      owner: 'shop',
      secret: { name: 'shop-owner' },
    });
  });

  it('still defaults to initdb when no method is given', () => {
    const resource = load(cluster(['    {}'], []).replace('  bootstrap:\n    {}\n', ''));
    expect(resource.spec.bootstrap).toMatchObject({ initdb: { database: 'app', owner: 'app' } });
    expect(resource.spec.bootstrap.recovery).toBeUndefined();
  });

  it('refuses two bootstrap methods at once', () => {
    expect(errors(cluster(['    initdb: {database: app}', '    recovery: {source: origin}']))).toEqual([
      'r.yaml:8:5  spec.bootstrap.recovery  only one bootstrap method can be specified at a time: keep initdb or recovery',
    ]);
  });

  it('needs a source or a backup, and not both', () => {
    expect(errors(cluster(['    recovery: {database: app}']))).toEqual([
      'r.yaml:7:5  spec.bootstrap.recovery.source  recovery needs what to restore: backup.name (a Backup object) or source (an entry of spec.externalClusters with a barmanObjectStore)',
    ]);
    expect(
      errors(cluster(['    recovery:', '      source: origin', '      backup: {name: nightly}'])),
    ).toEqual([
      'r.yaml:9:7  spec.bootstrap.recovery.backup  source and backup are mutually exclusive: restore either a Backup object (backup.name) or the latest backup of an external cluster (source)',
    ]);
  });

  it('refuses volume snapshots as not implemented', () => {
    expect(errors(cluster(['    recovery:', '      volumeSnapshots: {storage: {name: snap}}']))).toEqual([
      'r.yaml:7:5  spec.bootstrap.recovery.source  recovery needs what to restore: backup.name (a Backup object) or source (an entry of spec.externalClusters with a barmanObjectStore)',
      'r.yaml:8:7  spec.bootstrap.recovery.volumeSnapshots  spec.bootstrap.recovery.volumeSnapshots is not implemented yet by pgherd; recover from an object store with backup.name or source',
    ]);
  });

  it('needs the source among the external clusters', () => {
    expect(errors(cluster(['    recovery: {source: elsewhere}']))).toEqual([
      'r.yaml:7:24  spec.bootstrap.recovery.source  external cluster "elsewhere" not found in spec.externalClusters (it has "origin"); add it, with the barmanObjectStore that holds its backups',
    ]);
    expect(errors(cluster(['    recovery: {source: elsewhere}'], []))[0]).toContain(
      '(there is none); add it',
    );
  });

  it('refuses a reserved role as the default owner, like initdb', () => {
    expect(errors(cluster(['    recovery: {source: origin, database: streaming_replica}']))).toEqual([
      'r.yaml:7:42  spec.bootstrap.recovery.database  owner defaults to the database name, and "streaming_replica" is a reserved role: set owner to another name',
    ]);
  });
});

describe('externalClusters', () => {
  it('refuses duplicate names, unsafe names and entries without an object store', () => {
    expect(
      errors(
        cluster(
          ['    initdb: {}'],
          [
            '  externalClusters:',
            '    - name: a',
            '      barmanObjectStore: {destinationPath: file:///srv/a}',
            '    - name: a',
            '      barmanObjectStore: {destinationPath: file:///srv/b}',
            '    - name: ../b',
            '      barmanObjectStore: {destinationPath: file:///srv/c}',
          ],
        ),
      ),
    ).toEqual([
      'r.yaml:11:13  spec.externalClusters[1].name  external cluster "a" is already defined at spec.externalClusters[0]; names must be unique',
      'r.yaml:13:13  spec.externalClusters[2].name  external cluster name cannot contain a path separator or be "." or ".."',
    ]);
    expect(errors(cluster(['    initdb: {}'], ['  externalClusters:', '    - name: a']))).toEqual([
      'r.yaml:9:7  spec.externalClusters[0]  external cluster "a" needs a barmanObjectStore: pgherd reads external clusters from their object store (connectionParameters and plugin are not implemented yet)',
    ]);
  });

  it('refuses connecting to an external cluster as not implemented', () => {
    expect(
      errors(
        cluster(
          ['    initdb: {}'],
          [
            '  externalClusters:',
            '    - name: a',
            '      connectionParameters: {host: a-rw}',
            '      password: {name: a-app, key: password}',
          ],
        ),
      ),
    ).toEqual([
      'r.yaml:10:7  spec.externalClusters[0].connectionParameters  spec.externalClusters[0].connectionParameters is not implemented yet by pgherd; pgherd reads an external cluster from its barmanObjectStore only, without connecting to it',
      'r.yaml:11:7  spec.externalClusters[0].password  spec.externalClusters[0].password is not implemented yet by pgherd; pgherd reads an external cluster from its barmanObjectStore only, without connecting to it',
    ]);
  });

  it('checks each object store like spec.backup', () => {
    expect(
      errors(
        cluster(
          ['    initdb: {}'],
          [
            '  externalClusters:',
            '    - name: a',
            '      barmanObjectStore: {destinationPath: s3://backups}',
          ],
        ),
      ),
    ).toEqual([
      'r.yaml:10:7  spec.externalClusters[0].barmanObjectStore.s3Credentials  an s3:// destinationPath needs s3Credentials: accessKeyId and secretAccessKey, or inheritFromIAMRole: true',
    ]);
  });
});

describe('recoveryTarget', () => {
  const withTarget = (target: string) =>
    cluster(['    recovery:', '      source: origin', `      recoveryTarget: ${target}`]);

  it.each([
    ['{targetTime: "2024-05-01 12:30:00.000000+00"}', { targetTime: '2024-05-01 12:30:00.000000+00' }],
    ['{targetLSN: 0/3000060, exclusive: true}', { targetLSN: '0/3000060', exclusive: true }],
    ['{targetTLI: latest}', { targetTLI: 'latest' }],
    [
      '{targetTLI: "2", targetTime: "2024-05-01T12:30:00Z"}',
      { targetTLI: '2', targetTime: '2024-05-01T12:30:00Z' },
    ],
    ['{targetXID: "1234", backupID: 20240501T123000}', { targetXID: '1234', backupID: '20240501T123000' }],
    [
      '{targetName: before-upgrade, backupID: 20240501T123000}',
      { targetName: 'before-upgrade', backupID: '20240501T123000' },
    ],
    [
      '{targetImmediate: true, backupID: 20240501T123000}',
      { targetImmediate: true, backupID: '20240501T123000' },
    ],
  ])('accepts %s', (target, expected) => {
    expect(load(withTarget(target)).spec.bootstrap.recovery?.recoveryTarget).toEqual(expected);
  });

  it('refuses more than one target', () => {
    expect(errors(withTarget('{targetTime: "2024-05-01T12:30:00Z", targetLSN: 0/3000060}'))).toEqual([
      'r.yaml:9:71  spec.bootstrap.recovery.recoveryTarget.targetLSN  recovery targets are mutually exclusive: targetLSN cannot be combined with targetTime',
    ]);
  });

  it.each([
    [
      '{targetLSN: "3000060"}',
      'targetLSN "3000060" is not an LSN: two hexadecimal numbers of up to 8 digits, such as 0/3000060',
    ],
    ['{targetLSN: 0/XYZ}', 'targetLSN "0/XYZ" is not an LSN'],
    [
      '{targetTime: "26/11/2020"}',
      'targetTime "26/11/2020" is not a timestamp: use RFC 3339 (2024-05-01T12:30:00Z) or PostgreSQL\'s format (2024-05-01 12:30:00.000000+00); no time zone means UTC',
    ],
    ['{targetTLI: "0"}', 'targetTLI "0" must be "latest" or a positive integer (a timeline ID)'],
    ['{targetTLI: current}', 'targetTLI "current" must be "latest" or a positive integer'],
    [
      '{targetXID: "4294967296", backupID: b1}',
      'targetXID "4294967296" must be a transaction ID: a non-negative 32-bit integer',
    ],
    ['{targetXID: "-1", backupID: b1}', 'must be a transaction ID'],
    [`{targetName: "${'x'.repeat(64)}", backupID: b1}`, 'targetName must be shorter than 64 bytes'],
    ['{targetName: "a\\nb", backupID: b1}', 'targetName must not contain control characters'],
    [
      '{targetImmediate: false, backupID: b1}',
      'targetImmediate can only be true (stop as soon as the backup is consistent); remove it to replay all the WAL',
    ],
    ['{targetTime: "2024-05-01", backupID: ../x}', 'backupID "../x" is not a backup ID'],
  ])('refuses %s', (target, message) => {
    const found = errors(withTarget(target));
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(message);
  });

  it('refuses an XID given as a number, asking to quote it', () => {
    expect(errors(withTarget('{targetXID: 1234, backupID: b1}'))[0]).toContain(
      'must be a string, quote it: "1234"',
    );
  });

  it.each(['targetXID: "1234"', 'targetName: before-upgrade', 'targetImmediate: true'])(
    'needs backupID with %s, from an external cluster or from a Backup (CNPG)',
    (target) => {
      const field = target.split(':')[0];
      expect(errors(withTarget(`{${target}}`))).toEqual([
        `r.yaml:9:7  spec.bootstrap.recovery.recoveryTarget.backupID  backupID is required with ${field}: the base backup to start from can only be chosen by itself for targetTime and targetLSN`,
      ]);
      const fromBackup = cluster(
        ['    recovery:', '      backup: {name: nightly}', `      recoveryTarget: {${target}}`],
        [],
      );
      expect(errors(fromBackup)[0]).toContain(`backupID is required with ${field}`);
    },
  );
});
