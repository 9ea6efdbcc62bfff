/**
 * The object store backups and WAL go to (CNPG's barmanObjectStore): keys are '/'-separated
 * paths below the destination. Guarantees: `put` is all-or-nothing (a reader never sees a
 * partial object); `get` of a missing key throws ObjectStoreError 'not-found'; `list` returns
 * every key under a prefix, in lexical order. Errors carry a code that says what to check.
 */
import type { Readable } from 'node:stream';

export type ObjectStoreErrorCode =
  /** The endpoint does not answer (DNS, connection refused, TLS). */
  | 'unreachable'
  /** Wrong or missing credentials, or no permission. */
  | 'access-denied'
  /** The bucket (or the destination folder) does not exist. */
  | 'no-bucket'
  /** The key does not exist. */
  | 'not-found'
  | 'other';

export class ObjectStoreError extends Error {
  readonly code: ObjectStoreErrorCode;
  constructor(code: ObjectStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export interface ObjectInfo {
  key: string;
  size: number;
}

export interface ObjectStore {
  /** Where it writes, for messages (`s3://bucket/path`, `file:///path`). */
  readonly location: string;
  put(key: string, body: Buffer | Readable): Promise<void>;
  get(key: string): Promise<Readable>;
  /** The object's size, or undefined when it does not exist. */
  head(key: string): Promise<ObjectInfo | undefined>;
  list(prefix: string): Promise<ObjectInfo[]>;
  delete(keys: readonly string[]): Promise<void>;
  /**
   * Removes what writers that died left under `prefix`: temporary files of a folder store,
   * unfinished multipart uploads of S3. Never touches a complete object.
   */
  removeIncomplete(prefix: string): Promise<void>;
}

/** Reads a whole object into memory (small objects: backup.info, history files). */
export async function getBuffer(store: ObjectStore, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(key)) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}
