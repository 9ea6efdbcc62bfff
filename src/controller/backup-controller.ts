/**
 * Backups on the control plane's side (CNPG's backup and scheduledbackup controllers):
 *
 * - a new Backup is checked (its cluster exists and has an object store), then given to one
 *   instance: `target` prefer-standby (CNPG's default) picks a ready standby and falls back to
 *   the primary, `primary` the primary. The instance's manager takes it (instance/backup-job.ts).
 *   One backup runs per cluster at a time; the others wait as `pending`.
 * - a Backup whose instance's manager died or restarted while taking it fails with a reason;
 *   the objects it had written are removed (no backup.info was written, so nothing lists it).
 * - a ScheduledBackup creates `<name>-<YYYYMMDDHHMMSS>` Backups on its six-field schedule
 *   (seconds first), once at creation when `immediate`, never while `suspend`.
 */
import type { Logger } from 'pino';
import {
  type BackupResource,
  type ClusterResource,
  type ScheduledBackupResource,
  scheduledBackupName,
} from '../api/index.ts';
import { type InstanceResource, isClusterInitialized } from '../api/internal.ts';
import { firstRecoverabilityPoint, lastSuccessfulBackup, listBackups } from '../backup/catalog.ts';
import { enforceRetentionPolicy, parseRetentionPolicy } from '../backup/retention.ts';
import { nextRun } from '../lib/cron.ts';
import type { InstanceRuntime } from '../ports/instance-runtime.ts';
import type { ObjectStore } from '../ports/object-store.ts';
import { type Store, updateWithRetry } from '../ports/store.ts';

export interface BackupControllerDeps {
  store: Store;
  runtime: InstanceRuntime;
  logger: Logger;
  /** Opens a cluster's object store (to remove what a failed backup left); undefined: none. */
  openStore: (cluster: ClusterResource) => { store: ObjectStore; serverName: string } | undefined;
}

/** Phases in which an instance works on the backup. */
const ACTIVE = new Set(['started', 'running', 'finalizing', 'walArchivingFailing']);
/** A backup not picked up by its instance within this time fails. */
const PICKUP_TIMEOUT_MS = 60_000;

/** How often the catalog of each cluster is read again (retention, recoverability) without a new backup. */
const CATALOG_EVERY_MS = 5 * 60_000;

export class BackupController {
  private readonly d: BackupControllerDeps;
  /** Per cluster: when its catalog was last read, and the lastSuccessfulBackup it saw then. */
  private readonly catalogSeen = new Map<string, { at: number; lastBackup: unknown; policy: unknown }>();
  constructor(d: BackupControllerDeps) {
    this.d = d;
  }

  /** One pass over every Backup and ScheduledBackup, and every cluster's catalog when due. */
  async tick(now: Date): Promise<void> {
    await this.tickBackups(now);
    for (const cluster of this.d.store.list<ClusterResource>('Cluster')) {
      try {
        await this.catalog(cluster, now);
      } catch (err) {
        this.d.logger.error(
          { err, cluster: cluster.metadata.name },
          `cannot read the backup catalog of ${cluster.metadata.name}: ${(err as Error).message}`,
        );
      }
    }
  }

  /**
   * After each new backup (and every few minutes): applies the retention policy (barman's
   * recovery window: backups and WAL no longer needed to reach any point inside it) and
   * records the catalog's firstRecoverabilityPoint and lastSuccessfulBackup in the status.
   */
  private async catalog(cluster: ClusterResource, now: Date): Promise<void> {
    const key = `${cluster.metadata.namespace}/${cluster.metadata.name}`;
    const spec = cluster.spec.backup;
    if (spec?.barmanObjectStore === undefined || !isClusterInitialized(cluster)) {
      this.catalogSeen.delete(key);
      return;
    }
    const seen = this.catalogSeen.get(key);
    const lastBackup = cluster.status?.['lastSuccessfulBackup'];
    if (
      seen !== undefined &&
      seen.lastBackup === lastBackup &&
      seen.policy === spec.retentionPolicy &&
      now.getTime() - seen.at < CATALOG_EVERY_MS
    ) {
      return;
    }
    this.catalogSeen.set(key, { at: now.getTime(), lastBackup, policy: spec.retentionPolicy });
    const opened = this.d.openStore(cluster);
    if (opened === undefined) return;
    if (spec.retentionPolicy !== undefined) {
      const plan = await enforceRetentionPolicy(
        opened.store,
        opened.serverName,
        parseRetentionPolicy(spec.retentionPolicy),
        now,
        {
          onDeleted: (d) =>
            this.d.logger.info(
              { cluster: cluster.metadata.name, backupId: d.backupId, wals: d.wals.length },
              `retention policy ${spec.retentionPolicy}: deleted backup ${d.backupId} and ${d.wals.length} WAL files it alone needed`,
            ),
        },
      );
      if (plan.deletions.length > 0)
        this.markDeletedBackups(
          cluster,
          plan.deletions.map((d) => d.backupId),
        );
    }
    const list = await listBackups(opened.store, opened.serverName);
    const first = firstRecoverabilityPoint(list)?.toISOString();
    const last = lastSuccessfulBackup(list)?.info.endTime.toISOString();
    updateWithRetry<ClusterResource>(
      this.d.store,
      'Cluster',
      cluster.metadata.namespace,
      cluster.metadata.name,
      (c) => {
        const status = c.status ?? {};
        if (
          status['firstRecoverabilityPoint'] === first &&
          (last === undefined || status['lastSuccessfulBackup'] === last)
        )
          return undefined;
        if (first === undefined) delete status['firstRecoverabilityPoint'];
        else status['firstRecoverabilityPoint'] = first;
        if (last !== undefined) status['lastSuccessfulBackup'] = last;
        c.status = status;
        return c;
      },
    );
    this.catalogSeen.set(key, {
      at: now.getTime(),
      lastBackup: last ?? lastBackup,
      policy: spec.retentionPolicy,
    });
  }

  /** Backups whose data retention removed say so (CNPG keeps the objects; they no longer restore). */
  private markDeletedBackups(cluster: ClusterResource, backupIds: string[]): void {
    const gone = new Set(backupIds);
    for (const b of this.d.store.list<BackupResource>('Backup', cluster.metadata.namespace)) {
      if (b.spec.cluster.name !== cluster.metadata.name || !gone.has(b.status?.backupId ?? '')) continue;
      this.setStatus(b, (s) => {
        s['deletedByRetention'] = true;
        s.error = 'removed from the object store by the retention policy';
      });
    }
  }

  private async tickBackups(now: Date): Promise<void> {
    for (const sb of this.d.store.list<ScheduledBackupResource>('ScheduledBackup')) {
      try {
        this.schedule(sb, now);
      } catch (err) {
        this.d.logger.error({ err, scheduledBackup: sb.metadata.name }, 'scheduled backup failed');
      }
    }
    const backups = this.d.store.list<BackupResource>('Backup');
    for (const b of backups) {
      try {
        await this.reconcile(b, now);
      } catch (err) {
        this.d.logger.error(
          { err, backup: b.metadata.name },
          `backup ${b.metadata.name}: ${(err as Error).message}`,
        );
      }
    }
  }

  private setStatus(b: BackupResource, change: (s: NonNullable<BackupResource['status']>) => void): void {
    updateWithRetry<BackupResource>(this.d.store, 'Backup', b.metadata.namespace, b.metadata.name, (x) => {
      const s = { ...(x.status ?? {}) };
      change(s);
      x.status = s;
      return x;
    });
  }

  private fail(b: BackupResource, error: string, now: Date): void {
    this.d.logger.error({ backup: b.metadata.name }, `backup ${b.metadata.name} failed: ${error}`);
    this.setStatus(b, (s) => {
      s.phase = 'failed';
      s.error = error;
      s.stoppedAt = now.toISOString();
    });
  }

  private async reconcile(b: BackupResource, now: Date): Promise<void> {
    const phase = b.status?.phase;
    if (phase === 'completed' || phase === 'failed') return;
    const ns = b.metadata.namespace;
    const cluster = this.d.store.get<ClusterResource>('Cluster', ns, b.spec.cluster.name);
    if (cluster === undefined) {
      this.fail(b, `cluster ${b.spec.cluster.name} does not exist in namespace ${ns}`, now);
      return;
    }
    const backup = cluster.spec.backup;
    if (backup?.barmanObjectStore === undefined) {
      this.fail(
        b,
        `cluster ${cluster.metadata.name} has no spec.backup.barmanObjectStore: configure where backups go first`,
        now,
      );
      return;
    }
    const instances = this.d.store
      .list<InstanceResource>('Instance', ns)
      .filter((i) => i.spec.cluster === cluster.metadata.name);
    if (phase === undefined || phase === 'pending') {
      // Read afresh: a backup of this cluster may have been started earlier in this pass.
      const busy = this.d.store
        .list<BackupResource>('Backup', ns)
        .some(
          (o) =>
            o.metadata.name !== b.metadata.name &&
            o.spec.cluster.name === b.spec.cluster.name &&
            ACTIVE.has(o.status?.phase ?? ''),
        );
      const target = this.chooseInstance(
        cluster,
        instances,
        b.spec.target ?? backup.target ?? 'prefer-standby',
      );
      if (busy || target === undefined) {
        const why = busy
          ? 'another backup of this cluster is running'
          : 'no instance is ready to take the backup';
        if (phase !== 'pending' || b.status?.error !== why) {
          this.setStatus(b, (s) => {
            s.phase = 'pending';
            s.error = why;
          });
        }
        return;
      }
      this.d.logger.info(
        { backup: b.metadata.name, instance: target },
        `backup ${b.metadata.name} goes to ${target}`,
      );
      this.setStatus(b, (s) => {
        s.phase = 'started';
        delete s.error;
        s.method = b.spec.method ?? 'barmanObjectStore';
        s.instanceID = { podName: target };
        s.startedAt = now.toISOString();
      });
      return;
    }
    // Active: the instance must still be there, with the manager that took the backup.
    const name = b.status?.instanceID?.podName;
    const instance = instances.find((i) => i.metadata.name === name);
    const session = b.status?.instanceID?.sessionID;
    let lost: string | undefined;
    if (instance === undefined) lost = `instance ${name} no longer exists`;
    else if (!this.d.runtime.isManagerAlive(instance)) lost = `the instance manager of ${name} stopped`;
    else if (
      session !== undefined &&
      instance.status?.sessionId !== undefined &&
      instance.status.sessionId !== session
    )
      lost = `the instance manager of ${name} restarted`;
    else if (
      phase === 'started' &&
      b.status?.startedAt !== undefined &&
      now.getTime() - Date.parse(b.status.startedAt) > PICKUP_TIMEOUT_MS
    )
      lost = `${name} did not start the backup within ${PICKUP_TIMEOUT_MS / 1000} s`;
    if (lost === undefined) return;
    this.fail(b, `${lost} while taking the backup; nothing usable was kept, take the backup again`, now);
    await this.removePartial(cluster, b);
  }

  /** The instance to back up: a ready standby when preferred and available, else the primary. */
  private chooseInstance(
    cluster: ClusterResource,
    instances: InstanceResource[],
    target: string,
  ): string | undefined {
    const alive = instances.filter((i) => i.status?.ready === true && this.d.runtime.isManagerAlive(i));
    const primary = alive.find(
      (i) => i.metadata.name === cluster.status?.currentPrimary && i.status?.role === 'primary',
    );
    if (target === 'prefer-standby') {
      const standby = alive
        .filter((i) => i.status?.role === 'replica')
        .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))[0];
      if (standby !== undefined) return standby.metadata.name;
    }
    return primary?.metadata.name;
  }

  /** Removes the objects of a backup that never wrote its backup.info. */
  private async removePartial(cluster: ClusterResource, b: BackupResource): Promise<void> {
    const id = b.status?.backupId;
    if (id === undefined) return;
    const opened = this.d.openStore(cluster);
    if (opened === undefined) return;
    const prefix = `${b.status?.serverName ?? opened.serverName}/base/${id}/`;
    try {
      const objects = await opened.store.list(prefix);
      if (objects.some((o) => o.key.endsWith('/backup.info'))) return;
      if (objects.length > 0) await opened.store.delete(objects.map((o) => o.key));
      await opened.store.removeIncomplete(prefix);
    } catch (err) {
      this.d.logger.warn(
        { err, backup: b.metadata.name },
        `cannot remove what the failed backup left at ${prefix}`,
      );
    }
  }

  private schedule(sb: ScheduledBackupResource, now: Date): void {
    const { namespace, name } = sb.metadata;
    const status = sb.status ?? {};
    if (sb.spec.suspend === true) return;
    const first = status.lastCheckTime === undefined;
    const due =
      (first && sb.spec.immediate === true) ||
      (status.nextScheduleTime !== undefined && Date.parse(status.nextScheduleTime) <= now.getTime());
    if (!first && !due) return;
    if (due) this.createScheduled(sb, now);
    const next = nextRun(sb.spec.schedule, now);
    updateWithRetry<ScheduledBackupResource>(this.d.store, 'ScheduledBackup', namespace, name, (x) => {
      x.status = {
        ...x.status,
        lastCheckTime: now.toISOString(),
        ...(due ? { lastScheduleTime: now.toISOString() } : {}),
        ...(next !== undefined ? { nextScheduleTime: next.toISOString() } : {}),
      };
      return x;
    });
  }

  private createScheduled(sb: ScheduledBackupResource, now: Date): void {
    const { namespace, name } = sb.metadata;
    const owner = sb.spec.backupOwnerReference ?? 'none';
    const ownerRef =
      owner === 'self'
        ? { apiVersion: 'postgresql.cnpg.io/v1', kind: 'ScheduledBackup', name, uid: sb.metadata.uid }
        : owner === 'cluster'
          ? {
              apiVersion: 'postgresql.cnpg.io/v1',
              kind: 'Cluster',
              name: sb.spec.cluster.name,
              uid: this.d.store.get<ClusterResource>('Cluster', namespace, sb.spec.cluster.name)?.metadata
                .uid,
            }
          : undefined;
    const backup = {
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'Backup',
      metadata: {
        name: scheduledBackupName(sb, now),
        namespace,
        labels: { 'cnpg.io/scheduled-backup': name, 'cnpg.io/cluster': sb.spec.cluster.name },
        ...(ownerRef !== undefined ? { ownerReferences: [ownerRef] } : {}),
      },
      spec: {
        cluster: { name: sb.spec.cluster.name },
        method: sb.spec.method ?? 'barmanObjectStore',
        ...(sb.spec.target !== undefined ? { target: sb.spec.target } : {}),
      },
    };
    this.d.store.create(backup);
    this.d.logger.info(
      { scheduledBackup: name, backup: backup.metadata.name },
      `scheduled backup ${backup.metadata.name} created`,
    );
  }
}
