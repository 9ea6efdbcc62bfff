import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appClient,
  CLI,
  clusterStatus,
  createHome,
  destroyHome,
  eventually,
  isAliveProcess,
  pgherd,
  pgherdOk,
  ROOT,
  recordedPids,
} from '../harness/home.ts';

describe('a 3-instance cluster from examples/cluster-example.yaml', () => {
  let home: string;

  beforeAll(async () => {
    home = createHome();
    const up = await pgherdOk(home, ['up', '-f', join(ROOT, 'examples/cluster-example.yaml')]);
    expect(up.stdout).toContain('cluster cluster-example is ready');
    expect(up.stdout).toContain('cluster-example-rw');
  });

  afterAll(async () => {
    await destroyHome(home);
  });

  it('reports three ready instances, one primary and two streaming replicas', async () => {
    interface StatusJson {
      instances: Array<{ name: string; role: string; ready: boolean; timelineId: number }>;
      replication: Array<{ applicationName: string; state: string }>;
    }
    // The primary's view of its walsenders lags the replicas' own view by a status pass.
    const v = await eventually(
      'the primary to see both replicas streaming',
      async () => {
        const r = await pgherdOk(home, ['status', 'cluster-example', '-o', 'json']);
        const s = JSON.parse(r.stdout) as StatusJson;
        return s.replication.filter((x) => x.state === 'streaming').length === 2 ? s : undefined;
      },
      10_000,
    );
    expect(v.instances.map((i) => [i.name, i.role, i.ready])).toEqual([
      ['cluster-example-1', 'primary', true],
      ['cluster-example-2', 'replica', true],
      ['cluster-example-3', 'replica', true],
    ]);
    expect(v.replication.map((x) => [x.applicationName, x.state])).toEqual([
      ['cluster-example-2', 'streaming'],
      ['cluster-example-3', 'streaming'],
    ]);
    const text = await pgherdOk(home, ['status', 'cluster-example']);
    expect(text.stdout).toContain('Cluster in healthy state');
    expect(text.stdout).toMatch(/cluster-example-rw\s+rw\s+127\.0\.0\.1:\d+\s+cluster-example-1/);
  });

  it("enforces the manifest's synchronous replication (ANY 1): pgherd writes synchronous_standby_names", async () => {
    const names = (
      await pgherdOk(home, ['psql', 'cluster-example', '--', '-Atc', 'show synchronous_standby_names'])
    ).stdout.trim();
    expect(names).toBe('ANY 1 ("cluster-example-2","cluster-example-3","cluster-example-1")');
    const v = await eventually(
      'both standbys to be quorum candidates',
      async () => {
        const s = await clusterStatus<{ replication: Array<{ applicationName: string; syncState: string }> }>(
          home,
          'cluster-example',
        );
        return s.replication.filter((x) => x.syncState === 'quorum').length === 2 ? s : undefined;
      },
      10_000,
    );
    expect(v.replication.map((x) => x.applicationName)).toEqual(['cluster-example-2', 'cluster-example-3']);
  });

  it('reads a row written through -rw from each standby through -ro', async () => {
    const rw = await appClient(home, 'cluster-example', 'cluster-example-rw');
    await rw.query('CREATE TABLE IF NOT EXISTS e2e_rows (id int primary key, note text)');
    await rw.query("INSERT INTO e2e_rows VALUES (1, 'written through rw')");
    const primaryPort = (await rw.query<{ port: string }>("SELECT current_setting('port') AS port")).rows[0]!
      .port;
    await rw.end();
    const seen = new Set<string>();
    await eventually(
      'both standbys to serve the row through -ro',
      async () => {
        const ro = await appClient(home, 'cluster-example', 'cluster-example-ro');
        try {
          const r = await ro.query<{ note: string; port: string; standby: boolean }>(
            "SELECT note, current_setting('port') AS port, pg_is_in_recovery() AS standby FROM e2e_rows WHERE id = 1",
          );
          if (r.rows[0]?.note === 'written through rw' && r.rows[0].standby) seen.add(r.rows[0].port);
        } finally {
          await ro.end();
        }
        return seen.size === 2 ? true : undefined;
      },
      30_000,
    );
    expect(seen.has(primaryPort)).toBe(false);
  });

  it('gives the application secret with CNPG keys and a uri psql can use', async () => {
    const r = await pgherdOk(home, ['get', 'secret', 'cluster-example-app', '-o', 'json']);
    const s = JSON.parse(r.stdout) as { type: string; data: Record<string, string> };
    expect(s.type).toBe('kubernetes.io/basic-auth');
    expect(Object.keys(s.data).sort()).toEqual([
      'dbname',
      'host',
      'jdbc-uri',
      'password',
      'pgpass',
      'port',
      'uri',
      'username',
    ]);
    const uri = (
      await pgherdOk(home, ['get', 'secret', 'cluster-example-app', '-o', 'jsonpath={.data.uri}'])
    ).stdout.trim();
    expect(uri).toMatch(/^postgresql:\/\/app:[^@]+@127\.0\.0\.1:\d+\/app/);
    const psql = await new Promise<{ code: number | null; out: string }>((resolvePromise) => {
      execFile(
        '/usr/lib/postgresql/15/bin/psql',
        [uri, '-Atc', 'select current_user, ssl from pg_stat_ssl where pid = pg_backend_pid()'],
        (err, out) => resolvePromise({ code: err ? 1 : 0, out: String(out) }),
      );
    });
    expect(psql).toEqual({ code: 0, out: 'app|t\n' });
  });

  it('lists clusters, services and instances', async () => {
    const clusters = await pgherdOk(home, ['get', 'clusters']);
    expect(clusters.stdout).toMatch(
      /cluster-example\s+\S+\s+3\s+3\s+Cluster in healthy state\s+cluster-example-1/,
    );
    const svc = await pgherdOk(home, ['get', 'service', 'cluster-example-rw', '-o', 'json']);
    const spec = (JSON.parse(svc.stdout) as { spec: { host: string; port: number } }).spec;
    expect(spec.host).toBe('127.0.0.1');
    expect(spec.port).toBeGreaterThan(0);
  });

  it('prints a cluster as YAML and follows the logs with -f', async () => {
    const yaml = await pgherdOk(home, ['get', 'cluster', 'cluster-example', '-o', 'yaml']);
    expect(yaml.stdout).toMatch(/^apiVersion: postgresql\.cnpg\.io\/v1\nkind: Cluster\n/);
    expect(yaml.stdout).toContain('currentPrimary: cluster-example-1');
    const { spawn } = await import('node:child_process');
    const follower = spawn(process.execPath, [
      CLI,
      '--home',
      home,
      'logs',
      'cluster-example',
      'cluster-example-1',
      '-f',
    ]);
    let seen = '';
    follower.stdout.on('data', (c: Buffer) => {
      seen += c.toString();
    });
    try {
      await new Promise((r) => setTimeout(r, 1000));
      const before = seen.length;
      // A new PostgreSQL log line (log_checkpoints is on by default) must reach the follower.
      await pgherdOk(home, ['psql', 'cluster-example', '--', '-c', 'checkpoint']);
      await eventually(
        'the follower to print new lines',
        async () => (seen.length > before ? true : undefined),
        15_000,
      );
    } finally {
      follower.kill('SIGINT');
    }
  });

  it('re-emits PostgreSQL log records as JSON with logger postgres', async () => {
    const r = await pgherdOk(home, ['logs', 'cluster-example', 'cluster-example-1']);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const pgLines = lines.filter((l) => l['logger'] === 'postgres');
    expect(pgLines.length).toBeGreaterThan(0);
    for (const l of lines) {
      expect(l).toHaveProperty('level');
      expect(l).toHaveProperty('ts');
      expect(l).toHaveProperty('msg');
      expect(l['cluster']).toBe('cluster-example');
      expect(l['instance']).toBe('cluster-example-1');
    }
    expect(
      pgLines.some((l) => JSON.stringify(l).includes('database system is ready to accept connections')),
    ).toBe(true);
  });

  // As a normal user PostgreSQL runs as that user; this case is about root (CI runs as root).
  it.skipIf(process.getuid?.() !== 0)(
    'runs PostgreSQL as the postgres OS user when pgherd runs as root',
    async () => {
      const pids = recordedPids(home).filter(isAliveProcess);
      const postmasters = pids.filter((p) =>
        readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0')[0]!.endsWith('/postgres'),
      );
      expect(postmasters.length).toBe(3);
      for (const p of postmasters) {
        const uidLine = readFileSync(`/proc/${p}/status`, 'utf8')
          .split('\n')
          .find((l) => l.startsWith('Uid:'))!;
        const uid = Number(uidLine.split(/\s+/)[1]);
        expect(uid).not.toBe(0);
      }
    },
  );

  it('deletes the cluster: no process or file left', async () => {
    const before = recordedPids(home).filter(isAliveProcess);
    expect(before.length).toBeGreaterThanOrEqual(6);
    const del = await pgherd(home, ['delete', 'cluster', 'cluster-example']);
    expect(del.code).toBe(0);
    const gone = await pgherd(home, ['get', 'cluster', 'cluster-example']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('not found');
    const survivors = before.filter(isAliveProcess);
    // Only the control plane and the router remain, and they belong to the home, not the cluster.
    const operatorPid = Number(readFileSync(join(home, 'operator.pid'), 'utf8'));
    const routerPid = Number(readFileSync(join(home, 'router.pid'), 'utf8'));
    expect(survivors.filter((p) => p !== operatorPid && p !== routerPid)).toEqual([]);
    expect(existsSync(join(home, 'clusters/default/cluster-example'))).toBe(false);
    const secrets = await pgherdOk(home, ['get', 'secrets']);
    expect(secrets.stdout).not.toContain('cluster-example');
  });
});
