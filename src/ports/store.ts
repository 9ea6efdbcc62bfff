/**
 * The resource store: what the Kubernetes API server is to CNPG. Every write is a
 * compare-and-set on `metadata.resourceVersion`; a conflict means re-read and retry, never
 * overwrite (STYLE principle 3).
 */

/** Any stored object: Kubernetes-shaped, identified by kind, namespace and name. */
export interface StoredObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
}

/** Thrown when a compare-and-set finds a newer resourceVersion (HTTP 409 on Kubernetes). */
export class ConflictError extends Error {
  readonly code = 'PGHERD_STORE_CONFLICT';
}

/** Thrown when creating an object that already exists. */
export class AlreadyExistsError extends Error {
  readonly code = 'PGHERD_STORE_ALREADY_EXISTS';
}

/** Thrown when updating or deleting an object that does not exist. */
export class NotFoundError extends Error {
  readonly code = 'PGHERD_STORE_NOT_FOUND';
}

export interface Store {
  /** Read one object, or undefined. */
  get<T extends StoredObject>(kind: string, namespace: string, name: string): T | undefined;
  /** All objects of a kind, optionally in one namespace, ordered by name. */
  list<T extends StoredObject>(kind: string, namespace?: string): T[];
  /** Create; sets uid, resourceVersion, generation 1 and creationTimestamp. Throws AlreadyExistsError. */
  create<T extends StoredObject>(obj: T): T;
  /**
   * Replace if `obj.metadata.resourceVersion` still matches (atomic). Bumps generation when
   * `spec` changed. Throws ConflictError or NotFoundError.
   */
  update<T extends StoredObject>(obj: T): T;
  /** Delete; with `resourceVersion` given, only if it still matches. Returns whether it existed. */
  delete(kind: string, namespace: string, name: string, resourceVersion?: string): boolean;
  /** A number that grows with every write to the store; cheap to poll for changes. */
  revision(): number;
  close(): void;
}

/**
 * Read-modify-write with retries on conflict: `mutate` gets the latest object and returns the
 * new one, or undefined to leave it unchanged. Returns the stored result (or the unchanged object).
 */
export function updateWithRetry<T extends StoredObject>(
  store: Store,
  kind: string,
  namespace: string,
  name: string,
  mutate: (current: T) => T | undefined,
  attempts = 20,
): T | undefined {
  for (let i = 0; i < attempts; i++) {
    const current = store.get<T>(kind, namespace, name);
    if (current === undefined) return undefined;
    const next = mutate(structuredClone(current));
    if (next === undefined) return current;
    try {
      return store.update(next);
    } catch (err) {
      if (err instanceof ConflictError) continue;
      throw err;
    }
  }
  throw new ConflictError(`${kind} ${namespace}/${name}: still conflicting after ${attempts} attempts`);
}
