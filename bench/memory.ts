/**
 * Resident memory (RSS) at rest of the control plane, the router and one instance manager,
 * with a 3-instance cluster running and idle for 10 s.
 *
 *   npx tsx bench/memory.ts
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clusterManifest, dropHome, pgherd, scratchHome } from './lib.ts';

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'))!;
  return Math.round((Number(line.split(/\s+/)[1]) / 1024) * 10) / 10;
}
const pidOf = (file: string): number => Number(readFileSync(file, 'utf8').trim());

const home = scratchHome();
try {
  await pgherd(home, ['up', '-f', clusterManifest(home, 'bench', 3)]);
  await new Promise((r) => setTimeout(r, 10_000));
  const out = {
    benchmark: 'memory',
    unit: 'MiB RSS',
    operator: rssMiB(pidOf(join(home, 'operator.pid'))),
    router: rssMiB(pidOf(join(home, 'router.pid'))),
    instance_manager_primary: rssMiB(pidOf(join(home, 'clusters/default/bench/bench-1/manager.pid'))),
    instance_manager_replica: rssMiB(pidOf(join(home, 'clusters/default/bench/bench-2/manager.pid'))),
  };
  console.log(JSON.stringify(out, null, 2));
} finally {
  await dropHome(home);
}
