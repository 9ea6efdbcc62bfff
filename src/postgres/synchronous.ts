/**
 * `synchronous_standby_names`, which pgherd alone writes (CNPG blocks the parameter), computed
 * from `postgresql.synchronous` (or the legacy minSyncReplicas/maxSyncReplicas) and the
 * instances as they are now. Pure; the primary's instance manager renders it and reloads when
 * standbys come and go.
 */

export interface SynchronousSpec {
  method: 'any' | 'first';
  number: number;
  maxStandbyNamesFromCluster?: number | undefined;
  standbyNamesPre?: readonly string[] | undefined;
  standbyNamesPost?: readonly string[] | undefined;
  dataDurability: 'required' | 'preferred';
}

export interface SyncInstance {
  name: string;
  /** Streaming and ready: a standby that can acknowledge now. */
  healthy: boolean;
}

export interface SyncInput {
  synchronous?: SynchronousSpec | undefined;
  /** Legacy fields (mutually exclusive with `synchronous`); 0/0 means asynchronous. */
  minSyncReplicas: number;
  maxSyncReplicas: number;
  primary: string;
  /** Every instance of the cluster but the primary, in any order. */
  standbys: readonly SyncInstance[];
}

const quote = (name: string): string => `"${name}"`;

/** Standbys ordered as CNPG orders them: healthy first, then by name. */
function ordered(standbys: readonly SyncInstance[]): SyncInstance[] {
  return [...standbys].sort((a, b) =>
    a.healthy === b.healthy ? a.name.localeCompare(b.name) : a.healthy ? -1 : 1,
  );
}

/** The value for synchronous_standby_names ('' = asynchronous replication). */
export function planSyncStandbyNames(input: SyncInput): string {
  const sync = input.synchronous;
  if (sync === undefined) {
    if (input.maxSyncReplicas === 0) return '';
    // Legacy: ANY q over the standbys, q between min and max and at most the ready standbys;
    // never below minSyncReplicas (writes wait rather than lose the guarantee).
    const ready = input.standbys.filter((s) => s.healthy).length;
    const q = Math.max(input.minSyncReplicas, Math.min(input.maxSyncReplicas, ready));
    if (q === 0 || input.standbys.length === 0) return '';
    return `ANY ${q} (${ordered(input.standbys)
      .map((s) => quote(s.name))
      .join(',')})`;
  }
  const method = sync.method.toUpperCase();
  if (sync.dataDurability === 'preferred') {
    // Only healthy standbys, and no more of them required than there are: never blocks writes.
    const healthy = ordered(input.standbys).filter((s) => s.healthy);
    const limited = healthy.slice(0, sync.maxStandbyNamesFromCluster ?? healthy.length);
    const n = Math.min(sync.number, limited.length);
    if (n === 0) return '';
    return `${method} ${n} (${limited.map((s) => quote(s.name)).join(',')})`;
  }
  // required: healthy, then unhealthy standbys, then the primary itself, so the list is never
  // shorter than `number` and writes wait for enough acknowledgements instead of going async.
  const cluster = [...ordered(input.standbys).map((s) => s.name), input.primary];
  const limited = cluster.slice(0, sync.maxStandbyNamesFromCluster ?? cluster.length);
  const names = [...(sync.standbyNamesPre ?? []), ...limited, ...(sync.standbyNamesPost ?? [])];
  return `${method} ${sync.number} (${names.map(quote).join(',')})`;
}

/** What a synchronous_standby_names value asks for: `number` acknowledgements from `names`. */
export interface SyncRequirement {
  method: 'any' | 'first';
  number: number;
  names: string[];
}

/**
 * Reads back a value planSyncStandbyNames wrote (`ANY 1 ("a","b")`, `FIRST 2 (...)`); undefined
 * for '' (asynchronous) or anything else.
 */
export function parseSyncStandbyNames(value: string): SyncRequirement | undefined {
  const m = /^(ANY|FIRST) (\d+) \((.*)\)$/.exec(value.trim());
  if (m === null) return undefined;
  const names = [...m[3]!.matchAll(/"([^"]*)"/g)].map((x) => x[1]!);
  return { method: m[1] === 'ANY' ? 'any' : 'first', number: Number(m[2]), names };
}
