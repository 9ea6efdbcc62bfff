/**
 * backup.retentionPolicy (`30d`, `4w`, `6m`) with the semantics of
 * `barman-cloud-backup-delete --retention-policy "RECOVERY WINDOW OF N DAYS"`, which CNPG runs
 * after each backup (docs/research/barman-cloud-layout.md §5). planRetention decides (pure),
 * applyRetention deletes. Sources: barman 3.4 retention_policies.py
 * RecoveryWindowRetentionPolicy, clients/cloud_backup_delete.py (_delete_backup,
 * _remove_wals_for_backup), backup.py BackupManager.should_remove_wals / find_*_backup_in /
 * get_timelines_to_protect; barman 3.17 decides the same for barman-cloud's full backups.
 */
import type { ObjectStore } from '../ports/object-store.ts';
import type { BackupStatus } from './backup-info.ts';
import { type CatalogBackup, listBackups, type WalObject, walSegmentsIn } from './catalog.ts';

/** A parsed retentionPolicy. */
export interface RetentionPolicy {
  value: number;
  unit: 'd' | 'w' | 'm';
  /** The window: days, weeks of 7 days, months of 31 days (barman's timedelta). */
  windowMs: number;
  /** The policy as barman spells it (`RECOVERY WINDOW OF 30 DAYS`), CNPG's ParsePolicy. */
  barman: string;
}

const DAY_MS = 24 * 3600 * 1000;
const UNITS = {
  d: { days: 1, word: 'DAYS' },
  w: { days: 7, word: 'WEEKS' },
  m: { days: 31, word: 'MONTHS' },
};

/** Parses `^[1-9][0-9]*[dwm]$` (CNPG's CRD pattern); throws an Error that says what is accepted. */
export function parseRetentionPolicy(text: string): RetentionPolicy {
  const m = /^([1-9][0-9]*)([dwm])$/.exec(text);
  if (m === null) {
    throw new Error(
      `retentionPolicy "${text}" is not a number of days, weeks or months such as 30d, 4w or 6m (a month is 31 days)`,
    );
  }
  const value = Number(m[1]);
  const unit = m[2] as 'd' | 'w' | 'm';
  const windowMs = value * UNITS[unit].days * DAY_MS;
  if (!Number.isSafeInteger(windowMs)) throw new Error(`retentionPolicy "${text}" is too large`);
  return { value, unit, windowMs, barman: `RECOVERY WINDOW OF ${value} ${UNITS[unit].word}` };
}

/** barman's retention status of a backup (BackupInfo.RETENTION_STATUS); `-` for non-DONE ones. */
export type RetentionStatus = 'VALID' | 'OBSOLETE' | 'KEEP:FULL' | 'KEEP:STANDALONE' | '-';

/** Deleting one obsolete backup: its objects, then its backup.info, then the WAL it freed. */
export interface BackupDeletion {
  backupId: string;
  /** Data and tablespace tars (and any other object in the folder), deleted first. */
  objects: string[];
  /** Deleted once the objects are gone. */
  backupInfo: string;
  /** WAL objects no remaining backup needs, deleted last. */
  wals: string[];
}

export interface RetentionPlan {
  /** now − window: recovery must stay possible to any point after it. */
  pointOfRecoverability: Date;
  /** Every backup, newest first by id, with barman's retention status. */
  report: Array<{ backupId: string; status: RetentionStatus }>;
  /** In the order to carry out: oldest backup first. */
  deletions: BackupDeletion[];
  reason: string;
}

export interface RetentionInput {
  /** listBackups' result. */
  backups: readonly CatalogBackup[];
  /** walSegmentsIn's result. */
  wals: readonly WalObject[];
  policy: RetentionPolicy;
  now: Date;
}

/** Statuses that count as a previous or next backup for WAL cleanup (DEFAULT_STATUS_FILTER). */
const COPY_DONE: ReadonlySet<BackupStatus> = new Set<BackupStatus>(['WAITING_FOR_WALS', 'DONE']);

const byId = (a: CatalogBackup, b: CatalogBackup): number =>
  a.backupId < b.backupId ? -1 : a.backupId > b.backupId ? 1 : 0;

const keepTarget = (b: CatalogBackup): 'full' | 'standalone' | undefined =>
  b.keep === undefined ? undefined : b.keep === 'standalone' ? 'standalone' : 'full';

const timelineOf = (walName: string): number => Number.parseInt(walName.slice(0, 8), 16);

/**
 * barman's recovery-window report (RecoveryWindowRetentionPolicy._backup_report, with
 * barman-cloud's minimum redundancy of 0): walking DONE backups from the newest id down, each
 * is VALID until and including the first whose end time is before the point of
 * recoverability, which is the one a recovery to the window's start begins from; every older
 * DONE backup is OBSOLETE unless it has a keep annotation. Other statuses are never touched.
 */
function report(backups: readonly CatalogBackup[], por: Date): Map<string, RetentionStatus> {
  const out = new Map<string, RetentionStatus>();
  let found = false;
  for (const b of [...backups].sort(byId).reverse()) {
    if (b.info?.status !== 'DONE') {
      out.set(b.backupId, '-');
      continue;
    }
    const keep = keepTarget(b);
    const kept: RetentionStatus | undefined =
      keep === 'standalone' ? 'KEEP:STANDALONE' : keep === 'full' ? 'KEEP:FULL' : undefined;
    if (found) {
      out.set(b.backupId, kept ?? 'OBSOLETE');
      continue;
    }
    out.set(b.backupId, kept ?? 'VALID');
    // A DONE backup without an end time (a damaged backup.info) cannot anchor the window.
    if (b.info.endTime !== null && b.info.endTime.getTime() < por.getTime()) found = true;
  }
  return out;
}

/**
 * Decides what the retention policy deletes, as barman-cloud-backup-delete would, given the
 * whole catalog. Backups go oldest first; after each, the WAL it alone needed goes, computed
 * over the backups that are left (as barman does between deletions):
 * - only when no older DONE backup remains (older keep:standalone backups excepted, their
 *   begin_wal..end_wal range protected): an older full backup still needs that WAL for PITR;
 * - WAL named before the begin_wal of the next DONE backup (of the deleted one itself when none
 *   is left), compared as strings, `.backup` files by their first 24 characters;
 * - never `.history` files, never WAL on a timeline that another backup is on, except the
 *   timeline of that next backup.
 * Refuses (no deletions) when a backup.info is unreadable, as barman does. Throws when the
 * plan would delete WAL a kept backup needs (a guard against clock-skewed backup ids).
 */
export function planRetention(input: RetentionInput): RetentionPlan {
  const por = new Date(input.now.getTime() - input.policy.windowMs);
  const unreadable = input.backups.filter((b) => b.info === null);
  const statuses = report(
    input.backups.filter((b) => b.info !== null),
    por,
  );
  const reportList = [...statuses].map(([backupId, status]) => ({ backupId, status }));
  if (unreadable.length > 0) {
    return {
      pointOfRecoverability: por,
      report: reportList,
      deletions: [],
      reason: `nothing deleted: the backup.info of ${unreadable.map((b) => `${b.backupId} (${b.readError ?? 'unreadable'})`).join(', ')} cannot be read, so it is unsafe to decide what the remaining backups need; fix or remove those backups`,
    };
  }
  // The catalog as barman holds it while deleting: by id, every status, shrinking as it goes.
  const catalog = [...input.backups].sort(byId);
  const walsByName = new Map<string, string[]>();
  for (const w of input.wals) walsByName.set(w.name, [...(walsByName.get(w.name) ?? []), w.key]);
  const obsolete = catalog.filter((b) => statuses.get(b.backupId) === 'OBSOLETE');
  const deletions: BackupDeletion[] = [];
  for (const deleted of obsolete) {
    const at = catalog.indexOf(deleted);
    const wals = walsFreedBy(deleted, catalog, at, walsByName);
    deletions.push({
      backupId: deleted.backupId,
      objects: [...deleted.objects],
      backupInfo: deleted.infoKey,
      wals,
    });
    catalog.splice(at, 1);
  }
  guardKeptBackups(catalog, deletions);
  const freed = deletions.reduce((n, d) => n + d.wals.length, 0);
  return {
    pointOfRecoverability: por,
    report: reportList,
    deletions,
    reason:
      deletions.length === 0
        ? `nothing to delete: every completed backup is needed to recover to any point after ${por.toISOString()} (${input.policy.barman})`
        : `deleting ${deletions.length} backup${deletions.length === 1 ? '' : 's'} (${deletions.map((d) => d.backupId).join(', ')}) and ${freed} WAL file${freed === 1 ? '' : 's'}: not needed to recover to any point after ${por.toISOString()} (${input.policy.barman})`,
  };
}

/** _remove_wals_for_backup: the WAL keys that go with `deleted` (catalog[at]); updates `wals`. */
function walsFreedBy(
  deleted: CatalogBackup,
  catalog: readonly CatalogBackup[],
  at: number,
  wals: Map<string, string[]>,
): string[] {
  const copyDone = (b: CatalogBackup): boolean => b.info !== null && COPY_DONE.has(b.info.status);
  // should_remove_wals with skip_wal_cleanup_if_standalone=False (the retention case).
  const protectedRanges: Array<[string, string]> = [];
  for (let i = at - 1; i >= 0; i--) {
    const previous = catalog[i]!;
    if (!copyDone(previous)) continue;
    if (keepTarget(previous) !== 'standalone') return [];
    protectedRanges.push([previous.info!.beginWal ?? '', previous.info!.endWal ?? '']);
  }
  const next = catalog.slice(at + 1).find(copyDone);
  const removeUntil = (next ?? deleted).info!;
  if (removeUntil.beginWal === null) return [];
  const protectedTimelines = new Set<number>();
  for (const b of catalog) {
    if (b !== deleted && b.info?.timeline != null) protectedTimelines.add(b.info.timeline);
  }
  if (removeUntil.timeline !== null) protectedTimelines.delete(removeUntil.timeline);
  const out: string[] = [];
  for (const [name, keys] of [...wals].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (name.endsWith('.history')) continue;
    if (protectedTimelines.has(timelineOf(name))) continue;
    const check = name.endsWith('.backup') ? name.slice(0, 24) : name;
    if (protectedRanges.some(([begin, end]) => check >= begin && check <= end)) continue;
    if (name < removeUntil.beginWal) {
      out.push(...keys);
      wals.delete(name);
    }
  }
  return out;
}

/**
 * The last line of defence: no WAL a remaining completed backup needs is in the plan. A
 * keep:standalone backup needs its own begin_wal..end_wal; any other one everything on its
 * timeline from its begin_wal on (for PITR to the present).
 */
function guardKeptBackups(remaining: readonly CatalogBackup[], deletions: readonly BackupDeletion[]): void {
  const doomed = new Set(deletions.flatMap((d) => d.wals));
  const names = new Map<string, string>();
  for (const d of deletions) for (const k of d.wals) names.set(k, k.slice(k.lastIndexOf('/') + 1));
  for (const b of remaining) {
    const info = b.info;
    if (info === null || info.status !== 'DONE' || info.beginWal === null || info.timeline === null) continue;
    const standalone = keepTarget(b) === 'standalone';
    for (const key of doomed) {
      const name = names.get(key)!.slice(0, 24);
      if (timelineOf(name) !== info.timeline || name < info.beginWal) continue;
      if (standalone && info.endWal !== null && name > info.endWal) continue;
      throw new Error(
        `retention refused: the plan would delete ${key}, which backup ${b.backupId} needs (begin_wal ${info.beginWal}); backup ids and WAL disagree (clock skew?), check the backups' begin_wal and end_time`,
      );
    }
  }
}

/**
 * Carries out a plan, backup by backup in its order: the data objects, then backup.info, then
 * the freed WAL. backup.info goes after the data (barman's order, cloud_backup_delete.py
 * _delete_backup): if a deletion is interrupted the backup is still listed, so the next run
 * finishes it; the reverse order would leave tars that no catalog lists and nothing ever
 * deletes. Meanwhile chooseBackupForTarget skips a listed backup whose data tar is gone.
 * Stops at the first failure (the next run plans again from what is left).
 */
export async function applyRetention(
  store: ObjectStore,
  plan: RetentionPlan,
  options: { signal?: AbortSignal; onDeleted?: (d: BackupDeletion) => void } = {},
): Promise<void> {
  for (const d of plan.deletions) {
    options.signal?.throwIfAborted();
    if (d.objects.length > 0) await store.delete(d.objects);
    await store.delete([d.backupInfo]);
    if (d.wals.length > 0) await store.delete(d.wals);
    options.onDeleted?.(d);
  }
}

/** Lists the store, plans and applies the policy for `serverName`; returns what it did. */
export async function enforceRetentionPolicy(
  store: ObjectStore,
  serverName: string,
  policy: RetentionPolicy,
  now: Date,
  options: { signal?: AbortSignal; onDeleted?: (d: BackupDeletion) => void } = {},
): Promise<RetentionPlan> {
  const [backups, wals] = await Promise.all([
    listBackups(store, serverName),
    walSegmentsIn(store, serverName),
  ]);
  const plan = planRetention({ backups, wals, policy, now });
  await applyRetention(store, plan, options);
  return plan;
}
