import { describe, expect, it } from 'vitest';
import type { ClusterResource } from '../cluster/cluster-resource.ts';
import { loadManifests } from '../load-manifests.ts';
import { formatIssue } from '../manifest-issue.ts';
import { checkDestinationPath, destinationKind } from './barman-object-store.ts';

/** A Cluster whose spec.backup section is `backup` (lines indented for that section). */
function withBackup(backup: string[]): string {
  return [
    'apiVersion: postgresql.cnpg.io/v1',
    'kind: Cluster',
    'metadata: {name: c}',
    'spec:',
    '  storage: {size: 1Gi}',
    '  backup:',
    ...backup,
    '',
  ].join('\n');
}

function loadCluster(text: string): ClusterResource {
  const result = loadManifests(text, 'b.yaml');
  expect(result.errors.map(formatIssue)).toEqual([]);
  const [cluster] = result.resources;
  if (cluster?.kind !== 'Cluster') throw new Error('expected a Cluster');
  return cluster;
}

function errors(text: string): string[] {
  return loadManifests(text, 'b.yaml').errors.map(formatIssue);
}

const S3_KEYS = [
  '      s3Credentials:',
  '        accessKeyId: {name: minio, key: ACCESS_KEY_ID}',
  '        secretAccessKey: {name: minio, key: ACCESS_SECRET_KEY}',
];

describe('destinationPath', () => {
  it.each([
    ['s3://backups', 's3'],
    ['s3://backups/', 's3'],
    ['s3://my.bucket-1/clusters/prod', 's3'],
    ['file:///var/backups', 'file'],
    ['file:///', 'file'],
  ])('accepts %s', (path, kind) => {
    expect(checkDestinationPath(path)).toBeUndefined();
    expect(destinationKind(path)).toBe(kind);
  });

  it.each([
    ['s3://Backups/x', '"Backups" is not a valid S3 bucket name'],
    ['s3://ab', '"ab" is not a valid S3 bucket name'],
    ['file://relative/path', 'is neither s3://BUCKET/PATH nor file:///ABSOLUTE/PATH'],
    ['file:///var/../etc', 'the path must not contain ".."'],
    ['/var/backups', 'is neither s3://BUCKET/PATH nor file:///ABSOLUTE/PATH'],
    [
      'https://account.blob.core.windows.net/container',
      'only s3://BUCKET/PATH (any S3-compatible store) and file:///ABSOLUTE/PATH are implemented by pgherd',
    ],
    ['gs://bucket/path', 'not Azure Blob Storage or Google Cloud Storage'],
    ['s3://bucket/a\nb', 'must not contain line breaks'],
  ])('refuses %j', (path, message) => {
    expect(checkDestinationPath(path)).toContain(message);
  });

  it('is required, and checked in the manifest', () => {
    expect(errors(withBackup(['    barmanObjectStore:', ...S3_KEYS]))).toEqual([
      'b.yaml:7:5  spec.backup.barmanObjectStore.destinationPath  missing required field "destinationPath"',
    ]);
    expect(errors(withBackup(['    barmanObjectStore:', '      destinationPath: file://x']))).toEqual([
      'b.yaml:8:24  spec.backup.barmanObjectStore.destinationPath  destinationPath "file://x" is neither s3://BUCKET/PATH nor file:///ABSOLUTE/PATH',
    ]);
  });
});

describe('spec.backup', () => {
  it("reads CNPG's sample with its defaults", () => {
    const cluster = loadCluster(
      withBackup([
        '    barmanObjectStore:',
        '      destinationPath: s3://backups/',
        '      endpointURL: http://minio:9000',
        ...S3_KEYS,
        '      wal: {compression: lz4, maxParallel: 4}',
        '    retentionPolicy: 4w',
      ]),
    );
    expect(cluster.spec.backup).toEqual({
      barmanObjectStore: {
        destinationPath: 's3://backups/',
        endpointURL: 'http://minio:9000',
        s3Credentials: {
          accessKeyId: { name: 'minio', key: 'ACCESS_KEY_ID' },
          secretAccessKey: { name: 'minio', key: 'ACCESS_SECRET_KEY' },
          inheritFromIAMRole: false,
        },
        wal: { compression: 'lz4', maxParallel: 4 },
        data: { jobs: 2, immediateCheckpoint: false },
      },
      retentionPolicy: '4w',
      target: 'prefer-standby',
    });
  });

  it('accepts a file:// destination with no credentials, and the primary as target', () => {
    const cluster = loadCluster(
      withBackup([
        '    target: primary',
        '    barmanObjectStore:',
        '      destinationPath: file:///srv/backups',
        '      serverName: old-name',
        '      data: {compression: gzip, jobs: 4, immediateCheckpoint: true}',
      ]),
    );
    expect(cluster.spec.backup?.target).toBe('primary');
    expect(cluster.spec.backup?.barmanObjectStore).toEqual({
      destinationPath: 'file:///srv/backups',
      serverName: 'old-name',
      wal: { maxParallel: 1 },
      data: { compression: 'gzip', jobs: 4, immediateCheckpoint: true },
    });
  });

  it('accepts a backup section with no object store (CNPG does too)', () => {
    expect(loadCluster(withBackup(['    retentionPolicy: 30d'])).spec.backup).toEqual({
      retentionPolicy: '30d',
      target: 'prefer-standby',
    });
  });

  it('refuses the compressions pgherd does not implement, naming the ones it does', () => {
    expect(
      errors(
        withBackup([
          '    barmanObjectStore:',
          '      destinationPath: file:///srv/backups',
          '      wal: {compression: zstd}',
          '      data: {compression: snappy}',
        ]),
      ),
    ).toEqual([
      'b.yaml:9:26  spec.backup.barmanObjectStore.wal.compression  compression "zstd" is not implemented yet by pgherd; use gzip or lz4, or leave compression unset to store files uncompressed',
      'b.yaml:10:27  spec.backup.barmanObjectStore.data.compression  compression "snappy" is not implemented yet by pgherd; use gzip or lz4, or leave compression unset to store files uncompressed',
    ]);
  });

  it("refuses compressions CNPG does not know, with CNPG's list (xz is for WAL only)", () => {
    const result = loadManifests(
      withBackup([
        '    barmanObjectStore:',
        '      destinationPath: file:///srv/backups',
        '      data: {compression: xz}',
      ]),
      'b.yaml',
    );
    expect(result.errors.map((e) => [e.path, e.code, e.message])).toEqual([
      [
        'spec.backup.barmanObjectStore.data.compression',
        'PGHERD_API_ENUM',
        'must be one of "bzip2", "gzip", "lz4", "snappy", got "xz"',
      ],
    ]);
  });

  it('refuses encryption and Azure or Google credentials as not implemented', () => {
    expect(
      errors(
        withBackup([
          '    barmanObjectStore:',
          '      destinationPath: s3://backups',
          '      azureCredentials: {inheritFromAzureAD: true}',
          '      wal: {encryption: AES256}',
        ]),
      ),
    ).toEqual([
      'b.yaml:9:7  spec.backup.barmanObjectStore.azureCredentials  spec.backup.barmanObjectStore.azureCredentials is not implemented yet by pgherd; pgherd implements S3-compatible object stores (s3Credentials) and file:// directories',
      "b.yaml:10:13  spec.backup.barmanObjectStore.wal.encryption  spec.backup.barmanObjectStore.wal.encryption is not implemented yet by pgherd; leave it unset: the bucket's default encryption applies",
    ]);
  });

  it('refuses volume snapshot backups as not implemented', () => {
    expect(errors(withBackup(['    volumeSnapshot: {className: csi}']))).toEqual([
      'b.yaml:7:5  spec.backup.volumeSnapshot  spec.backup.volumeSnapshot is not implemented yet by pgherd; pgherd takes base backups to spec.backup.barmanObjectStore',
    ]);
  });

  it('checks maxParallel and jobs as CNPG does (at least 1)', () => {
    const result = loadManifests(
      withBackup([
        '    barmanObjectStore:',
        '      destinationPath: file:///srv/backups',
        '      wal: {maxParallel: 0}',
        '      data: {jobs: 0}',
      ]),
      'b.yaml',
    );
    expect(result.errors.map((e) => `${e.path} ${e.code} ${e.message}`)).toEqual([
      'spec.backup.barmanObjectStore.wal.maxParallel PGHERD_API_RANGE must be at least 1 (got 0)',
      'spec.backup.barmanObjectStore.data.jobs PGHERD_API_RANGE must be at least 1 (got 0)',
    ]);
  });

  it.each(['30', '0d', '30y', '1.5w', '30 d'])(
    'refuses the retention policy %j with a clear message',
    (policy) => {
      expect(errors(withBackup([`    retentionPolicy: "${policy}"`]))).toEqual([
        `b.yaml:7:22  spec.backup.retentionPolicy  retentionPolicy ${JSON.stringify(policy)} is not valid: a positive number followed by d (days), w (weeks) or m (months), such as 30d`,
      ]);
    },
  );

  it('refuses a target CNPG does not know', () => {
    const result = loadManifests(withBackup(['    target: standby']), 'b.yaml');
    expect(result.errors.map((e) => e.message)).toEqual([
      'must be one of "primary", "prefer-standby", got "standby"',
    ]);
  });

  it('checks endpointURL and serverName', () => {
    expect(
      errors(
        withBackup([
          '    barmanObjectStore:',
          '      destinationPath: s3://backups',
          '      endpointURL: minio:9000',
          '      serverName: ../other',
          '      s3Credentials: {inheritFromIAMRole: true}',
        ]),
      ),
    ).toEqual([
      'b.yaml:9:20  spec.backup.barmanObjectStore.endpointURL  endpointURL must be an http:// or https:// URL, got "minio:9000"',
      'b.yaml:10:19  spec.backup.barmanObjectStore.serverName  serverName is a folder name in the object store: it cannot contain "/" or "\\" or be "." or ".."',
    ]);
    expect(
      errors(
        withBackup([
          '    barmanObjectStore:',
          '      destinationPath: s3://backups',
          '      endpointURL: https://key:secret@minio:9000',
          '      s3Credentials: {inheritFromIAMRole: true}',
        ]),
      ),
    ).toEqual([
      'b.yaml:9:20  spec.backup.barmanObjectStore.endpointURL  endpointURL must not contain credentials: put them in s3Credentials',
    ]);
  });
});

describe('s3Credentials', () => {
  it('accepts keys with a region and a session token, or inheritFromIAMRole', () => {
    const keys = loadCluster(
      withBackup([
        '    barmanObjectStore:',
        '      destinationPath: s3://backups',
        ...S3_KEYS,
        '        region: {name: minio, key: REGION}',
        '        sessionToken: {name: minio, key: TOKEN}',
      ]),
    );
    expect(keys.spec.backup?.barmanObjectStore?.s3Credentials?.region).toEqual({
      name: 'minio',
      key: 'REGION',
    });
    const role = loadCluster(
      withBackup([
        '    barmanObjectStore:',
        '      destinationPath: s3://backups',
        '      s3Credentials: {inheritFromIAMRole: true}',
      ]),
    );
    expect(role.spec.backup?.barmanObjectStore?.s3Credentials).toEqual({ inheritFromIAMRole: true });
  });

  it('refuses half a key pair, no way to log in, and two ways at once', () => {
    const store = ['    barmanObjectStore:', '      destinationPath: s3://backups', '      s3Credentials:'];
    expect(errors(withBackup([...store, '        accessKeyId: {name: minio, key: ID}']))).toEqual([
      'b.yaml:9:7  spec.backup.barmanObjectStore.s3Credentials.secretAccessKey  accessKeyId needs secretAccessKey too: S3 keys come in pairs',
    ]);
    expect(errors(withBackup([...store, '        secretAccessKey: {name: minio, key: KEY}']))).toEqual([
      'b.yaml:9:7  spec.backup.barmanObjectStore.s3Credentials.accessKeyId  secretAccessKey needs accessKeyId too: S3 keys come in pairs',
    ]);
    expect(errors(withBackup([...store, '        region: {name: minio, key: REGION}']))).toEqual([
      'b.yaml:9:7  spec.backup.barmanObjectStore.s3Credentials.accessKeyId  s3Credentials needs accessKeyId and secretAccessKey (secret references), or inheritFromIAMRole: true',
    ]);
    expect(
      errors(withBackup([...store.slice(0, 2), ...S3_KEYS, '        inheritFromIAMRole: true'])),
    ).toEqual([
      'b.yaml:12:29  spec.backup.barmanObjectStore.s3Credentials.inheritFromIAMRole  inheritFromIAMRole cannot be combined with accessKeyId and secretAccessKey: use one way to authenticate',
    ]);
  });

  it('checks secret key references', () => {
    expect(
      errors(
        withBackup([
          '    barmanObjectStore:',
          '      destinationPath: s3://backups',
          '      s3Credentials:',
          '        accessKeyId: {name: Minio, key: ID}',
          '        secretAccessKey: {name: minio}',
        ]),
      ),
    ).toEqual([
      'b.yaml:10:29  spec.backup.barmanObjectStore.s3Credentials.accessKeyId.name  must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit',
      'b.yaml:11:9  spec.backup.barmanObjectStore.s3Credentials.secretAccessKey.key  missing required field "key"',
    ]);
  });

  it('is required for an s3:// destination and refused for a file:// one', () => {
    expect(errors(withBackup(['    barmanObjectStore:', '      destinationPath: s3://backups']))).toEqual([
      'b.yaml:7:5  spec.backup.barmanObjectStore.s3Credentials  an s3:// destinationPath needs s3Credentials: accessKeyId and secretAccessKey, or inheritFromIAMRole: true',
    ]);
    expect(
      errors(
        withBackup([
          '    barmanObjectStore:',
          '      destinationPath: file:///srv/backups',
          '      endpointURL: http://minio:9000',
          '      endpointCA: {name: ca, key: ca.crt}',
          ...S3_KEYS,
        ]),
      ),
    ).toEqual([
      'b.yaml:9:20  spec.backup.barmanObjectStore.endpointURL  endpointURL only applies to s3:// destinations; a file:// destinationPath is a local directory',
      'b.yaml:10:19  spec.backup.barmanObjectStore.endpointCA  endpointCA only applies to s3:// destinations; a file:// destinationPath is a local directory',
      'b.yaml:12:9  spec.backup.barmanObjectStore.s3Credentials  s3Credentials only applies to s3:// destinations; a file:// destinationPath is a local directory',
    ]);
  });
});

describe('ignored barman-cloud settings', () => {
  it('are accepted with a warning each, in spec.backup and in externalClusters', () => {
    const result = loadManifests(
      [
        'apiVersion: postgresql.cnpg.io/v1',
        'kind: Cluster',
        'metadata: {name: c}',
        'spec:',
        '  storage: {size: 1Gi}',
        '  backup:',
        '    barmanObjectStore:',
        '      destinationPath: file:///srv/backups',
        '      tags: {env: prod}',
        '      historyTags: {env: prod}',
        '      wal:',
        '        archiveAdditionalCommandArgs: [--read-timeout=60]',
        '        restoreAdditionalCommandArgs: [-vv]',
        '      data:',
        '        additionalCommandArgs: [--min-chunk-size=5MB]',
        '        restoreAdditionalCommandArgs: [-vv]',
        '  externalClusters:',
        '    - name: one',
        '      barmanObjectStore: {destinationPath: file:///srv/one}',
        '    - name: two',
        '      barmanObjectStore:',
        '        destinationPath: file:///srv/two',
        '        wal: {restoreAdditionalCommandArgs: [-vv]}',
        '',
      ].join('\n'),
      'w.yaml',
    );
    expect(result.errors).toEqual([]);
    expect(result.resources).toHaveLength(1);
    expect(result.warnings.map((w) => `${w.line}:${w.column} ${w.path}`)).toEqual([
      '9:7 spec.backup.barmanObjectStore.tags',
      '10:7 spec.backup.barmanObjectStore.historyTags',
      '12:9 spec.backup.barmanObjectStore.wal.archiveAdditionalCommandArgs',
      '13:9 spec.backup.barmanObjectStore.wal.restoreAdditionalCommandArgs',
      '15:9 spec.backup.barmanObjectStore.data.additionalCommandArgs',
      '16:9 spec.backup.barmanObjectStore.data.restoreAdditionalCommandArgs',
      '23:15 spec.externalClusters[1].barmanObjectStore.wal.restoreAdditionalCommandArgs',
    ]);
    expect(result.warnings[2]?.message).toBe(
      'spec.backup.barmanObjectStore.wal.archiveAdditionalCommandArgs is ignored by pgherd (barman-cloud-wal-archive command-line arguments; pgherd archives WAL itself, without barman-cloud)',
    );
    expect(result.warnings[0]?.message).toBe(
      'spec.backup.barmanObjectStore.tags is ignored by pgherd (object tags barman-cloud sets on uploads; pgherd does not tag objects)',
    );
  });
});
