import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clusterStatus,
  createHome,
  destroyHome,
  eventually,
  isAliveProcess,
  pgherd,
  pgherdOk,
} from '../harness/home.ts';

const manifest = `
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: fen
spec:
  instances: 2
  storage:
    size: 1Gi
`;

interface StatusJson {
  instances: Array<{
    name: string;
    role: string;
    ready: boolean;
    phase: string;
    postmasterPid: number | null;
  }>;
  services: Array<{ name: string; endpoints: string[] }>;
}
const status = (home: string): Promise<StatusJson> => clusterStatus<StatusJson>(home, 'fen');

describe('fencing (cnpg.io/fencedInstances)', () => {
  let home: string;
  beforeAll(async () => {
    home = createHome();
    writeFileSync(join(home, 'fen.yaml'), manifest);
    await pgherdOk(home, ['up', '-f', join(home, 'fen.yaml')]);
  });
  afterAll(async () => {
    await destroyHome(home);
  });

  it('stops a fenced replica, takes it out of the services, keeps it stopped, and restarts it when unfenced', async () => {
    const before = (await status(home)).instances.find((i) => i.name === 'fen-2')!;
    const r = await pgherdOk(home, ['fence', 'on', 'fen', 'fen-2']);
    expect(r.stdout).toContain('fenced instances: fen-2');
    const annotation = JSON.parse((await pgherdOk(home, ['get', 'cluster', 'fen', '-o', 'json'])).stdout) as {
      metadata: { annotations: Record<string, string> };
    };
    expect(annotation.metadata.annotations['cnpg.io/fencedInstances']).toBe('["fen-2"]');
    const fenced = await eventually('fen-2 to be fenced', async () => {
      const s = await status(home);
      const i = s.instances.find((x) => x.name === 'fen-2')!;
      return i.phase === 'Fenced' && i.postmasterPid === null ? s : undefined;
    });
    expect(isAliveProcess(before.postmasterPid!)).toBe(false);
    expect(fenced.services.find((s) => s.name === 'fen-ro')!.endpoints).toEqual([]);
    // A re-apply of the manifest (which does not mention fencing) keeps it fenced.
    await pgherdOk(home, ['apply', '-f', join(home, 'fen.yaml')]);
    await new Promise((r2) => setTimeout(r2, 2000));
    expect((await status(home)).instances.find((x) => x.name === 'fen-2')!.phase).toBe('Fenced');

    await pgherdOk(home, ['fence', 'off', 'fen', 'fen-2']);
    await eventually(
      'fen-2 to stream again',
      async () => {
        const s = await status(home);
        return s.instances.find((x) => x.name === 'fen-2')!.ready ? true : undefined;
      },
      60_000,
    );
  });

  it("fences every instance with '*', the primary included, without losing data, and unfences them", async () => {
    await pgherdOk(home, [
      'psql',
      'fen',
      '--',
      '-c',
      'create table kept (x int); insert into kept values (7)',
    ]);
    await pgherdOk(home, ['fence', 'on', 'fen', '*']);
    await eventually('every instance to be fenced', async () => {
      const s = await status(home);
      return s.instances.every((i) => i.phase === 'Fenced' && i.postmasterPid === null) ? true : undefined;
    });
    const refused = await pgherd(home, ['fence', 'off', 'fen', 'fen-1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("unfence '*' first");
    await pgherdOk(home, ['fence', 'off', 'fen', '*']);
    await pgherdOk(home, ['wait', 'fen', '--for', 'ready', '--timeout', '60s']);
    const s = await status(home);
    expect(s.instances.find((i) => i.name === 'fen-1')!.role).toBe('primary');
    expect((await pgherdOk(home, ['psql', 'fen', '--', '-Atc', 'select x from kept'])).stdout.trim()).toBe(
      '7',
    );
  });

  it('refuses to fence an instance the cluster does not have', async () => {
    const r = await pgherd(home, ['fence', 'on', 'fen', 'fen-9']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('has no instance "fen-9"');
  });
});
