import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ReconcileResult, WorkQueue } from './work-queue.ts';

/** One call of `process`, settled by the test. */
interface Call {
  key: string;
  resolve: (r: ReconcileResult) => void;
  reject: (err: unknown) => void;
}

/** A queue whose `process` calls wait for the test to settle them, and that records everything. */
function harness(opts: { maxBackoffMs?: number } = {}) {
  const calls: Call[] = [];
  const errors: Array<{ key: string; message: string; retryInMs: number }> = [];
  const running = new Map<string, number>();
  let maxConcurrentPerKey = 0;
  const queue = new WorkQueue({
    process: (key) =>
      new Promise<ReconcileResult>((resolve, reject) => {
        const n = (running.get(key) ?? 0) + 1;
        running.set(key, n);
        maxConcurrentPerKey = Math.max(maxConcurrentPerKey, n);
        const done = (): void => {
          running.set(key, (running.get(key) ?? 1) - 1);
        };
        calls.push({
          key,
          resolve: (r) => {
            done();
            resolve(r);
          },
          reject: (err) => {
            done();
            reject(err);
          },
        });
      }),
    onError: (key, err, retryInMs) => errors.push({ key, message: (err as Error).message, retryInMs }),
    ...(opts.maxBackoffMs === undefined ? {} : { maxBackoffMs: opts.maxBackoffMs }),
  });
  return {
    queue,
    calls,
    errors,
    keys: () => calls.map((c) => c.key),
    maxConcurrentPerKey: () => maxConcurrentPerKey,
    /** Settles the i-th call and lets the queue react. */
    async finish(i: number, r: ReconcileResult = { type: 'done', reason: 'in sync' }): Promise<void> {
      calls[i]!.resolve(r);
      await flush();
    },
    async fail(i: number, message: string): Promise<void> {
      calls[i]!.reject(new Error(message));
      await flush();
    },
  };
}

/** Runs every queued microtask (queueMicrotask and promise reactions); setImmediate is not faked. */
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('WorkQueue', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('merges repeated adds of a waiting key into one run', async () => {
    const h = harness();
    h.queue.add('default/a');
    h.queue.add('default/a');
    h.queue.add('default/b');
    h.queue.add('default/a');
    await flush();
    expect(h.keys()).toEqual(['default/a', 'default/b']);
    await h.finish(0);
    await h.finish(1);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.keys()).toEqual(['default/a', 'default/b']);
  });

  it('runs different keys at the same time', async () => {
    const h = harness();
    h.queue.add('default/a');
    h.queue.add('default/b');
    await flush();
    // Both started before either finished.
    expect(h.keys()).toEqual(['default/a', 'default/b']);
  });

  it('never runs a key twice at once: adds during a run schedule exactly one rerun after it', async () => {
    const h = harness();
    h.queue.add('default/a');
    await flush();
    h.queue.add('default/a');
    h.queue.add('default/a');
    h.queue.add('default/a');
    await flush();
    expect(h.keys()).toEqual(['default/a']);
    await h.finish(0);
    expect(h.keys()).toEqual(['default/a', 'default/a']);
    await h.finish(1);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.keys()).toEqual(['default/a', 'default/a']);
    expect(h.maxConcurrentPerKey()).toBe(1);
  });

  it('runs a requeued key again after the requested delay, not before', async () => {
    const h = harness();
    h.queue.add('default/a');
    await flush();
    await h.finish(0, { type: 'requeue', afterMs: 500, reason: 'waiting for the standby' });
    await vi.advanceTimersByTimeAsync(499);
    expect(h.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.calls).toHaveLength(2);
    await h.finish(1);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.calls).toHaveLength(2);
  });

  it('lets a new delayed add replace the waiting one, so the key runs once', async () => {
    const h = harness();
    h.queue.add('default/a', 1000);
    h.queue.add('default/a', 100);
    await vi.advanceTimersByTimeAsync(100);
    expect(h.calls).toHaveLength(1);
    await h.finish(0);
    await vi.advanceTimersByTimeAsync(5000);
    expect(h.calls).toHaveLength(1);
  });

  it('retries a failing key with doubling delays up to maxBackoffMs, and reports each failure', async () => {
    const h = harness({ maxBackoffMs: 1000 });
    h.queue.add('default/a');
    await flush();
    const expected = [200, 400, 800, 1000, 1000];
    for (const [i, delay] of expected.entries()) {
      await h.fail(i, `boom ${i}`);
      expect(h.errors[i]).toEqual({ key: 'default/a', message: `boom ${i}`, retryInMs: delay });
      await vi.advanceTimersByTimeAsync(delay - 1);
      expect(h.calls, `retry ${i + 1} came before ${delay} ms`).toHaveLength(i + 1);
      await vi.advanceTimersByTimeAsync(1);
      expect(h.calls, `retry ${i + 1} did not come after ${delay} ms`).toHaveLength(i + 2);
    }
    expect(h.errors.map((e) => e.retryInMs)).toEqual(expected);
  });

  it('caps the backoff at 10 s by default', async () => {
    const h = harness();
    h.queue.add('default/a');
    await flush();
    for (let i = 0; i < 8; i++) {
      await h.fail(i, 'boom');
      await vi.advanceTimersByTimeAsync(h.errors[i]!.retryInMs);
    }
    expect(h.errors.map((e) => e.retryInMs)).toEqual([200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]);
  });

  it('starts the backoff over after a success', async () => {
    const h = harness();
    h.queue.add('default/a');
    await flush();
    await h.fail(0, 'boom');
    await vi.advanceTimersByTimeAsync(200);
    await h.fail(1, 'boom');
    await vi.advanceTimersByTimeAsync(400);
    await h.finish(2);
    h.queue.add('default/a');
    await flush();
    await h.fail(3, 'boom');
    expect(h.errors.map((e) => e.retryInMs)).toEqual([200, 400, 200]);
  });

  it('keeps the backoff of each key separate', async () => {
    const h = harness();
    h.queue.add('default/a');
    await flush();
    await h.fail(0, 'a broke');
    await vi.advanceTimersByTimeAsync(200);
    h.queue.add('default/b');
    await flush();
    expect(h.keys()).toEqual(['default/a', 'default/a', 'default/b']);
    await h.fail(1, 'a broke');
    await h.fail(2, 'b broke');
    expect(h.errors.map((e) => [e.key, e.retryInMs])).toEqual([
      ['default/a', 200],
      ['default/a', 400],
      ['default/b', 200],
    ]);
  });

  it('stop() waits for the running work, then nothing runs again', async () => {
    const h = harness();
    h.queue.add('default/a');
    await flush();
    h.queue.add('default/a'); // a rerun is due when the current run ends
    let stopped = false;
    const stopping = h.queue.stop().then(() => {
      stopped = true;
    });
    await flush();
    expect(stopped).toBe(false);
    await h.finish(0, { type: 'requeue', afterMs: 50, reason: 'again soon' });
    await stopping;
    expect(stopped).toBe(true);
    h.queue.add('default/a');
    h.queue.add('default/b', 10);
    await flush();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.keys()).toEqual(['default/a']);
  });

  it('stop() cancels waiting retries and requeues', async () => {
    const h = harness();
    h.queue.add('default/a');
    h.queue.add('default/b');
    await flush();
    await h.fail(0, 'boom');
    await h.finish(1, { type: 'requeue', afterMs: 300, reason: 'again soon' });
    await h.queue.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.keys()).toEqual(['default/a', 'default/b']);
  });

  it('stop() drops keys that were added but had not started yet', async () => {
    const h = harness();
    h.queue.add('default/a');
    await h.queue.stop();
    await flush();
    expect(h.calls).toHaveLength(0);
  });

  it('stop() returns at once when nothing runs', async () => {
    const h = harness();
    await expect(h.queue.stop()).resolves.toBeUndefined();
  });
});
