/**
 * What the CLI asks of the control plane, on any platform. Locally this is an HTTP API on an
 * owner-only unix socket; on Kubernetes it maps onto the API server.
 */
import type { ManifestIssue } from '../api/index.ts';
import type { ArchiverStats } from '../instance/contract.ts';
import type { StoredObject } from './store.ts';

export interface ApplyOutcome {
  kind: string;
  namespace: string;
  name: string;
  action: 'created' | 'configured' | 'unchanged';
}

export interface ApplyResult {
  errors: ManifestIssue[];
  warnings: ManifestIssue[];
  outcomes: ApplyOutcome[];
}

/** One instance's line in `pgherd status`. */
export interface InstanceView {
  name: string;
  role: string;
  phase: string;
  phaseReason: string;
  ready: boolean;
  currentLsn: string | null;
  receivedLsn: string | null;
  replayLsn: string | null;
  lagBytes: number | null;
  replayLagSeconds: number | null;
  timelineId: number | null;
  systemId: string | null;
  pgPort: number;
  managerPid: number | null;
  postmasterPid: number | null;
  error?: string;
}

export interface ClusterView {
  cluster: StoredObject & { spec: unknown; status?: Record<string, unknown> };
  instances: InstanceView[];
  services: Array<{ name: string; role: string; host: string; port: number; endpoints: string[] }>;
  replication: Array<{
    applicationName: string;
    state: string;
    syncState: string;
    sentLsn: string | null;
    replayLsn: string | null;
    replayLag: string | null;
  }>;
  /** WAL archiving as the primary's manager reports it, when the primary answered. */
  archiving?: ArchiverStats;
}

export class ControlPlaneError extends Error {
  readonly code: string;
  /** 'user' errors exit 1, 'internal' exit 2. */
  readonly category: 'user' | 'internal';
  constructor(message: string, code: string, category: 'user' | 'internal') {
    super(message);
    this.code = code;
    this.category = category;
  }
}

export interface PromoteResult {
  /** The primary when the switchover was requested. */
  from: string;
  to: string;
  /** The instance was the primary already: nothing was done. */
  alreadyPrimary: boolean;
}

export interface ControlPlane {
  apply(text: string, file: string, opts?: { dryRun?: boolean }): Promise<ApplyResult>;
  get(kind: string, namespace: string, name?: string): Promise<StoredObject[]>;
  /** Marks for deletion; the controller tears down and removes it. */
  delete(kind: string, namespace: string, name: string): Promise<void>;
  status(namespace: string, cluster: string): Promise<ClusterView>;
  /** Fences (on) or unfences (off) an instance or '*' through cnpg.io/fencedInstances. */
  fence(namespace: string, cluster: string, instance: string, on: boolean): Promise<{ fenced: string[] }>;
  /**
   * Switchover (`cnpg promote`): makes `instance` the target primary; the current primary shuts
   * down cleanly, the target receives all its WAL and promotes. Returns once it was requested.
   */
  promote(namespace: string, cluster: string, instance: string): Promise<PromoteResult>;
  /** Asks every instance of a cluster to reload its configuration now (`cnpg reload`). */
  reload(namespace: string, cluster: string): Promise<{ reloaded: string[] }>;
  /** Asks the control plane to stop all instances and itself (local platform `down`). */
  shutdown(opts: { stopInstances: boolean }): Promise<void>;
}
