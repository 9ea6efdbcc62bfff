/**
 * A Cluster's object stores, as CNPG's fields name them: its own archive
 * (`spec.backup.barmanObjectStore`) and barman's serverName (the field, else the cluster's name).
 */
import type { ClusterResource, SecretResource } from '../api/index.ts';
import type { ObjectStore } from '../ports/object-store.ts';
import { openObjectStore, type StoreLocation } from './stores/open-store.ts';

/** CNPG's BarmanObjectStoreConfiguration, as far as pgherd reads it. */
export interface BarmanStoreSpec extends StoreLocation {
  wal?: { compression?: string | undefined; maxParallel?: number | undefined } | undefined;
  data?:
    | {
        compression?: string | undefined;
        immediateCheckpoint?: boolean | undefined;
        jobs?: number | undefined;
      }
    | undefined;
}

/** The cluster's own archive (spec.backup.barmanObjectStore), or undefined. */
export function clusterObjectStore(cluster: ClusterResource): BarmanStoreSpec | undefined {
  return cluster.spec.backup?.barmanObjectStore;
}

/** barman's serverName: the field, else the cluster's name (as CNPG). */
export function serverNameOf(spec: BarmanStoreSpec, clusterName: string): string {
  return spec.serverName !== undefined && spec.serverName !== '' ? spec.serverName : clusterName;
}

/** Reads `key` of a Secret (base64 in `data`); throws naming what is missing. */
export function readSecretKey(
  secret: (name: string) => SecretResource | undefined,
  ref: { name: string; key: string },
  what: string,
): string {
  const s = secret(ref.name);
  if (s === undefined) {
    throw new Error(`PGHERD_BACKUP_SECRET_MISSING: secret ${ref.name} (${what}) does not exist`);
  }
  const v = s.data[ref.key];
  if (v === undefined) {
    throw new Error(`PGHERD_BACKUP_SECRET_MISSING: secret ${ref.name} has no key "${ref.key}" (${what})`);
  }
  return Buffer.from(v, 'base64').toString('utf8');
}

/** Opens a cluster's own archive, or undefined when it has none; throws when it cannot. */
export function openClusterStore(
  cluster: ClusterResource,
  secret: (name: string) => SecretResource | undefined,
): { store: ObjectStore; serverName: string; spec: BarmanStoreSpec } | undefined {
  const spec = clusterObjectStore(cluster);
  if (spec === undefined) return undefined;
  return {
    store: openObjectStore(spec, (ref, what) => readSecretKey(secret, ref, what)),
    serverName: serverNameOf(spec, cluster.metadata.name),
    spec,
  };
}
