/**
 * Cross-resource checks at apply time: the Secrets a Cluster names must exist and hold
 * credentials CNPG can use, and a Backup or ScheduledBackup must name a cluster that has an
 * object store to back up to.
 */
import type { BarmanObjectStoreConfiguration, SecretKeySelector } from './backup/barman-object-store.ts';
import { applicationDatabase, bootstrapMethod } from './cluster/bootstrap-method.ts';
import type { ClusterResource } from './cluster/cluster-resource.ts';
import type { PathSegment } from './field-path.ts';
import { compareIssues, type ManifestIssue } from './manifest-issue.ts';
import { issueInResource } from './resource-sources.ts';
import { BASIC_AUTH_SECRET_TYPE, type SecretResource } from './secret/secret-resource.ts';
import type { UserResource } from './user-resource.ts';

/** A secret reference of a Cluster, and what it is used for. */
interface SecretReference {
  /** The username the secret must hold, when the reference fixes one. */
  username?: string;
  /** The secret type required, when one is (basic-auth for credentials). */
  type?: string;
  /** Keys that must hold a non-empty value. */
  keys: readonly string[];
  path: PathSegment[];
  name: string;
  use: string;
}

/** The credentials both references carry (CNPG's basic-auth secrets). */
const CREDENTIAL_KEYS = ['username', 'password'] as const;

/** The secret keys an object store names: S3 credentials and the endpoint's CA. */
function objectStoreReferences(
  store: BarmanObjectStoreConfiguration | undefined,
  path: PathSegment[],
  what: string,
): SecretReference[] {
  if (store === undefined) return [];
  const selectors: Array<[PathSegment[], SecretKeySelector | undefined, string]> = [
    [['s3Credentials', 'accessKeyId'], store.s3Credentials?.accessKeyId, 'the S3 access key ID'],
    [['s3Credentials', 'secretAccessKey'], store.s3Credentials?.secretAccessKey, 'the S3 secret access key'],
    [['s3Credentials', 'region'], store.s3Credentials?.region, 'the S3 region'],
    [['s3Credentials', 'sessionToken'], store.s3Credentials?.sessionToken, 'the S3 session token'],
    [['endpointCA'], store.endpointCA, 'the CA bundle of the S3 endpoint'],
  ];
  return selectors.flatMap(([at, selector, use]) =>
    selector === undefined ? [] : [selectorReference(selector, [...path, ...at], `${use} of ${what}`)],
  );
}

/** A reference to one key of a secret. */
function selectorReference(selector: SecretKeySelector, path: PathSegment[], use: string): SecretReference {
  return { path: [...path, 'name'], name: selector.name, use, keys: [selector.key] };
}

function secretReferences(cluster: ClusterResource): SecretReference[] {
  const references: SecretReference[] = [];
  const method = bootstrapMethod(cluster.spec);
  const app = applicationDatabase(cluster.spec);
  if (app.secret !== undefined) {
    references.push({
      path: ['spec', 'bootstrap', method, 'secret', 'name'],
      name: app.secret.name,
      use: `the credentials of the application owner "${app.owner}"`,
      username: app.owner,
      type: BASIC_AUTH_SECRET_TYPE,
      keys: CREDENTIAL_KEYS,
    });
  }
  const backupStore: PathSegment[] = ['spec', 'backup', 'barmanObjectStore'];
  references.push(
    ...objectStoreReferences(
      cluster.spec.backup?.barmanObjectStore,
      backupStore,
      'spec.backup.barmanObjectStore',
    ),
  );
  for (const [index, external] of (cluster.spec.externalClusters ?? []).entries()) {
    references.push(
      ...objectStoreReferences(
        external.barmanObjectStore,
        ['spec', 'externalClusters', index, 'barmanObjectStore'],
        `the object store of external cluster "${external.name}"`,
      ),
    );
  }
  const recoveryCa = cluster.spec.bootstrap.recovery?.backup?.endpointCA;
  if (recoveryCa !== undefined) {
    references.push(
      selectorReference(
        recoveryCa,
        ['spec', 'bootstrap', 'recovery', 'backup', 'endpointCA'],
        'the CA bundle of the S3 endpoint of the backup to recover',
      ),
    );
  }
  if (cluster.spec.superuserSecret !== undefined) {
    references.push({
      path: ['spec', 'superuserSecret', 'name'],
      name: cluster.spec.superuserSecret.name,
      use: 'the postgres superuser credentials',
      type: BASIC_AUTH_SECRET_TYPE,
      keys: CREDENTIAL_KEYS,
    });
  }
  // CNPG's certificates: a CA pgherd signs with must carry its key.
  const certs = cluster.spec.certificates;
  const certPath = (field: string): PathSegment[] => ['spec', 'certificates', field];
  if (certs?.serverCASecret !== undefined) {
    references.push({
      path: certPath('serverCASecret'),
      name: certs.serverCASecret,
      use: 'the CA of the server certificate',
      keys: certs.serverTLSSecret === undefined ? ['ca.crt', 'ca.key'] : ['ca.crt'],
    });
  }
  if (certs?.serverTLSSecret !== undefined) {
    references.push({
      path: certPath('serverTLSSecret'),
      name: certs.serverTLSSecret,
      use: 'the server certificate',
      keys: ['tls.crt', 'tls.key'],
    });
  }
  if (certs?.clientCASecret !== undefined) {
    references.push({
      path: certPath('clientCASecret'),
      name: certs.clientCASecret,
      use: 'the CA that verifies client certificates',
      keys: certs.replicationTLSSecret === undefined ? ['ca.crt', 'ca.key'] : ['ca.crt'],
    });
  }
  if (certs?.replicationTLSSecret !== undefined) {
    references.push({
      path: certPath('replicationTLSSecret'),
      name: certs.replicationTLSSecret,
      use: 'the streaming_replica client certificate',
      keys: ['tls.crt', 'tls.key'],
    });
  }
  return references;
}

/**
 * A Backup or ScheduledBackup whose cluster is known (applied with it, else stored) but has no
 * spec.backup.barmanObjectStore: CNPG accepts it and fails the backup when it runs; pgherd says
 * so at apply time. A cluster known nowhere is accepted (it may be applied later).
 */
function backupClusterIssues(
  resources: readonly UserResource[],
  existingClusters: ReadonlyMap<string, ClusterResource>,
): ManifestIssue[] {
  const applied = new Map<string, ClusterResource>();
  for (const resource of resources) {
    if (resource.kind === 'Cluster')
      applied.set(`${resource.metadata.namespace}/${resource.metadata.name}`, resource);
  }
  const issues: ManifestIssue[] = [];
  for (const resource of resources) {
    if (resource.kind !== 'Backup' && resource.kind !== 'ScheduledBackup') continue;
    const name = resource.spec.cluster.name;
    const key = `${resource.metadata.namespace}/${name}`;
    const cluster = applied.get(key) ?? existingClusters.get(key);
    if (cluster === undefined || cluster.spec.backup?.barmanObjectStore !== undefined) continue;
    issues.push(
      issueInResource(
        resource,
        ['spec', 'cluster', 'name'],
        'PGHERD_API_BACKUP_NOT_CONFIGURED',
        `cluster "${name}" has no spec.backup.barmanObjectStore, so a ${resource.kind} has nowhere to store its backups; configure the cluster's object store first`,
      ),
    );
  }
  return issues;
}

/**
 * Cross-resource checks at apply time: every referenced secret (the application owner's secret
 * of bootstrap.initdb or bootstrap.recovery, superuserSecret, certificates, the S3 credentials and
 * endpoint CAs of object stores) exists either in `resources` or in `existingSecretNames`, and
 * holds what its use needs (basic-auth type with username and password for credentials, the
 * named key for object stores; checked for the ones in `resources` and the stored ones given in
 * full). `existingSecretNames` holds `name` or `namespace/name`, or maps `namespace/name` to the
 * stored secret. A Backup or ScheduledBackup must name a cluster with an object store when the
 * cluster is in `resources` or in `existingClusters` (keyed `namespace/name`). Issues point at
 * the referencing field.
 */
export function validateReferences(
  resources: UserResource[],
  existingSecretNames: ReadonlySet<string> | ReadonlyMap<string, SecretResource>,
  existingClusters: ReadonlyMap<string, ClusterResource> = new Map(),
): ManifestIssue[] {
  const secrets = new Map<string, SecretResource>();
  // Stored secrets given in full (keyed namespace/name) are checked like applied ones.
  if (existingSecretNames instanceof Map) {
    for (const [k, v] of existingSecretNames as ReadonlyMap<string, SecretResource>) secrets.set(k, v);
  }
  for (const resource of resources) {
    if (resource.kind === 'Secret')
      secrets.set(`${resource.metadata.namespace}/${resource.metadata.name}`, resource);
  }
  const issues: ManifestIssue[] = backupClusterIssues(resources, existingClusters);
  for (const resource of resources) {
    if (resource.kind !== 'Cluster') continue;
    const namespace = resource.metadata.namespace;
    // CNPG's rule: a certificate you bring comes with the CA that verifies it.
    const certs = resource.spec.certificates;
    for (const [leaf, ca] of [
      ['serverTLSSecret', 'serverCASecret'],
      ['replicationTLSSecret', 'clientCASecret'],
    ] as const) {
      if (certs?.[leaf] !== undefined && certs[ca] === undefined) {
        issues.push(
          issueInResource(
            resource,
            ['spec', 'certificates', leaf],
            'PGHERD_API_REQUIRED',
            `certificates.${leaf} needs certificates.${ca}: the secret of the CA that signed it (key ca.crt)`,
          ),
        );
      }
    }
    for (const reference of secretReferences(resource)) {
      const secret = secrets.get(`${namespace}/${reference.name}`);
      if (secret === undefined) {
        if (
          existingSecretNames.has(reference.name) ||
          existingSecretNames.has(`${namespace}/${reference.name}`)
        )
          continue;
        issues.push(
          issueInResource(
            resource,
            reference.path,
            'PGHERD_API_SECRET_NOT_FOUND',
            `secret "${reference.name}" not found in namespace "${namespace}": it should hold ${reference.use} (${reference.type !== undefined ? `type ${reference.type}, ` : ''}key${reference.keys.length === 1 ? '' : 's'} ${reference.keys.join(' and ')})`,
          ),
        );
        continue;
      }
      if (reference.type !== undefined && secret.type !== reference.type) {
        issues.push(
          issueInResource(
            resource,
            reference.path,
            'PGHERD_API_SECRET_TYPE',
            `secret "${reference.name}" has type ${secret.type}, but ${reference.use} need type ${reference.type}`,
          ),
        );
        continue;
      }
      // An empty value is as useless as a missing one: nobody can log in with an empty password.
      const missing = reference.keys.filter((key) => (secret.data[key] ?? '') === '');
      if (missing.length > 0) {
        issues.push(
          issueInResource(
            resource,
            reference.path,
            'PGHERD_API_SECRET_KEYS',
            `secret "${reference.name}" lacks a non-empty ${missing.join(' and ')} (it should hold ${reference.use})`,
          ),
        );
        continue;
      }
      // The role is created as the owner: a different username in the secret would hand the
      // application credentials that cannot log in.
      const username = Buffer.from(secret.data['username'] ?? '', 'base64').toString('utf8');
      if (reference.username !== undefined && username !== reference.username) {
        issues.push(
          issueInResource(
            resource,
            reference.path,
            'PGHERD_API_SECRET_KEYS',
            `secret "${reference.name}" has username "${username}", but bootstrap.${bootstrapMethod(resource.spec)}.owner is "${reference.username}"; they must be the same`,
          ),
        );
      }
    }
  }
  return issues.sort(compareIssues);
}
