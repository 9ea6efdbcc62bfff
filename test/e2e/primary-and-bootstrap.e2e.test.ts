import { lstatSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clusterStatus,
  createHome,
  destroyHome,
  eventually,
  pgherd,
  pgherdOk,
  secretValue,
  servicePort,
} from '../harness/home.ts';

interface StatusJson {
  cluster: { status: { phase: string; phaseReason: string; currentPrimary?: string } };
  instances: Array<{
    name: string;
    role: string;
    ready: boolean;
    postmasterPid: number | null;
    systemId: string | null;
    phase: string;
    phaseReason: string;
  }>;
}
const status = (home: string, c: string): Promise<StatusJson> => clusterStatus<StatusJson>(home, c);

const full = `
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: full
spec:
  instances: 2
  enableSuperuserAccess: true
  storage:
    size: 1Gi
  walStorage:
    size: 1Gi
`;

const broken = `
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: broken
spec:
  instances: 1
  storage:
    size: 1Gi
  bootstrap:
    initdb:
      postInitSQL:
        - create table ok_one (x int)
        - select * from no_such_table
`;

describe('the primary, superuser access, WAL storage and a failing bootstrap', () => {
  let home: string;
  beforeAll(async () => {
    home = createHome();
    writeFileSync(join(home, 'full.yaml'), full);
    await pgherdOk(home, ['up', '-f', join(home, 'full.yaml')]);
  });
  afterAll(async () => {
    await destroyHome(home);
  });

  it('fails over when the primary postmaster is SIGKILLed; the old primary rewinds and follows, no new initdb', async () => {
    const before = (await status(home, 'full')).instances.find((i) => i.name === 'full-1')!;
    process.kill(before.postmasterPid!, 'SIGKILL');
    const after = await eventually(
      'full-2 to be the primary and full-1 a ready replica',
      async () => {
        const v = await status(home, 'full');
        const one = v.instances.find((x) => x.name === 'full-1')!;
        const two = v.instances.find((x) => x.name === 'full-2')!;
        return v.cluster.status.currentPrimary === 'full-2' && two.role === 'primary' && one.ready
          ? one
          : undefined;
      },
      60_000,
    );
    expect(after.role).toBe('replica');
    expect(after.systemId).toBe(before.systemId);
    const log = readFileSync(join(home, 'clusters/default/full/full-1/manager.log'), 'utf8');
    expect(log.match(/"msg":"creating the primary with initdb"/g)?.length).toBe(1);
    expect(log).toContain('pg_rewind finished');
  });

  it('keeps WAL in the separate walStorage folder', () => {
    const walLink = join(home, 'clusters/default/full/full-1/pgdata/pg_wal');
    expect(lstatSync(walLink).isSymbolicLink()).toBe(true);
    expect(readlinkSync(walLink)).toBe(join(home, 'clusters/default/full/full-1/pgwal'));
  });

  it('creates the -superuser secret and lets the superuser log in over TLS when enabled', async () => {
    const password = await secretValue(home, 'full-superuser', 'password');
    expect(password).toMatch(/^[A-Za-z0-9]{64}$/);
    const c = new pg.Client({
      host: '127.0.0.1',
      port: await servicePort(home, 'full-rw'),
      user: 'postgres',
      password,
      database: 'postgres',
      ssl: { ca: await secretValue(home, 'full-ca', 'ca.crt'), servername: 'full-rw' },
    });
    await c.connect();
    const r = await c.query('select rolsuper from pg_roles where rolname = current_user');
    expect(r.rows[0]).toEqual({ rolsuper: true });
    await c.end();
  });

  it('runs psql on a replica with --replica', async () => {
    await pgherdOk(home, ['wait', 'full', '--for', 'ready', '--timeout', '60s']);
    const r = await pgherdOk(home, ['psql', 'full', '--replica', '--', '-Atc', 'select pg_is_in_recovery()']);
    expect(r.stdout.trim()).toBe('t');
  });

  it('shows a failing post-init SQL as the reason, never reports the cluster ready, and retries from scratch', async () => {
    writeFileSync(join(home, 'broken.yaml'), broken);
    await pgherdOk(home, ['apply', '-f', join(home, 'broken.yaml')]);
    const wait = await pgherd(home, ['wait', 'broken', '--for', 'ready', '--timeout', '15s']);
    expect(wait.code).toBe(1);
    expect(wait.stderr).toContain('timed out');
    const s = await eventually('the failure to show in status', async () => {
      const v = await status(home, 'broken');
      const i = v.instances[0];
      return i?.phaseReason.includes('no_such_table') ? v : undefined;
    });
    expect(s.instances[0]!.ready).toBe(false);
    expect(s.instances[0]!.phaseReason).toContain('PGHERD_INSTANCE_POSTINIT_SQL');
    // The cause stays on show while the bootstrap is retried, not only between two attempts.
    for (let n = 0; n < 5; n++) {
      await new Promise((r) => setTimeout(r, 300));
      expect((await status(home, 'broken')).instances[0]!.phaseReason).toContain('no_such_table');
    }
    expect(s.cluster.status.currentPrimary).toBeUndefined();
    const log = readFileSync(join(home, 'clusters/default/broken/broken-1/manager.log'), 'utf8');
    // The bootstrap starts over (initdb again) instead of running half-initialized.
    await eventually('a second initdb', async () =>
      (readFileSync(join(home, 'clusters/default/broken/broken-1/manager.log'), 'utf8').match(
        /creating the primary with initdb/g,
      )?.length ?? 0) >= 2
        ? true
        : undefined,
    );
    expect(log).not.toContain('"phase":"Running"');
    const del = await pgherd(home, ['delete', 'cluster', 'broken']);
    expect(del.code, del.stderr).toBe(0);
  });
});
