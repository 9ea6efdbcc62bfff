/**
 * The cluster controller: observe (store + instance managers), plan (core/topology), apply
 * (store writes and the instance runtime). One reconcile per cluster key at a time.
 */
import type { Logger } from 'pino';
import type { ClusterResource, SecretResource } from '../api/index.ts';
import {
  DELETION_ANNOTATION,
  type InstanceResource,
  instanceName,
  isClusterInitialized,
  isDeletionRequested,
  isFenced,
  type ServiceResource,
  type ServiceRole,
  serviceName,
} from '../api/internal.ts';
import { planRollingUpdate, type RollingInstance } from '../core/rolling-update.ts';
import { type ObservedInstance, planTopology, type TopologyAction } from '../core/topology.ts';
import type { InstanceReport } from '../instance/contract.ts';
import type { InstanceClient, InstanceRuntime } from '../ports/instance-runtime.ts';
import { type Store, type StoredObject, updateWithRetry } from '../ports/store.ts';
import {
  type CertificatePolicy,
  ensureCertificateSecrets,
  ensureCredentialSecrets,
} from './cluster-secrets.ts';
import { FailoverController, type FailoverOutcome, serverCaPem } from './failover-controller.ts';
import type { ReconcileResult } from './work-queue.ts';

export interface ClusterControllerDeps {
  store: Store;
  runtime: InstanceRuntime;
  /** Reads the instance managers' status API (failure detection, election). */
  instanceClient: InstanceClient;
  logger: Logger;
  now: () => Date;
  /** Loopback address services and instances bind to. */
  host: string;
  /** Certificate lifetimes; CNPG's defaults when absent. */
  certificates?: CertificatePolicy;
  /**
   * SHA-256 fingerprint of the control plane's client certificate, published in each Cluster's
   * status (CNPG's operatorCertificateFingerprint): instance managers accept state-changing
   * requests only from it.
   */
  operatorFingerprint?: string;
}

const SERVICE_ROLES: ServiceRole[] = ['rw', 'ro', 'r'];

/** Deletion is requested by setting this annotation; the controller tears down, then deletes. */
export { DELETION_ANNOTATION } from '../api/internal.ts';

export class ClusterController {
  private readonly d: ClusterControllerDeps;
  private readonly failover: FailoverController;
  /** Restarts requested by the rolling update, with the postmaster that was to be restarted. */
  private readonly restartRequests = new Map<string, { postmasterPid: number | null; at: number }>();
  constructor(d: ClusterControllerDeps) {
    this.d = d;
    this.failover = new FailoverController(d);
  }

  /** Reconciles one cluster, identified as `namespace/name`. */
  async reconcile(key: string): Promise<ReconcileResult> {
    const passStarted = Date.now();
    const [namespace, name] = key.split('/') as [string, string];
    const { store } = this.d;
    const cluster = store.get<ClusterResource>('Cluster', namespace, name);
    if (cluster === undefined) return { type: 'done', reason: 'the cluster no longer exists' };
    const log = this.d.logger.child({ cluster: name });

    if (cluster.metadata.annotations?.[DELETION_ANNOTATION] !== undefined) {
      await this.teardown(cluster, log);
      return { type: 'done', reason: 'the cluster was deleted' };
    }

    await this.d.runtime.ensureRouter();
    const renewed = await ensureCertificateSecrets(store, cluster, this.d.now(), this.d.certificates);
    if (renewed.length > 0)
      log.info({ secrets: renewed }, `renewed certificates ${renewed.join(', ')} before they expire`);
    const services = await this.ensureServices(cluster);
    const rw = services.find((s) => s.spec.role === 'rw')!;
    ensureCredentialSecrets(store, cluster, { host: rw.spec.host, port: rw.spec.port });

    const instances = this.instancesOf(cluster);
    const observed: ObservedInstance[] = instances.map((i) => {
      const managerAlive = this.d.runtime.isManagerAlive(i);
      // Readiness is reported by the instance manager; without one (killed, machine restarted)
      // the last report is stale and must not keep the instance in the services.
      if (!managerAlive && i.status?.ready === true) {
        const stalePid = i.status?.managerPid;
        updateWithRetry<InstanceResource>(store, 'Instance', namespace, i.metadata.name, (x) => {
          // A manager that restarted meanwhile has written its own status: keep it.
          if (x.status?.managerPid !== stalePid) return undefined;
          x.status = {
            ...(x.status ?? {}),
            ready: false,
            phaseReason: 'the instance manager is not running',
          };
          return x;
        });
        if (i.status !== undefined) i.status.ready = false;
      }
      return {
        name: i.metadata.name,
        serial: i.spec.serial,
        managerAlive,
        ready: i.status?.ready === true,
        role: i.status?.role ?? 'unknown',
        phase: i.status?.phase,
        phaseReason: i.status?.phaseReason,
      };
    });
    // Failover first (CNPG: while currentPrimary != targetPrimary the normal reconcile waits).
    let failover: FailoverOutcome | undefined;
    if (isClusterInitialized(cluster) && cluster.status?.currentPrimary !== undefined) {
      failover = await this.failover.reconcile(cluster, instances, log);
    }
    const status = store.get<ClusterResource>('Cluster', namespace, name)?.status ?? cluster.status ?? {};
    const plan = planTopology(
      {
        instances: cluster.spec.instances,
        latestGeneratedNode: status.latestGeneratedNode ?? 0,
        currentPrimary: status.currentPrimary,
        targetPrimary: status.targetPrimary,
        initialized: isClusterInitialized(cluster),
      },
      observed,
      (serial) => instanceName(name, serial),
    );
    const switching =
      isClusterInitialized(cluster) &&
      status.currentPrimary !== undefined &&
      status.targetPrimary !== undefined &&
      status.targetPrimary !== status.currentPrimary;
    if (failover?.inProgress === true || switching) {
      // Only instance managers are restarted meanwhile: they take part in the failover.
      for (const action of plan.actions) {
        if (action.type !== 'startManager') continue;
        log.info({ action: action.type, instance: action.name }, action.reason);
        await this.apply(cluster, action, instances);
      }
      const fresh = store.get<ClusterResource>('Cluster', namespace, name);
      this.writeStatus(cluster, fresh?.status?.phase ?? 'Failing over', fresh?.status?.phaseReason ?? '');
      return { type: 'requeue', afterMs: 100, reason: fresh?.status?.phaseReason ?? 'failover in progress' };
    }
    for (const action of plan.actions) {
      log.info({ action: action.type, instance: action.name }, action.reason);
      await this.apply(cluster, action, instances);
    }
    if (failover !== undefined && plan.actions.length === 0 && status.currentPrimary !== undefined) {
      const rolling = await this.rollingUpdate(
        cluster,
        status.currentPrimary,
        instances,
        failover.reports,
        log,
      );
      if (rolling !== undefined) {
        this.writeStatus(cluster, rolling.phase, rolling.reason);
        return { type: 'requeue', afterMs: 250, reason: rolling.reason };
      }
    }
    this.writeStatus(cluster, plan.phase, plan.phaseReason);
    // A settled cluster is still checked every second: a dead instance manager is noticed by
    // polling its pid, not by a store change.
    // Failure detection needs an observation about every second, however long this pass took.
    if (plan.settled)
      return {
        type: 'requeue',
        afterMs: Math.max(50, 1000 - (Date.now() - passStarted)),
        reason: plan.phaseReason,
      };
    return { type: 'requeue', afterMs: plan.actions.length > 0 ? 100 : 500, reason: plan.phaseReason };
  }

  /**
   * Restart-only parameters changed: restart the standbys one at a time, then the primary as
   * primaryUpdateStrategy/primaryUpdateMethod say (core/rolling-update.ts). Undefined when
   * nothing waits for a restart.
   */
  private async rollingUpdate(
    cluster: ClusterResource,
    currentPrimary: string,
    instances: InstanceResource[],
    reports: Map<string, InstanceReport | Error>,
    log: Logger,
  ): Promise<{ phase: string; reason: string } | undefined> {
    const ns = cluster.metadata.namespace;
    const view: RollingInstance[] = [];
    for (const i of instances) {
      const r = reports.get(i.metadata.name);
      const report = r instanceof Error ? undefined : r;
      const key = `${ns}/${i.metadata.name}`;
      const requestedAt = this.restartRequests.get(key);
      // A request is done once PostgreSQL runs under another postmaster and is ready again; one
      // that shows no effect within 30 s may be repeated.
      if (
        requestedAt !== undefined &&
        ((report?.ready === true &&
          report.postmasterPid !== null &&
          report.postmasterPid !== requestedAt.postmasterPid) ||
          Date.now() - requestedAt.at > 30_000)
      ) {
        this.restartRequests.delete(key);
      }
      view.push({
        name: i.metadata.name,
        isPrimary: report?.isPrimary ?? false,
        ready: report?.ready ?? false,
        pendingRestart: report?.pendingRestart ?? false,
        fenced: isFenced(cluster, i.metadata.name),
        replayLsn: report?.replayLsn ?? report?.currentLsn ?? null,
        restartRequested: this.restartRequests.has(key),
      });
    }
    const action = planRollingUpdate({
      currentPrimary,
      strategy: cluster.spec.primaryUpdateStrategy,
      method: cluster.spec.primaryUpdateMethod,
      instances: view,
    });
    switch (action.type) {
      case 'none':
        return undefined;
      case 'wait':
        return { phase: action.phase, reason: action.reason };
      case 'restart': {
        const inst = instances.find((i) => i.metadata.name === action.name)!;
        const r = reports.get(action.name);
        log.info({ instance: action.name }, action.reason);
        await this.d.instanceClient.restart(inst, serverCaPem(this.d.store, cluster), 5000);
        this.restartRequests.set(`${ns}/${action.name}`, {
          postmasterPid: r instanceof Error ? null : (r?.postmasterPid ?? null),
          at: Date.now(),
        });
        return { phase: action.phase, reason: action.reason };
      }
      case 'switchover':
        updateWithRetry<ClusterResource>(this.d.store, 'Cluster', ns, cluster.metadata.name, (c) => {
          if (c.status?.currentPrimary !== currentPrimary || c.status.targetPrimary !== currentPrimary)
            return undefined;
          c.status = {
            ...c.status,
            targetPrimary: action.target,
            targetPrimaryTimestamp: this.d.now().toISOString(),
            phase: action.phase,
            phaseReason: action.reason,
          };
          return c;
        });
        log.info({ target: action.target }, action.reason);
        return { phase: action.phase, reason: action.reason };
    }
  }

  private instancesOf(cluster: ClusterResource): InstanceResource[] {
    return this.d.store
      .list<InstanceResource>('Instance', cluster.metadata.namespace)
      .filter((i) => i.spec.cluster === cluster.metadata.name)
      .sort((a, b) => a.spec.serial - b.spec.serial);
  }

  private takenPorts(): Set<number> {
    const taken = new Set<number>();
    for (const s of this.d.store.list<ServiceResource>('Service')) taken.add(s.spec.port);
    for (const i of this.d.store.list<InstanceResource>('Instance')) {
      taken.add(i.spec.pgPort);
      taken.add(i.spec.statusPort);
    }
    return taken;
  }

  private async ensureServices(cluster: ClusterResource): Promise<ServiceResource[]> {
    const ns = cluster.metadata.namespace;
    const out: ServiceResource[] = [];
    for (const role of SERVICE_ROLES) {
      const name = serviceName(cluster.metadata.name, role);
      let svc = this.d.store.get<ServiceResource>('Service', ns, name);
      if (svc === undefined) {
        const [port] = await this.d.runtime.allocatePorts(1, this.takenPorts());
        svc = this.d.store.create<ServiceResource>({
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name, namespace: ns, labels: { 'cnpg.io/cluster': cluster.metadata.name } },
          spec: { cluster: cluster.metadata.name, role, host: this.d.host, port: port! },
        });
      }
      out.push(svc);
    }
    return out;
  }

  private async apply(
    cluster: ClusterResource,
    action: TopologyAction,
    instances: InstanceResource[],
  ): Promise<void> {
    const { store, runtime } = this.d;
    const ns = cluster.metadata.namespace;
    switch (action.type) {
      case 'setTargetPrimary':
        updateWithRetry<ClusterResource>(store, 'Cluster', ns, cluster.metadata.name, (c) => {
          c.status = {
            ...(c.status ?? {}),
            targetPrimary: action.name,
            targetPrimaryTimestamp: this.d.now().toISOString(),
          };
          return c;
        });
        return;
      case 'createInstance': {
        const [pgPort, statusPort] = await runtime.allocatePorts(2, this.takenPorts());
        const inst = store.create<InstanceResource>({
          apiVersion: 'pgherd.io/v1',
          kind: 'Instance',
          metadata: {
            name: action.name,
            namespace: ns,
            labels: { 'cnpg.io/cluster': cluster.metadata.name, 'cnpg.io/instanceName': action.name },
          },
          spec: {
            cluster: cluster.metadata.name,
            serial: action.serial,
            pgPort: pgPort!,
            statusPort: statusPort!,
          },
        });
        updateWithRetry<ClusterResource>(store, 'Cluster', ns, cluster.metadata.name, (c) => {
          const latest = Math.max(c.status?.latestGeneratedNode ?? 0, action.serial);
          c.status = { ...(c.status ?? {}), latestGeneratedNode: latest };
          return c;
        });
        await runtime.startManager(inst);
        return;
      }
      case 'startManager': {
        const inst = instances.find((i) => i.metadata.name === action.name);
        if (inst !== undefined) await runtime.startManager(inst);
        return;
      }
      case 'deleteInstance':
        await this.removeInstance(ns, cluster, action.name);
        return;
    }
  }

  /**
   * Removes an instance: its record is marked for deletion (the manager stops PostgreSQL and
   * exits), its processes and data are removed, and only then the record is deleted. A failure
   * (PostgreSQL that does not stop) leaves the record, so the next pass tries again and the data
   * is never removed under a running postmaster.
   */
  private async removeInstance(ns: string, cluster: ClusterResource, name: string): Promise<void> {
    const { store, runtime } = this.d;
    updateWithRetry<InstanceResource>(store, 'Instance', ns, name, (i) => {
      if (isDeletionRequested(i)) return undefined;
      i.metadata.annotations = {
        ...(i.metadata.annotations ?? {}),
        [DELETION_ANNOTATION]: this.d.now().toISOString(),
      };
      return i;
    });
    await runtime.destroyInstance(ns, cluster.metadata.name, name, cluster.spec.stopDelay * 1000);
    store.delete('Instance', ns, name);
  }

  private writeStatus(cluster: ClusterResource, phase: string, phaseReason: string): void {
    const instances = this.instancesOf(cluster);
    const ready = instances.filter((i) => i.status?.ready === true).map((i) => i.metadata.name);
    const notReady = instances.filter((i) => i.status?.ready !== true).map((i) => i.metadata.name);
    updateWithRetry<ClusterResource>(
      this.d.store,
      'Cluster',
      cluster.metadata.namespace,
      cluster.metadata.name,
      (c) => {
        const prev = c.status ?? {};
        const next = {
          ...prev,
          ...(this.d.operatorFingerprint !== undefined
            ? { operatorCertificateFingerprint: this.d.operatorFingerprint }
            : {}),
          phase,
          phaseReason,
          instances: instances.length,
          readyInstances: ready.length,
          instanceNames: instances.map((i) => i.metadata.name),
          instancesStatus: { healthy: ready, ...(notReady.length > 0 ? { failed: notReady } : {}) },
          ...(instances.find((i) => i.metadata.name === prev.currentPrimary)?.status?.timelineId !== undefined
            ? {
                timelineID: instances.find((i) => i.metadata.name === prev.currentPrimary)!.status!
                  .timelineId!,
              }
            : {}),
        };
        const readyCond =
          ready.length === cluster.spec.instances && instances.length === cluster.spec.instances;
        const now = this.d.now().toISOString();
        const conditions = (next.conditions ?? []).filter((x) => x.type !== 'Ready');
        const old = (prev.conditions ?? []).find((x) => x.type === 'Ready');
        const condStatus = readyCond ? 'True' : 'False';
        conditions.push({
          type: 'Ready',
          status: condStatus,
          reason: readyCond ? 'ClusterIsReady' : 'ClusterIsNotReady',
          message: readyCond ? 'Cluster is Ready' : phaseReason,
          lastTransitionTime: old?.status === condStatus ? old.lastTransitionTime : now,
        });
        next.conditions = conditions;
        if (JSON.stringify(next) === JSON.stringify(prev)) return undefined;
        c.status = next;
        return c;
      },
    );
  }

  /** Stops every instance, removes data, services and generated secrets, then the cluster. */
  private async teardown(cluster: ClusterResource, log: Logger): Promise<void> {
    const { store, runtime } = this.d;
    const ns = cluster.metadata.namespace;
    const name = cluster.metadata.name;
    updateWithRetry<ClusterResource>(store, 'Cluster', ns, name, (c) => {
      c.status = {
        ...(c.status ?? {}),
        phase: 'Deleting',
        phaseReason: 'stopping instances and removing data',
      };
      return c;
    });
    const instances = this.instancesOf(cluster);
    await Promise.all(instances.map((i) => this.removeInstance(ns, cluster, i.metadata.name)));
    for (const role of SERVICE_ROLES) store.delete('Service', ns, serviceName(name, role));
    for (const s of store.list<SecretResource>('Secret', ns)) {
      if (
        s.metadata.labels?.['cnpg.io/cluster'] === name &&
        s.metadata.labels?.['pgherd.io/generated'] === 'true'
      ) {
        store.delete('Secret', ns, s.metadata.name);
      }
    }
    await runtime.destroyClusterData(ns, name);
    // What the Kubernetes garbage collector would remove with the Cluster: Backup objects it
    // owns (ScheduledBackup backupOwnerReference: cluster). The backups in the object store
    // stay; only retention deletes those.
    for (const b of store.list<
      StoredObject & { metadata: { ownerReferences?: Array<{ kind: string; name: string }> } }
    >('Backup', ns)) {
      if (b.metadata.ownerReferences?.some((o) => o.kind === 'Cluster' && o.name === name)) {
        store.delete('Backup', ns, b.metadata.name);
      }
    }
    store.delete('Cluster', ns, name);
    log.info('cluster deleted: instances stopped, data removed');
  }
}

/**
 * After `pgherd down` stopped every instance: no cluster or instance may still read as ready
 * (a `wait --for ready` right after the next `up` would otherwise return before anything runs).
 */
export function recordStopped(store: Store, now: Date, reason: string): void {
  for (const i of store.list<InstanceResource>('Instance')) {
    updateWithRetry<InstanceResource>(store, 'Instance', i.metadata.namespace, i.metadata.name, (x) => {
      if (x.status?.ready !== true && x.status?.phase === 'Stopped') return undefined;
      x.status = { ...(x.status ?? {}), ready: false, phase: 'Stopped', phaseReason: reason };
      return x;
    });
  }
  for (const c of store.list<ClusterResource>('Cluster')) {
    updateWithRetry<ClusterResource>(store, 'Cluster', c.metadata.namespace, c.metadata.name, (x) => {
      const conditions = (x.status?.conditions ?? []).filter((k) => k.type !== 'Ready');
      conditions.push({
        type: 'Ready',
        status: 'False',
        reason: 'Stopped',
        message: reason,
        lastTransitionTime: now.toISOString(),
      });
      x.status = {
        ...(x.status ?? {}),
        phase: 'Stopped',
        phaseReason: reason,
        readyInstances: 0,
        conditions,
      };
      return x;
    });
  }
}
