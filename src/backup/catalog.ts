/**
 * The backups and WAL in an object store, as barman-cloud's catalog sees them (cloud.py
 * CloudBackupCatalog: a `base/<backupId>/` folder is a backup when it holds a backup.info), and
 * CloudNativePG's rules for picking one (cloudnative-pg/barman-cloud pkg/catalog/catalog.go).
 * Reading is in listBackups / walSegmentsIn / checkWalArchiveEmpty; the rules are pure.
 */
import { parseTargetTime as parseManifestTargetTime } from '../api/index.ts';
import { getBuffer, type ObjectStore, ObjectStoreError } from '../ports/object-store.ts';
import { compareLsn } from '../postgres/lsn.ts';
import { type BackupInfo, type DoneBackupInfo, isDoneBackup, parseBackupInfo } from './backup-info.ts';
import { type ArchiveCompression, parseTarName, splitCompressionSuffix } from './compression.ts';
import { joinKey } from './stores/destination.ts';
import { isWalName } from './wal.ts';

/** One `base/<backupId>/` folder that holds a backup.info. */
export interface CatalogBackup {
  /** The folder name: barman's id, `YYYYMMDDTHHMMSS`. */
  backupId: string;
  /** The parsed backup.info, or null when it could not be read (see readError). */
  info: BackupInfo | null;
  /** Why backup.info could not be read or parsed. */
  readError?: string;
  /** The key of backup.info. */
  infoKey: string;
  /** Every other object in the folder: data and tablespace tars, annotations. */
  objects: string[];
  /** The keep annotation's target (barman-cloud-backup-keep): `full`, `standalone`, ... */
  keep?: string;
}

/** A catalog entry whose backup completed. */
export type DoneCatalogBackup = CatalogBackup & { info: DoneBackupInfo };

/** True when the backup completed (status DONE, begin and end known). */
export function isDone(b: CatalogBackup): b is DoneCatalogBackup {
  return b.info !== null && isDoneBackup(b.info);
}

/**
 * True when the backup completed and its data tar and every tablespace tar are there, which is
 * what barman-cloud-restore needs (cloud.py get_backup_files) to start.
 */
export function isRestorable(b: CatalogBackup): b is DoneCatalogBackup {
  if (!isDone(b)) return false;
  const bases = new Set(b.objects.map((k) => parseTarName(k.slice(k.lastIndexOf('/') + 1))?.base));
  return bases.has('data') && (b.info.tablespaces ?? []).every((t) => bases.has(String(t.oid)));
}

const READ_CONCURRENCY = 8;

/**
 * Lists every backup of `serverName`: each `base/<id>/` folder with a backup.info, read and
 * parsed. A folder without backup.info (a backup still running, or one whose deletion removed
 * it last) is not a backup, as for barman. An unreadable backup.info is listed with `info: null`
 * and `readError`, never dropped silently. Sorted by end time (backups without one by begin
 * time), then id; unreadable ones last.
 */
export async function listBackups(store: ObjectStore, serverName: string): Promise<CatalogBackup[]> {
  const prefix = `${joinKey(serverName, 'base')}/`;
  const folders = new Map<string, string[]>();
  for (const o of await store.list(prefix)) {
    const rest = o.key.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash <= 0) continue; // an object directly under base/ is nobody's backup
    const id = rest.slice(0, slash);
    folders.set(id, [...(folders.get(id) ?? []), o.key]);
  }
  const entries = [...folders].filter(([id, keys]) => keys.includes(`${prefix}${id}/backup.info`));
  const out: CatalogBackup[] = [];
  for (let i = 0; i < entries.length; i += READ_CONCURRENCY) {
    out.push(
      ...(await Promise.all(
        entries.slice(i, i + READ_CONCURRENCY).map(([id, keys]) => readEntry(store, prefix, id, keys)),
      )),
    );
  }
  return sortBackups(out);
}

async function readEntry(
  store: ObjectStore,
  prefix: string,
  backupId: string,
  keys: string[],
): Promise<CatalogBackup> {
  const infoKey = `${prefix}${backupId}/backup.info`;
  const keepKey = `${prefix}${backupId}/annotations/keep`;
  const entry: CatalogBackup = { backupId, info: null, infoKey, objects: keys.filter((k) => k !== infoKey) };
  try {
    entry.info = parseBackupInfo((await getBuffer(store, infoKey)).toString('utf8'));
  } catch (err) {
    entry.readError = (err as Error).message;
  }
  if (keys.includes(keepKey)) {
    try {
      entry.keep = (await getBuffer(store, keepKey)).toString('utf8').trim();
    } catch (err) {
      // barman treats an annotation it cannot read as unreadable backup metadata.
      entry.readError ??= `annotations/keep: ${(err as Error).message}`;
    }
  }
  return entry;
}

/** The catalog order: by end time (or begin time when there is no end), then id; unreadable last. */
export function sortBackups(list: readonly CatalogBackup[]): CatalogBackup[] {
  const time = (b: CatalogBackup): number =>
    b.info?.endTime?.getTime() ?? b.info?.beginTime?.getTime() ?? Infinity;
  return [...list].sort(
    (a, b) => time(a) - time(b) || (a.backupId < b.backupId ? -1 : a.backupId > b.backupId ? 1 : 0),
  );
}

/**
 * Finds a backup by id, or by name (backup.info's backup_name) when the text is not an id, as
 * barman-cloud-restore and barman-cloud-backup-delete resolve it (utils.py is_backup_id,
 * get_backup_info_from_name). Throws when a name matches several backups.
 */
export function findBackup(list: readonly CatalogBackup[], idOrName: string): CatalogBackup | undefined {
  if (/^\d{8}T\d{6}$/.test(idOrName)) return list.find((b) => b.backupId === idOrName);
  const named = list.filter((b) => b.info?.backupName === idOrName);
  if (named.length > 1) {
    throw new Error(
      `several backups are named "${idOrName}" (${named.map((b) => b.backupId).join(', ')}); use a backup id`,
    );
  }
  return named[0];
}

/** The recovery target fields that choose the base backup (CNPG's RecoveryTarget). */
export interface BackupTarget {
  backupID?: string | undefined;
  /** A time as CNPG accepts it (RFC 3339 or PostgreSQL's format; no zone means UTC), or a Date. */
  targetTime?: string | Date | undefined;
  targetLSN?: string | undefined;
  /** `latest`, empty, or a timeline number. */
  targetTLI?: string | undefined;
}

export type BackupChoice =
  | { backup: DoneCatalogBackup; reason: string }
  | { backup: undefined; reason: string };

/**
 * Chooses the base backup to restore for a recovery target, by CNPG's rule (barman-cloud
 * pkg/catalog/catalog.go FindBackupInfo, called from CNPG pkg/management/postgres/restore.go):
 * 1. `backupID` set: that backup, which must have completed;
 * 2. else, among completed backups on `targetTLI` (any timeline when it is empty or `latest`),
 *    newest first: with `targetTime` the first whose end time is <= the target; with
 *    `targetLSN` the first whose end LSN is < the target (strictly, as CNPG's LSN.Less);
 *    with neither the newest.
 * CNPG calls a backup complete when its begin and end times are set; pgherd also wants status
 * DONE and the data tar present, so a FAILED or half-deleted backup is never restored.
 */
export function chooseBackupForTarget(list: readonly CatalogBackup[], target: BackupTarget): BackupChoice {
  const restorable = sortBackups(list).filter(isRestorable);
  if (target.backupID !== undefined && target.backupID !== '') {
    const b = restorable.find((x) => x.backupId === target.backupID);
    return b !== undefined
      ? { backup: b, reason: `backup ${b.backupId} was asked for by backupID` }
      : {
          backup: undefined,
          reason: `no completed backup with ID ${target.backupID} (${describeIds(list)})`,
        };
  }
  const tli = target.targetTLI ?? '';
  const anyTimeline = tli === '' || tli === 'latest';
  if (!anyTimeline && !/^[1-9]\d*$/.test(tli)) {
    return { backup: undefined, reason: `targetTLI "${tli}" is neither latest nor a timeline number` };
  }
  const onTimeline = restorable.filter((b) => anyTimeline || b.info.timeline === Number(tli));
  const where = anyTimeline ? '' : ` on timeline ${tli}`;
  const newestFirst = [...onTimeline].reverse();
  if (target.targetTime !== undefined && target.targetTime !== '') {
    const t = target.targetTime instanceof Date ? target.targetTime : parseTargetTime(target.targetTime);
    const b = newestFirst.find((x) => x.info.endTime.getTime() <= t.getTime());
    return b !== undefined
      ? {
          backup: b,
          reason: `backup ${b.backupId} is the newest completed backup${where} that ended (${b.info.endTime.toISOString()}) at or before targetTime ${t.toISOString()}`,
        }
      : {
          backup: undefined,
          reason: `no completed backup${where} ended at or before targetTime ${t.toISOString()} (${describeIds(list)})`,
        };
  }
  if (target.targetLSN !== undefined && target.targetLSN !== '') {
    const lsn = target.targetLSN;
    const b = newestFirst.find((x) => compareLsn(x.info.endXlog, lsn) < 0);
    return b !== undefined
      ? {
          backup: b,
          reason: `backup ${b.backupId} is the newest completed backup${where} whose end LSN ${b.info.endXlog} is before targetLSN ${lsn}`,
        }
      : {
          backup: undefined,
          reason: `no completed backup${where} ends before targetLSN ${lsn} (${describeIds(list)})`,
        };
  }
  const b = newestFirst[0];
  return b !== undefined
    ? { backup: b, reason: `backup ${b.backupId} is the newest completed backup${where}` }
    : { backup: undefined, reason: `no completed backup${where} (${describeIds(list)})` };
}

function describeIds(list: readonly CatalogBackup[]): string {
  if (list.length === 0) return 'the store holds no backup';
  return `backups: ${sortBackups(list)
    .map((b) => `${b.backupId} ${b.info?.status ?? 'unreadable'}`)
    .join(', ')}`;
}

/**
 * Parses a recoveryTarget.targetTime as CNPG does, with the manifest validator's parser
 * (src/api/cluster/recovery-target.ts); a time without a zone is UTC. Throws on a bad one.
 */
export function parseTargetTime(text: string): Date {
  const t = parseManifestTargetTime(text);
  if (t === undefined) {
    throw new Error(
      `targetTime "${text}" is not a time CNPG accepts (such as 2026-11-26 12:00:00+00 or 2026-11-26T12:00:00Z)`,
    );
  }
  return t;
}

/**
 * CNPG's status.firstRecoverabilityPoint for the object store: the end time of the oldest
 * completed backup (catalog.go FirstRecoverabilityPoint returns EndTime, whatever its comment
 * says). Undefined without one.
 */
export function firstRecoverabilityPoint(list: readonly CatalogBackup[]): Date | undefined {
  return sortBackups(list).find(isDone)?.info.endTime;
}

/** CNPG's LatestBackupInfo: the newest completed backup (its end time is lastSuccessfulBackup). */
export function lastSuccessfulBackup(list: readonly CatalogBackup[]): DoneCatalogBackup | undefined {
  return sortBackups(list).filter(isDone).at(-1);
}

/** One WAL object: a segment, `.partial`, `.backup` or `.history` file, maybe compressed. */
export interface WalObject {
  key: string;
  /** The WAL file name without compression suffix. */
  name: string;
  compression: ArchiveCompression;
  size: number;
}

/**
 * Every WAL object of `serverName`: the keys under `wals/` whose base name, minus at most one
 * compression suffix, is a WAL file name (barman's get_wal_paths). Other keys are ignored.
 * Sorted by key.
 */
export async function walSegmentsIn(store: ObjectStore, serverName: string): Promise<WalObject[]> {
  const prefix = `${joinKey(serverName, 'wals')}/`;
  const out: WalObject[] = [];
  for (const o of await store.list(prefix)) {
    const { name, compression } = splitCompressionSuffix(o.key.slice(o.key.lastIndexOf('/') + 1));
    if (isWalName(name)) out.push({ key: o.key, name, compression, size: o.size });
  }
  return out;
}

/** The archive for a new cluster already holds WAL (barman-cloud-check-wal-archive's failure). */
export class WalArchiveNotEmptyError extends Error {
  readonly code = 'PGHERD_BACKUP_WAL_ARCHIVE_NOT_EMPTY';
  /** The WAL object keys found (at most the first 10). */
  readonly found: string[];
  constructor(location: string, serverName: string, found: WalObject[]) {
    const shown = found.slice(0, 10).map((w) => w.key);
    super(
      `the WAL archive ${location}/${serverName}/wals/ is not empty: it holds ${found.length} WAL file${found.length === 1 ? '' : 's'} (${shown.join(', ')}${found.length > shown.length ? ', ...' : ''}), probably of another cluster or an earlier incarnation of this one; archiving there would mix two histories. Use another serverName or destinationPath, or empty that folder if its WAL is no longer needed`,
    );
    this.found = shown;
  }
}

/**
 * What CNPG runs before a new cluster's first archive (barman-cloud-check-wal-archive, without
 * --timeline): the destination must hold no WAL for this server name, history files included.
 * A missing bucket or folder counts as empty, as for barman. Returns the error to report, or
 * undefined when the archive is empty; store failures (unreachable, access denied) throw.
 */
export async function checkWalArchiveEmpty(
  store: ObjectStore,
  serverName: string,
): Promise<WalArchiveNotEmptyError | undefined> {
  let found: WalObject[];
  try {
    found = await walSegmentsIn(store, serverName);
  } catch (err) {
    if (err instanceof ObjectStoreError && err.code === 'no-bucket') return undefined;
    throw err;
  }
  return found.length === 0 ? undefined : new WalArchiveNotEmptyError(store.location, serverName, found);
}
