import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clusterStatus,
  createHome,
  destroyHome,
  eventually,
  isAliveProcess,
  pgherdOk,
  ROOT,
  recordedPids,
} from '../harness/home.ts';
import { CNPG_SAMPLES, HAVE_CNPG_SAMPLES } from '../harness/samples.ts';

// CNPG's own sample when it is beside the project, else the project's example of the same shape.
const MANIFEST = HAVE_CNPG_SAMPLES
  ? join(CNPG_SAMPLES, 'cluster-example-initdb.yaml')
  : join(ROOT, 'examples/cluster-initdb.yaml');
const NAME = HAVE_CNPG_SAMPLES ? 'cluster-example-initdb' : 'cluster-initdb';

interface StatusJson {
  instances: Array<{
    name: string;
    role: string;
    ready: boolean;
    postmasterPid: number | null;
    managerPid: number | null;
  }>;
}
const status = (home: string): Promise<StatusJson> => clusterStatus<StatusJson>(home, NAME);

async function psql(home: string, sql: string, db = 'postgres'): Promise<string> {
  return (await pgherdOk(home, ['psql', NAME, '--', '-d', db, '-Atc', sql])).stdout.trim();
}

describe(`${HAVE_CNPG_SAMPLES ? "CNPG's cluster-example-initdb sample, unchanged" : 'examples/cluster-initdb.yaml'}`, () => {
  let home: string;
  beforeAll(async () => {
    home = createHome();
    await pgherdOk(home, ['up', '-f', MANIFEST]);
  });
  afterAll(async () => {
    await destroyHome(home);
  });

  it('runs the post-init SQL in postgres, template1 and the application database, with data checksums', async () => {
    expect(await psql(home, 'select count(*) from numbers')).toBe('10000');
    expect(await psql(home, 'select count(*) from application_numbers', 'appdb')).toBe('10000');
    expect(await psql(home, "select extname from pg_extension where extname = 'intarray'", 'appdb')).toBe(
      'intarray',
    );
    expect(
      await psql(
        home,
        'select pg_get_userbyid(datdba) from pg_database where datname = current_database()',
        'appdb',
      ),
    ).toBe('appuser');
    expect(await psql(home, 'show data_checksums')).toBe('on');
    const secret = JSON.parse(
      (await pgherdOk(home, ['get', 'secret', `${NAME}-app`, '-o', 'json'])).stdout,
    ) as {
      data: Record<string, string>;
    };
    expect(Buffer.from(secret.data['username']!, 'base64').toString()).toBe('appuser');
    expect(Buffer.from(secret.data['dbname']!, 'base64').toString()).toBe('appdb');
    // The password is random, long, and never the superuser's; the superuser has no network password.
    expect(Buffer.from(secret.data['password']!, 'base64').toString()).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(await psql(home, "select rolpassword is null from pg_authid where rolname = 'postgres'")).toBe(
      't',
    );
  });

  it('restarts a killed instance manager, which adopts its running PostgreSQL', async () => {
    const before = (await status(home)).instances.find((i) => i.name === `${NAME}-1`)!;
    expect(before.managerPid).toBeGreaterThan(0);
    process.kill(before.managerPid!, 'SIGKILL');
    const after = await eventually(
      'a new instance manager for the primary',
      async () => {
        const i = (await status(home)).instances.find((x) => x.name === `${NAME}-1`)!;
        return i.managerPid !== null && i.managerPid !== before.managerPid && i.ready ? i : undefined;
      },
      30_000,
    );
    expect(after.postmasterPid).toBe(before.postmasterPid);
    expect(after.role).toBe('primary');
  });

  it('stops everything with `down` and brings the cluster back with its data with `up`', async () => {
    await psql(home, 'create table survives_down (x int); insert into survives_down values (42)', 'appdb');
    const pids = recordedPids(home).filter(isAliveProcess);
    expect(pids.length).toBeGreaterThanOrEqual(8);
    const down = await pgherdOk(home, ['down']);
    expect(down.stdout).toContain('stopped');
    expect(pids.filter(isAliveProcess)).toEqual([]);
    const logs = readFileSync(join(home, 'clusters/default', NAME, `${NAME}-1`, 'manager.log'), 'utf8');
    expect(logs).toContain('PostgreSQL stopped');
    await pgherdOk(home, ['up']);
    await pgherdOk(home, ['wait', NAME, '--for', 'ready', '--timeout', '120s']);
    expect(await psql(home, 'select x from survives_down', 'appdb')).toBe('42');
    const s = await status(home);
    expect(s.instances.map((i) => [i.name, i.role, i.ready])).toEqual([
      [`${NAME}-1`, 'primary', true],
      [`${NAME}-2`, 'replica', true],
      [`${NAME}-3`, 'replica', true],
    ]);
  });
});
