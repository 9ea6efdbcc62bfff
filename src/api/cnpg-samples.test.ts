import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CNPG_SAMPLES, HAVE_CNPG_SAMPLES } from '../../test/harness/samples.ts';
import { loadManifests } from './load-manifests.ts';
import { formatIssue } from './manifest-issue.ts';

/** The CNPG documentation samples, the compatibility target (skipped when not beside the project). */
const SAMPLES = CNPG_SAMPLES;

function load(file: string) {
  return loadManifests(readFileSync(join(SAMPLES, file), 'utf8'), file);
}

/**
 * Samples that use only implemented fields: they must load with no error, giving these kinds,
 * with a warning for each of `warnings` (fields pgherd ignores) and no other.
 */
const ACCEPTED: Record<string, { kinds: string[]; warnings?: string[] }> = {
  'cluster-example.yaml': { kinds: ['Cluster'] },
  'cluster-example-initdb.yaml': { kinds: ['Cluster'] },
  'cluster-example-pg-hba.yaml': { kinds: ['Cluster'] },
  'cluster-example-syncreplicas-quorum.yaml': { kinds: ['Cluster'] },
  'cluster-example-with-backup.yaml': {
    kinds: ['Cluster'],
    warnings: ['spec.storage.storageClass', 'spec.backup.barmanObjectStore.data.additionalCommandArgs'],
  },
  'backup-example.yaml': { kinds: ['Backup'] },
  'scheduled-backup-example.yaml': { kinds: ['ScheduledBackup'] },
  'cluster-restore.yaml': { kinds: ['Cluster'] },
  'cluster-restore-pitr.yaml': { kinds: ['Cluster'] },
};

/** The others, with every error they must produce (formatted), naming what is not implemented. */
const REFUSED: Record<string, string[]> = {
  'database-example.yaml': [
    'database-example.yaml:2:7  kind  kind Database is not implemented yet by pgherd',
  ],
  'pooler-basic-auth.yaml': [
    'pooler-basic-auth.yaml:2:7  kind  kind Pooler is not implemented yet by pgherd',
  ],
  'cluster-example-full.yaml': [
    "cluster-example-full.yaml:88:9  spec.backup.barmanObjectStore.wal.encryption  spec.backup.barmanObjectStore.wal.encryption is not implemented yet by pgherd; leave it unset: the bucket's default encryption applies",
    "cluster-example-full.yaml:91:9  spec.backup.barmanObjectStore.data.encryption  spec.backup.barmanObjectStore.data.encryption is not implemented yet by pgherd; leave it unset: the bucket's default encryption applies",
  ],
  'cluster-example-with-roles.yaml': [
    'cluster-example-with-roles.yaml:10:3  spec.managed  spec.managed is not implemented yet by pgherd',
  ],
  'cluster-example-logical-source.yaml': [
    'cluster-example-logical-source.yaml:2:7  kind  kind DatabaseRole is not implemented yet by pgherd',
    'cluster-example-logical-source.yaml:50:7  kind  kind Publication is not implemented yet by pgherd',
  ],
  'cluster-replica-async.yaml': [
    'cluster-replica-async.yaml:12:3  spec.replica  spec.replica is not implemented yet by pgherd',
  ],
  'cluster-replica-restore.yaml': [
    'cluster-replica-restore.yaml:12:3  spec.replica  spec.replica is not implemented yet by pgherd',
    ...['connectionParameters:31:5', 'sslKey:36:5', 'sslCert:39:5', 'sslRootCert:42:5'].map((at) => {
      const [field, line, column] = at.split(':');
      const path = `spec.externalClusters[0].${field}`;
      return `cluster-replica-restore.yaml:${line}:${column}  ${path}  ${path} is not implemented yet by pgherd; pgherd reads an external cluster from its barmanObjectStore only, without connecting to it`;
    }),
  ],
};

describe.skipIf(!HAVE_CNPG_SAMPLES)('CNPG samples', () => {
  it('covers every sample in the folder', () => {
    const files = readdirSync(SAMPLES).filter((file) => file.endsWith('.yaml'));
    expect([...Object.keys(ACCEPTED), ...Object.keys(REFUSED)].sort()).toEqual(files.sort());
  });

  it.each(Object.entries(ACCEPTED))('loads %s with no error', (file, { kinds, warnings = [] }) => {
    const result = load(file);
    expect(result.errors.map(formatIssue)).toEqual([]);
    expect(result.warnings.map((w) => w.path)).toEqual(warnings);
    expect(result.resources.map((r) => r.kind)).toEqual(kinds);
  });

  it.each(Object.entries(REFUSED))('refuses %s naming what is not implemented', (file, errors) => {
    const result = load(file);
    expect(result.errors.map(formatIssue)).toEqual(errors);
    expect(result.errors.every((issue) => issue.code === 'PGHERD_API_NOT_IMPLEMENTED')).toBe(true);
  });

  it('reads cluster-example.yaml as CNPG would, with defaults', () => {
    const [cluster] = load('cluster-example.yaml').resources;
    expect(cluster?.kind === 'Cluster' && cluster.spec).toMatchObject({
      instances: 3,
      postgresql: {
        synchronous: { method: 'any', number: 1, dataDurability: 'required', failoverQuorum: false },
      },
      storage: { size: '1Gi' },
      bootstrap: { initdb: { database: 'app', owner: 'app' } },
    });
  });

  it('reads cluster-example-initdb.yaml with the owner and SQL it declares', () => {
    const [cluster] = load('cluster-example-initdb.yaml').resources;
    expect(cluster?.kind === 'Cluster' && cluster.spec.bootstrap.initdb).toMatchObject({
      database: 'appdb',
      owner: 'appuser',
      dataChecksums: true,
      encoding: 'UTF8',
      postInitTemplateSQL: ['create extension intarray'],
    });
  });

  it('reads the secrets and warns about the Kubernetes-only fields of cluster-example-full.yaml', () => {
    const result = load('cluster-example-full.yaml');
    expect(result.resources.map((r) => `${r.kind}/${r.metadata.name}`)).toEqual([
      'Secret/cluster-example-app-user',
      'Secret/cluster-example-superuser',
      'Secret/backup-creds',
    ]);
    expect(result.warnings.map((w) => w.path)).toEqual([
      'spec.storage.storageClass',
      'spec.resources',
      'spec.affinity',
      'spec.nodeMaintenanceWindow',
    ]);
    const [appUser] = result.resources;
    expect(appUser?.kind === 'Secret' && appUser.type).toBe('kubernetes.io/basic-auth');
  });

  it('accepts the cluster of cluster-example-full.yaml once the encryption settings are removed', () => {
    const text = readFileSync(join(SAMPLES, 'cluster-example-full.yaml'), 'utf8');
    expect(text.match(/\n {8}encryption: AES256/g)).toHaveLength(2);
    const result = loadManifests(
      text.replace(/\n {8}encryption: AES256/g, ''),
      'full-without-encryption.yaml',
    );
    expect(result.errors.map(formatIssue)).toEqual([]);
    const cluster = result.resources.find((r) => r.kind === 'Cluster');
    expect(cluster?.kind === 'Cluster' && cluster.spec.postgresql.parameters).toEqual({
      shared_buffers: '256MB',
      'pg_stat_statements.max': '10000',
      'pg_stat_statements.track': 'all',
      'auto_explain.log_min_duration': '10s',
    });
    expect(cluster?.kind === 'Cluster' && cluster.spec.backup).toEqual({
      barmanObjectStore: {
        destinationPath: 's3://cluster-example-full-backup/',
        endpointURL: 'http://custom-endpoint:1234',
        s3Credentials: {
          accessKeyId: { name: 'backup-creds', key: 'ACCESS_KEY_ID' },
          secretAccessKey: { name: 'backup-creds', key: 'ACCESS_SECRET_KEY' },
          inheritFromIAMRole: false,
        },
        wal: { compression: 'gzip', maxParallel: 1 },
        data: { compression: 'gzip', immediateCheckpoint: false, jobs: 2 },
      },
      retentionPolicy: '30d',
      target: 'prefer-standby',
    });
  });

  it('reads backup-example.yaml and scheduled-backup-example.yaml with CNPG defaults', () => {
    const [backup] = load('backup-example.yaml').resources;
    expect(backup?.kind === 'Backup' && backup.spec).toEqual({
      cluster: { name: 'pg-backup' },
      method: 'barmanObjectStore',
    });
    const [scheduled] = load('scheduled-backup-example.yaml').resources;
    expect(scheduled?.kind === 'ScheduledBackup' && scheduled.spec).toEqual({
      schedule: '0 0 0 * * *',
      backupOwnerReference: 'self',
      cluster: { name: 'pg-backup' },
      method: 'barmanObjectStore',
    });
  });

  it('reads the restore samples as recovery bootstraps, with no initdb', () => {
    const [restore] = load('cluster-restore.yaml').resources;
    expect(restore?.kind === 'Cluster' && restore.spec.bootstrap).toEqual({
      recovery: { backup: { name: 'backup-example' }, database: 'app', owner: 'app' },
    });
    const [pitr] = load('cluster-restore-pitr.yaml').resources;
    expect(pitr?.kind === 'Cluster' && pitr.spec.bootstrap).toEqual({
      recovery: {
        backup: { name: 'backup-example' },
        recoveryTarget: { targetTime: '2020-11-26 15:22:00.00000+00' },
        database: 'app',
        owner: 'app',
      },
    });
  });
});
