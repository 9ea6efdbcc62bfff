/**
 * The secrets the control plane generates for a cluster, with CNPG's names and keys:
 * `<cluster>-ca`, `-server`, `-replication` (certificates), `-app` and `-superuser`
 * (basic-auth with connection strings). Existing secrets are never overwritten.
 */
import { randomBytes } from 'node:crypto';
import type { ClusterResource, SecretResource } from '../api/index.ts';
import { serviceName } from '../api/internal.ts';
import type { Store } from '../ports/store.ts';
import { buildJdbcUri, buildPgpassLine, buildUri } from '../postgres/conninfo.ts';
import { createCa, issueClientCertificate, issueServerCertificate } from '../tls/certificates.ts';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A random password from a CSPRNG (rejection sampling keeps every character equally likely). */
export function generatePassword(length = 64): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < 248 && out.length < length) out += ALPHABET[b % 62];
    }
  }
  return out;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

function secret(
  cluster: ClusterResource,
  name: string,
  type: string,
  data: Record<string, string>,
): SecretResource {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace: cluster.metadata.namespace,
      labels: { 'cnpg.io/cluster': cluster.metadata.name, 'pgherd.io/generated': 'true' },
    },
    type,
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  };
}

/** DNS names and addresses a client may use for the cluster's services. */
export function serverAltNames(cluster: ClusterResource): { dnsNames: string[]; ipAddresses: string[] } {
  const ns = cluster.metadata.namespace;
  const dnsNames = ['localhost'];
  for (const role of ['rw', 'ro', 'r'] as const) {
    const svc = serviceName(cluster.metadata.name, role);
    dnsNames.push(svc, `${svc}.${ns}`, `${svc}.${ns}.svc`, `${svc}.${ns}.svc.cluster.local`);
  }
  return { dnsNames, ipAddresses: ['127.0.0.1'] };
}

/** Creates the certificate secrets that do not exist yet. */
export async function ensureCertificateSecrets(
  store: Store,
  cluster: ClusterResource,
  now: Date,
): Promise<void> {
  const ns = cluster.metadata.namespace;
  const c = cluster.metadata.name;
  let caSecret = store.get<SecretResource>('Secret', ns, `${c}-ca`);
  if (caSecret === undefined) {
    const ca = await createCa({ commonName: c, now });
    caSecret = store.create(
      secret(cluster, `${c}-ca`, 'Opaque', { 'ca.crt': ca.certPem, 'ca.key': ca.keyPem }),
    );
  }
  const ca = {
    certPem: Buffer.from(caSecret.data['ca.crt'] ?? '', 'base64').toString('utf8'),
    keyPem: Buffer.from(caSecret.data['ca.key'] ?? '', 'base64').toString('utf8'),
  };
  if (store.get('Secret', ns, `${c}-server`) === undefined) {
    const names = serverAltNames(cluster);
    const cert = await issueServerCertificate({ ca, commonName: `${c}-rw`, ...names, now });
    store.create(
      secret(cluster, `${c}-server`, 'kubernetes.io/tls', {
        'tls.crt': cert.certPem,
        'tls.key': cert.keyPem,
      }),
    );
  }
  if (store.get('Secret', ns, `${c}-replication`) === undefined) {
    const cert = await issueClientCertificate({ ca, commonName: 'streaming_replica', now });
    store.create(
      secret(cluster, `${c}-replication`, 'kubernetes.io/tls', {
        'tls.crt': cert.certPem,
        'tls.key': cert.keyPem,
      }),
    );
  }
}

/** Connection fields of an app/superuser secret for the `-rw` service address. */
function credentialData(user: string, password: string, dbname: string, host: string, port: number) {
  return {
    username: user,
    password,
    host,
    port: String(port),
    dbname,
    uri: buildUri({ user, password, host, port, dbname }),
    'jdbc-uri': buildJdbcUri({ user, password, host, port, dbname }),
    pgpass: `${buildPgpassLine(host, port, dbname, user, password)}\n`,
  };
}

/**
 * Creates `<cluster>-app` (unless bootstrap.initdb.secret names the user's own) and
 * `<cluster>-superuser` when superuser access is enabled and no superuserSecret is given.
 */
export function ensureCredentialSecrets(
  store: Store,
  cluster: ClusterResource,
  rw: { host: string; port: number },
): void {
  const ns = cluster.metadata.namespace;
  const c = cluster.metadata.name;
  const initdb = cluster.spec.bootstrap?.initdb;
  const database = initdb?.database ?? 'app';
  const owner = initdb?.owner ?? database;
  if (initdb?.secret?.name === undefined && store.get('Secret', ns, `${c}-app`) === undefined) {
    store.create(
      secret(
        cluster,
        `${c}-app`,
        'kubernetes.io/basic-auth',
        credentialData(owner, generatePassword(), database, rw.host, rw.port),
      ),
    );
  }
  if (
    cluster.spec.enableSuperuserAccess === true &&
    cluster.spec.superuserSecret?.name === undefined &&
    store.get('Secret', ns, `${c}-superuser`) === undefined
  ) {
    store.create(
      secret(
        cluster,
        `${c}-superuser`,
        'kubernetes.io/basic-auth',
        credentialData('postgres', generatePassword(), 'postgres', rw.host, rw.port),
      ),
    );
  }
}
