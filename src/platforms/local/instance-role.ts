/** The instance-manager role (`pgherd instance`), kept apart so it starts fast. */
import { userInfo } from 'node:os';
import type { ClusterResource } from '../../api/index.ts';
import { InstanceManager } from '../../instance/manager.ts';
import { createPgTools } from '../../instance/pg-tools.ts';
import { createLogger, isLogLevel, type LogLevel } from '../../observability/logger.ts';
import { createApiClient } from './api-client.ts';
import { managerMarkers } from './instance-runtime.ts';
import { HomeLayout, resolvePgUser } from './layout.ts';
import { LOOPBACK } from './loopback.ts';
import { findPgBindir } from './pg-bindir.ts';
import { acquirePidFile, releasePidFile } from './processes.ts';
import { openSqliteStore } from './sqlite-store.ts';

/** `pgherd instance`: supervises one PostgreSQL instance. */
export async function runInstance(
  home: string,
  namespace: string,
  cluster: string,
  instance: string,
): Promise<void> {
  const layout = new HomeLayout(home);
  const store = openSqliteStore(layout.storeFile);
  const c = store.get<ClusterResource>('Cluster', namespace, cluster);
  const level: LogLevel =
    c !== undefined && isLogLevel(String(c.spec.logLevel)) ? (c.spec.logLevel as LogLevel) : 'info';
  const logger = createLogger({ component: 'instance-manager', cluster, instance, level });
  const pgLogger = createLogger({ component: 'postgres', cluster, instance, level });
  const pgUser = resolvePgUser();
  const tools = createPgTools(findPgBindir(process.env), pgUser);
  const paths = layout.instancePaths(namespace, cluster, instance);
  // One manager per instance: two would run initdb or pg_basebackup into the same folder.
  const lock = acquirePidFile(paths.managerPidFile, managerMarkers(layout, instance));
  if (!lock.ok) {
    logger.info({ holder: lock.holder }, 'another instance manager runs for this instance; exiting');
    store.close();
    return;
  }
  const me = userInfo().username;
  // The primary's isolation check asks the control plane whether it is there.
  const controlPlane = createApiClient(layout.apiSocket);
  const manager = new InstanceManager({
    store,
    tools,
    dirs: paths,
    namespace,
    cluster,
    instance,
    logger,
    pgLogger,
    localOsUsers: [...new Set([me, pgUser.name])],
    host: LOOPBACK,
    controlPlaneReachable: async (timeoutMs) => {
      try {
        await controlPlane.ping(timeoutMs);
        return true;
      } catch {
        return false;
      }
    },
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await manager.stop();
  };
  const stopAndExit = (): void => {
    void stop().then(() => {
      releasePidFile(paths.managerPidFile);
      process.exit(0);
    });
  };
  process.once('SIGTERM', stopAndExit);
  process.once('SIGINT', stopAndExit);
  logger.info({ pid: process.pid }, 'instance manager started');
  await manager.run();
  await stop();
  store.close();
  releasePidFile(paths.managerPidFile);
}
