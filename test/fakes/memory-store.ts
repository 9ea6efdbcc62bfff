/**
 * An in-memory `Store` with the semantics of the SQLite store (src/platforms/local/sqlite-store.ts):
 * every write is a compare-and-set on `metadata.resourceVersion`, one revision counter numbers
 * every write (and is the resourceVersion of the object it wrote), generation grows only when
 * `spec` (or `data`) changed, and objects are copied on the way in and out so a caller never
 * holds a reference into the store.
 */
import { randomUUID } from 'node:crypto';
import {
  AlreadyExistsError,
  ConflictError,
  NotFoundError,
  type Store,
  type StoredObject,
} from '../../src/ports/store.ts';

interface Entry {
  rv: number;
  /** The object as stored, without resourceVersion (kept in `rv`, as the SQLite row does). */
  body: StoredObject & { spec?: unknown; data?: unknown };
}

export interface MemoryStoreOptions {
  /** Clock for creationTimestamp; defaults to the wall clock. */
  now?: () => Date;
  /** Uid generator; defaults to randomUUID. */
  newUid?: () => string;
}

/** A `Store` that lives in this process only; for unit tests and router tests. */
export class MemoryStore implements Store {
  private readonly objects = new Map<string, Entry>();
  private rev = 0;
  private closed = false;
  private readonly now: () => Date;
  private readonly newUid: () => string;

  constructor(options: MemoryStoreOptions = {}) {
    this.now = options.now ?? (() => new Date());
    this.newUid = options.newUid ?? randomUUID;
  }

  get<T extends StoredObject>(kind: string, namespace: string, name: string): T | undefined {
    this.open();
    const e = this.objects.get(keyOf(kind, namespace, name));
    return e === undefined ? undefined : decode<T>(e);
  }

  list<T extends StoredObject>(kind: string, namespace?: string): T[] {
    this.open();
    return [...this.objects.values()]
      .filter(
        (e) => e.body.kind === kind && (namespace === undefined || e.body.metadata.namespace === namespace),
      )
      .sort((a, b) => compareNames(a.body.metadata.name, b.body.metadata.name))
      .map((e) => decode<T>(e));
  }

  create<T extends StoredObject>(obj: T): T {
    this.open();
    const { kind } = obj;
    const { namespace, name } = obj.metadata;
    const k = keyOf(kind, namespace, name);
    if (this.objects.has(k)) throw new AlreadyExistsError(`${kind} ${namespace}/${name} already exists`);
    const stored = structuredClone(obj);
    stored.metadata.uid = stored.metadata.uid ?? this.newUid();
    stored.metadata.generation = 1;
    stored.metadata.creationTimestamp = stored.metadata.creationTimestamp ?? this.now().toISOString();
    delete stored.metadata.resourceVersion;
    const rv = ++this.rev;
    this.objects.set(k, { rv, body: stored });
    return decode<T>({ rv, body: stored });
  }

  update<T extends StoredObject>(obj: T): T {
    this.open();
    const { kind } = obj;
    const { namespace, name, resourceVersion } = obj.metadata;
    const k = keyOf(kind, namespace, name);
    const previous = this.objects.get(k);
    if (previous === undefined) throw new NotFoundError(`${kind} ${namespace}/${name} not found`);
    if (String(previous.rv) !== resourceVersion) {
      throw new ConflictError(
        `${kind} ${namespace}/${name} was changed by someone else (resourceVersion ${previous.rv}, not ${resourceVersion})`,
      );
    }
    const stored = structuredClone(obj) as T & { spec?: unknown; data?: unknown };
    delete stored.metadata.resourceVersion;
    const specChanged =
      JSON.stringify(previous.body.spec ?? previous.body.data) !== JSON.stringify(stored.spec ?? stored.data);
    stored.metadata.uid = previous.body.metadata.uid ?? stored.metadata.uid ?? this.newUid();
    stored.metadata.generation = (previous.body.metadata.generation ?? 1) + (specChanged ? 1 : 0);
    const rv = ++this.rev;
    this.objects.set(k, { rv, body: stored });
    return decode<T>({ rv, body: stored });
  }

  delete(kind: string, namespace: string, name: string, resourceVersion?: string): boolean {
    this.open();
    const k = keyOf(kind, namespace, name);
    const e = this.objects.get(k);
    if (e === undefined) return false;
    if (resourceVersion !== undefined && String(e.rv) !== resourceVersion) {
      throw new ConflictError(`${kind} ${namespace}/${name} was changed by someone else`);
    }
    this.objects.delete(k);
    this.rev++;
    return true;
  }

  revision(): number {
    this.open();
    return this.rev;
  }

  close(): void {
    this.closed = true;
  }

  /** A closed SQLite handle throws on use; so does this, to catch use-after-close in tests. */
  private open(): void {
    if (this.closed) throw new Error('the memory store is closed');
  }
}

function keyOf(kind: string, namespace: string, name: string): string {
  return JSON.stringify([kind, namespace, name]);
}

function decode<T>(e: Entry): T {
  const obj = structuredClone(e.body);
  obj.metadata.resourceVersion = String(e.rv);
  return obj as unknown as T;
}

/** SQLite's default BINARY collation: byte order of the UTF-8 text. */
function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
