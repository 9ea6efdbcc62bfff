/**
 * The local platform's long-running roles: the control plane (`pgherd operator`), the router
 * and the instance manager. Each runs in its own process; bin/ picks one.
 */
import { existsSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { ClusterResource } from '../../api/index.ts';
import type { InstanceResource } from '../../api/internal.ts';
import { ClusterController } from '../../controller/cluster-controller.ts';
import { createControlPlane } from '../../controller/control-plane.ts';
import { OperatorLoop } from '../../controller/operator.ts';
import { InstanceManager } from '../../instance/manager.ts';
import { createPgTools } from '../../instance/pg-tools.ts';
import { createLogger, isLogLevel, type LogLevel } from '../../observability/logger.ts';
import { startApiServer } from './api-server.ts';
import { createLocalInstanceClient } from './instance-client.ts';
import { LocalInstanceRuntime, managerMarkers, routerMarkers } from './instance-runtime.ts';
import { ensureDir, findUntraversableAncestor, HomeLayout, resolvePgUser } from './layout.ts';
import { findPgBindir } from './pg-bindir.ts';
import { readLivePid, removeFile, waitForExit } from './processes.ts';
import { Router } from './router.ts';
import { openSqliteStore } from './sqlite-store.ts';

export const LOOPBACK = '127.0.0.1';

/** Creates $PGHERD_HOME with modes that let PostgreSQL's account reach its data and nothing else. */
export function prepareHome(layout: HomeLayout): void {
  const pgUser = resolvePgUser();
  const blocked = findUntraversableAncestor(layout.home, pgUser);
  if (blocked !== undefined) {
    throw new Error(
      `PGHERD_LOCAL_HOME_NOT_TRAVERSABLE: PostgreSQL runs as "${pgUser.name}", which cannot enter ${blocked} (a folder above PGHERD_HOME=${layout.home}). Choose a home it can reach (e.g. --home /var/lib/pgherd) or allow it to traverse that folder (chmod o+x ${blocked}).`,
    );
  }
  // 0711 when PostgreSQL runs as another user: it may pass through, not list.
  ensureDir(layout.home, pgUser.switchUser ? 0o711 : 0o700);
  ensureDir(layout.logsDir, 0o700);
}

export function selfCommand(entry: string): [string, string] {
  return [process.execPath, entry];
}

/** `pgherd operator`: runs the control plane in this process until SIGTERM or `down`. */
export async function runOperator(home: string, entry: string): Promise<void> {
  const layout = new HomeLayout(home);
  prepareHome(layout);
  const logger = createLogger({ component: 'operator' });
  const existing = readLivePid(layout.operatorPidFile, ['operator', '--home', home]);
  if (existing !== undefined && existing !== process.pid) {
    throw new Error(
      `PGHERD_LOCAL_OPERATOR_RUNNING: a control plane already runs for ${home} (pid ${existing})`,
    );
  }
  writeFileSync(layout.operatorPidFile, `${process.pid}\n`, { mode: 0o600 });
  const store = openSqliteStore(layout.storeFile);
  const runtime = new LocalInstanceRuntime({
    layout,
    pgUser: resolvePgUser(),
    self: selfCommand(entry),
    logger,
    host: LOOPBACK,
  });
  const controller = new ClusterController({ store, runtime, logger, now: () => new Date(), host: LOOPBACK });
  const loop = new OperatorLoop({ store, controller, logger });
  let server: Server | undefined;
  let finished: () => void = () => {};
  const done = new Promise<void>((r) => {
    finished = r;
  });
  let stopping = false;
  const stop = async (stopInstances: boolean): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ stopInstances }, 'control plane stopping');
    await loop.stop();
    if (stopInstances) await stopEverything(layout, store.list<InstanceResource>('Instance'), logger);
    server?.close();
    store.close();
    removeFile(layout.operatorPidFile);
    logger.info('control plane stopped');
    finished();
  };
  const cp = createControlPlane({
    store,
    instanceClient: createLocalInstanceClient(LOOPBACK),
    logger,
    now: () => new Date(),
    notify: (key) => loop.notify(key),
    onShutdown: stop,
  });
  server = await startApiServer(layout.apiSocket, cp, logger);
  loop.start();
  logger.info({ home, socket: layout.apiSocket, pid: process.pid }, 'control plane started');
  // SIGTERM/SIGINT stop only the control plane: databases and services keep running and the
  // next control plane adopts them.
  process.once('SIGTERM', () => void stop(false));
  process.once('SIGINT', () => void stop(false));
  await done;
}

/** Stops every instance manager (each shuts its PostgreSQL down) and the router. */
async function stopEverything(
  layout: HomeLayout,
  instances: InstanceResource[],
  logger: ReturnType<typeof createLogger>,
): Promise<void> {
  await Promise.all(
    instances.map(async (i) => {
      const paths = layout.instancePaths(i.metadata.namespace, i.spec.cluster, i.metadata.name);
      const markers = managerMarkers(layout, i.metadata.name);
      const pid = readLivePid(paths.managerPidFile, markers);
      if (pid === undefined) return;
      process.kill(pid, 'SIGTERM');
      if (!(await waitForExit(pid, markers, 120_000)))
        logger.warn({ instance: i.metadata.name }, 'instance manager did not stop in time');
    }),
  );
  const routerPid = readLivePid(layout.routerPidFile, routerMarkers(layout));
  if (routerPid !== undefined) {
    process.kill(routerPid, 'SIGTERM');
    await waitForExit(routerPid, routerMarkers(layout), 10_000);
  }
  removeFile(layout.routerPidFile);
}

/** `pgherd router`: serves the Services of this home. */
export async function runRouter(home: string): Promise<void> {
  const layout = new HomeLayout(home);
  const logger = createLogger({ component: 'router' });
  for (let i = 0; i < 100 && !existsSync(layout.storeFile); i++) await new Promise((r) => setTimeout(r, 50));
  const store = openSqliteStore(layout.storeFile);
  const router = new Router({ store, logger });
  await router.start();
  logger.info({ pid: process.pid }, 'router started');
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      router
        .stop()
        .catch(() => {})
        .finally(() => {
          store.close();
          resolve();
        });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

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
  const me = (await import('node:os')).userInfo().username;
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
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await manager.stop();
  };
  process.once('SIGTERM', () => void stop().then(() => process.exit(0)));
  process.once('SIGINT', () => void stop().then(() => process.exit(0)));
  logger.info({ pid: process.pid }, 'instance manager started');
  await manager.run();
  await stop();
  store.close();
}
