/** The router role (`pgherd router`), kept apart so it loads only what it needs. */
import { existsSync } from 'node:fs';
import { createLogger } from '../../observability/logger.ts';
import { routerMarkers } from './instance-runtime.ts';
import { HomeLayout } from './layout.ts';
import { acquirePidFile, releasePidFile } from './processes.ts';
import { Router } from './router.ts';
import { openSqliteStore } from './sqlite-store.ts';

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
          releasePidFile(layout.routerPidFile);
          resolve();
        });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
