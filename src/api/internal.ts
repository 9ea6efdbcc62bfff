/**
 * Kinds pgherd keeps for itself on the local platform, shaped like their Kubernetes
 * counterparts: `Service` (a TCP listener of the router, like a ClusterIP Service) and
 * `Instance` (one PostgreSQL instance and its instance manager, like a Pod + PVC).
 * Users read them (`pgherd get service|instance`) but never apply them.
 */
import type { ClusterResource, ObjectMeta } from './index.ts';

/** Which instances a service selects, as CNPG's -rw / -ro / -r. */
export type ServiceRole = 'rw' | 'ro' | 'r';

export interface ServiceResource {
  apiVersion: 'v1';
  kind: 'Service';
  metadata: ObjectMeta;
  spec: { cluster: string; role: ServiceRole; host: string; port: number };
  status?: { endpoints?: string[] };
}

/** The role an instance reports for itself. */
export type InstanceRole = 'primary' | 'replica' | 'unknown';

export interface InstanceSpec {
  cluster: string;
  /** CNPG serial: `<cluster>-<serial>`. */
  serial: number;
  /** PostgreSQL's TCP port (loopback). */
  pgPort: number;
  /** The instance manager's HTTPS status port (loopback). */
  statusPort: number;
}

export interface InstanceStatus {
  /** What the instance manager is doing: Bootstrapping, Cloning, Starting, Running, Failed, Stopped. */
  phase?: string;
  phaseReason?: string;
  role?: InstanceRole;
  /** PostgreSQL accepts connections and, for a replica, streams from the primary. */
  ready?: boolean;
  managerPid?: number;
  postmasterPid?: number;
  timelineId?: number;
  systemId?: string;
  /** Changes on every instance-manager start. */
  sessionId?: string;
  /**
   * Set while this instance's PostgreSQL, a primary, is down without a clean shutdown and its
   * manager waits for the control plane to fail over or allow a restart: why it is down.
   */
  primaryLost?: string;
  /**
   * On the primary: the synchronous requirement PostgreSQL has loaded (CNPG's FailoverQuorum
   * object); absent while a change is being reloaded, which blocks a quorum failover.
   */
  synchronous?: { number: number; names: string[] };
  lastUpdate?: string;
}

export interface InstanceResource {
  apiVersion: 'pgherd.io/v1';
  kind: 'Instance';
  metadata: ObjectMeta;
  spec: InstanceSpec;
  status?: InstanceStatus;
}

/** Instance name for a serial, as CNPG names pods. */
export function instanceName(cluster: string, serial: number): string {
  return `${cluster}-${serial}`;
}

/** CNPG's HA replication slot name for an instance: `_cnpg_` + name with '-' as '_'. */
export function haSlotName(instance: string, prefix = '_cnpg_'): string {
  return prefix + instance.replace(/-/g, '_');
}

/** Service name for a cluster role. */
export function serviceName(cluster: string, role: ServiceRole): string {
  return `${cluster}-${role}`;
}

/** The cluster's data exists (its Initialized condition is true): never initdb it again. */
export function isClusterInitialized(cluster: ClusterResource): boolean {
  return (cluster.status?.conditions ?? []).some((c) => c.type === 'Initialized' && c.status === 'True');
}

/**
 * Set on a Cluster or an Instance to ask for its removal: the owner tears it down (an instance
 * manager stops PostgreSQL and exits) and the object is deleted only once that is done.
 */
export const DELETION_ANNOTATION = 'pgherd.io/deletion-requested';

/** True when removal of the object was requested. */
export function isDeletionRequested(obj: { metadata: { annotations?: Record<string, string> } }): boolean {
  return obj.metadata.annotations?.[DELETION_ANNOTATION] !== undefined;
}

/** Which Secret holds each certificate of a cluster: the user's (spec.certificates) or pgherd's. */
export interface CertificateSecretNames {
  /** `ca.crt` that verifies the server certificate (clients, replicas, the control plane). */
  serverCa: string;
  /** `tls.crt` / `tls.key` of PostgreSQL and the status API. */
  serverTls: string;
  /** `ca.crt` PostgreSQL verifies client certificates with (ssl_ca_file). */
  clientCa: string;
  /** `tls.crt` / `tls.key` of streaming_replica. */
  replicationTls: string;
  /** The server certificate is the user's: pgherd neither issues nor renews it. */
  userServerTls: boolean;
  /** The replication certificate is the user's. */
  userReplicationTls: boolean;
}

/** CNPG's defaults: `<cluster>-ca`, `<cluster>-server`, `<cluster>-replication`. */
export function certificateSecretNames(cluster: ClusterResource): CertificateSecretNames {
  const c = cluster.metadata.name;
  const certs = cluster.spec.certificates;
  return {
    serverCa: certs?.serverCASecret ?? `${c}-ca`,
    serverTls: certs?.serverTLSSecret ?? `${c}-server`,
    clientCa: certs?.clientCASecret ?? `${c}-ca`,
    replicationTls: certs?.replicationTLSSecret ?? `${c}-replication`,
    userServerTls: certs?.serverTLSSecret !== undefined,
    userReplicationTls: certs?.replicationTLSSecret !== undefined,
  };
}

/** CNPG's fencing annotation on a Cluster: a JSON list of instance names, or ["*"] for all. */
export const FENCED_INSTANCES_ANNOTATION = 'cnpg.io/fencedInstances';

/** The fenced instances of a cluster ('*' = all); throws on a malformed annotation. */
export function fencedInstances(cluster: { metadata: { annotations?: Record<string, string> } }): string[] {
  const raw = cluster.metadata.annotations?.[FENCED_INSTANCES_ANNOTATION];
  if (raw === undefined || raw.trim() === '') return [];
  const parsed: unknown = JSON.parse(raw);
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) {
    throw new Error(
      `annotation ${FENCED_INSTANCES_ANNOTATION} must be a JSON list of instance names, or ["*"]`,
    );
  }
  return parsed as string[];
}

/** True when the instance is fenced (named, or all with "*"). A malformed annotation fences nothing. */
export function isFenced(
  cluster: { metadata: { annotations?: Record<string, string> } },
  instance: string,
): boolean {
  try {
    const list = fencedInstances(cluster);
    return list.includes('*') || list.includes(instance);
  } catch {
    return false;
  }
}

/**
 * The cluster's primary lease (CNPG's Lease object, kept in Cluster.status on the local
 * platform): only the instance manager session named here may start or promote PostgreSQL as
 * the primary. Taken and released by compare-and-set; the control plane revokes it when it
 * fails a primary over, and grants it back when a lost primary may restart in place.
 */
export interface PrimaryLease {
  holder: string;
  /** The instance manager session (its sessionId) that holds it. */
  session: string;
  acquiredTime: string;
}

/** The primary lease of a cluster, if someone holds it. */
export function primaryLeaseOf(cluster: ClusterResource): PrimaryLease | undefined {
  const lease = cluster.status?.['primaryLease'] as PrimaryLease | undefined;
  return lease !== undefined && lease.holder !== '' ? lease : undefined;
}
