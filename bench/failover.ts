/**
 * Write unavailability of failover and switchover: a 3-instance cluster with synchronous
 * replication (ANY 1, required), 4 clients writing through -rw, one fault per run; the window
 * is the longest time without an acknowledged write from the fault on (last acknowledged
 * write before it to the first after). Also reports acknowledged writes lost (must be 0) and
 * split brain (must be 0) over all runs.
 *
 *   npx tsx bench/failover.ts [runs=5]
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { clusterStatus, type StatusView, serviceConnector } from '../test/harness/home.ts';
import { WriteChecker } from '../test/harness/write-checker.ts';
import { clusterManifest, dropHome, pgherd, scratchHome, stats } from './lib.ts';

type StatusJson = StatusView;

type Fault =
  | 'postmaster_kill'
  | 'manager_and_postmaster_kill'
  | 'hung_primary'
  | 'hung_node'
  | 'hung_node_threshold_2'
  | 'switchover';

const runs = Number(process.argv[2] ?? 5);
const SYNC = '  postgresql:\n    synchronous:\n      method: any\n      number: 1\n';
const FAST_LIVENESS = '  probes:\n    liveness:\n      periodSeconds: 1\n      failureThreshold: 2\n';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function healthy(home: string): Promise<StatusJson> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const s = await clusterStatus<StatusJson>(home, 'bench').catch(() => undefined);
    const p = s?.instances.find((i) => i.name === s.cluster.status.currentPrimary);
    if (
      s !== undefined &&
      p?.role === 'primary' &&
      s.cluster.status.currentPrimary === s.cluster.status.targetPrimary &&
      s.instances.every((i) => i.ready && i.timelineId === p.timelineId)
    )
      return s;
    await sleep(200);
  }
  throw new Error('the cluster did not become healthy within 120 s');
}

/** Every process whose working directory is the instance's PGDATA: the postmaster and all its backends. */
function postgresProcesses(home: string, instance: string): number[] {
  const pgdata = join(home, 'clusters/default/bench', instance, 'pgdata');
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        return readlinkSync(`/proc/${e}/cwd`) === pgdata;
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function inject(home: string, fault: Fault, s: StatusJson): Promise<void> {
  const p = s.instances.find((i) => i.name === s.cluster.status.currentPrimary)!;
  switch (fault) {
    case 'postmaster_kill':
      process.kill(p.postmasterPid!, 'SIGKILL');
      return;
    case 'manager_and_postmaster_kill':
      process.kill(p.managerPid!, 'SIGKILL');
      process.kill(p.postmasterPid!, 'SIGKILL');
      return;
    case 'hung_primary':
    case 'hung_node':
    case 'hung_node_threshold_2': {
      // hung_primary: the fault (manager and postmaster stopped; the backends of open
      // connections keep serving). hung_node: every process of the instance stopped.
      const pids =
        fault === 'hung_primary'
          ? [p.managerPid!, p.postmasterPid!]
          : [p.managerPid!, ...postgresProcesses(home, p.name)];
      for (const pid of pids) process.kill(pid, 'SIGSTOP');
      const deadline = Date.now() + 60_000;
      try {
        while (Date.now() < deadline) {
          const x = await clusterStatus<StatusJson>(home, 'bench').catch(() => undefined);
          if (x !== undefined && x.cluster.status.currentPrimary !== p.name) return;
          await sleep(100);
        }
        throw new Error('no failover away from the hung primary within 60 s');
      } finally {
        for (const pid of pids) {
          try {
            process.kill(pid, 'SIGCONT');
          } catch {
            /* killed by the failover */
          }
        }
      }
    }
    case 'switchover': {
      const target = s.instances.find((i) => i.name !== p.name)!;
      await pgherd(home, ['promote', 'bench', target.name]);
      return;
    }
  }
}

const result: Record<string, unknown> = {
  benchmark: 'failover',
  unit: 'seconds; write_gap: longest time without an acknowledged write from the fault on; fault_to_new_primary: fault to the promotion recorded by the new primary',
  runs,
  clients: 4,
  replication: 'synchronous ANY 1, dataDurability required',
};
let lostTotal = 0;
let splitBrainTotal = 0;
for (const fault of [
  'postmaster_kill',
  'manager_and_postmaster_kill',
  'hung_primary',
  'hung_node',
  'hung_node_threshold_2',
  'switchover',
] as const) {
  const home = scratchHome();
  const gaps: number[] = [];
  const promoted: number[] = [];
  try {
    await pgherd(home, ['up']);
    const file = clusterManifest(
      home,
      'bench',
      3,
      SYNC + (fault === 'hung_node_threshold_2' ? FAST_LIVENESS : ''),
    );
    await pgherd(home, ['apply', '-f', file]);
    await pgherd(home, ['wait', 'bench', '--for', 'ready', '--timeout', '120s']);
    const connect = await serviceConnector(home, 'bench', 'bench-rw');
    for (let i = 0; i < runs; i++) {
      const before = await healthy(home);
      const checker = new WriteChecker({ connect, clients: 4 });
      await checker.start();
      await checker.waitForAcks(200);
      const at = Date.now();
      await inject(home, fault, before);
      await checker.waitForAcks(200, 120_000);
      await checker.stop();
      const rw = await connect();
      const v = await checker.verify(rw);
      await rw.end();
      gaps.push(v.gapAfterMs(at) / 1000);
      // The new primary records the moment it was promoted.
      const after = await clusterStatus<StatusJson>(home, 'bench');
      promoted.push((Date.parse(after.cluster.status.currentPrimaryTimestamp ?? '') - at) / 1000);
      lostTotal += v.lost.length;
      splitBrainTotal += v.splitBrain.length;
      await healthy(home);
    }
    result[fault] = { write_gap: stats(gaps), fault_to_new_primary: stats(promoted) };
  } catch (err) {
    const log = (f: string): string => {
      try {
        return readFileSync(join(home, f), 'utf8').split('\n').slice(-20).join('\n');
      } catch {
        return '';
      }
    };
    console.error(`${fault} failed: ${(err as Error).message}\n${log('logs/operator.log')}`);
    result[fault] = { error: (err as Error).message, completedRuns: gaps.length };
  } finally {
    await dropHome(home);
  }
}
result['acknowledged_writes_lost'] = lostTotal;
result['split_brain_acknowledgments'] = splitBrainTotal;
console.log(JSON.stringify(result, null, 2));
