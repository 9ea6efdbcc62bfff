/**
 * The control-plane loop: watches the store for changes and reconciles every cluster through
 * the keyed work queue. Platform-neutral; bin/ wires the store and runtime.
 */
import type { Logger } from 'pino';
import type { ClusterResource } from '../api/index.ts';
import type { Store } from '../ports/store.ts';
import type { ClusterController } from './cluster-controller.ts';
import { WorkQueue } from './work-queue.ts';

export interface OperatorLoopDeps {
  store: Store;
  controller: ClusterController;
  logger: Logger;
  /** How often the store revision is checked, ms. */
  pollMs?: number;
}

export class OperatorLoop {
  private readonly queue: WorkQueue;
  private timer: NodeJS.Timeout | undefined;
  private lastRevision = -1;

  private readonly d: OperatorLoopDeps;
  constructor(d: OperatorLoopDeps) {
    this.d = d;
    this.queue = new WorkQueue({
      process: (key) => d.controller.reconcile(key),
      onError: (key, err, retryInMs) =>
        d.logger.error(
          { err, cluster: key.split('/')[1], retryInMs },
          `reconcile of ${key} failed: ${(err as Error).message}`,
        ),
    });
  }

  start(): void {
    this.enqueueAll();
    this.timer = setInterval(() => {
      const rev = this.d.store.revision();
      if (rev !== this.lastRevision) {
        this.lastRevision = rev;
        this.enqueueAll();
      }
    }, this.d.pollMs ?? 100);
  }

  /** Reconcile one cluster now (after an API write). */
  notify(key: string): void {
    this.queue.add(key);
  }

  enqueueAll(): void {
    for (const c of this.d.store.list<ClusterResource>('Cluster')) {
      this.queue.add(`${c.metadata.namespace}/${c.metadata.name}`);
    }
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.queue.stop();
  }
}

/**
 * Runs `work` every `everyMs`, never two at once (a slow pass delays the next one); `stop`
 * waits for the pass in progress.
 */
export function startTicker(
  work: () => Promise<void>,
  everyMs: number,
  logger: Logger,
): { stop(): Promise<void> } {
  let current: Promise<void> = Promise.resolve();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const run = (): void => {
    current = work()
      .catch((err: unknown) => logger.error({ err }, `periodic work failed: ${(err as Error).message}`))
      .finally(() => {
        if (!stopped) timer = setTimeout(run, everyMs);
      });
  };
  timer = setTimeout(run, everyMs);
  return {
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await current;
    },
  };
}
