import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../test/fakes/memory-store.ts';
import { ConflictError, NotFoundError, type StoredObject, updateWithRetry } from './store.ts';

interface Thing extends StoredObject {
  spec: { n: number; owner?: string };
  status?: { seen?: number };
}

const thing = (name: string, n = 1): Thing => ({
  apiVersion: 'v1',
  kind: 'Thing',
  metadata: { name, namespace: 'default' },
  spec: { n },
});

describe('updateWithRetry', () => {
  let store: MemoryStore;
  beforeEach(() => {
    store = new MemoryStore({ now: () => new Date('2026-03-01T12:00:00.000Z'), newUid: () => 'uid-1' });
  });

  it('re-reads and re-applies the change when another writer got in first', () => {
    const created = store.create(thing('a', 1));
    const seen: Thing[] = [];
    const result = updateWithRetry<Thing>(store, 'Thing', 'default', 'a', (current) => {
      seen.push(structuredClone(current));
      if (seen.length === 1) {
        // A concurrent writer commits between our read and our write.
        const other = store.get<Thing>('Thing', 'default', 'a')!;
        store.update<Thing>({ ...other, spec: { ...other.spec, owner: 'someone-else' } });
      }
      current.spec.n += 10;
      return current;
    });

    expect(seen.map((s) => s.spec)).toEqual([{ n: 1 }, { n: 1, owner: 'someone-else' }]);
    expect(seen.map((s) => s.metadata.resourceVersion)).toEqual([created.metadata.resourceVersion, '2']);
    // Both writes survive: the retry was applied on top of the other writer's change.
    expect(result?.spec).toEqual({ n: 11, owner: 'someone-else' });
    expect(result?.metadata.resourceVersion).toBe('3');
    expect(result?.metadata.generation).toBe(3);
    expect(store.get<Thing>('Thing', 'default', 'a')).toEqual(result);
    expect(store.revision()).toBe(3);
  });

  it('returns undefined without calling mutate when the object does not exist', () => {
    let calls = 0;
    const result = updateWithRetry<Thing>(store, 'Thing', 'default', 'missing', (t) => {
      calls++;
      return t;
    });
    expect(result).toBeUndefined();
    expect(calls).toBe(0);
    expect(store.revision()).toBe(0);
  });

  it('leaves the object unchanged when mutate returns undefined, even if mutate edited its copy', () => {
    const created = store.create(thing('a', 1));
    const result = updateWithRetry<Thing>(store, 'Thing', 'default', 'a', (current) => {
      current.spec.n = 99;
      return undefined;
    });
    expect(result).toEqual(created);
    expect(store.get<Thing>('Thing', 'default', 'a')).toEqual(created);
    expect(store.revision()).toBe(1);
  });

  it('writes a status-only change without bumping generation', () => {
    store.create(thing('a', 1));
    const result = updateWithRetry<Thing>(store, 'Thing', 'default', 'a', (current) => {
      current.status = { seen: 1 };
      return current;
    });
    expect(result?.status).toEqual({ seen: 1 });
    expect(result?.metadata.generation).toBe(1);
    expect(result?.metadata.resourceVersion).toBe('2');
  });

  it('gives up with a ConflictError after the given number of attempts', () => {
    store.create(thing('a', 1));
    let calls = 0;
    expect(() =>
      updateWithRetry<Thing>(
        store,
        'Thing',
        'default',
        'a',
        (current) => {
          calls++;
          // Someone else always writes in between.
          const other = store.get<Thing>('Thing', 'default', 'a')!;
          store.update<Thing>({ ...other, status: { seen: calls } });
          current.spec.n = 2;
          return current;
        },
        3,
      ),
    ).toThrow(new ConflictError('Thing default/a: still conflicting after 3 attempts'));
    expect(calls).toBe(3);
    expect(store.get<Thing>('Thing', 'default', 'a')?.spec.n).toBe(1);
  });

  it('does not retry other errors: an object deleted mid-update surfaces as NotFoundError', () => {
    store.create(thing('a', 1));
    let calls = 0;
    expect(() =>
      updateWithRetry<Thing>(store, 'Thing', 'default', 'a', (current) => {
        calls++;
        store.delete('Thing', 'default', 'a');
        return current;
      }),
    ).toThrow(NotFoundError);
    expect(calls).toBe(1);
  });
});
