import { describe, expect, it } from 'vitest';
import type { ClusterResource } from './cluster/cluster-resource.ts';
import { loadManifests } from './load-manifests.ts';
import { formatIssue } from './manifest-issue.ts';
import type { SecretResource } from './secret/secret-resource.ts';
import type { UserResource } from './user-resource.ts';
import { validateReferences } from './validate-references.ts';

const CLUSTER = [
  'apiVersion: postgresql.cnpg.io/v1',
  'kind: Cluster',
  'metadata:',
  '  name: c',
  'spec:',
  '  storage: {size: 1Gi}',
  '  enableSuperuserAccess: true',
  '  superuserSecret:',
  '    name: su',
  '  bootstrap:',
  '    initdb:',
  '      secret:',
  '        name: app-user',
].join('\n');

function secret(name: string, type: string | undefined, data: string): string {
  return [
    '---',
    'apiVersion: v1',
    'kind: Secret',
    `metadata: {name: ${name}}`,
    ...(type ? [`type: ${type}`] : []),
    data,
  ].join('\n');
}

function load(text: string): UserResource[] {
  const result = loadManifests(`${text}\n`, 'refs.yaml');
  expect(result.errors).toEqual([]);
  return result.resources;
}

describe('validateReferences', () => {
  it('accepts secrets applied together with the cluster', () => {
    const resources = load(
      [
        CLUSTER,
        secret('app-user', 'kubernetes.io/basic-auth', 'stringData: {username: app, password: s3cret}'),
        secret('su', 'kubernetes.io/basic-auth', 'data: {username: cG9zdGdyZXM=, password: c2VjcmV0}'),
      ].join('\n'),
    );
    expect(validateReferences(resources, new Set())).toEqual([]);
  });

  it('refuses an application secret whose username is not the owner, applied or stored', () => {
    const resources = load(
      [
        CLUSTER,
        secret('app-user', 'kubernetes.io/basic-auth', 'stringData: {username: someone, password: s3cret}'),
        secret('su', 'kubernetes.io/basic-auth', 'data: {username: cG9zdGdyZXM=, password: c2VjcmV0}'),
      ].join('\n'),
    );
    expect(validateReferences(resources, new Set()).map(formatIssue)).toEqual([
      'refs.yaml:13:15  spec.bootstrap.initdb.secret.name  secret "app-user" has username "someone", but bootstrap.initdb.owner is "app"; they must be the same',
    ]);
    const clusterOnly = resources.filter((r) => r.kind === 'Cluster');
    const stored = new Map(
      resources.filter((r) => r.kind === 'Secret').map((r) => [`default/${r.metadata.name}`, r] as const),
    );
    expect(validateReferences(clusterOnly, stored as never).map((i) => i.code)).toEqual([
      'PGHERD_API_SECRET_KEYS',
    ]);
  });

  it('checks the certificate secrets: companions, keys, and the CA key pgherd signs with', () => {
    const base = [
      'apiVersion: postgresql.cnpg.io/v1',
      'kind: Cluster',
      'metadata:',
      '  name: c',
      'spec:',
      '  storage: {size: 1Gi}',
      '  certificates:',
      '    serverTLSSecret: srv',
      '    clientCASecret: cca',
    ].join('\n');
    const resources = load(
      [
        base,
        secret('srv', 'kubernetes.io/tls', 'stringData: {tls.crt: C, tls.key: K}'),
        secret('cca', undefined, 'stringData: {ca.crt: C}'),
      ].join('\n'),
    );
    expect(validateReferences(resources, new Set()).map(formatIssue)).toEqual([
      'refs.yaml:8:22  spec.certificates.serverTLSSecret  certificates.serverTLSSecret needs certificates.serverCASecret: the secret of the CA that signed it (key ca.crt)',
      'refs.yaml:9:21  spec.certificates.clientCASecret  secret "cca" lacks a non-empty ca.key (it should hold the CA that verifies client certificates)',
    ]);
  });

  it('accepts secrets that already exist, by name or namespace/name', () => {
    const resources = load(CLUSTER);
    expect(validateReferences(resources, new Set(['app-user', 'default/su']))).toEqual([]);
  });

  it('reports a missing secret at the referencing field', () => {
    const resources = load(CLUSTER);
    expect(validateReferences(resources, new Set(['app-user'])).map(formatIssue)).toEqual([
      'refs.yaml:9:11  spec.superuserSecret.name  secret "su" not found in namespace "default": it should hold the postgres superuser credentials (type kubernetes.io/basic-auth, keys username and password)',
    ]);
  });

  it('looks for the secret in the cluster namespace only', () => {
    const text = CLUSTER.replace('  name: c', '  name: c\n  namespace: prod');
    const resources = load(
      [text, secret('app-user', 'kubernetes.io/basic-auth', 'stringData: {username: a, password: b}')].join(
        '\n',
      ),
    );
    const issues = validateReferences(resources, new Set(['su']));
    expect(issues.map((i) => `${i.line}:${i.column} ${i.path} ${i.code}`)).toEqual([
      '14:15 spec.bootstrap.initdb.secret.name PGHERD_API_SECRET_NOT_FOUND',
    ]);
    expect(issues[0]?.message).toContain('namespace "prod"');
  });

  it('reports a secret of the wrong type, and one without a password', () => {
    const resources = load(
      [
        CLUSTER,
        secret('app-user', undefined, 'stringData: {username: app, password: s3cret}'),
        secret('su', 'kubernetes.io/basic-auth', 'stringData: {username: postgres, password: ""}'),
      ].join('\n'),
    );
    const issues = validateReferences(resources, new Set());
    expect(issues.map((i) => `${i.line}:${i.column} ${i.path} ${i.code}`)).toEqual([
      '9:11 spec.superuserSecret.name PGHERD_API_SECRET_KEYS',
      '13:15 spec.bootstrap.initdb.secret.name PGHERD_API_SECRET_TYPE',
    ]);
    expect(issues[0]?.message).toBe(
      'secret "su" lacks a non-empty password (it should hold the postgres superuser credentials)',
    );
    expect(issues[1]?.message).toBe(
      'secret "app-user" has type Opaque, but the credentials of the application owner "app" need type kubernetes.io/basic-auth',
    );
  });

  it('reports by resource name when the cluster did not come from a file', () => {
    const [cluster] = load(CLUSTER);
    if (cluster === undefined) throw new Error('expected a cluster');
    const copy = structuredClone(cluster);
    expect(validateReferences([copy], new Set(['su'])).map(formatIssue)).toEqual([
      'Cluster default/c  spec.bootstrap.initdb.secret.name  secret "app-user" not found in namespace "default": it should hold the credentials of the application owner "app" (type kubernetes.io/basic-auth, keys username and password)',
    ]);
  });

  it('has nothing to check for a cluster without secret references', () => {
    const resources = load(
      'apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: c}\nspec: {storage: {size: 1Gi}}',
    );
    expect(validateReferences(resources, new Set())).toEqual([]);
  });
  it('checks the secrets of object stores: present, holding the named key', () => {
    const resources = load(
      [
        'apiVersion: postgresql.cnpg.io/v1',
        'kind: Cluster',
        'metadata: {name: c}',
        'spec:',
        '  storage: {size: 1Gi}',
        '  backup:',
        '    barmanObjectStore:',
        '      destinationPath: s3://backups',
        '      endpointCA: {name: minio-ca, key: ca.crt}',
        '      s3Credentials:',
        '        accessKeyId: {name: minio, key: ACCESS_KEY_ID}',
        '        secretAccessKey: {name: minio, key: ACCESS_SECRET_KEY}',
        '  externalClusters:',
        '    - name: origin',
        '      barmanObjectStore:',
        '        destinationPath: s3://old-backups',
        '        s3Credentials:',
        '          accessKeyId: {name: old, key: ID}',
        '          secretAccessKey: {name: old, key: KEY}',
        '          region: {name: old, key: REGION}',
        secret('minio', undefined, 'stringData: {ACCESS_KEY_ID: id, ACCESS_SECRET_KEY: ""}'),
      ].join('\n'),
    );
    expect(validateReferences(resources, new Set(['old'])).map(formatIssue)).toEqual([
      'refs.yaml:9:26  spec.backup.barmanObjectStore.endpointCA.name  secret "minio-ca" not found in namespace "default": it should hold the CA bundle of the S3 endpoint of spec.backup.barmanObjectStore (key ca.crt)',
      'refs.yaml:12:33  spec.backup.barmanObjectStore.s3Credentials.secretAccessKey.name  secret "minio" lacks a non-empty ACCESS_SECRET_KEY (it should hold the S3 secret access key of spec.backup.barmanObjectStore)',
    ]);
    const stored = new Map([
      [
        'default/old',
        {
          ...(resources[1] as SecretResource),
          metadata: { name: 'old', namespace: 'default' },
          data: { ID: 'aWQ=', KEY: 'a2V5' },
        },
      ],
    ]);
    expect(validateReferences(resources, stored as never).map((i) => `${i.path} ${i.code}`)).toEqual([
      'spec.backup.barmanObjectStore.endpointCA.name PGHERD_API_SECRET_NOT_FOUND',
      'spec.backup.barmanObjectStore.s3Credentials.secretAccessKey.name PGHERD_API_SECRET_KEYS',
      'spec.externalClusters[0].barmanObjectStore.s3Credentials.region.name PGHERD_API_SECRET_KEYS',
    ]);
  });

  it('checks the application secret of a recovery bootstrap against its owner', () => {
    const resources = load(
      [
        'apiVersion: postgresql.cnpg.io/v1',
        'kind: Cluster',
        'metadata: {name: c}',
        'spec:',
        '  storage: {size: 1Gi}',
        '  bootstrap:',
        '    recovery:',
        '      backup: {name: nightly, endpointCA: {name: minio-ca, key: ca.crt}}',
        '      database: shop',
        '      secret: {name: shop-owner}',
        secret('shop-owner', 'kubernetes.io/basic-auth', 'stringData: {username: app, password: s3cret}'),
      ].join('\n'),
    );
    expect(validateReferences(resources, new Set(['minio-ca'])).map(formatIssue)).toEqual([
      'refs.yaml:10:22  spec.bootstrap.recovery.secret.name  secret "shop-owner" has username "app", but bootstrap.recovery.owner is "shop"; they must be the same',
    ]);
    expect(validateReferences(resources, new Set()).map((i) => `${i.path} ${i.code}`)).toEqual([
      'spec.bootstrap.recovery.backup.endpointCA.name PGHERD_API_SECRET_NOT_FOUND',
      'spec.bootstrap.recovery.secret.name PGHERD_API_SECRET_KEYS',
    ]);
  });

  it('refuses a Backup or ScheduledBackup of a known cluster without an object store', () => {
    const backups = [
      '---',
      'apiVersion: postgresql.cnpg.io/v1',
      'kind: Backup',
      'metadata: {name: b}',
      'spec: {cluster: {name: c}}',
      '---',
      'apiVersion: postgresql.cnpg.io/v1',
      'kind: ScheduledBackup',
      'metadata: {name: s}',
      'spec: {schedule: "0 0 0 * * *", cluster: {name: c}}',
    ];
    const plain =
      'apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: c}\nspec: {storage: {size: 1Gi}}';
    const applied = load([plain, ...backups].join('\n'));
    expect(validateReferences(applied, new Set()).map(formatIssue)).toEqual([
      'refs.yaml:9:24  spec.cluster.name  cluster "c" has no spec.backup.barmanObjectStore, so a Backup has nowhere to store its backups; configure the cluster\'s object store first',
      'refs.yaml:14:49  spec.cluster.name  cluster "c" has no spec.backup.barmanObjectStore, so a ScheduledBackup has nowhere to store its backups; configure the cluster\'s object store first',
    ]);
    expect(
      validateReferences(applied, new Set()).every((i) => i.code === 'PGHERD_API_BACKUP_NOT_CONFIGURED'),
    ).toBe(true);

    // The cluster stored already: the same; with an object store, or unknown: accepted.
    const onlyBackups = load(backups.slice(1).join('\n'));
    const [stored] = load(plain);
    const storedClusters = new Map([['default/c', stored as ClusterResource]]);
    expect(validateReferences(onlyBackups, new Set(), storedClusters).map((i) => i.code)).toEqual([
      'PGHERD_API_BACKUP_NOT_CONFIGURED',
      'PGHERD_API_BACKUP_NOT_CONFIGURED',
    ]);
    expect(validateReferences(onlyBackups, new Set())).toEqual([]);
    const [withStore] = load(
      'apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: c}\nspec: {storage: {size: 1Gi}, backup: {barmanObjectStore: {destinationPath: file:///srv/b}}}',
    );
    expect(
      validateReferences(onlyBackups, new Set(), new Map([['default/c', withStore as ClusterResource]])),
    ).toEqual([]);
    // What is applied wins over what is stored: the new spec is the one the backup will use.
    expect(
      validateReferences([withStore as ClusterResource, ...onlyBackups], new Set(), storedClusters),
    ).toEqual([]);
  });
});
