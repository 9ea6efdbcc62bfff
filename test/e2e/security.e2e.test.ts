/**
 * Secure by default (issue 3): TLS on every network path, certificate-only replication, no
 * network superuser, owner-only files, no secrets in logs, and hostile manifest inputs refused
 * or stored exactly. Every case runs against real clusters through the CLI.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa, issueClientCertificate, type KeyPairPem } from '../../src/tls/certificates.ts';
import {
  appClient,
  createHome,
  destroyHome,
  pgherd,
  pgherdOk,
  secretValue,
  servicePort,
} from '../harness/home.ts';

const CLUSTER = 'secure';
const SERVICES = ['rw', 'ro', 'r'] as const;
const NAMESPACE = 'default';

const MANIFEST = `apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: ${CLUSTER}
spec:
  instances: 2
  storage:
    size: 1Gi
`;

// Inside YAML single quotes, '' is one quote; double quotes and semicolons are plain text.
const HOSTILE_DATABASE = 'x"; DROP TABLE y; --';
const HOSTILE_OWNER = `o'wner"; --`;
const HOSTILE_MANIFEST = `apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: hostile
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      database: 'x"; DROP TABLE y; --'
      owner: 'o''wner"; --'
      # Table y exists in postgres (where the database and owner are created) and in template1
      # (copied into the new database) before the hostile names are used: an injected
      # DROP TABLE y would remove it.
      postInitSQL:
        - CREATE TABLE y (id int)
      postInitTemplateSQL:
        - CREATE TABLE y (id int)
`;

const UNICODE_DATABASE = 'données_€';
const UNICODE_MANIFEST = `apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: unicode
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      database: "${UNICODE_DATABASE}"
`;

type PgError = Error & { code?: string };

/** Runs pg.Client.connect() and returns the error it fails with; throws if it connects. */
async function connectError(config: pg.ClientConfig): Promise<PgError> {
  const client = new pg.Client({ connectionTimeoutMillis: 5000, ...config });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    // Not awaited: after a TLS alert, pg's end() sometimes never resolves (the socket is gone).
    void client.end().catch(() => undefined);
    return err as PgError;
  }
  await client.end();
  throw new Error(`connection as ${config.user} to port ${config.port} succeeded; it must be refused`);
}

/** `pgherd psql CLUSTER -- -XAtq -F '|' [-d DB] -c SQL`, rows split on newlines. */
async function psqlRows(home: string, cluster: string, sql: string, database?: string): Promise<string[]> {
  const db = database === undefined ? [] : ['-d', database];
  const r = await pgherdOk(home, ['psql', cluster, '--', '-XAtq', '-F', '|', ...db, '-c', sql]);
  return r.stdout.split('\n').filter((l) => l !== '');
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

function postgresUid(): number {
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`id -u postgres failed: ${r.stderr}`);
  return Number(r.stdout.trim());
}

/** Every instance folder of the home: clusters/<ns>/<cluster>/<instance>. */
function instanceDirs(home: string): string[] {
  const root = join(home, 'clusters');
  return readdirSync(root).flatMap((ns) =>
    readdirSync(join(root, ns)).flatMap((c) =>
      readdirSync(join(root, ns, c)).map((i) => join(root, ns, c, i)),
    ),
  );
}

async function clusterNames(home: string): Promise<string[]> {
  const r = await pgherdOk(home, ['get', 'clusters', '-o', 'json']);
  return (JSON.parse(r.stdout) as { items: Array<{ metadata: { name: string } }> }).items
    .map((c) => c.metadata.name)
    .sort();
}

describe('a 2-instance cluster is secure by default', () => {
  let home: string;
  let ca: string;
  let appUser: string;
  let appPassword: string;
  let appDatabase: string;
  let otherCa: KeyPairPem;
  const ports = new Map<string, number>();

  /** Connection settings for the app user through a service, with TLS as given. */
  function appConfig(svc: string, ssl: pg.ClientConfig['ssl']): pg.ClientConfig {
    return {
      host: '127.0.0.1',
      port: ports.get(svc)!,
      user: appUser,
      password: appPassword,
      database: appDatabase,
      ssl,
    };
  }

  beforeAll(async () => {
    home = createHome();
    // Looser than it must be: `up` has to bring the home back to 0711 itself.
    chmodSync(home, 0o755);
    const file = join(home, 'secure.yaml');
    writeFileSync(file, MANIFEST);
    const up = await pgherdOk(home, ['up', '-f', file]);
    expect(up.stdout).toContain(`cluster ${CLUSTER} is ready`);
    ca = await secretValue(home, `${CLUSTER}-ca`, 'ca.crt');
    appUser = await secretValue(home, `${CLUSTER}-app`, 'username');
    appPassword = await secretValue(home, `${CLUSTER}-app`, 'password');
    appDatabase = await secretValue(home, `${CLUSTER}-app`, 'dbname');
    for (const svc of SERVICES) ports.set(svc, await servicePort(home, `${CLUSTER}-${svc}`));
    otherCa = await createCa({ commonName: 'another-ca', now: new Date() });
  });

  afterAll(async () => {
    await destroyHome(home);
  });

  describe('client connections', () => {
    it.each(SERVICES)('refuses a client without TLS through -%s (pg_hba: no encryption)', async (svc) => {
      const err = await connectError(appConfig(svc, false));
      expect(err.code).toBe('28000');
      expect(err.message).toBe(
        `pg_hba.conf rejects connection for host "127.0.0.1", user "${appUser}", database "${appDatabase}", no encryption`,
      );
    });

    it.each(SERVICES)(
      'connects as the app user through -%s with verify-full against the cluster CA under every service name',
      async (svc) => {
        const service = `${CLUSTER}-${svc}`;
        const names = [
          service,
          `${service}.${NAMESPACE}`,
          `${service}.${NAMESPACE}.svc`,
          `${service}.${NAMESPACE}.svc.cluster.local`,
          'localhost',
        ];
        for (const servername of names) {
          const client = new pg.Client({
            ...appConfig(svc, { ca, servername, rejectUnauthorized: true }),
            connectionTimeoutMillis: 5000,
          });
          client.on('error', () => {});
          await client.connect();
          try {
            const r = await client.query<{ user: string; ssl: boolean; version: string; standby: boolean }>(
              'SELECT current_user AS user, ssl, version, pg_is_in_recovery() AS standby FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
            );
            expect({ servername, ...r.rows[0] }).toEqual({
              servername,
              user: appUser,
              ssl: true,
              version: 'TLSv1.3',
              // -rw reaches the primary, -ro the standby; -r may reach either.
              standby: svc === 'rw' ? false : svc === 'ro' ? true : r.rows[0]?.standby,
            });
          } finally {
            await client.end();
          }
        }
      },
    );

    it.each(SERVICES)(
      'refuses to verify the server through -%s under a name its certificate does not carry',
      async (svc) => {
        const err = await connectError(appConfig(svc, { ca, servername: 'evil.example' }));
        expect(err.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
        expect(err.message).toContain(`Host: evil.example. is not in the cert's altnames`);
      },
    );

    it.each(SERVICES)(
      'does not verify the server through -%s for a client that trusts another CA',
      async (svc) => {
        const err = await connectError(
          appConfig(svc, { ca: otherCa.certPem, servername: `${CLUSTER}-${svc}` }),
        );
        // The server sends its chain (leaf + cluster CA): the CA is not one the client trusts.
        expect(err.code).toBe('SELF_SIGNED_CERT_IN_CHAIN');
        expect(err.message).toBe('self-signed certificate in certificate chain');
      },
    );

    it('refuses the superuser postgres over the network by default, even with a guessed password', async () => {
      const superuserSecret = await pgherd(home, ['get', 'secret', `${CLUSTER}-superuser`]);
      expect(superuserSecret.code).toBe(1);
      for (const password of ['postgres', appPassword]) {
        const err = await connectError({
          host: '127.0.0.1',
          port: ports.get('rw')!,
          user: 'postgres',
          password,
          database: 'postgres',
          ssl: { ca, servername: `${CLUSTER}-rw` },
        });
        // A pg_hba rejection (28000), not a failed password (28P01): no password is ever tried.
        expect(err.code).toBe('28000');
        expect(err.message).toBe(
          'pg_hba.conf rejects connection for host "127.0.0.1", user "postgres", database "postgres", SSL encryption',
        );
      }
    });
  });

  describe('replication connections', () => {
    /** A `replication=database` connection as streaming_replica to the primary through -rw. */
    function replicationConfig(ssl: pg.ClientConfig['ssl'], password?: string): pg.ClientConfig {
      return {
        host: '127.0.0.1',
        port: ports.get('rw')!,
        user: 'streaming_replica',
        database: 'postgres',
        replication: 'database',
        ssl,
        ...(password === undefined ? {} : { password }),
      } as pg.ClientConfig;
    }

    it('refuses streaming_replica with a password and no client certificate', async () => {
      for (const password of ['streaming_replica', appPassword]) {
        const err = await connectError(replicationConfig({ ca, servername: `${CLUSTER}-rw` }, password));
        expect(err.code).toBe('28000');
        expect(err.message).toBe('connection requires a valid client certificate');
      }
    });

    it('refuses at the TLS layer a streaming_replica certificate signed by another CA', async () => {
      const forged = await issueClientCertificate({
        ca: otherCa,
        commonName: 'streaming_replica',
        now: new Date(),
      });
      const err = await connectError(
        replicationConfig({ ca, servername: `${CLUSTER}-rw`, cert: forged.certPem, key: forged.keyPem }),
      );
      // A TLS alert from the server, not a PostgreSQL error: the handshake never completed.
      expect(err.code).toBe('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA');
      expect(err.message).toContain('tlsv1 alert unknown ca');
    });

    it("accepts the <cluster>-replication certificate and IDENTIFY_SYSTEM returns the cluster's system id", async () => {
      const cert = await secretValue(home, `${CLUSTER}-replication`, 'tls.crt');
      const key = await secretValue(home, `${CLUSTER}-replication`, 'tls.key');
      const [systemId] = await psqlRows(home, CLUSTER, 'SELECT system_identifier FROM pg_control_system()');
      expect(systemId).toMatch(/^\d{10,}$/);
      const client = new pg.Client({
        ...replicationConfig({ ca, servername: `${CLUSTER}-rw`, cert, key }),
        connectionTimeoutMillis: 5000,
      });
      client.on('error', () => {});
      await client.connect();
      try {
        const r = await client.query<{ systemid: string; timeline: number; dbname: string }>(
          'IDENTIFY_SYSTEM',
        );
        expect(r.rows.length).toBe(1);
        expect(r.rows[0]!.systemid).toBe(systemId);
        expect(Number(r.rows[0]!.timeline)).toBe(1);
        expect(r.rows[0]!.dbname).toBe('postgres');
      } finally {
        await client.end();
      }
    });
  });

  describe('hostile inputs', () => {
    async function applyText(name: string, text: string) {
      const file = join(home, name);
      writeFileSync(file, text);
      return { file, r: await pgherd(home, ['apply', '-f', file]) };
    }

    /** Applies a manifest that must be refused; the cluster list must be the same afterwards. */
    async function expectRefused(name: string, spec: string, pattern: RegExp): Promise<void> {
      const before = await clusterNames(home);
      const { file, r } = await applyText(
        `${name}.yaml`,
        `apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: ${name}\nspec:\n  instances: 1\n  storage:\n    size: 1Gi\n${spec}`,
      );
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(file);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr).toContain('nothing was applied');
      const after = await clusterNames(home);
      expect(after).not.toContain(name);
      expect(after).toEqual(before);
      const listed = await pgherdOk(home, ['get', 'clusters']);
      expect(listed.stdout).not.toContain(name);
    }

    it('creates a database and owner named with quotes and semicolons exactly, executing nothing else', async () => {
      const { r } = await applyText('hostile.yaml', HOSTILE_MANIFEST);
      expect(r.code).toBe(0);
      await pgherdOk(home, ['wait', 'hostile', '--for', 'ready', '--timeout', '300s']);

      const databases = await psqlRows(
        home,
        'hostile',
        "SELECT datname, pg_get_userbyid(datdba) FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1') ORDER BY 1",
      );
      expect(databases).toEqual([`${HOSTILE_DATABASE}|${HOSTILE_OWNER}`]);
      const roles = await psqlRows(
        home,
        'hostile',
        'SELECT rolname FROM pg_roles WHERE rolname NOT LIKE \'pg\\_%\' ORDER BY rolname COLLATE "C"',
      );
      expect(roles).toEqual([HOSTILE_OWNER, 'postgres', 'streaming_replica'].sort());
      // The DROP TABLE y in the names never ran: y is still there, in postgres and in the copy
      // of template1 that the new database is.
      for (const db of ['postgres', 'template1', HOSTILE_DATABASE]) {
        const y = await psqlRows(
          home,
          'hostile',
          "SELECT schemaname || '.' || tablename FROM pg_tables WHERE tablename = 'y'",
          db,
        );
        expect({ db, y }).toEqual({ db, y: ['public.y'] });
      }
      // The generated secret carries the names intact: the owner logs in to its database.
      expect(await secretValue(home, 'hostile-app', 'username')).toBe(HOSTILE_OWNER);
      expect(await secretValue(home, 'hostile-app', 'dbname')).toBe(HOSTILE_DATABASE);
      const client = await appClient(home, 'hostile', 'hostile-rw');
      try {
        const who = await client.query<{ user: string; db: string }>(
          'SELECT current_user AS user, current_database() AS db',
        );
        expect(who.rows).toEqual([{ user: HOSTILE_OWNER, db: HOSTILE_DATABASE }]);
      } finally {
        await client.end();
      }
    });

    it('refuses a parameter value with a newline that would add a configuration line', async () => {
      await expectRefused(
        'newline-param',
        `  postgresql:\n    parameters:\n      log_connections: "on\\nshared_preload_libraries = 'x'"\n`,
        /:11:\d+\s+spec\.postgresql\.parameters\.log_connections\s+parameter value must be a single line: it contains a line break/,
      );
    });

    it('refuses a parameter name carrying a quote and a semicolon', async () => {
      await expectRefused(
        'quoted-param',
        `  postgresql:\n    parameters:\n      'work_mem"; x': 4MB\n`,
        /:11:\d+\s+spec\.postgresql\.parameters\.work_mem"; x\s+parameter name "work_mem\\"; x" is not a PostgreSQL setting name/,
      );
    });

    it('refuses a 64-byte database name', async () => {
      const name = 'd'.repeat(64);
      await expectRefused(
        'long-name',
        `  bootstrap:\n    initdb:\n      database: ${name}\n`,
        /:11:\d+\s+spec\.bootstrap\.initdb\.database\s+database name is 64 bytes long; PostgreSQL truncates identifiers to 63 bytes/,
      );
    });

    it('refuses a pg_hba line that trusts a network address', async () => {
      await expectRefused(
        'trust-hba',
        `  postgresql:\n    pg_hba:\n      - host all all 0.0.0.0/0 trust\n`,
        /:11:\d+\s+spec\.postgresql\.pg_hba\[0\]\s+uses `trust` for network connections/,
      );
    });

    it('creates a unicode database name exactly', async () => {
      const { r } = await applyText('unicode.yaml', UNICODE_MANIFEST);
      expect(r.code).toBe(0);
      await pgherdOk(home, ['wait', 'unicode', '--for', 'ready', '--timeout', '300s']);
      // Compared as UTF-8 bytes, so psql's client encoding cannot hide a difference.
      const rows = await psqlRows(
        home,
        'unicode',
        "SELECT encode(convert_to(datname, 'UTF8'), 'hex'), encode(convert_to(pg_get_userbyid(datdba), 'UTF8'), 'hex') FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1')",
      );
      const hex = Buffer.from(UNICODE_DATABASE, 'utf8').toString('hex');
      expect(rows).toEqual([`${hex}|${hex}`]);
      const client = await appClient(home, 'unicode', 'unicode-rw');
      try {
        const who = await client.query<{ user: string; db: string }>(
          'SELECT current_user AS user, current_database() AS db',
        );
        expect(who.rows).toEqual([{ user: UNICODE_DATABASE, db: UNICODE_DATABASE }]);
      } finally {
        await client.end();
      }
      expect(await clusterNames(home)).toEqual(['hostile', CLUSTER, 'unicode'].sort());
    });
  });

  describe('files and logs', () => {
    it('keeps the store, the socket, the home, PGDATA, keys and logs owner-only', () => {
      const pgUid = postgresUid();
      expect(pgUid).not.toBe(0);
      for (const f of ['store.db', 'store.db-wal', 'store.db-shm']) {
        expect({ f, mode: mode(join(home, f)) }).toEqual({ f, mode: 0o600 });
      }
      const socket = join(home, 'run', 'pgherd.sock');
      expect(statSync(socket).isSocket()).toBe(true);
      expect(mode(socket)).toBe(0o600);
      expect(mode(join(home, 'run'))).toBe(0o700);
      expect(mode(home)).toBe(0o711);
      expect(statSync(home).uid).toBe(0);
      expect(mode(join(home, 'logs', 'operator.log'))).toBe(0o600);

      const instances = instanceDirs(home);
      expect(instances.map((d) => d.slice(home.length + 1)).sort()).toEqual([
        'clusters/default/hostile/hostile-1',
        'clusters/default/secure/secure-1',
        'clusters/default/secure/secure-2',
        'clusters/default/unicode/unicode-1',
      ]);
      for (const dir of instances) {
        const pgdata = join(dir, 'pgdata');
        expect({ pgdata, mode: mode(pgdata), uid: statSync(pgdata).uid }).toEqual({
          pgdata,
          mode: 0o700,
          uid: pgUid,
        });
        const certs = join(dir, 'certs');
        expect({ certs, mode: mode(certs), uid: statSync(certs).uid }).toEqual({
          certs,
          mode: 0o700,
          uid: pgUid,
        });
        const keys = readdirSync(certs)
          .filter((f) => f.endsWith('.key'))
          .sort();
        expect(keys).toEqual(['server.key', 'streaming_replica.key']);
        for (const k of keys) {
          const key = join(certs, k);
          expect({ key, mode: mode(key), uid: statSync(key).uid }).toEqual({ key, mode: 0o600, uid: pgUid });
        }
        const log = join(dir, 'manager.log');
        expect({ log, mode: mode(log) }).toEqual({ log, mode: 0o600 });
      }
    });

    it('writes no password or CA private key of any cluster into the logs', async () => {
      const needles: Array<{ what: string; text: string }> = [];
      for (const c of [CLUSTER, 'hostile', 'unicode']) {
        const password = await secretValue(home, `${c}-app`, 'password');
        expect(password.length).toBeGreaterThanOrEqual(64);
        needles.push({ what: `${c}-app password`, text: password });
        needles.push({ what: `${c}-app password (base64)`, text: Buffer.from(password).toString('base64') });
        const caKey = await secretValue(home, `${c}-ca`, 'ca.key');
        expect(caKey).toContain('-----BEGIN PRIVATE KEY-----');
        // Each base64 line of the PEM body: found whether the key is logged raw or JSON-escaped.
        for (const line of caKey.split('\n').filter((l) => l !== '' && !l.startsWith('-----'))) {
          needles.push({ what: `${c}-ca ca.key line`, text: line });
        }
        needles.push({
          what: `${c}-ca ca.key (base64, as in Secret data)`,
          text: Buffer.from(caKey).toString('base64').slice(0, 64),
        });
      }

      const files = readdirSync(join(home, 'logs')).map((f) => join(home, 'logs', f));
      for (const dir of instanceDirs(home)) {
        files.push(join(dir, 'manager.log'));
        if (existsSync(join(dir, 'postmaster.stderr'))) files.push(join(dir, 'postmaster.stderr'));
        const pgLogDir = join(dir, 'log');
        for (const f of readdirSync(pgLogDir)) files.push(join(pgLogDir, f));
      }
      expect(files).toContain(join(home, 'logs', 'operator.log'));
      expect(files.filter((f) => f.endsWith('/manager.log')).length).toBe(4);

      const leaks: string[] = [];
      let bytes = 0;
      for (const file of files) {
        const text = readFileSync(file, 'utf8');
        bytes += text.length;
        for (const n of needles) if (text.includes(n.text)) leaks.push(`${n.what} in ${file}`);
      }
      expect(bytes).toBeGreaterThan(0);
      expect(leaks).toEqual([]);
    });
  });
});
