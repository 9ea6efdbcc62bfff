/**
 * Time from `pgherd apply` to a ready cluster (every instance ready, replicas streaming), for
 * 1 and 3 instances, and 3 with synchronous replication (ANY 1, required), over fresh homes. The control plane is already running (as after
 * `pgherd up`), so this measures the cluster, not the daemon's start.
 *
 *   npx tsx bench/bootstrap.ts [runs=5]
 */
import { clusterManifest, dropHome, pgherd, scratchHome, stats } from './lib.ts';

const runs = Number(process.argv[2] ?? 5);
const result: Record<string, unknown> = { benchmark: 'bootstrap', unit: 'seconds', runs };
const SYNC = '  postgresql:\n    synchronous:\n      method: any\n      number: 1\n';
for (const [label, instances, extra] of [
  ['instances_1', 1, ''],
  ['instances_3', 3, ''],
  ['instances_3_synchronous', 3, SYNC],
] as const) {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const home = scratchHome();
    try {
      await pgherd(home, ['up']);
      const file = clusterManifest(home, 'bench', instances, extra);
      const t0 = performance.now();
      await pgherd(home, ['apply', '-f', file]);
      await pgherd(home, ['wait', 'bench', '--for', 'ready', '--timeout', '120s']);
      times.push((performance.now() - t0) / 1000);
    } finally {
      await dropHome(home);
    }
  }
  result[label] = stats(times);
}
console.log(JSON.stringify(result, null, 2));
