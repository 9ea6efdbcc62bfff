import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appClient,
  clusterStatus,
  createHome,
  destroyHome,
  eventually,
  isAliveProcess,
  pgherdOk,
} from '../harness/home.ts';

interface StatusJson {
  instances: Array<{
    name: string;
    role: string;
    ready: boolean;
    postmasterPid: number | null;
    replayLsn: string | null;
  }>;
}

const status = (home: string, cluster: string): Promise<StatusJson> =>
  clusterStatus<StatusJson>(home, cluster);

const manifest = `
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: heal
spec:
  instances: 3
  storage:
    size: 1Gi
`;

describe('self-healing standbys', () => {
  let home: string;
  let file: string;

  beforeAll(async () => {
    home = createHome();
    file = join(home, 'heal.yaml');
    (await import('node:fs')).writeFileSync(file, manifest);
    await pgherdOk(home, ['up', '-f', file]);
  });

  afterAll(async () => {
    await destroyHome(home);
  });

  async function writeRow(id: number): Promise<void> {
    const rw = await appClient(home, 'heal', 'heal-rw');
    await rw.query('CREATE TABLE IF NOT EXISTS heal_rows (id int primary key)');
    await rw.query('INSERT INTO heal_rows VALUES ($1)', [id]);
    await rw.end();
  }

  async function standbyHasRow(instance: string, id: number): Promise<boolean> {
    const s = await status(home, 'heal');
    const inst = s.instances.find((i) => i.name === instance)!;
    if (!inst.ready) return false;
    const pg = await import('pg');
    const password = (
      await pgherdOk(home, ['get', 'secret', 'heal-app', '-o', 'jsonpath={.data.password}'])
    ).stdout.trim();
    const ca = (
      await pgherdOk(home, ['get', 'secret', 'heal-ca', '-o', 'jsonpath={.data.ca\\.crt}'])
    ).stdout.trim();
    const instJson = JSON.parse(
      (await pgherdOk(home, ['get', 'instance', instance, '-o', 'json'])).stdout,
    ) as {
      spec: { pgPort: number };
    };
    const c = new pg.default.Client({
      host: '127.0.0.1',
      port: instJson.spec.pgPort,
      user: 'app',
      password,
      database: 'app',
      ssl: { ca, servername: 'localhost' },
    });
    await c.connect();
    try {
      const r2 = await c.query('SELECT count(*)::int AS n FROM heal_rows WHERE id = $1', [id]);
      return (r2.rows[0] as { n: number }).n === 1;
    } finally {
      await c.end();
    }
  }

  it('restarts a standby whose postmaster was killed with SIGKILL, and it catches up', async () => {
    const before = await status(home, 'heal');
    const victim = before.instances.find((i) => i.name === 'heal-2')!;
    expect(victim.postmasterPid).toBeGreaterThan(0);
    process.kill(victim.postmasterPid!, 'SIGKILL');
    await writeRow(1);
    await eventually(
      'heal-2 to run a new postmaster',
      async () => {
        const s = await status(home, 'heal');
        const i = s.instances.find((x) => x.name === 'heal-2')!;
        return i.ready && i.postmasterPid !== victim.postmasterPid ? true : undefined;
      },
      60_000,
    );
    expect(isAliveProcess(victim.postmasterPid!)).toBe(false);
    await eventually('heal-2 to have the row written while it was down', async () =>
      (await standbyHasRow('heal-2', 1)) ? true : undefined,
    );
  });

  it('re-clones a standby whose data directory was deleted', async () => {
    const before = await status(home, 'heal');
    const victim = before.instances.find((i) => i.name === 'heal-3')!;
    rmSync(join(home, 'clusters/default/heal/heal-3/pgdata'), { recursive: true, force: true });
    await writeRow(2);
    await eventually(
      'heal-3 to be re-cloned and streaming',
      async () => {
        const s = await status(home, 'heal');
        const i = s.instances.find((x) => x.name === 'heal-3')!;
        return i.ready && i.postmasterPid !== victim.postmasterPid ? true : undefined;
      },
      90_000,
    );
    await eventually('heal-3 to have the rows', async () =>
      (await standbyHasRow('heal-3', 2)) ? true : undefined,
    );
    const logs = await pgherdOk(home, ['logs', 'heal', 'heal-3']);
    expect(logs.stdout).toContain('cloned heal-1');
  });
});
