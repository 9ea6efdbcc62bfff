/**
 * Cross-resource checks at apply time: the Secrets a Cluster names must exist and hold
 * credentials CNPG can use.
 */
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

function secretReferences(cluster: ClusterResource): SecretReference[] {
  const references: SecretReference[] = [];
  const app = cluster.spec.bootstrap.initdb.secret;
  if (app !== undefined) {
    references.push({
      path: ['spec', 'bootstrap', 'initdb', 'secret', 'name'],
      name: app.name,
      use: `the credentials of the application owner "${cluster.spec.bootstrap.initdb.owner}"`,
      username: cluster.spec.bootstrap.initdb.owner,
      type: BASIC_AUTH_SECRET_TYPE,
      keys: CREDENTIAL_KEYS,
    });
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
 * Cross-resource checks at apply time: every referenced secret (bootstrap.initdb.secret,
 * superuserSecret) exists either in `resources` or in `existingSecretNames`, and is of type
 * kubernetes.io/basic-auth with username and password keys (checked for the ones in `resources`;
 * existing ones are known by name only). `existingSecretNames` holds `name` or `namespace/name`.
 * Issues point at the referencing field.
 */
export function validateReferences(
  resources: UserResource[],
  existingSecretNames: ReadonlySet<string> | ReadonlyMap<string, SecretResource>,
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
  const issues: ManifestIssue[] = [];
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
            `secret "${reference.name}" not found in namespace "${namespace}": it should hold ${reference.use} (${reference.type !== undefined ? `type ${reference.type}, ` : ''}keys ${reference.keys.join(' and ')})`,
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
            `secret "${reference.name}" has username "${username}", but bootstrap.initdb.owner is "${reference.username}"; they must be the same`,
          ),
        );
      }
    }
  }
  return issues.sort(compareIssues);
}
