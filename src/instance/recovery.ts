/**
 * Bootstrapping a new cluster from a backup (CNPG's `bootstrap.recovery`): where the backup
 * and its WAL are (a Backup object, or an external cluster's barmanObjectStore), which base
 * backup to restore (the one named, or the latest completed one that ends before a time or
 * LSN target), and what PostgreSQL's refusals mean for the user.
 */
import type { BackupResource, ClusterResource, RecoveryBootstrap, SecretResource } from '../api/index.ts';
import { formatTargetTime, parseTargetTime } from '../api/index.ts';
import type { DoneBackupInfo } from '../backup/backup-info.ts';
import { chooseBackupForTarget, firstRecoverabilityPoint, listBackups } from '../backup/catalog.ts';
import { type BarmanStoreSpec, serverNameOf } from '../backup/cluster-store.ts';
import type { Store } from '../ports/store.ts';
import type { RecoveryTargetInput } from '../postgres/configuration.ts';
import { compareLsn } from '../postgres/lsn.ts';
import { walArchiveConfig } from './archiving.ts';
import type { WalArchiveConfig } from './wal-service.ts';

/** CNPG's BootstrapRecovery (the API's type). */
export type RecoverySpec = RecoveryBootstrap;

/** The cluster's bootstrap.recovery, or undefined (initdb). */
export function recoverySpecOf(cluster: ClusterResource): RecoverySpec | undefined {
  return cluster.spec.bootstrap.recovery;
}

export interface RecoveryPlan {
  /** The store the backup and WAL are read from. */
  archive: WalArchiveConfig;
  backupId: string;
  backup: DoneBackupInfo;
  target: RecoveryTargetInput | undefined;
  /** For messages: where it comes from. */
  from: string;
}

/** Where a recovery reads from: a completed Backup's destination, or an external cluster's store. */
function recoveryStore(
  cluster: ClusterResource,
  spec: RecoverySpec,
  store: Store,
): { location: BarmanStoreSpec; serverName: string; backupId?: string | undefined; from: string } {
  const ns = cluster.metadata.namespace;
  if (spec.backup !== undefined) {
    const b = store.get<BackupResource>('Backup', ns, spec.backup.name);
    if (b === undefined) {
      throw new Error(
        `PGHERD_RECOVERY_NO_BACKUP: bootstrap.recovery.backup.name: Backup "${spec.backup.name}" does not exist in namespace ${ns}`,
      );
    }
    if (b.status?.phase !== 'completed' || b.status.backupId === undefined) {
      throw new Error(
        `PGHERD_RECOVERY_BACKUP_NOT_COMPLETED: Backup "${spec.backup.name}" is ${b.status?.phase ?? 'not started'}${b.status?.error ? ` (${b.status.error})` : ''}; recover from a completed backup`,
      );
    }
    const s = b.status as BackupResource['status'] & {
      endpointURL?: string;
      endpointCA?: { name: string; key: string };
      s3Credentials?: BarmanStoreSpec['s3Credentials'];
    };
    return {
      location: {
        destinationPath: s?.destinationPath ?? '',
        endpointURL: s?.endpointURL,
        endpointCA: s?.endpointCA,
        s3Credentials: s?.s3Credentials,
      },
      serverName: s?.serverName ?? b.spec.cluster.name,
      backupId: s?.backupId,
      from: `Backup ${spec.backup.name}`,
    };
  }
  const name = spec.source ?? '';
  const external = cluster.spec.externalClusters?.find((e) => e.name === name);
  if (external?.barmanObjectStore === undefined) {
    throw new Error(
      `PGHERD_RECOVERY_NO_SOURCE: bootstrap.recovery.source "${name}" is not an externalClusters entry with a barmanObjectStore`,
    );
  }
  return {
    location: external.barmanObjectStore,
    serverName: serverNameOf(external.barmanObjectStore, name),
    from: `external cluster ${name}`,
  };
}

/** The base backup to restore for a target: CNPG's rule (catalog.ts chooses). */
export async function planRecovery(
  cluster: ClusterResource,
  spec: RecoverySpec,
  store: Store,
  secret: (name: string) => SecretResource | undefined,
  maxParallel: number,
): Promise<RecoveryPlan> {
  const where = recoveryStore(cluster, spec, store);
  const archive = walArchiveConfig(
    { ...where.location, serverName: where.serverName, wal: { maxParallel } },
    where.serverName,
    secret,
  );
  const target = spec.recoveryTarget;
  const location = `${archive.store.location}/${where.serverName}`;
  const backups = await listBackups(archive.store, where.serverName);
  const choice = chooseBackupForTarget(backups, {
    backupID: where.backupId ?? target?.backupID,
    targetTime: target?.targetTime,
    targetLSN: target?.targetLSN,
    targetTLI: target?.targetTLI,
  });
  if (choice.backup === undefined) {
    const first = firstRecoverabilityPoint(backups);
    const early = target?.targetTime !== undefined || target?.targetLSN !== undefined;
    throw new Error(
      `${early && first !== undefined ? 'PGHERD_RECOVERY_TARGET_TOO_EARLY' : 'PGHERD_RECOVERY_NO_BACKUP'}: ${location}: ${choice.reason}${first !== undefined ? `; the first recoverability point is ${first.toISOString()}` : ''}`,
    );
  }
  const chosen = choice.backup;
  // A target before the end of the chosen backup cannot be reached: say so before downloading.
  const first = firstRecoverabilityPoint(backups)?.toISOString();
  const tooEarly = (what: string, end: string): Error =>
    new Error(
      `PGHERD_RECOVERY_TARGET_TOO_EARLY: ${what} is before the end of base backup ${chosen.backupId} (${end}); choose a later target${where.backupId === undefined && target?.backupID === undefined ? '' : ' or an older backup'} (the first recoverability point of ${location} is ${first})`,
    );
  if (target?.targetTime !== undefined) {
    const t = parseTargetTime(target.targetTime);
    if (t !== undefined && t.getTime() < chosen.info.endTime.getTime()) {
      throw tooEarly(`targetTime ${target.targetTime}`, chosen.info.endTime.toISOString());
    }
  }
  if (target?.targetLSN !== undefined && compareLsn(target.targetLSN, chosen.info.endXlog) < 0) {
    throw tooEarly(`targetLSN ${target.targetLSN}`, `LSN ${chosen.info.endXlog}`);
  }
  const { backupID: _id, ...stop } = target ?? {};
  // PostgreSQL's recovery_target_time takes its own timestamp format, not RFC 3339.
  if (stop.targetTime !== undefined) stop.targetTime = formatTargetTime(stop.targetTime) ?? stop.targetTime;
  return {
    archive,
    backupId: chosen.backupId,
    backup: chosen.info,
    target: target === undefined ? undefined : stop,
    from: where.from,
  };
}

/**
 * What PostgreSQL's FATAL at the end of a recovery means, said for the user; undefined when it
 * is not one of the known refusals.
 */
export function explainRecoveryFailure(fatal: string, plan: RecoveryPlan): string | undefined {
  if (/recovery ended before configured recovery target was reached/.test(fatal)) {
    return `PGHERD_RECOVERY_TARGET_NOT_REACHED: the archive in ${plan.archive.store.location}/${plan.archive.serverName} ends before the recovery target; choose an earlier target (PostgreSQL: ${fatal})`;
  }
  if (/before consistent recovery point/.test(fatal)) {
    return `PGHERD_RECOVERY_TARGET_TOO_EARLY: the recovery target is before the end of base backup ${plan.backupId} (${plan.backup.endTime.toISOString()}, LSN ${plan.backup.endXlog}); choose a later target or an older backup (PostgreSQL: ${fatal})`;
  }
  if (/could not locate required checkpoint record|WAL ends before end of online backup/.test(fatal)) {
    return `PGHERD_RECOVERY_WAL_MISSING: the WAL that base backup ${plan.backupId} needs is not in ${plan.archive.store.location}/${plan.archive.serverName} (PostgreSQL: ${fatal})`;
  }
  return undefined;
}
