import { describe, expect, it } from 'vitest';
import { loadManifests } from './load-manifests.ts';
import { formatIssue } from './manifest-issue.ts';
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
});
