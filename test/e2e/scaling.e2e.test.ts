import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appClient, createHome, destroyHome, eventually, pgherdOk } from '../harness/home.ts';

const cluster = (name: string, instances: number): string => `
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: ${name}
spec:
  instances: ${instances}
  storage:
    size: 1Gi
`;

interface StatusJson {
  instances: Array<{ name: string; role: string; ready: boolean }>;
  replication: Array<{ applicationName: string; state: string }>;
}

describe('scaling and clusters side by side', () => {
  let home: string;

  beforeAll(async () => {
    home = createHome();
  });
  afterAll(async () => {
    await destroyHome(home);
  });

  async function apply(name: string, instances: number): Promise<void> {
    const file = join(home, `${name}.yaml`);
    writeFileSync(file, cluster(name, instances));
    await pgherdOk(home, ['apply', '-f', file]);
  }

  async function readyNames(name: string, want: number): Promise<string[]> {
    return eventually(
      `${name} to have ${want} ready instances`,
      async () => {
        const v = JSON.parse((await pgherdOk(home, ['status', name, '-o', 'json'])).stdout) as StatusJson;
        const ready = v.instances.filter((i) => i.ready).map((i) => i.name);
        const streaming = v.replication.filter((r) => r.state === 'streaming').length;
        return v.instances.length === want && ready.length === want && streaming === want - 1
          ? ready
          : undefined;
      },
      120_000,
    );
  }

  it('scales 3 -> 5 -> 2, removing the highest-numbered standbys', async () => {
    writeFileSync(join(home, 'scale.yaml'), cluster('scale', 3));
    await pgherdOk(home, ['up', '-f', join(home, 'scale.yaml')]);
    expect(await readyNames('scale', 3)).toEqual(['scale-1', 'scale-2', 'scale-3']);
    await apply('scale', 5);
    expect(await readyNames('scale', 5)).toEqual(['scale-1', 'scale-2', 'scale-3', 'scale-4', 'scale-5']);
    await apply('scale', 2);
    expect(await readyNames('scale', 2)).toEqual(['scale-1', 'scale-2']);
    // The removed instances' replication slots are dropped on the primary.
    const slots = await eventually('slots of removed instances to be dropped', async () => {
      const r = await pgherdOk(home, [
        'psql',
        'scale',
        '--',
        '-Atc',
        'select slot_name from pg_replication_slots order by 1',
      ]);
      const names = r.stdout.trim().split('\n').filter(Boolean);
      return names.length === 1 ? names : undefined;
    });
    expect(slots).toEqual(['_cnpg_scale_2']);
  });

  it('runs a second cluster beside the first, each with its own services and data', async () => {
    await apply('other', 1);
    await pgherdOk(home, ['wait', 'other', '--for', 'ready', '--timeout', '120s']);
    const a = await appClient(home, 'scale', 'scale-rw');
    const b = await appClient(home, 'other', 'other-rw');
    await a.query('CREATE TABLE only_in_scale (x int)');
    const r = await b.query("SELECT to_regclass('only_in_scale') IS NULL AS absent");
    expect((r.rows[0] as { absent: boolean }).absent).toBe(true);
    const sysA = (await a.query('SELECT system_identifier::text AS id FROM pg_control_system()')).rows[0] as {
      id: string;
    };
    const sysB = (await b.query('SELECT system_identifier::text AS id FROM pg_control_system()')).rows[0] as {
      id: string;
    };
    expect(sysA.id).not.toBe(sysB.id);
    await a.end();
    await b.end();
    const list = await pgherdOk(home, ['get', 'clusters']);
    expect(list.stdout).toMatch(/other\s+\S+\s+1\s+1\s+Cluster in healthy state/);
    expect(list.stdout).toMatch(/scale\s+\S+\s+2\s+2\s+Cluster in healthy state/);
  });
});
