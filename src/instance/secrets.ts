/**
 * Puts the cluster's certificates where PostgreSQL and libpq read them: owned by the
 * PostgreSQL account, keys 0600 (libpq and the server refuse group/world-readable keys).
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fchownSync,
  fsyncSync,
  lstatSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { SecretResource } from '../api/index.ts';
import type { PgTools } from './pg-tools.ts';

/** Value of one key of a Secret, decoded; throws a clear error when missing. */
export function secretValue(secret: SecretResource | undefined, key: string, what: string): string {
  if (secret === undefined)
    throw new Error(`PGHERD_INSTANCE_SECRET_MISSING: secret for ${what} does not exist`);
  const v = secret.data[key];
  if (v === undefined) {
    throw new Error(
      `PGHERD_INSTANCE_SECRET_MISSING: secret ${secret.metadata.name} has no key "${key}" (${what})`,
    );
  }
  return Buffer.from(v, 'base64').toString('utf8');
}

export interface CertificateFiles {
  serverCert: string;
  serverKey: string;
  /** CA that signs client certificates (streaming_replica). */
  clientCa: string;
  /** CA that signs the server certificate (to verify a primary). */
  serverCa: string;
  replicationCert: string;
  replicationKey: string;
}

export function certificateFiles(dir: string): CertificateFiles {
  return {
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    clientCa: join(dir, 'client-ca.crt'),
    serverCa: join(dir, 'server-ca.crt'),
    replicationCert: join(dir, 'streaming_replica.crt'),
    replicationKey: join(dir, 'streaming_replica.key'),
  };
}

/**
 * Writes a file for PostgreSQL only when its content changed; returns whether it did. The
 * folders are PostgreSQL's, so the write never follows a link: a new file is created
 * exclusively (O_EXCL fails on anything planted there), given to PostgreSQL's account through
 * its descriptor, synced, and renamed over the old name (which replaces a link, not its target).
 */
export function writeIfChanged(path: string, content: string, mode: number, tools: PgTools): boolean {
  try {
    if (lstatSync(path).isFile() && readFileSync(path, 'utf8') === content) return false;
  } catch {
    /* missing: write it */
  }
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', mode);
  try {
    try {
      writeSync(fd, content);
      if (tools.account.switchUser) fchownSync(fd, tools.account.uid, tools.account.gid);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    // No half-written temp file may stay (it would sit in PGDATA and in base backups).
    rmSync(tmp, { force: true });
    throw err;
  }
  return true;
}

/** Materializes the certificate secrets into `dir`; returns whether any file changed. */
export function writeCertificates(
  dir: string,
  secrets: {
    serverCa: SecretResource | undefined;
    clientCa: SecretResource | undefined;
    server: SecretResource | undefined;
    replication: SecretResource | undefined;
  },
  tools: PgTools,
): boolean {
  const f = certificateFiles(dir);
  // One table: which file comes from which secret's key.
  const files: Array<[string, SecretResource | undefined, string, string]> = [
    [f.serverCa, secrets.serverCa, 'ca.crt', 'the CA of the server certificate'],
    [f.clientCa, secrets.clientCa, 'ca.crt', 'the CA of client certificates'],
    [f.serverCert, secrets.server, 'tls.crt', 'the server certificate'],
    [f.serverKey, secrets.server, 'tls.key', 'the server key'],
    [f.replicationCert, secrets.replication, 'tls.crt', 'the replication certificate'],
    [f.replicationKey, secrets.replication, 'tls.key', 'the replication key'],
  ];
  let changed = false;
  for (const [file, secret, key, what] of files) {
    changed = writeIfChanged(file, secretValue(secret, key, what), 0o600, tools) || changed;
  }
  return changed;
}
