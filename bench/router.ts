/**
 * pgbench through the `-rw` service versus straight to the primary's port: select-only (-S)
 * and the default TPC-B-like script, 8 clients, over TLS as the application user, for each
 * router mode (kernel = nftables DNAT when available, userspace = the router forwards bytes).
 * Reports TPS, average latency and the service's added latency.
 *
 *   npx tsx bench/router.ts [seconds=30] [scale=10] [modes=auto,userspace] [repetitions=3]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clusterManifest, dropHome, pgherd, run, scratchHome, secret, stats } from './lib.ts';

const seconds = Number(process.argv[2] ?? 30);
const scale = Number(process.argv[3] ?? 10);
const modes = (process.argv[4] ?? 'auto,userspace').split(',');
const reps = Number(process.argv[5] ?? 3);
const PGBENCH = '/usr/lib/postgresql/15/bin/pgbench';

function parse(out: string): { tps: number; latencyMs: number; failed: number } {
  const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(out)?.[1] ?? Number.NaN);
  const latencyMs = Number(/latency average = ([\d.]+) ms/.exec(out)?.[1] ?? Number.NaN);
  const failed = Number(/number of failed transactions: (\d+)/.exec(out)?.[1] ?? Number.NaN);
  return { tps, latencyMs, failed };
}

const results: Record<string, unknown> = {
  benchmark: 'router',
  seconds,
  scale,
  clients: 8,
  tls: true,
  repetitions: reps,
};
for (const mode of modes) {
  process.env['PGHERD_ROUTER_MODE'] = mode;
  results[`mode_${mode}`] = await measure();
}
console.log(JSON.stringify(results, null, 2));

async function measure(): Promise<Record<string, unknown>> {
  const home = scratchHome();
  try {
    await pgherd(home, ['up', '-f', clusterManifest(home, 'bench', 1)]);
    const rw = JSON.parse(await pgherd(home, ['get', 'service', 'bench-rw', '-o', 'json'])) as {
      spec: { port: number };
    };
    const inst = JSON.parse(await pgherd(home, ['get', 'instance', 'bench-1', '-o', 'json'])) as {
      spec: { pgPort: number };
    };
    const env = {
      PGPASSWORD: await secret(home, 'bench-app', 'password'),
      PGSSLMODE: 'require',
      PGHOST: '127.0.0.1',
      PGUSER: 'app',
      PGDATABASE: 'app',
    };
    const init = await run(PGBENCH, ['-i', '-s', String(scale), '-q', '-p', String(rw.spec.port)], env);
    if (init.code !== 0) throw new Error(init.out);
    const routerLog = readFileSync(join(home, 'logs/router.log'), 'utf8');
    const out: Record<string, unknown> = { router: /router mode (\w+)/.exec(routerLog)?.[1] ?? 'unknown' };
    const bench = async (extra: readonly string[], port: number) =>
      parse(
        (
          await run(
            PGBENCH,
            ['-c', '8', '-j', '2', '-T', String(seconds), '-n', ...extra, '-p', String(port)],
            env,
          )
        ).out,
      );
    for (const [workload, extra] of [
      ['select_only', ['-S']],
      ['tpcb_like', []],
    ] as const) {
      // Direct and through -rw alternate, so that a noisy moment hits both sides alike.
      const direct: Array<ReturnType<typeof parse>> = [];
      const routed: Array<ReturnType<typeof parse>> = [];
      for (let r = 0; r < reps; r++) {
        direct.push(await bench(extra, inst.spec.pgPort));
        routed.push(await bench(extra, rw.spec.port));
      }
      const d = stats(direct.map((x) => x.tps));
      const t = stats(routed.map((x) => x.tps));
      const dl = stats(direct.map((x) => x.latencyMs));
      const tl = stats(routed.map((x) => x.latencyMs));
      out[workload] = {
        direct_tps: d,
        through_rw_tps: t,
        failed_transactions:
          routed.reduce((a, x) => a + x.failed, 0) + direct.reduce((a, x) => a + x.failed, 0),
        rw_vs_direct_median_tps_ratio: Math.round((t.median / d.median) * 1000) / 1000,
        median_latency_ms: { direct: dl.median, through_rw: tl.median },
        added_latency_ms: Math.round((tl.median - dl.median) * 1000) / 1000,
      };
    }
    return out;
  } finally {
    await dropHome(home);
  }
}
