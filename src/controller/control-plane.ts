/**
 * The control plane's API, platform-neutral: admission (defaults + validation) and writes for
 * `apply`, reads for `get`, deletion requests, and the aggregated view behind `status`.
 */
import type { Logger } from 'pino';
import {
  type BackupResource,
  type ClusterResource,
  formatIssue,
  loadManifests,
  type ManifestIssue,
  SCHEDULED_BACKUP_LABEL,
  type ScheduledBackupResource,
  type SecretResource,
  type UserResource,
  validateBackupUpdate,
  validateReferences,
  validateScheduledBackupUpdate,
  validateUpdate,
} from '../api/index.ts';
import {
  certificateSecretNames,
  FENCED_INSTANCES_ANNOTATION,
  fencedInstances,
  type InstanceResource,
  isClusterInitialized,
  isFenced,
  type ServiceResource,
} from '../api/internal.ts';
import { planEndpoints } from '../core/routing.ts';
import type { InstanceReport } from '../instance/contract.ts';
import {
  type ApplyOutcome,
  type ApplyResult,
  type ClusterView,
  type ControlPlane,
  ControlPlaneError,
  type InstanceView,
  type PromoteResult,
} from '../ports/control-plane.ts';
import type { InstanceClient } from '../ports/instance-runtime.ts';
import { type Store, type StoredObject, updateWithRetry } from '../ports/store.ts';
import { lsnDiff } from '../postgres/lsn.ts';
import { DELETION_ANNOTATION } from './cluster-controller.ts';

/** Every Secret a Cluster reads: credentials, certificates, object-store credentials and CAs. */
function secretsUsedBy(c: ClusterResource): Set<string> {
  const names = new Set<string>();
  const add = (n: string | undefined): void => {
    if (n !== undefined) names.add(n);
  };
  add(c.spec.bootstrap?.initdb?.secret?.name);
  add(c.spec.bootstrap?.recovery?.secret?.name);
  add(c.spec.superuserSecret?.name);
  for (const v of Object.values(c.spec.certificates ?? {})) if (typeof v === 'string') add(v);
  const stores = [
    c.spec.backup?.barmanObjectStore,
    ...(c.spec.externalClusters ?? []).map((e) => e.barmanObjectStore),
  ];
  for (const os of stores) {
    if (os === undefined) continue;
    add(os.endpointCA?.name);
    const creds = os.s3Credentials;
    for (const ref of [creds?.accessKeyId, creds?.secretAccessKey, creds?.region, creds?.sessionToken])
      add(ref?.name);
  }
  return names;
}

/** Kinds `get` understands, with their aliases (as kubectl). */
const KIND_ALIASES: Record<string, string> = {
  cluster: 'Cluster',
  clusters: 'Cluster',
  secret: 'Secret',
  secrets: 'Secret',
  service: 'Service',
  services: 'Service',
  svc: 'Service',
  instance: 'Instance',
  instances: 'Instance',
  backup: 'Backup',
  backups: 'Backup',
  scheduledbackup: 'ScheduledBackup',
  scheduledbackups: 'ScheduledBackup',
};

export function resolveKind(kind: string): string {
  const k = KIND_ALIASES[kind.toLowerCase()];
  if (k === undefined) {
    throw new ControlPlaneError(
      `unknown kind "${kind}"; use one of: cluster, secret, service, instance, backup, scheduledbackup`,
      'PGHERD_CLI_UNKNOWN_KIND',
      'user',
    );
  }
  return k;
}

export interface ControlPlaneDeps {
  store: Store;
  instanceClient: InstanceClient;
  logger: Logger;
  now: () => Date;
  /** Called after a write so the controller reconciles at once. */
  notify: (clusterKey: string) => void;
  /** Local platform: stop instances and the control plane. */
  onShutdown: (stopInstances: boolean) => Promise<void>;
}

export function createControlPlane(d: ControlPlaneDeps): ControlPlane {
  const { store } = d;

  /** The cluster, or the user error every command gives for a missing one. */
  const requireCluster = (namespace: string, name: string): ClusterResource => {
    const cluster = store.get<ClusterResource>('Cluster', namespace, name);
    if (cluster === undefined) {
      throw new ControlPlaneError(
        `cluster "${name}" not found in namespace ${namespace}`,
        'PGHERD_CLI_NOT_FOUND',
        'user',
      );
    }
    return cluster;
  };

  /** The CA that verifies the cluster's server certificate (the instance managers' API). */
  const serverCaPem = (cluster: ClusterResource): string => {
    const secret = store.get<SecretResource>(
      'Secret',
      cluster.metadata.namespace,
      certificateSecretNames(cluster).serverCa,
    );
    return secret ? Buffer.from(secret.data['ca.crt'] ?? '', 'base64').toString('utf8') : '';
  };

  /** A cluster's instances, by serial. */
  const instancesOf = (namespace: string, name: string): InstanceResource[] =>
    store
      .list<InstanceResource>('Instance', namespace)
      .filter((i) => i.spec.cluster === name)
      .sort((a, b) => a.spec.serial - b.spec.serial);

  const apply = async (text: string, file: string, opts: { dryRun?: boolean } = {}): Promise<ApplyResult> => {
    const loaded = loadManifests(text, file);
    if (loaded.errors.length > 0) return { errors: loaded.errors, warnings: loaded.warnings, outcomes: [] };
    // Keyed namespace/name: a secret in another namespace does not satisfy a reference.
    const existingSecrets = new Map(
      store
        .list<SecretResource>('Secret')
        .map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s] as const),
    );
    const existingClusters = new Map(
      store
        .list<ClusterResource>('Cluster')
        .map((c) => [`${c.metadata.namespace}/${c.metadata.name}`, c] as const),
    );
    const errors: ManifestIssue[] = [
      ...validateReferences(loaded.resources, existingSecrets, existingClusters),
    ];
    for (const r of loaded.resources) {
      if (r.kind === 'Backup') {
        const prevBackup = store.get<BackupResource>('Backup', r.metadata.namespace, r.metadata.name);
        if (prevBackup !== undefined) errors.push(...validateBackupUpdate(prevBackup, r));
        continue;
      }
      if (r.kind === 'ScheduledBackup') {
        const prevScheduled = store.get<ScheduledBackupResource>(
          'ScheduledBackup',
          r.metadata.namespace,
          r.metadata.name,
        );
        if (prevScheduled !== undefined) errors.push(...validateScheduledBackupUpdate(prevScheduled, r));
        continue;
      }
      if (r.kind !== 'Cluster') continue;
      const prev = store.get<ClusterResource>('Cluster', r.metadata.namespace, r.metadata.name);
      if (prev === undefined) continue;
      if (prev.metadata.annotations?.[DELETION_ANNOTATION] !== undefined) {
        errors.push({
          file,
          line: 1,
          column: 1,
          path: 'metadata.name',
          message: `cluster ${r.metadata.name} is being deleted; wait for the deletion to finish, then apply again`,
          code: 'PGHERD_CONTROL_BEING_DELETED',
        });
        continue;
      }
      errors.push(...validateUpdate(prev, r));
    }
    if (errors.length > 0 || opts.dryRun === true) return { errors, warnings: loaded.warnings, outcomes: [] };
    const outcomes: ApplyOutcome[] = [];
    // Secrets first: a cluster's controller may need them on its first pass; backups last, once
    // the cluster they name is there.
    const rank = (r: UserResource): number => (r.kind === 'Secret' ? 0 : r.kind === 'Cluster' ? 1 : 2);
    const ordered = [...loaded.resources].sort((a, b) => rank(a) - rank(b));
    for (const r of ordered) outcomes.push(write(r));
    const touched = new Set<string>();
    for (const r of loaded.resources) {
      if (r.kind === 'Cluster') touched.add(`${r.metadata.namespace}/${r.metadata.name}`);
      if (r.kind === 'Backup' || r.kind === 'ScheduledBackup') {
        touched.add(`${r.metadata.namespace}/${r.spec.cluster.name}`);
      }
    }
    for (const key of touched) d.notify(key);
    for (const w of loaded.warnings) d.logger.warn({ file }, formatIssue(w));
    return { errors: [], warnings: loaded.warnings, outcomes };
  };

  const write = (r: UserResource): ApplyOutcome => {
    const base = { kind: r.kind, namespace: r.metadata.namespace, name: r.metadata.name };
    const prev = store.get<UserResource>(r.kind, r.metadata.namespace, r.metadata.name);
    if (prev === undefined) {
      store.create(r);
      return { ...base, action: 'created' };
    }
    // Annotations pgherd's own commands set (fencing) survive an apply that does not mention them.
    const kept = Object.fromEntries(
      Object.entries(prev.metadata.annotations ?? {}).filter(([k]) => k === FENCED_INSTANCES_ANNOTATION),
    );
    const annotations = { ...kept, ...(r.metadata.annotations ?? {}) };
    const payload = (x: UserResource, xAnnotations: Record<string, string>): string =>
      JSON.stringify([
        x.kind === 'Secret' ? { type: x.type, data: x.data } : x.spec,
        x.metadata.labels ?? {},
        xAnnotations,
      ]);
    if (payload(prev, prev.metadata.annotations ?? {}) === payload(r, annotations))
      return { ...base, action: 'unchanged' };
    // The status pgherd wrote (a Backup's phase, a schedule's last run) is kept.
    const next = structuredClone(prev) as UserResource;
    next.metadata.labels = r.metadata.labels ?? {};
    next.metadata.annotations = annotations;
    if (next.kind === 'Cluster' && r.kind === 'Cluster') next.spec = r.spec;
    // A Backup's spec never changes (validateBackupUpdate refused it): only its metadata can.
    if (next.kind === 'Backup' && r.kind === 'Backup') next.spec = r.spec;
    if (next.kind === 'ScheduledBackup' && r.kind === 'ScheduledBackup') next.spec = r.spec;
    if (next.kind === 'Secret' && r.kind === 'Secret') {
      next.type = r.type;
      next.data = r.data;
    }
    store.update(next);
    return { ...base, action: 'configured' };
  };

  const get = async (kind: string, namespace: string, name?: string): Promise<StoredObject[]> => {
    const k = resolveKind(kind);
    if (name === undefined) return store.list(k, namespace);
    const obj = store.get(k, namespace, name);
    if (obj === undefined) {
      throw new ControlPlaneError(
        `${kind} "${name}" not found in namespace ${namespace}`,
        'PGHERD_CLI_NOT_FOUND',
        'user',
      );
    }
    return [obj];
  };

  const del = async (kind: string, namespace: string, name: string): Promise<void> => {
    const k = resolveKind(kind);
    if (k === 'Cluster') {
      const c = requireCluster(namespace, name);
      if (c.metadata.annotations?.[DELETION_ANNOTATION] === undefined) {
        c.metadata.annotations = {
          ...(c.metadata.annotations ?? {}),
          [DELETION_ANNOTATION]: d.now().toISOString(),
        };
        store.update(c);
      }
      d.notify(`${namespace}/${name}`);
      return;
    }
    if (k === 'Secret') {
      const users = store
        .list<ClusterResource>('Cluster', namespace)
        .filter((c) => secretsUsedBy(c).has(name));
      if (users.length > 0) {
        throw new ControlPlaneError(
          `secret "${name}" is used by cluster ${users.map((c) => c.metadata.name).join(', ')}; delete the cluster first`,
          'PGHERD_CLI_SECRET_IN_USE',
          'user',
        );
      }
      if (!store.delete('Secret', namespace, name)) {
        throw new ControlPlaneError(
          `secret "${name}" not found in namespace ${namespace}`,
          'PGHERD_CLI_NOT_FOUND',
          'user',
        );
      }
      return;
    }
    if (k === 'Backup' || k === 'ScheduledBackup') {
      // As on Kubernetes: deleting a Backup removes the request and its record, not the backup
      // in the object store (CNPG's in-tree barman support never deletes it either). Backups a
      // ScheduledBackup owns (backupOwnerReference: self) go with it, as the garbage collector
      // would remove them.
      const owner =
        k === 'ScheduledBackup' ? store.get<ScheduledBackupResource>(k, namespace, name) : undefined;
      if (!store.delete(k, namespace, name)) {
        throw new ControlPlaneError(
          `${k === 'Backup' ? 'backup' : 'scheduledbackup'} "${name}" not found in namespace ${namespace}`,
          'PGHERD_CLI_NOT_FOUND',
          'user',
        );
      }
      if (owner?.spec.backupOwnerReference === 'self') {
        for (const b of store.list<BackupResource>('Backup', namespace)) {
          if (b.metadata.labels?.[SCHEDULED_BACKUP_LABEL] === name)
            store.delete('Backup', namespace, b.metadata.name);
        }
      }
      return;
    }
    throw new ControlPlaneError(
      `${k} objects are managed by pgherd; delete or scale the cluster instead`,
      'PGHERD_CLI_NOT_DELETABLE',
      'user',
    );
  };

  const status = async (namespace: string, name: string): Promise<ClusterView> => {
    const cluster = requireCluster(namespace, name);
    const caPem = serverCaPem(cluster);
    const instances = instancesOf(namespace, name);
    const reports = await Promise.all(
      instances.map(async (i): Promise<InstanceReport | Error> => {
        try {
          return await d.instanceClient.getStatus(i, caPem, 3000);
        } catch (err) {
          return err as Error;
        }
      }),
    );
    const primaryReport = reports.find((r): r is InstanceReport => !(r instanceof Error) && r.isPrimary);
    const views: InstanceView[] = instances.map((i, idx) => {
      const r = reports[idx]!;
      if (r instanceof Error) {
        return {
          name: i.metadata.name,
          role: i.status?.role ?? 'unknown',
          phase: i.status?.phase ?? 'Unknown',
          phaseReason: i.status?.phaseReason ?? '',
          ready: false,
          currentLsn: null,
          receivedLsn: null,
          replayLsn: null,
          lagBytes: null,
          replayLagSeconds: null,
          timelineId: i.status?.timelineId ?? null,
          systemId: i.status?.systemId ?? null,
          pgPort: i.spec.pgPort,
          managerPid: null,
          postmasterPid: null,
          error: `instance manager unreachable: ${r.message}`,
        };
      }
      return {
        name: i.metadata.name,
        role: r.isPostgresUp ? (r.isPrimary ? 'primary' : 'replica') : 'unknown',
        phase: r.phase,
        phaseReason: r.phaseReason,
        ready: r.ready,
        currentLsn: r.currentLsn,
        receivedLsn: r.receivedLsn,
        replayLsn: r.replayLsn,
        lagBytes: r.isPrimary ? 0 : lsnDiff(primaryReport?.currentLsn, r.replayLsn),
        replayLagSeconds: r.replayLagSeconds,
        timelineId: r.timelineId,
        systemId: r.systemId,
        pgPort: i.spec.pgPort,
        managerPid: r.managerPid,
        postmasterPid: r.postmasterPid,
        ...(r.error !== undefined ? { error: r.error } : {}),
      };
    });
    const endpoints = planEndpoints({
      currentPrimary: cluster.status?.currentPrimary,
      targetPrimary: cluster.status?.targetPrimary,
      instances: instances.map((i) => ({
        name: i.metadata.name,
        port: i.spec.pgPort,
        role: i.status?.role ?? 'unknown',
        ready: i.status?.ready === true,
      })),
    });
    const services = store
      .list<ServiceResource>('Service', namespace)
      .filter((s) => s.spec.cluster === name)
      .map((s) => ({
        name: s.metadata.name,
        role: s.spec.role,
        host: s.spec.host,
        port: s.spec.port,
        endpoints: endpoints[s.spec.role].map((e) => e.name),
      }))
      .sort((a, b) => ['rw', 'ro', 'r'].indexOf(a.role) - ['rw', 'ro', 'r'].indexOf(b.role));
    return {
      cluster: cluster as unknown as ClusterView['cluster'],
      instances: views,
      services,
      replication: (primaryReport?.replication ?? []).map((x) => ({
        applicationName: x.applicationName,
        state: x.state,
        syncState: x.syncState,
        sentLsn: x.sentLsn,
        replayLsn: x.replayLsn,
        replayLag: x.replayLag,
      })),
      ...(primaryReport?.archiving !== undefined ? { archiving: primaryReport.archiving } : {}),
    };
  };

  const reload = async (namespace: string, name: string): Promise<{ reloaded: string[] }> => {
    const cluster = requireCluster(namespace, name);
    const caPem = serverCaPem(cluster);
    const instances = instancesOf(namespace, name);
    const failures: string[] = [];
    const reloaded: string[] = [];
    await Promise.all(
      instances.map(async (i) => {
        try {
          await d.instanceClient.reload(i, caPem, 10_000);
          reloaded.push(i.metadata.name);
        } catch (err) {
          failures.push(`${i.metadata.name}: ${(err as Error).message}`);
        }
      }),
    );
    if (failures.length > 0) {
      throw new ControlPlaneError(
        `reload failed on ${failures.join('; ')}`,
        'PGHERD_CONTROL_RELOAD',
        'internal',
      );
    }
    return { reloaded: reloaded.sort() };
  };

  const fence = async (
    namespace: string,
    name: string,
    instance: string,
    on: boolean,
  ): Promise<{ fenced: string[] }> => {
    requireCluster(namespace, name);
    const known = instancesOf(namespace, name).map((i) => i.metadata.name);
    if (instance !== '*' && !known.includes(instance)) {
      throw new ControlPlaneError(
        `cluster ${name} has no instance "${instance}" (it has ${known.join(', ') || 'none'}); use an instance name or '*'`,
        'PGHERD_CLI_NOT_FOUND',
        'user',
      );
    }
    let result: string[] = [];
    updateWithRetry<ClusterResource>(store, 'Cluster', namespace, name, (c) => {
      let list: string[];
      try {
        list = fencedInstances(c);
      } catch (err) {
        throw new ControlPlaneError((err as Error).message, 'PGHERD_CLI_FENCING', 'user');
      }
      // As CNPG: fencing '*' replaces the list; unfencing '*' clears it.
      let next: string[];
      if (instance === '*') next = on ? ['*'] : [];
      else if (on) next = list.includes('*') || list.includes(instance) ? list : [...list, instance].sort();
      else {
        if (list.includes('*')) {
          throw new ControlPlaneError(
            `every instance of ${name} is fenced ("*"); unfence '*' first`,
            'PGHERD_CLI_FENCING',
            'user',
          );
        }
        next = list.filter((x) => x !== instance);
      }
      result = next;
      const annotations = { ...(c.metadata.annotations ?? {}) };
      if (next.length === 0) delete annotations[FENCED_INSTANCES_ANNOTATION];
      else annotations[FENCED_INSTANCES_ANNOTATION] = JSON.stringify(next);
      if (JSON.stringify(annotations) === JSON.stringify(c.metadata.annotations ?? {})) return undefined;
      c.metadata.annotations = annotations;
      return c;
    });
    d.notify(`${namespace}/${name}`);
    return { fenced: result };
  };

  /**
   * CNPG's promote: refused while a failover or switchover runs, when the primary or the
   * target is fenced, or when the target is not a ready, streaming standby.
   */
  const promote = async (namespace: string, name: string, instance: string): Promise<PromoteResult> => {
    const cluster = requireCluster(namespace, name);
    const st = cluster.status ?? {};
    const refuse = (message: string): never => {
      throw new ControlPlaneError(message, 'PGHERD_CLI_PROMOTE', 'user');
    };
    const current = st.currentPrimary;
    if (!isClusterInitialized(cluster) || current === undefined) {
      return refuse(`cluster ${name} has no primary yet; wait until it is ready`);
    }
    const known = instancesOf(namespace, name);
    const target = known.find((i) => i.metadata.name === instance);
    if (target === undefined) {
      throw new ControlPlaneError(
        `cluster ${name} has no instance "${instance}" (it has ${known.map((i) => i.metadata.name).join(', ')})`,
        'PGHERD_CLI_NOT_FOUND',
        'user',
      );
    }
    if (st.targetPrimary !== current) {
      return refuse(
        `a failover or switchover is in progress (current primary ${current}, target ${st.targetPrimary}); try again when it has finished`,
      );
    }
    if (instance === current) return { from: current, to: instance, alreadyPrimary: true };
    if (isFenced(cluster, current)) {
      return refuse(`the primary ${current} is fenced: no switchover happens until it is unfenced`);
    }
    if (isFenced(cluster, instance)) return refuse(`${instance} is fenced: unfence it before promoting it`);
    let report: InstanceReport;
    try {
      report = await d.instanceClient.getStatus(target, serverCaPem(cluster), 3000);
    } catch (err) {
      return refuse(`${instance} does not answer (${(err as Error).message}); it cannot be promoted now`);
    }
    if (report.isPrimary || !report.ready || !report.isWalReceiverActive) {
      return refuse(
        `${instance} is not a ready standby streaming from ${current} (phase ${report.phase}: ${report.phaseReason}); it cannot be promoted now`,
      );
    }
    let requested = false;
    updateWithRetry<ClusterResource>(store, 'Cluster', namespace, name, (c) => {
      requested = false;
      if (c.status?.currentPrimary !== current || c.status.targetPrimary !== current) return undefined;
      requested = true;
      c.status = {
        ...c.status,
        targetPrimary: instance,
        targetPrimaryTimestamp: d.now().toISOString(),
        phase: 'Switchover in progress',
        phaseReason: `switching over from ${current} to ${instance}`,
      };
      return c;
    });
    if (!requested)
      return refuse(`the primary of ${name} changed meanwhile; check \`pgherd status ${name}\``);
    d.logger.info(
      { cluster: name, from: current, to: instance },
      `switchover requested: ${current} -> ${instance}`,
    );
    d.notify(`${namespace}/${name}`);
    return { from: current, to: instance, alreadyPrimary: false };
  };

  return {
    apply,
    get,
    delete: del,
    status,
    fence,
    promote,
    reload,
    shutdown: async (opts) => d.onShutdown(opts.stopInstances),
  };
}
