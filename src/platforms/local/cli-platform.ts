/** The CLI's view of the local platform: the control plane over its socket, processes, files. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CliPlatform } from '../../cli/context.ts';
import { UserError } from '../../cli/context.ts';
import { createApiClient } from './api-client.ts';
import { HomeLayout, prepareHome, selfCommand } from './layout.ts';
import { findPgBindir } from './pg-bindir.ts';
import { isOurProcess, readLivePid, spawnDetached, waitForExit } from './processes.ts';

export function createLocalCliPlatform(home: string, entry: string): CliPlatform {
  const layout = new HomeLayout(home);
  const client = createApiClient(layout.apiSocket);
  const markers = ['operator', '--home', home];
  return {
    home,
    controlPlane: () => client,
    async startControlPlane(progress) {
      let spawned: number | undefined;
      const running = readLivePid(layout.operatorPidFile, markers);
      if (running !== undefined) {
        try {
          await client.ping();
          return { started: false, pid: running };
        } catch {
          /* starting up: wait below */
        }
      } else {
        prepareHome(layout);
        progress(`starting the control plane (home ${home})...`);
        const [node, script] = selfCommand(entry);
        spawned = spawnDetached({
          command: node,
          args: [script, 'operator', '--home', home],
          logFile: layout.operatorLog,
        });
      }
      // Wait while the process we started (or the one that runs) is alive: on a busy machine
      // loading the control plane takes seconds, and giving up early would leave it running
      // with nobody to stop it. Stop only when it died, or after the deadline.
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        try {
          const { pid } = await client.ping();
          return { started: running === undefined, pid };
        } catch {
          await new Promise((r) => setTimeout(r, 50));
        }
        const alive =
          readLivePid(layout.operatorPidFile, markers) !== undefined ||
          (spawned !== undefined && isOurProcess(spawned, markers));
        if (!alive) break;
      }
      const tail = existsSync(layout.operatorLog)
        ? readFileSync(layout.operatorLog, 'utf8').trim().split('\n').slice(-5).join('\n')
        : '(no log)';
      throw new UserError(
        `the control plane did not start; last lines of ${layout.operatorLog}:\n${tail}`,
        'PGHERD_CLI_CONTROL_PLANE_START',
      );
    },
    async stopControlPlane(stopInstances, progress) {
      const pid = readLivePid(layout.operatorPidFile, markers);
      if (pid === undefined) return { wasRunning: false };
      progress(
        stopInstances ? 'stopping instances, router and control plane...' : 'stopping the control plane...',
      );
      await client.shutdown({ stopInstances });
      if (!(await waitForExit(pid, markers, 180_000))) {
        throw new UserError(
          `the control plane (pid ${pid}) did not stop within 180s; see ${layout.operatorLog}`,
          'PGHERD_CLI_STOP_TIMEOUT',
        );
      }
      return { wasRunning: true };
    },
    runControlPlane: async () => (await import('./roles.ts')).runOperator(home, entry),
    psqlCommand(namespace, cluster, instance, port) {
      const paths = layout.instancePaths(namespace, cluster, instance);
      return {
        command: join(findPgBindir(process.env), 'psql'),
        args: ['-h', paths.socketDir, '-p', String(port), '-U', 'postgres', '-d', 'postgres'],
      };
    },
    logFiles(namespace, cluster, instance) {
      const dir = layout.clusterDir(namespace, cluster);
      if (instance !== undefined) return [{ instance, file: join(dir, instance, 'manager.log') }];
      if (!existsSync(dir)) return [];
      return readdirSync(dir).map((i) => ({ instance: i, file: join(dir, i, 'manager.log') }));
    },
  };
}
