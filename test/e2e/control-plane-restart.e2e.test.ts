import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHome,
  destroyHome,
  eventually,
  isAliveProcess,
  pgherdOk,
  runProgram,
  secretValue,
  servicePort,
} from '../harness/home.ts';

const manifest = `
apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata:
  name: cpr
spec:
  instances: 2
  storage:
    size: 1Gi
`;

describe('a control-plane restart', () => {
  let home: string;
  beforeAll(async () => {
    home = createHome();
    writeFileSync(join(home, 'cpr.yaml'), manifest);
    await pgherdOk(home, ['up', '-f', join(home, 'cpr.yaml')]);
  });
  afterAll(async () => {
    await destroyHome(home);
  });

  it('loses no transaction of a pgbench run through -rw while the control plane is killed and restarted', async () => {
    const env = {
      PGPASSWORD: await secretValue(home, 'cpr-app', 'password'),
      PGSSLMODE: 'require',
      PGHOST: '127.0.0.1',
      PGPORT: String(await servicePort(home, 'cpr-rw')),
      PGUSER: 'app',
      PGDATABASE: 'app',
    };
    const bin = '/usr/lib/postgresql/15/bin/pgbench';
    const init = await runProgram(bin, ['-i', '-s', '1', '-q'], env);
    expect(init.code, init.out).toBe(0);
    const bench = runProgram(bin, ['-c', '4', '-j', '2', '-T', '12', '-n', '-P', '2'], env);
    await new Promise((r) => setTimeout(r, 3000));
    const operatorPid = Number(readFileSync(join(home, 'operator.pid'), 'utf8'));
    process.kill(operatorPid, 'SIGKILL');
    await eventually('the control plane to die', async () =>
      isAliveProcess(operatorPid) ? undefined : true,
    );
    await new Promise((r) => setTimeout(r, 2000));
    const up = await pgherdOk(home, ['up']);
    expect(up.stderr).toContain('control plane started');
    const result = await bench;
    expect(result.code, result.out).toBe(0);
    const processed = /number of transactions actually processed: (\d+)/.exec(result.out);
    expect(Number(processed?.[1])).toBeGreaterThan(100);
    const failed = /number of failed transactions: (\d+)/.exec(result.out);
    expect(failed?.[1]).toBe('0');
    // The new control plane adopted the instances: same postmasters, cluster healthy.
    await pgherdOk(home, ['wait', 'cpr', '--for', 'ready', '--timeout', '60s']);
    const v = JSON.parse((await pgherdOk(home, ['status', 'cpr', '-o', 'json'])).stdout) as {
      instances: Array<{ ready: boolean }>;
    };
    expect(v.instances.every((i) => i.ready)).toBe(true);
  });
});
