/**
 * The secrets the control plane generates for a cluster, with CNPG's names and keys:
 * `<cluster>-ca`, `-server`, `-replication` (certificates), `-app` and `-superuser`
 * (basic-auth with connection strings). Existing secrets are never overwritten.
 */
import { randomBytes, X509Certificate } from 'node:crypto';
import { applicationDatabase, type ClusterResource, type SecretResource } from '../api/index.ts';
import { certificateSecretNames, serviceName } from '../api/internal.ts';
import { type Store, updateWithRetry } from '../ports/store.ts';
import { buildJdbcUri, buildPgpassLine, buildUri } from '../postgres/conninfo.ts';
import {
  createCa,
  issueClientCertificate,
  issueServerCertificate,
  needsRenewal,
  renewCa,
} from '../tls/certificates.ts';

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
  for (const extra of cluster.spec.certificates?.serverAltDNSNames ?? []) {
    if (!dnsNames.includes(extra)) dnsNames.push(extra);
  }
  return { dnsNames, ipAddresses: ['127.0.0.1'] };
}

/** Certificate lifetimes (CNPG: CERTIFICATE_DURATION 90 days, EXPIRING_CHECK_THRESHOLD 7 days). */
export interface CertificatePolicy {
  validityDays: number;
  renewBeforeDays: number;
}

export const DEFAULT_CERTIFICATE_POLICY: CertificatePolicy = { validityDays: 90, renewBeforeDays: 7 };

const decode = (s: SecretResource, key: string): string =>
  Buffer.from(s.data[key] ?? '', 'base64').toString('utf8');

/**
 * Creates the certificate secrets that do not exist yet and renews those that expire within
 * `renewBeforeDays`. The CA is renewed with its own key (what it signed still verifies); leaf
 * certificates get new keys. Instance managers pick changed secrets up and reload, without a
 * restart. Returns the names of the secrets it renewed.
 */
export async function ensureCertificateSecrets(
  store: Store,
  cluster: ClusterResource,
  now: Date,
  policy: CertificatePolicy = DEFAULT_CERTIFICATE_POLICY,
): Promise<string[]> {
  const ns = cluster.metadata.namespace;
  const c = cluster.metadata.name;
  const validityDays = policy.validityDays;
  const renewed: string[] = [];
  const expiring = (secret: SecretResource, key: string): boolean =>
    needsRenewal(decode(secret, key), now, policy.renewBeforeDays);
  const replace = (name: string, data: Record<string, string>): SecretResource | undefined =>
    updateWithRetry<SecretResource>(store, 'Secret', ns, name, (sec) => {
      sec.data = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)]));
      return sec;
    });

  const names = certificateSecretNames(cluster);
  const ownCa = `${c}-ca`;
  // pgherd's own CA exists whenever one of the two CAs is not the user's.
  if (names.serverCa === ownCa || names.clientCa === ownCa) {
    const caSecret = store.get<SecretResource>('Secret', ns, ownCa);
    if (caSecret === undefined) {
      const ca = await createCa({ commonName: c, now, validityDays });
      store.create(secret(cluster, ownCa, 'Opaque', { 'ca.crt': ca.certPem, 'ca.key': ca.keyPem }));
    } else if (expiring(caSecret, 'ca.crt')) {
      const ca = await renewCa({
        ca: { certPem: decode(caSecret, 'ca.crt'), keyPem: decode(caSecret, 'ca.key') },
        now,
        validityDays,
      });
      replace(ownCa, { 'ca.crt': ca.certPem, 'ca.key': ca.keyPem });
      renewed.push(ownCa);
    }
  }
  /** A CA to sign with: pgherd's, or the user's (whose ca.key apply checked). */
  const signingCa = (name: string): { certPem: string; keyPem: string } => {
    const s = store.get<SecretResource>('Secret', ns, name);
    if (s === undefined)
      throw new Error(
        `PGHERD_CONTROL_SECRET_MISSING: secret ${name} (a certificate authority) does not exist`,
      );
    return { certPem: decode(s, 'ca.crt'), keyPem: decode(s, 'ca.key') };
  };
  const issuedBy = (existing: SecretResource, caName: string): boolean => {
    const ca = store.get<SecretResource>('Secret', ns, caName);
    return (
      ca !== undefined &&
      new X509Certificate(decode(existing, 'tls.crt')).issuer ===
        new X509Certificate(decode(ca, 'ca.crt')).subject
    );
  };

  const wantedNames = serverAltNames(cluster);
  const leaves: Array<{
    name: string;
    /** True when the certificate no longer says what the spec asks (names, or its CA changed). */
    stale: (existing: SecretResource) => boolean;
    issue: () => Promise<{ certPem: string; keyPem: string }>;
  }> = [];
  if (!names.userServerTls) {
    leaves.push({
      name: names.serverTls,
      stale: (existing) => {
        const san = (new X509Certificate(decode(existing, 'tls.crt')).subjectAltName ?? '').split(', ');
        const have = san.filter((x) => x.startsWith('DNS:')).map((x) => x.slice(4));
        // Both ways: a name added to serverAltDNSNames, or one removed from it.
        const namesChanged =
          have.length !== wantedNames.dnsNames.length || wantedNames.dnsNames.some((n) => !have.includes(n));
        return namesChanged || !issuedBy(existing, names.serverCa);
      },
      issue: () =>
        issueServerCertificate({
          ca: signingCa(names.serverCa),
          commonName: `${c}-rw`,
          ...wantedNames,
          now,
          validityDays,
        }),
    });
  }
  if (!names.userReplicationTls) {
    leaves.push({
      name: names.replicationTls,
      stale: (existing) => !issuedBy(existing, names.clientCa),
      issue: () =>
        issueClientCertificate({
          ca: signingCa(names.clientCa),
          commonName: 'streaming_replica',
          now,
          validityDays,
        }),
    });
  }
  for (const leaf of leaves) {
    const existing = store.get<SecretResource>('Secret', ns, leaf.name);
    if (existing !== undefined && !expiring(existing, 'tls.crt') && !leaf.stale(existing)) continue;
    const cert = await leaf.issue();
    const data = { 'tls.crt': cert.certPem, 'tls.key': cert.keyPem };
    if (existing === undefined) store.create(secret(cluster, leaf.name, 'kubernetes.io/tls', data));
    else {
      replace(leaf.name, data);
      renewed.push(leaf.name);
    }
  }
  return renewed;
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
  // bootstrap.initdb or bootstrap.recovery: both name the application database and owner.
  const { database, owner, secret: userSecret } = applicationDatabase(cluster.spec);
  if (userSecret?.name === undefined && store.get('Secret', ns, `${c}-app`) === undefined) {
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
