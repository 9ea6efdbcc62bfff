/**
 * A keyed work queue: adding a key that is already waiting merges into one run, a key is never
 * processed twice at once, and a failing key is retried with exponential backoff.
 */

export type ReconcileResult =
  | { type: 'done'; reason: string }
  | { type: 'requeue'; afterMs: number; reason: string };

export interface WorkQueueOptions {
  process: (key: string) => Promise<ReconcileResult>;
  onError: (key: string, err: unknown, retryInMs: number) => void;
  maxBackoffMs?: number;
}

export class WorkQueue {
  private readonly pending = new Set<string>();
  private readonly running = new Set<string>();
  private readonly rerun = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly failures = new Map<string, number>();
  private stopped = false;
  private idleWaiters: Array<() => void> = [];

  private readonly opts: WorkQueueOptions;
  constructor(opts: WorkQueueOptions) {
    this.opts = opts;
  }

  /** Schedules `key` now (merging with a pending run), or after `delayMs`. */
  add(key: string, delayMs = 0): void {
    if (this.stopped) return;
    if (delayMs > 0) {
      const existing = this.timers.get(key);
      if (existing !== undefined) clearTimeout(existing);
      this.timers.set(
        key,
        setTimeout(() => {
          this.timers.delete(key);
          this.add(key);
        }, delayMs),
      );
      return;
    }
    if (this.running.has(key)) {
      this.rerun.add(key);
      return;
    }
    if (this.pending.has(key)) return;
    this.pending.add(key);
    queueMicrotask(() => this.start(key));
  }

  private start(key: string): void {
    if (!this.pending.delete(key) || this.stopped) {
      // A key dropped because the queue stopped may be the last thing stop() waits for.
      this.wakeIdleWaiters();
      return;
    }
    this.running.add(key);
    // Through a promise, so that a process() that throws synchronously is a failed run too.
    Promise.resolve()
      .then(() => this.opts.process(key))
      .then(
        (res) => {
          this.failures.delete(key);
          if (res.type === 'requeue') this.add(key, res.afterMs);
        },
        (err: unknown) => {
          const n = (this.failures.get(key) ?? 0) + 1;
          this.failures.set(key, n);
          const delay = Math.min(100 * 2 ** n, this.opts.maxBackoffMs ?? 10_000);
          this.opts.onError(key, err, delay);
          this.add(key, delay);
        },
      )
      .finally(() => {
        this.running.delete(key);
        if (this.rerun.delete(key)) this.add(key);
        this.wakeIdleWaiters();
      });
  }

  private wakeIdleWaiters(): void {
    if (this.running.size === 0 && (this.pending.size === 0 || this.stopped)) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** Stops scheduling and waits for running work to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    if (this.running.size > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
  }
}
