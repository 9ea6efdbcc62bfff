/**
 * Time from `pgherd apply` to a ready cluster (every instance ready, replicas streaming), for
 * 1 and 3 instances, each over fresh homes. The control plane is already running (as after
 * `pgherd up`), so this measures the cluster, not the daemon's start.
 *
 *   npx tsx bench/bootstrap.ts [runs=5]
 */
import { clusterManifest, dropHome, pgherd, scratchHome, stats } from './lib.ts';

const runs = Number(process.argv[2] ?? 5);
const result: Record<string, unknown> = { benchmark: 'bootstrap', unit: 'seconds', runs };
for (const instances of [1, 3]) {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const home = scratchHome();
    try {
      await pgherd(home, ['up']);
      const file = clusterManifest(home, 'bench', instances);
      const t0 = performance.now();
      await pgherd(home, ['apply', '-f', file]);
      await pgherd(home, ['wait', 'bench', '--for', 'ready', '--timeout', '120s']);
      times.push((performance.now() - t0) / 1000);
    } finally {
      await dropHome(home);
    }
  }
  result[`instances_${instances}`] = stats(times);
}
console.log(JSON.stringify(result, null, 2));
