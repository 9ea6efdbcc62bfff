/**
 * From a Cluster's `spec.backup.barmanObjectStore` to what the WAL service needs, and the
 * cluster's `ContinuousArchiving` condition (CNPG's: True while WAL archiving works, False
 * with the error when it does not).
 */
import type { ClusterResource, SecretResource } from '../api/index.ts';
import { type BarmanStoreSpec, readSecretKey, serverNameOf } from '../backup/cluster-store.ts';
import { openObjectStore } from '../backup/stores/open-store.ts';
import type { WalCompression } from '../backup/wal.ts';
import { type Store, updateWithRetry } from '../ports/store.ts';
import type { ArchiveResult, WalArchiveConfig } from './wal-service.ts';

/** Opens the store a barmanObjectStore section names, with its secrets from the namespace. */
export function walArchiveConfig(
  spec: BarmanStoreSpec,
  clusterName: string,
  secret: (name: string) => SecretResource | undefined,
): WalArchiveConfig {
  const store = openObjectStore(spec, (ref, what) => readSecretKey(secret, ref, what));
  const compression = (spec.wal?.compression ?? 'none') as WalCompression;
  const serverName = serverNameOf(spec, clusterName);
  return {
    store,
    serverName,
    compression,
    maxParallel: spec.wal?.maxParallel ?? 1,
    key: JSON.stringify({ spec, serverName }),
  };
}

const CONDITION = 'ContinuousArchiving';

/**
 * Records an archive result in the cluster's ContinuousArchiving condition when it changes
 * the condition (a failure after success, a success after failure, another error).
 */
export function recordArchiveResult(
  store: Store,
  namespace: string,
  clusterName: string,
  result: ArchiveResult,
  now: Date,
): void {
  const status = result.ok ? 'True' : 'False';
  const reason = result.ok ? 'ContinuousArchivingSuccess' : 'ContinuousArchivingFailing';
  const message = result.ok ? '' : `${result.walName}: ${result.error ?? 'archiving failed'}`;
  updateWithRetry<ClusterResource>(store, 'Cluster', namespace, clusterName, (c) => {
    const conditions = c.status?.conditions ?? [];
    const old = conditions.find((x) => x.type === CONDITION);
    if (old !== undefined && old.status === status && old.message === message) return undefined;
    c.status = {
      ...c.status,
      conditions: [
        ...conditions.filter((x) => x.type !== CONDITION),
        {
          type: CONDITION,
          status,
          reason,
          message,
          lastTransitionTime: old?.status === status ? old.lastTransitionTime : now.toISOString(),
        },
      ],
    };
    return c;
  });
}
