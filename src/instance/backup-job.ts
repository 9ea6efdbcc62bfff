/**
 * Base backups run by the instance manager the control plane chose (CNPG's `manager backup`):
 * the control plane sets a Backup's phase to `started` with this instance in
 * `status.instanceID`; the manager notices it in the store, takes the backup in the background
 * (its reconcile loop goes on), and writes the Backup's status as it goes: running (with
 * progress), finalizing (waiting for the backup's last WAL file to be archived, so that a
 * completed backup always restores), walArchivingFailing while the archive refuses it,
 * completed or failed.
 *
 * The primary's manager helps a backup taken from a standby: a standby's pg_backup_stop does
 * not switch WAL, so the primary switches once its current segment holds the backup's end.
 */

import type pg from 'pg';
import type { Logger } from 'pino';
import type { BackupResource, BackupStatus, ClusterResource } from '../api/index.ts';
import { backupIdFor, takeBaseBackup } from '../backup/base-backup.ts';
import { clusterObjectStore } from '../backup/cluster-store.ts';
import type { Compression } from '../backup/compression.ts';
import { walKey } from '../backup/wal.ts';
import { type Store, updateWithRetry } from '../ports/store.ts';
import type { WalArchiveConfig } from './wal-service.ts';

export interface BackupJobsOptions {
  store: Store;
  namespace: string;
  cluster: string;
  instance: string;
  sessionId: string;
  log: Logger;
  /** A superuser connection to this instance's PostgreSQL. */
  connect: () => Promise<pg.Client>;
  /** The cluster's archive as the WAL service uses it (undefined: no store, or broken). */
  archive: () => WalArchiveConfig | undefined;
}

const PROGRESS_EVERY_MS = 1000;
const SWITCH_EVERY_MS = 5000;

export class BackupJobs {
  private readonly o: BackupJobsOptions;
  private running: string | undefined;
  private lastSwitch = 0;
  constructor(o: BackupJobsOptions) {
    this.o = o;
  }

  /** Starts a backup assigned to this instance, if any and none runs. Cheap; every pass. */
  poll(cluster: ClusterResource, isPrimary: boolean): void {
    const backups = this.o.store
      .list<BackupResource>('Backup', this.o.namespace)
      .filter((b) => b.spec.cluster.name === this.o.cluster);
    if (this.running === undefined) {
      const mine = backups.find(
        (b) => b.status?.phase === 'started' && b.status.instanceID?.podName === this.o.instance,
      );
      if (mine !== undefined) {
        this.running = mine.metadata.name;
        void this.run(mine.metadata.name, cluster).finally(() => {
          this.running = undefined;
        });
      }
    }
    if (isPrimary) void this.helpStandbyBackups(backups);
  }

  private update(name: string, change: (s: BackupStatus) => void): void {
    updateWithRetry<BackupResource>(this.o.store, 'Backup', this.o.namespace, name, (b) => {
      const status = { ...(b.status ?? {}) };
      change(status);
      b.status = status;
      return b;
    });
  }

  private async run(name: string, cluster: ClusterResource): Promise<void> {
    const spec = clusterObjectStore(cluster);
    const archive = this.o.archive();
    if (spec === undefined || archive === undefined) {
      this.fail(
        name,
        spec === undefined
          ? `cluster ${this.o.cluster} has no spec.backup.barmanObjectStore`
          : 'the backup object store cannot be opened (see the ContinuousArchiving condition)',
      );
      return;
    }
    const data = spec.data;
    const startedAt = new Date();
    const backupId = backupIdFor(startedAt);
    this.update(name, (s) => {
      s.phase = 'running';
      s.backupId = backupId;
      s.backupName = name;
      s.destinationPath = spec.destinationPath;
      // As CNPG: a Backup says where it is and how to read it, so a cluster can recover from
      // it after the source cluster is gone.
      if (spec.endpointURL !== undefined) s['endpointURL'] = spec.endpointURL;
      if (spec.endpointCA !== undefined) s['endpointCA'] = spec.endpointCA;
      if (spec.s3Credentials !== undefined) s['s3Credentials'] = spec.s3Credentials;
      s.serverName = archive.serverName;
      s.method = 'barmanObjectStore';
      s.online = true;
      s.startedAt = startedAt.toISOString();
      s.instanceID = { podName: this.o.instance, sessionID: this.o.sessionId };
    });
    this.o.log.info({ backup: name, backupId }, `taking base backup ${name} (${backupId})`);
    let client: pg.Client | undefined;
    try {
      client = await this.o.connect();
      // A spread checkpoint may take minutes; the backup session must not time out.
      await client.query('SET statement_timeout = 0');
      // Set by takeBaseBackup once it has walked PGDATA (before any progress).
      let total = 0;
      let lastProgress = 0;
      const info = await takeBaseBackup({
        store: archive.store,
        serverName: archive.serverName,
        backupId,
        backupName: name,
        client,
        compression: (data?.compression ?? 'none') as Compression,
        walCompression: archive.compression,
        immediateCheckpoint: data?.immediateCheckpoint === true,
        walArchived: true,
        jobs: data?.jobs ?? 2,
        onStart: (bytes) => {
          total = bytes;
        },
        onProgress: (bytes) => {
          if (Date.now() - lastProgress < PROGRESS_EVERY_MS) return;
          lastProgress = Date.now();
          this.update(name, (s) => {
            s.progress = { bytesDone: bytes, bytesTotal: Math.max(total, bytes) };
          });
        },
      });
      await client.end().catch(() => {});
      client = undefined;
      this.update(name, (s) => {
        s.phase = 'finalizing';
        s.beginWal = info.beginWal;
        s.endWal = info.endWal;
        s.beginLSN = info.beginXlog;
        s.endLSN = info.endXlog;
        s.progress = {
          bytesDone: s.progress?.bytesTotal ?? total,
          bytesTotal: s.progress?.bytesTotal ?? total,
        };
      });
      await this.waitForWal(name, archive, info.endWal);
      const stoppedAt = info.endTime.toISOString();
      this.update(name, (s) => {
        s.phase = 'completed';
        s.stoppedAt = stoppedAt;
        delete s.error;
      });
      updateWithRetry<ClusterResource>(this.o.store, 'Cluster', this.o.namespace, this.o.cluster, (c) => {
        const status = c.status ?? {};
        status['lastSuccessfulBackup'] = stoppedAt;
        if (status['firstRecoverabilityPoint'] === undefined) status['firstRecoverabilityPoint'] = stoppedAt;
        c.status = status;
        return c;
      });
      this.o.log.info({ backup: name, backupId }, `base backup ${name} completed`);
    } catch (err) {
      this.fail(name, (err as Error).message);
    } finally {
      await client?.end().catch(() => {});
    }
  }

  private fail(name: string, error: string): void {
    const now = new Date().toISOString();
    this.o.log.error({ backup: name }, `base backup ${name} failed: ${error}`);
    this.update(name, (s) => {
      s.phase = 'failed';
      s.error = error;
      s.stoppedAt = now;
    });
    updateWithRetry<ClusterResource>(this.o.store, 'Cluster', this.o.namespace, this.o.cluster, (c) => {
      c.status = { ...c.status, lastFailedBackup: now };
      return c;
    });
  }

  /** Waits until the backup's last WAL file is in the archive: only then does it restore. */
  private async waitForWal(name: string, archive: WalArchiveConfig, endWal: string): Promise<void> {
    const base = walKey(archive.serverName, endWal);
    let failing = false;
    for (;;) {
      const found = await archive.store.list(base).catch(() => []);
      if (found.some((o) => o.key === base || o.key.startsWith(`${base}.`))) return;
      const cluster = this.o.store.get<ClusterResource>('Cluster', this.o.namespace, this.o.cluster);
      const condition = cluster?.status?.conditions?.find((c) => c.type === 'ContinuousArchiving');
      const nowFailing = condition?.status === 'False';
      if (nowFailing !== failing) {
        failing = nowFailing;
        this.update(name, (s) => {
          s.phase = failing ? 'walArchivingFailing' : 'finalizing';
          if (failing) s.error = `waiting for ${endWal} to be archived: ${condition?.message ?? ''}`;
          else delete s.error;
        });
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /**
   * On the primary: a backup taken from a standby waits for its end segment, which the
   * primary is still writing; switch to the next one so it is archived now.
   */
  private async helpStandbyBackups(backups: BackupResource[]): Promise<void> {
    const waiting = backups.filter(
      (b) =>
        (b.status?.phase === 'finalizing' || b.status?.phase === 'walArchivingFailing') &&
        b.status.instanceID?.podName !== this.o.instance &&
        b.status.endWal !== undefined,
    );
    if (waiting.length === 0 || Date.now() - this.lastSwitch < SWITCH_EVERY_MS) return;
    this.lastSwitch = Date.now();
    let client: pg.Client | undefined;
    try {
      client = await this.o.connect();
      const current = (await client.query<{ f: string }>('SELECT pg_walfile_name(pg_current_wal_lsn()) AS f'))
        .rows[0]!.f;
      // Same timeline and segment naming: a plain string comparison orders them.
      if (waiting.some((b) => (b.status?.endWal ?? '').slice(8) >= current.slice(8))) {
        await client.query('SELECT pg_switch_wal()');
        this.o.log.info({ wal: current }, 'switched WAL so that a standby backup can complete');
      }
    } catch (err) {
      this.o.log.warn({ err }, 'cannot switch WAL for a standby backup');
    } finally {
      await client?.end().catch(() => {});
    }
  }
}
