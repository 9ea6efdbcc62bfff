/** The router role (`pgherd router`), kept apart so it loads only what it needs. */
import { existsSync } from 'node:fs';
import { createLogger, type Logger } from '../../observability/logger.ts';
import { routerMarkers } from './instance-runtime.ts';
import { createNftRoutes, type KernelRoutes, kernelRoutingAvailable, nftTableName } from './kernel-routes.ts';
import { HomeLayout } from './layout.ts';
import { acquirePidFile, releasePidFile } from './processes.ts';
import { Router } from './router.ts';
import { openSqliteStore } from './sqlite-store.ts';

/**
 * PGHERD_ROUTER_MODE: `kernel` (nftables DNAT, fail if unavailable), `userspace` (the router
 * forwards every byte), or `auto` (default: kernel when available).
 */
function chooseKernelRoutes(
  home: string,
  mode: string | undefined,
  logger: Logger,
): KernelRoutes | undefined {
  const wanted = mode === undefined || mode === '' ? 'auto' : mode;
  // Whatever the mode, rules left by an earlier router of this home (killed before it could
  // remove them) must not keep routing: only this router's own rules may exist.
  if (process.getuid?.() === 0) {
    try {
      createNftRoutes(home).remove();
    } catch (err) {
      logger.warn({ err }, 'cannot remove kernel routes left by an earlier router');
    }
  }
  if (wanted === 'userspace') {
    logger.info('router mode userspace (PGHERD_ROUTER_MODE)');
    return undefined;
  }
  if (wanted !== 'auto' && wanted !== 'kernel') {
    throw new Error(
      `PGHERD_LOCAL_ROUTER_MODE: PGHERD_ROUTER_MODE="${wanted}" must be auto, kernel or userspace`,
    );
  }
  const available = kernelRoutingAvailable(home);
  if (!available.ok) {
    if (wanted === 'kernel') {
      throw new Error(`PGHERD_LOCAL_ROUTER_MODE: kernel routing was asked for but ${available.reason}`);
    }
    logger.info({ reason: available.reason }, 'router mode userspace: kernel routing is not available');
    return undefined;
  }
  logger.info({ table: nftTableName(home) }, 'router mode kernel (nftables DNAT)');
  return createNftRoutes(home);
}

/** `pgherd router`: serves the Services of this home. */
export async function runRouter(home: string): Promise<void> {
  const layout = new HomeLayout(home);
  const logger = createLogger({ component: 'router' });
  for (let i = 0; i < 100 && !existsSync(layout.storeFile); i++) await new Promise((r) => setTimeout(r, 50));
  const lock = acquirePidFile(layout.routerPidFile, routerMarkers(layout));
  if (!lock.ok) {
    logger.info({ holder: lock.holder }, 'a router already runs for this home; exiting');
    return;
  }
  const store = openSqliteStore(layout.storeFile);
  const kernel = chooseKernelRoutes(home, process.env['PGHERD_ROUTER_MODE'], logger);
  const router = new Router({ store, logger, kernel });
  await router.start();
  logger.info({ pid: process.pid }, 'router started');
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      router
        .stop()
        .catch(() => {})
        .finally(() => {
          store.close();
          releasePidFile(layout.routerPidFile);
          resolve();
        });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
