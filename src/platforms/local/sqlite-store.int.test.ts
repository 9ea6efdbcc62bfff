import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  ConflictError,
  NotFoundError,
  type StoredObject,
  updateWithRetry,
} from '../../ports/store.ts';
import { openSqliteStore } from './sqlite-store.ts';

interface Thing extends StoredObject {
  spec: { n: number };
  status?: { seen?: number };
}
const thing = (name: string, n = 1): Thing => ({
  apiVersion: 'v1',
  kind: 'Thing',
  metadata: { name, namespace: 'default' },
  spec: { n },
});

describe('the SQLite store', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync('/tmp/pgh-store-');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the file owner-only and assigns uid, generation and resourceVersion', () => {
    const s = openSqliteStore(join(dir, 'store.db'));
    const t = s.create(thing('a'));
    s.close();
    // Re-opened with a permissive umask, the WAL companions (which hold secrets) stay owner-only.
    const old = process.umask(0o022);
    try {
      const again = openSqliteStore(join(dir, 'store.db'));
      again.create(thing('b'));
      again.close();
      const reopened = openSqliteStore(join(dir, 'store.db'));
      for (const f of ['store.db', 'store.db-wal', 'store.db-shm']) {
        expect(statSync(join(dir, f)).mode & 0o777, f).toBe(0o600);
      }
      reopened.close();
    } finally {
      process.umask(old);
    }
    expect(t.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(t.metadata.generation).toBe(1);
    expect(Number(t.metadata.resourceVersion)).toBeGreaterThan(0);
    const s2 = openSqliteStore(join(dir, 'store.db'));
    expect(() => s2.create(thing('a'))).toThrow(AlreadyExistsError);
    s2.close();
  });

  it('refuses a stale write (compare-and-set) and bumps generation only on spec changes', () => {
    const s = openSqliteStore(join(dir, 'store.db'));
    const a = s.create(thing('a'));
    const b = s.update({ ...a, status: { seen: 1 } });
    expect(b.metadata.generation).toBe(1);
    expect(() => s.update({ ...a, spec: { n: 2 } })).toThrow(ConflictError);
    const c = s.update({ ...b, spec: { n: 2 } });
    expect(c.metadata.generation).toBe(2);
    expect(() => s.update(thing('missing'))).toThrow(NotFoundError);
    s.close();
  });

  it('lets two connections (two processes) write without losing an update', () => {
    const s1 = openSqliteStore(join(dir, 'store.db'));
    const s2 = openSqliteStore(join(dir, 'store.db'));
    s1.create(thing('a', 0));
    for (let i = 0; i < 50; i++) {
      const writer = i % 2 === 0 ? s1 : s2;
      updateWithRetry<Thing>(writer, 'Thing', 'default', 'a', (t) => {
        t.spec.n += 1;
        return t;
      });
    }
    expect(s2.get<Thing>('Thing', 'default', 'a')?.spec.n).toBe(50);
    s1.close();
    s2.close();
  });

  it('exposes a revision that grows on every write, including deletes, to readers', () => {
    const w = openSqliteStore(join(dir, 'store.db'));
    const r = openSqliteStore(join(dir, 'store.db'), { readonly: true });
    const r0 = r.revision();
    w.create(thing('a'));
    const r1 = r.revision();
    expect(r1).toBeGreaterThan(r0);
    expect(w.delete('Thing', 'default', 'a')).toBe(true);
    expect(r.revision()).toBeGreaterThan(r1);
    expect(r.list('Thing')).toEqual([]);
    expect(() => r.create(thing('b'))).toThrow(/read-only/);
    w.close();
    r.close();
  });
});
