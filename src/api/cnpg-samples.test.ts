import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadManifests } from './load-manifests.ts';
import { formatIssue } from './manifest-issue.ts';

/** The CNPG documentation samples, the compatibility target (relative to the project root). */
const SAMPLES = join(process.cwd(), '..', 'shared', 'cnpg-samples');

function load(file: string) {
  return loadManifests(readFileSync(join(SAMPLES, file), 'utf8'), file);
}

/** Samples that use only implemented fields: they must load with no error at all. */
const ACCEPTED = [
  'cluster-example.yaml',
  'cluster-example-initdb.yaml',
  'cluster-example-pg-hba.yaml',
  'cluster-example-syncreplicas-quorum.yaml',
];

/** The others, with every error they must produce (formatted), naming what is not implemented. */
const REFUSED: Record<string, string[]> = {
  'backup-example.yaml': ['backup-example.yaml:2:7  kind  kind Backup is not implemented yet by pgherd'],
  'scheduled-backup-example.yaml': [
    'scheduled-backup-example.yaml:2:7  kind  kind ScheduledBackup is not implemented yet by pgherd',
  ],
  'database-example.yaml': [
    'database-example.yaml:2:7  kind  kind Database is not implemented yet by pgherd',
  ],
  'pooler-basic-auth.yaml': [
    'pooler-basic-auth.yaml:2:7  kind  kind Pooler is not implemented yet by pgherd',
  ],
  'cluster-example-full.yaml': [
    'cluster-example-full.yaml:75:3  spec.backup  spec.backup is not implemented yet by pgherd',
  ],
  'cluster-example-with-backup.yaml': [
    'cluster-example-with-backup.yaml:16:3  spec.backup  spec.backup is not implemented yet by pgherd',
  ],
  'cluster-example-with-roles.yaml': [
    'cluster-example-with-roles.yaml:10:3  spec.managed  spec.managed is not implemented yet by pgherd',
  ],
  'cluster-example-logical-source.yaml': [
    'cluster-example-logical-source.yaml:2:7  kind  kind DatabaseRole is not implemented yet by pgherd',
    'cluster-example-logical-source.yaml:50:7  kind  kind Publication is not implemented yet by pgherd',
  ],
  'cluster-replica-async.yaml': [
    'cluster-replica-async.yaml:9:5  spec.bootstrap.recovery  spec.bootstrap.recovery is not implemented yet by pgherd',
    'cluster-replica-async.yaml:12:3  spec.replica  spec.replica is not implemented yet by pgherd',
    'cluster-replica-async.yaml:19:3  spec.externalClusters  spec.externalClusters is not implemented yet by pgherd',
  ],
  'cluster-replica-restore.yaml': [
    'cluster-replica-restore.yaml:9:5  spec.bootstrap.recovery  spec.bootstrap.recovery is not implemented yet by pgherd',
    'cluster-replica-restore.yaml:12:3  spec.replica  spec.replica is not implemented yet by pgherd',
    'cluster-replica-restore.yaml:19:3  spec.externalClusters  spec.externalClusters is not implemented yet by pgherd',
  ],
  'cluster-restore.yaml': [
    'cluster-restore.yaml:12:5  spec.bootstrap.recovery  spec.bootstrap.recovery is not implemented yet by pgherd',
  ],
  'cluster-restore-pitr.yaml': [
    'cluster-restore-pitr.yaml:12:5  spec.bootstrap.recovery  spec.bootstrap.recovery is not implemented yet by pgherd',
  ],
};

describe('CNPG samples', () => {
  it('covers every sample in the folder', () => {
    const files = readdirSync(SAMPLES).filter((file) => file.endsWith('.yaml'));
    expect([...ACCEPTED, ...Object.keys(REFUSED)].sort()).toEqual(files.sort());
  });

  it.each(ACCEPTED)('loads %s with no error', (file) => {
    const result = load(file);
    expect(result.errors.map(formatIssue)).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(result.resources.map((r) => r.kind)).toEqual(['Cluster']);
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

  it('accepts the cluster of cluster-example-full.yaml once spec.backup is removed', () => {
    const text = readFileSync(join(SAMPLES, 'cluster-example-full.yaml'), 'utf8');
    const start = text.indexOf('\n  backup:\n');
    const end = text.indexOf('\n  resources:\n');
    expect(start).toBeGreaterThan(0);
    expect(end).toBeGreaterThan(start);
    const result = loadManifests(text.slice(0, start) + text.slice(end), 'full-without-backup.yaml');
    expect(result.errors.map(formatIssue)).toEqual([]);
    const cluster = result.resources.find((r) => r.kind === 'Cluster');
    expect(cluster?.kind === 'Cluster' && cluster.spec.postgresql.parameters).toEqual({
      shared_buffers: '256MB',
      'pg_stat_statements.max': '10000',
      'pg_stat_statements.track': 'all',
      'auto_explain.log_min_duration': '10s',
    });
  });
});
