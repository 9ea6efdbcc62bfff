/**
 * The local store: one SQLite file under $PGHERD_HOME, shared by the control plane (writer of
 * specs), the instance managers (writers of their own status) and the router (reader).
 * WAL mode lets readers run while one process writes; every write is a compare-and-set on the
 * object's resourceVersion inside a transaction, so two writers never overwrite each other.
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import {
  AlreadyExistsError,
  ConflictError,
  NotFoundError,
  type Store,
  type StoredObject,
} from '../../ports/store.ts';

interface Row {
  body: string;
  rv: number;
}

/** Opens (and creates, owner-only) the store file. `readonly` for pure readers like the router. */
export function openSqliteStore(file: string, options: { readonly?: boolean } = {}): Store {
  const db = new Database(file, {
    readonly: options.readonly === true,
    fileMustExist: options.readonly === true,
  });
  db.pragma('busy_timeout = 5000');
  if (!options.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(`
      CREATE TABLE IF NOT EXISTS resources (
        kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
        rv INTEGER NOT NULL, body TEXT NOT NULL,
        PRIMARY KEY (kind, namespace, name));
      CREATE TABLE IF NOT EXISTS revision (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
      INSERT OR IGNORE INTO revision (id, value) VALUES (1, 0);
    `);
    // The store holds passwords and keys: the file and SQLite's -wal/-shm companions are
    // owner-only whatever the umask was when they were created.
    for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
  }
  const getStmt = db.prepare<[string, string, string], Row>(
    'SELECT body, rv FROM resources WHERE kind = ? AND namespace = ? AND name = ?',
  );
  const listAll = db.prepare<[string], Row>('SELECT body, rv FROM resources WHERE kind = ? ORDER BY name');
  const listNs = db.prepare<[string, string], Row>(
    'SELECT body, rv FROM resources WHERE kind = ? AND namespace = ? ORDER BY name',
  );
  const revStmt = db.prepare<[], { value: number }>('SELECT value FROM revision WHERE id = 1');
  const bump = options.readonly
    ? undefined
    : db.prepare('UPDATE revision SET value = value + 1 WHERE id = 1 RETURNING value');
  const insert = options.readonly
    ? undefined
    : db.prepare('INSERT INTO resources (kind, namespace, name, rv, body) VALUES (?, ?, ?, ?, ?)');
  const replace = options.readonly
    ? undefined
    : db.prepare(
        'UPDATE resources SET rv = ?, body = ? WHERE kind = ? AND namespace = ? AND name = ? AND rv = ?',
      );
  const remove = options.readonly
    ? undefined
    : db.prepare('DELETE FROM resources WHERE kind = ? AND namespace = ? AND name = ?');

  const decode = <T>(row: Row): T => {
    const obj = JSON.parse(row.body) as T & StoredObject;
    obj.metadata.resourceVersion = String(row.rv);
    return obj;
  };
  const nextRevision = (): number => (bump!.get() as { value: number }).value;
  const writable = (): void => {
    if (options.readonly) throw new Error('this store was opened read-only');
  };

  // biome-ignore lint/suspicious/noExplicitAny: wraps functions of any signature
  const immediate = <F extends (...args: any[]) => any>(fn: F): F => {
    const tx = db.transaction(fn);
    // biome-ignore lint/suspicious/noExplicitAny: the arguments pass through unchanged
    return ((...args: any[]) => (tx.immediate as (...a: any[]) => unknown)(...args)) as F;
  };
  const store: Store = {
    get<T extends StoredObject>(kind: string, namespace: string, name: string): T | undefined {
      const row = getStmt.get(kind, namespace, name);
      return row === undefined ? undefined : decode<T>(row);
    },
    list<T extends StoredObject>(kind: string, namespace?: string): T[] {
      const rows = namespace === undefined ? listAll.all(kind) : listNs.all(kind, namespace);
      return rows.map((r) => decode<T>(r));
    },
    // BEGIN IMMEDIATE: a deferred transaction that reads and then writes fails at once with
    // SQLITE_BUSY when another process committed in between (the busy timeout does not apply
    // to that case); taking the write lock first makes concurrent writers wait their turn.
    create: immediate(<T extends StoredObject>(obj: T): T => {
      writable();
      const { kind } = obj;
      const { namespace, name } = obj.metadata;
      if (getStmt.get(kind, namespace, name) !== undefined) {
        throw new AlreadyExistsError(`${kind} ${namespace}/${name} already exists`);
      }
      const rv = nextRevision();
      const stored = structuredClone(obj);
      stored.metadata.uid = stored.metadata.uid ?? randomUUID();
      stored.metadata.generation = 1;
      stored.metadata.creationTimestamp = stored.metadata.creationTimestamp ?? new Date().toISOString();
      delete stored.metadata.resourceVersion;
      insert!.run(kind, namespace, name, rv, JSON.stringify(stored));
      stored.metadata.resourceVersion = String(rv);
      return stored;
    }) as Store['create'],
    update: immediate(<T extends StoredObject>(obj: T): T => {
      writable();
      const { kind } = obj;
      const { namespace, name, resourceVersion } = obj.metadata;
      const row = getStmt.get(kind, namespace, name);
      if (row === undefined) throw new NotFoundError(`${kind} ${namespace}/${name} not found`);
      if (String(row.rv) !== resourceVersion) {
        throw new ConflictError(
          `${kind} ${namespace}/${name} was changed by someone else (resourceVersion ${row.rv}, not ${resourceVersion})`,
        );
      }
      const previous = JSON.parse(row.body) as StoredObject & { spec?: unknown; data?: unknown };
      const stored = structuredClone(obj) as T & { spec?: unknown; data?: unknown };
      delete stored.metadata.resourceVersion;
      const specChanged =
        JSON.stringify(previous.spec ?? previous.data) !== JSON.stringify(stored.spec ?? stored.data);
      stored.metadata.uid = previous.metadata.uid ?? stored.metadata.uid ?? randomUUID();
      stored.metadata.generation = (previous.metadata.generation ?? 1) + (specChanged ? 1 : 0);
      const rv = nextRevision();
      const changes = replace!.run(rv, JSON.stringify(stored), kind, namespace, name, row.rv).changes;
      if (changes !== 1) throw new ConflictError(`${kind} ${namespace}/${name} changed during update`);
      stored.metadata.resourceVersion = String(rv);
      return stored;
    }) as Store['update'],
    delete: immediate((kind: string, namespace: string, name: string, resourceVersion?: string) => {
      writable();
      const row = getStmt.get(kind, namespace, name);
      if (row === undefined) return false;
      if (resourceVersion !== undefined && String(row.rv) !== resourceVersion) {
        throw new ConflictError(`${kind} ${namespace}/${name} was changed by someone else`);
      }
      remove!.run(kind, namespace, name);
      nextRevision();
      return true;
    }) as Store['delete'],
    revision(): number {
      return revStmt.get()?.value ?? 0;
    },
    close(): void {
      db.close();
    },
  };
  return store;
}
