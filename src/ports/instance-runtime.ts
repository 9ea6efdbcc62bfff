/**
 * What the control plane needs from a platform to run instances: on one machine these are
 * processes and folders; on Kubernetes, Pods and PVCs.
 */
import type { InstanceResource } from '../api/internal.ts';
import type { InstanceReport } from '../instance/contract.ts';

export interface InstanceRuntime {
  /** True when the instance manager of this instance is running. Cheap; called every pass. */
  isManagerAlive(instance: InstanceResource): boolean;
  /**
   * True while any PostgreSQL process of this instance runs: its postmaster, or backends a
   * killed postmaster left behind (they can still commit on open connections).
   */
  isPostgresRunning(instance: InstanceResource): boolean;
  /**
   * Fences a failed primary for certain: kills every PostgreSQL process of the instance
   * (SIGKILL; data untouched). On one machine a process that is gone holds nothing.
   */
  killPostgres(instance: InstanceResource): Promise<void>;
  /** Starts the instance manager (it adopts a PostgreSQL that still runs). Idempotent. */
  startManager(instance: InstanceResource): Promise<void>;
  /**
   * Waits (up to `timeoutMs`) for the manager of a deleted instance to stop its PostgreSQL
   * and exit, stops what is left over, then removes the instance's data. Idempotent.
   */
  destroyInstance(namespace: string, cluster: string, instance: string, timeoutMs: number): Promise<void>;
  /** Removes what is left of a cluster's folders after all its instances were destroyed. */
  destroyClusterData(namespace: string, cluster: string): Promise<void>;
  /** Ensures the router (the Services) runs. Idempotent. */
  ensureRouter(): Promise<void>;
  /** `count` free loopback TCP ports, none of them in `taken`. */
  allocatePorts(count: number, taken: ReadonlySet<number>): Promise<number[]>;
}

/** Reads an instance manager's status API. */
export interface InstanceClient {
  /** GET /pg/status; throws when the instance does not answer within `timeoutMs`. */
  getStatus(instance: InstanceResource, caPem: string, timeoutMs: number): Promise<InstanceReport>;
  /** POST /pg/reload with the control plane's client certificate; throws on refusal. */
  reload(instance: InstanceResource, caPem: string, timeoutMs: number): Promise<void>;
  /** POST /pg/restart with the control plane's client certificate: the manager restarts PostgreSQL. */
  restart(instance: InstanceResource, caPem: string, timeoutMs: number): Promise<void>;
}
