/**
 * Rolling restarts for parameters that need a restart (CNPG's rolling update): standbys one at
 * a time, then the primary by switchover (primaryUpdateMethod: switchover) or in place
 * (restart, the default), under write load, nothing acknowledged lost.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clusterStatus,
  createHome,
  destroyHome,
  eventually,
  pgherdOk,
  type StatusView,
  serviceConnector,
} from '../harness/home.ts';
import { sqlOn } from '../harness/instances.ts';
import { WriteChecker } from '../harness/write-checker.ts';

const manifest = (method: string, sharedBuffers: string): string => `
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: roll
spec:
  instances: 3
  primaryUpdateMethod: ${method}
  postgresql:
    synchronous:
      method: any
      number: 1
    parameters:
      shared_buffers: ${sharedBuffers}
  storage:
    size: 1Gi
`;

describe('rolling restart for parameters that need one', () => {
  let home: string;
  const file = (): string => join(home, 'roll.yaml');
  beforeAll(async () => {
    home = createHome();
    writeFileSync(file(), manifest('switchover', '32MB'));
    await pgherdOk(home, ['up', '-f', file()]);
    await pgherdOk(home, ['wait', 'roll', '--for', 'ready', '--timeout', '120s']);
  });
  afterAll(async () => {
    await destroyHome(home);
  });

  /** Applies the manifest under write load and waits until every instance runs with the value. */
  async function rollTo(method: string, value: string): Promise<{ before: StatusView; after: StatusView }> {
    const before = await clusterStatus<StatusView>(home, 'roll');
    const checker = new WriteChecker({
      connect: await serviceConnector(home, 'roll', 'roll-rw'),
      clients: 4,
    });
    await checker.start();
    await checker.waitForAcks(100);
    writeFileSync(file(), manifest(method, value));
    await pgherdOk(home, ['apply', '-f', file()]);
    await eventually(
      `every instance to run with shared_buffers ${value}`,
      async () => {
        for (const i of before.instances) {
          const dir = join(home, 'clusters/default/roll', i.name);
          const [r] = await sqlOn<{ v: string; pending: boolean }>(
            dir,
            "SELECT current_setting('shared_buffers') AS v, EXISTS (SELECT 1 FROM pg_settings WHERE pending_restart) AS pending",
          ).catch(() => [undefined]);
          if (r?.v !== value || r.pending) return undefined;
        }
        return true;
      },
      180_000,
    );
    await pgherdOk(home, ['wait', 'roll', '--for', 'ready', '--timeout', '120s']);
    await checker.waitForAcks(100, 60_000);
    await checker.stop();
    const rw = await (await serviceConnector(home, 'roll', 'roll-rw'))();
    const verdict = await checker.verify(rw);
    await rw.end();
    expect(verdict.lost).toEqual([]);
    expect(verdict.splitBrain).toEqual([]);
    return { before, after: await clusterStatus<StatusView>(home, 'roll') };
  }

  it('primaryUpdateMethod switchover: standbys restarted, then a switchover; nothing lost', async () => {
    const { before, after } = await rollTo('switchover', '48MB');
    expect(after.cluster.status.currentPrimary).not.toBe(before.cluster.status.currentPrimary);
    const log = (await import('node:fs')).readFileSync(join(home, 'logs/operator.log'), 'utf8');
    expect(log).toContain('to apply parameters that need a restart (primaryUpdateMethod: switchover)');
  });

  it('primaryUpdateMethod restart: the primary restarts in place; nothing lost', async () => {
    const { before, after } = await rollTo('restart', '64MB');
    const p = before.cluster.status.currentPrimary!;
    expect(after.cluster.status.currentPrimary).toBe(p);
    const pid = (s: StatusView): number | null => s.instances.find((i) => i.name === p)!.postmasterPid;
    expect(pid(after)).not.toBe(pid(before));
  });
});
