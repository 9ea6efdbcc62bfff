/**
 * Continuous WAL archiving and WAL restore for one instance, run by its instance manager.
 *
 * Archiving is never one slow process per segment (CNPG's wal-archive spool, made proactive):
 * while this instance is the current primary, the service watches `pg_wal/archive_status` and
 * uploads `.ready` files itself, `maxParallel` at a time. After an upload it leaves an empty
 * marker named after the file in the archive spool, and archive_command is
 *
 *   rm SPOOL/%f 2>/dev/null || exec node wal-client.mjs archive SOCKET %p
 *
 * so PostgreSQL's archiver finds the work done and only a `rm` runs. A segment PostgreSQL asks
 * for before the service got to it goes through the client, which waits for its upload here.
 *
 * Restore is the mirror image: restore_command first tries `mv SPOOL/%f %p`; when the file is
 * not there it leaves a request `SPOOL/%f.want`, which the service sees at once (inotify),
 * and waits in the shell for the answer: the file itself, `%f.none` (not in the archive: the
 * normal end of recovery) or `%f.error` (the reason, copied to PostgreSQL's log). A request
 * downloads the segment plus the next `maxParallel - 1` into the spool, so replay finds most
 * segments already there. Node (wal-client.mjs) runs only when the service does not answer
 * within 6-10 s; a recovery asks for several files that are not in the archive (history
 * files, the segment after the last), and a Node process costs ~60 ms each.
 *
 * Nothing is lost when the store is unreachable: an upload that fails leaves the segment
 * `.ready` (PostgreSQL keeps it), the failure is reported (the cluster's ContinuousArchiving
 * condition), and uploads resume after a back-off. A standby whose restore fails streams or
 * asks again; an archive recovery (bootstrap.recovery) must not take a failure for the end of
 * the archive and promote early: after a few attempts the answer is `%f.fatal` and
 * restore_command exits 126, which stops PostgreSQL (the recovery is tried again later).
 */
import {
  chownSync,
  existsSync,
  type FSWatcher,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { basename, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import {
  archiveWal,
  isSegmentName,
  isWalName,
  restoreWal,
  segmentNameAfter,
  type WalCompression,
  withoutWalNames,
} from '../backup/wal.ts';
import type { ObjectStore } from '../ports/object-store.ts';
import type { ArchiverStats } from './contract.ts';
import type { PgAccount } from './pg-tools.ts';
import type { WalRequest, WalResponse } from './wal-client.ts';

/** Where WAL goes (or comes from): the store, barman's serverName, and how. */
export interface WalArchiveConfig {
  store: ObjectStore;
  serverName: string;
  compression: WalCompression;
  maxParallel: number;
  /** Identifies the configuration: a change clears what was archived ahead. */
  key: string;
}

export interface WalServiceOptions {
  /** The pg_wal folder (its archive_status lists what PostgreSQL wants archived). */
  walDir: string;
  /** Empty markers of archived files, consumed by archive_command's `rm`. */
  archiveSpool: string;
  /** Prefetched WAL, consumed by restore_command's `mv`. */
  restoreSpool: string;
  /** The Unix socket the client connects to. */
  socketPath: string;
  /** PostgreSQL's account: markers, prefetched files and the socket belong to it. */
  account: PgAccount;
  log: Logger;
  /**
   * Runs once before the first upload of a new cluster (CNPG's empty-archive check); throws
   * when the destination already holds another cluster's WAL.
   */
  firstArchiveCheck?: ((config: WalArchiveConfig) => Promise<void>) | undefined;
  /** Called on every archive success or failure (the ContinuousArchiving condition). */
  onArchiveResult?: (result: ArchiveResult) => void;
}

export interface ArchiveResult {
  ok: boolean;
  walName: string;
  error?: string;
}

const POLL_MS = 100;
/** restore_command's request for a file, and the service's answers when it has no file. */
const WANT = '.want';
const NONE = '.none';
const ERROR = '.error';
/** An error that must stop the recovery: restore_command exits 126 (PostgreSQL: FATAL). */
const FATAL = '.fatal';
/** Attempts at a file during an archive recovery before the error stops it. */
const RECOVERY_FETCH_ATTEMPTS = 4;
/** A copy of the last segment of the archive, for the end of recovery's second read. */
const AGAIN = '.again';
/** A file being written into the spool (never a name restore_command looks for). */
const TMP = '.pgherd-tmp';
/** Back-off between failed uploads: short, so that archiving resumes soon after the store returns. */
const MAX_BACKOFF_MS = 500;
/** While archiving keeps failing the same way, the warning is repeated this often. */
const REPEAT_WARNING_MS = 30_000;

/** Orders ready files as PostgreSQL's archiver does: history files first, then by name. */
function archiveOrder(a: string, b: string): number {
  const ha = a.endsWith('.history') ? 0 : 1;
  const hb = b.endsWith('.history') ? 0 : 1;
  return ha - hb || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * Watches a folder (inotify); undefined when it cannot (not there yet). After an error the
 * watch is closed and `gone` called, so that the caller's poll can start a new one.
 */
function watchFolder(path: string, changed: () => void, gone: () => void): FSWatcher | undefined {
  try {
    const w = watch(path, changed);
    w.on('error', () => {
      w.close();
      gone();
    });
    return w;
  } catch {
    return undefined;
  }
}

export class WalService {
  private readonly o: WalServiceOptions;
  private server: Server | undefined;
  private watcher: FSWatcher | undefined;
  private restoreWatcher: FSWatcher | undefined;
  /** restore_command requests (`%f.want`) being answered. */
  private readonly answering = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private archive: WalArchiveConfig | undefined;
  /** The cluster archives but its store cannot be opened: why (archive requests fail). */
  private archiveError: string | undefined;
  private restore: WalArchiveConfig | undefined;
  /** This instance is the current primary: it may archive. */
  private archiving = false;
  /** The last archive result reported, while this instance archives (see archiveCondition). */
  private lastResult: ArchiveResult | undefined;
  /** When (performance.now()) the last upload succeeded: failures of attempts begun before are stale. */
  private lastSuccessAt = Number.NEGATIVE_INFINITY;
  /** Files whose one stale failure was not reported (the next one is). */
  private readonly staleFailures = new Set<string>();
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Archived ahead and not yet consumed by PostgreSQL. */
  private readonly archived = new Set<string>();
  private readonly prefetching = new Map<string, Promise<boolean>>();
  /** The next segment to prefetch for a replay in progress, or undefined. */
  private readAhead: string | undefined;
  /**
   * A recovery that ends at the end of the archive: PostgreSQL reads the last segment a
   * second time after it finds no next one (to re-read its last record), so a copy of it is
   * kept in the spool as `%f.again` rather than downloaded again.
   */
  private keepLastSegment = false;
  /** The segment whose kept copy PostgreSQL took for its second read. */
  private servedAgain: string | undefined;
  /** When each file was put in the restore spool (to recognise requests made before). */
  private readonly spooledAt = new Map<string, number>();
  /**
   * An archive recovery (bootstrap.recovery), not a standby: a restore that keeps failing
   * stops PostgreSQL (restore_command exits 126) instead of looking like the end of WAL.
   */
  private archiveRecovery = false;
  /** The segment kept (or being kept) as `%f.again`, if any. */
  private kept: { name: string; ready: Promise<boolean> } | undefined;
  private failures = 0;
  /** The last failure warned about, and when. */
  private lastWarning: { message: string; at: number } | undefined;
  private retryAt = 0;
  private checkDone = false;
  /** WAL segment size in bytes (to name the segments that follow one). */
  private segmentSize = 16 * 1024 * 1024;
  private readonly stats: ArchiverStats = {
    lastArchivedWal: null,
    lastArchivedAt: null,
    lastFailedWal: null,
    lastFailedAt: null,
    lastError: null,
    pendingFiles: 0,
  };

  constructor(o: WalServiceOptions) {
    this.o = o;
  }

  /** Starts the socket and the archive watch. Clears both spools: they only hold hints. */
  async start(): Promise<void> {
    for (const dir of [this.o.archiveSpool, this.o.restoreSpool]) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      this.giveToPg(dir);
    }
    rmSync(this.o.socketPath, { force: true });
    const server = createServer((socket) => this.serve(socket));
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(this.o.socketPath, () => {
        server.off('error', fail);
        ok();
      });
    });
    this.giveToPg(this.o.socketPath);
    this.server = server;
    this.timer = setInterval(() => {
      this.tick();
      this.topUpRestore();
      this.serveRestoreRequests();
    }, POLL_MS);
    this.watchRestoreSpool();
  }

  /** Reacts to restore_command's requests at once; the poll stays as the safety net. */
  private watchRestoreSpool(): void {
    this.restoreWatcher = watchFolder(
      this.o.restoreSpool,
      () => this.serveRestoreRequests(),
      () => {
        this.restoreWatcher = undefined;
      },
    );
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.watcher?.close();
    this.watcher = undefined;
    this.restoreWatcher?.close();
    this.restoreWatcher = undefined;
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((r) => server.close(() => r()));
    await Promise.allSettled([...this.inFlight.values()]);
    rmSync(this.o.socketPath, { force: true });
  }

  /**
   * What to do now (called on every reconcile pass): where to archive, whether this instance
   * is the current primary, and where to restore from.
   */
  configure(input: {
    /** A string: the cluster archives, but its store cannot be opened (the reason). */
    archive: WalArchiveConfig | string | undefined;
    isCurrentPrimary: boolean;
    restore: WalArchiveConfig | undefined;
    segmentSize: number;
  }): void {
    this.segmentSize = input.segmentSize;
    const archive = typeof input.archive === 'string' ? undefined : input.archive;
    const archiveKey = input.isCurrentPrimary ? archive?.key : undefined;
    const currentKey = this.archiving ? this.archive?.key : undefined;
    if (archiveKey !== currentKey) {
      // A new destination (or no longer the primary): what was archived ahead was archived
      // somewhere else, so PostgreSQL must not skip those files.
      this.clearArchiveSpool();
      this.failures = 0;
      this.retryAt = 0;
      this.lastResult = undefined;
      // Uploads begun for the old destination end with no news of the new one.
      this.lastSuccessAt = performance.now();
    }
    this.archive = archive;
    this.archiveError = typeof input.archive === 'string' ? input.archive : undefined;
    this.archiving = input.isCurrentPrimary && archive !== undefined;
    if (input.restore?.key !== this.restore?.key) {
      this.clearRestoreSpool();
      this.readAhead = undefined;
      this.keepLastSegment = false;
      this.archiveRecovery = false;
      this.servedAgain = undefined;
      this.spooledAt.clear();
      this.dropKept();
    }
    this.restore = input.restore;
  }

  /**
   * Starts downloading WAL from `name` on (maxParallel segments) before PostgreSQL asks: a
   * recovery knows the first segment it needs from the backup, and PostgreSQL spends its first
   * moments syncing the data directory.
   */
  prefetch(name: string, o: { archiveRecovery?: boolean; endOfArchive?: boolean } = {}): void {
    if (this.restore === undefined || !isWalName(name)) return;
    this.archiveRecovery = o.archiveRecovery === true;
    this.keepLastSegment = o.endOfArchive === true;
    this.servedAgain = undefined;
    this.readAhead = name;
    this.topUpRestore();
  }

  report(): ArchiverStats {
    return { ...this.stats };
  }

  /**
   * What the cluster's ContinuousArchiving condition should say, while this instance archives:
   * the manager writes it again when the stored one differs (a write lost to a busy store).
   */
  archiveCondition(): ArchiveResult | undefined {
    return this.archiving ? this.lastResult : undefined;
  }

  private reportResult(result: ArchiveResult): void {
    this.lastResult = result;
    this.o.onArchiveResult?.(result);
  }

  private giveToPg(path: string): void {
    if (this.o.account.switchUser) chownSync(path, this.o.account.uid, this.o.account.gid);
  }

  private clearArchiveSpool(): void {
    this.archived.clear();
    for (const f of this.listDir(this.o.archiveSpool)) rmSync(join(this.o.archiveSpool, f), { force: true });
  }

  private clearRestoreSpool(): void {
    for (const f of this.listDir(this.o.restoreSpool)) rmSync(join(this.o.restoreSpool, f), { force: true });
  }

  private listDir(dir: string): string[] {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  }

  /**
   * Reacts to a new `.ready` file at once (inotify) instead of at the next poll; the poll
   * stays as the safety net. The folder exists only once PostgreSQL's data does.
   */
  private watchReady(): void {
    if (this.watcher !== undefined) return;
    this.watcher = watchFolder(
      join(this.o.walDir, 'archive_status'),
      () => this.tick(),
      () => {
        this.watcher = undefined;
      },
    );
  }

  /** The files PostgreSQL has marked ready for archiving, in its order. */
  private readyFiles(): string[] {
    return this.listDir(join(this.o.walDir, 'archive_status'))
      .filter((f) => f.endsWith('.ready'))
      .map((f) => f.slice(0, -'.ready'.length))
      .filter(isWalName)
      .sort(archiveOrder);
  }

  /** Starts uploads of ready files up to maxParallel, and forgets what PostgreSQL consumed. */
  private tick(): void {
    if (!this.archiving || this.archive === undefined) return;
    this.watchReady();
    const ready = this.readyFiles();
    const readySet = new Set(ready);
    for (const name of this.archived) {
      if (!readySet.has(name)) {
        this.archived.delete(name);
        rmSync(join(this.o.archiveSpool, name), { force: true });
      }
    }
    for (const name of this.staleFailures) if (!readySet.has(name)) this.staleFailures.delete(name);
    this.stats.pendingFiles = ready.filter((n) => !this.archived.has(n)).length;
    if (Date.now() < this.retryAt) return;
    for (const name of ready) {
      if (this.inFlight.size >= Math.max(1, this.archive.maxParallel)) break;
      if (this.inFlight.has(name) || this.archived.has(name)) continue;
      this.startUpload(name, this.archive);
    }
  }

  private startUpload(name: string, config: WalArchiveConfig): Promise<void> {
    const existing = this.inFlight.get(name);
    if (existing !== undefined) return existing;
    const p = this.upload(name, config).finally(() => {
      this.inFlight.delete(name);
      // Keep the pipeline full: the next ready file starts now, not at the next poll.
      this.tick();
    });
    this.inFlight.set(name, p);
    // Failures are reported by upload(); the promise is awaited by a client, if any.
    p.catch(() => {});
    return p;
  }

  private async upload(name: string, config: WalArchiveConfig): Promise<void> {
    const began = performance.now();
    try {
      if (!this.checkDone) {
        await this.o.firstArchiveCheck?.(config);
        this.checkDone = true;
      }
      const started = Date.now();
      const r = await archiveWal(
        config.store,
        config.serverName,
        join(this.o.walDir, name),
        name,
        config.compression,
      );
      if (this.archive?.key !== config.key || !this.archiving) {
        throw new Error('the archive destination changed during the upload; archiving it again');
      }
      this.archived.add(name);
      writeFileSync(join(this.o.archiveSpool, name), '', { mode: 0o600 });
      this.giveToPg(join(this.o.archiveSpool, name));
      if (this.failures > 0) {
        this.o.log.info({ wal: name, failedAttempts: this.failures }, 'archiving works again');
      }
      this.failures = 0;
      this.lastWarning = undefined;
      // The store is back: the next files go now, not after the back-off of the last failure.
      this.retryAt = 0;
      this.stats.lastArchivedWal = name;
      this.stats.lastArchivedAt = new Date().toISOString();
      this.o.log.debug(
        { wal: name, bytes: r.bytes, ms: Date.now() - started, steps: r.ms, skipped: r.skipped },
        'archived WAL',
      );
      this.lastSuccessAt = performance.now();
      this.staleFailures.delete(name);
      this.reportResult({ ok: true, walName: name });
    } catch (err) {
      const message = (err as Error).message;
      if (began <= this.lastSuccessAt && !this.staleFailures.has(name)) {
        // Begun before an upload that has since succeeded (the store came back meanwhile):
        // the file is retried, but this is no news of the store, nor a reason to back off.
        // Once per file: a file that fails again on its own is reported.
        this.staleFailures.add(name);
        this.o.log.debug({ wal: name, err: message }, 'an upload begun before the last success failed');
        throw err;
      }
      this.failures++;
      this.retryAt = Date.now() + Math.min(125 * 2 ** this.failures, MAX_BACKOFF_MS);
      this.stats.lastFailedWal = name;
      this.stats.lastFailedAt = new Date().toISOString();
      this.stats.lastError = message;
      // One warning per cause (and a reminder every 30 s), not one per attempt.
      const now = Date.now();
      // The cause without the file names (an object key differs for every segment).
      const cause = withoutWalNames(message);
      if (
        this.lastWarning === undefined ||
        this.lastWarning.message !== cause ||
        now - this.lastWarning.at >= REPEAT_WARNING_MS
      ) {
        this.lastWarning = { message: cause, at: now };
        this.o.log.warn({ wal: name, failures: this.failures }, `cannot archive ${name}: ${message}`);
      }
      this.reportResult({ ok: false, walName: name, error: message });
      throw err;
    }
  }

  private serve(socket: Socket): void {
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const nl = buffer.indexOf('\n');
      if (nl < 0) {
        if (buffer.length > 65_536) socket.destroy();
        return;
      }
      let request: WalRequest;
      try {
        request = JSON.parse(buffer.slice(0, nl)) as WalRequest;
      } catch {
        socket.end(`${JSON.stringify({ ok: false, error: 'unreadable request' })}\n`);
        return;
      }
      buffer = '';
      this.handle(request).then(
        (response) => socket.end(`${JSON.stringify(response)}\n`),
        (err: unknown) => socket.end(`${JSON.stringify({ ok: false, error: (err as Error).message })}\n`),
      );
    });
  }

  private async handle(request: WalRequest): Promise<WalResponse> {
    if (request.op === 'archive') return this.archiveRequest(request.path ?? '');
    if (request.op === 'restore') {
      return this.restoreRequest(request.name ?? '', resolve(request.cwd, request.destination ?? ''));
    }
    return { ok: false, error: `unknown operation ${JSON.stringify(request.op)}` };
  }

  /** archive_command's slow path: the file was not archived ahead. */
  private async archiveRequest(path: string): Promise<WalResponse> {
    const name = basename(path);
    if (!isWalName(name)) return { ok: false, error: `${path} is not a WAL file` };
    if (this.archiveError !== undefined) {
      // PostgreSQL keeps the file and retries: nothing is lost while the settings are fixed.
      this.reportResult({ ok: false, walName: name, error: this.archiveError });
      return { ok: false, error: this.archiveError };
    }
    const config = this.archive;
    // CNPG: without a store, archiving succeeds and does nothing.
    if (config === undefined) return { ok: true };
    if (!this.archiving) {
      return {
        ok: false,
        error:
          'this instance is not the current primary (a switchover or failover is in progress); only the current primary archives',
      };
    }
    if (this.archived.has(name)) return { ok: true };
    try {
      await this.startUpload(name, config);
      this.tick();
      return { ok: true };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }

  /**
   * Answers the `%f.want` requests restore_command leaves in the spool: the file (moved there
   * by the download), `%f.none` when the archive does not have it, `%f.error` with the reason.
   */
  private serveRestoreRequests(): void {
    if (this.restoreWatcher === undefined && this.timer !== undefined) this.watchRestoreSpool();
    for (const f of this.listDir(this.o.restoreSpool)) {
      if (!f.endsWith(WANT)) continue;
      const name = f.slice(0, -WANT.length);
      if (this.answering.has(name)) continue;
      const want = join(this.o.restoreSpool, f);
      let askedAt: number;
      try {
        askedAt = statSync(want).mtimeMs;
      } catch {
        continue;
      }
      rmSync(want, { force: true });
      // A request left just before a download put the file in the spool: the shell that left
      // it takes that file. Answering it would download the file again (and leave it behind).
      // The margin covers the file system's coarse clock; a later request is a new one.
      const spooledAt = this.spooledAt.get(name);
      if (spooledAt !== undefined && askedAt < spooledAt - 5) continue;
      this.answering.add(name);
      void this.spoolWanted(name)
        .then((r) => {
          if (r.ok) return;
          const kind = r.missing === true ? NONE : r.fatal === true ? FATAL : ERROR;
          const answer = join(this.o.restoreSpool, `${name}${kind}`);
          writeFileSync(answer, r.missing === true ? '' : `pgherd wal-restore: ${r.error ?? 'failed'}\n`, {
            mode: 0o644,
          });
          this.giveToPg(answer);
        })
        .catch((err: unknown) =>
          this.o.log.warn({ wal: name, err }, 'cannot answer a restore_command request'),
        )
        .finally(() => this.answering.delete(name));
    }
  }

  /** restore_command's slow path over the socket: fetch the file into `destination`. */
  private async restoreRequest(name: string, destination: string): Promise<WalResponse> {
    const r = await this.spoolWanted(name);
    if (!r.ok) return r;
    try {
      renameSync(join(this.o.restoreSpool, name), destination);
      return { ok: true };
    } catch (err) {
      // restore_command's shell took it meanwhile (it gave up waiting just before): ask again.
      if ((err as { code?: string }).code === 'ENOENT')
        return { ok: false, error: `${name} was taken from the spool by another request` };
      return { ok: false, error: (err as Error).message };
    }
  }

  /**
   * Puts `name` in the restore spool (and prefetches what follows): ok, missing or an error.
   * During an archive recovery (not a standby) an error that persists is fatal: PostgreSQL
   * would take "not restored" for the end of the archive and promote too early.
   */
  private async spoolWanted(name: string): Promise<WalResponse> {
    if (!isWalName(name)) return { ok: false, error: `${name} is not a WAL file name` };
    for (let attempt = 1; ; attempt++) {
      const r = await this.spoolWantedOnce(name);
      if (r.ok || r.missing === true || !this.archiveRecovery) return r;
      if (this.restore === undefined || attempt >= RECOVERY_FETCH_ATTEMPTS) {
        return {
          ...r,
          fatal: true,
          error: `${r.error ?? 'failed'} (after ${attempt} attempts; the recovery stops rather than end before the end of the archive)`,
        };
      }
      this.o.log.warn({ wal: name, attempt }, `cannot restore ${name}, trying again: ${r.error ?? ''}`);
      // 0.5 + 1 + 1.5 s: within the shell's own wait for the answer.
      await new Promise((ok) => setTimeout(ok, 500 * attempt));
    }
  }

  private async spoolWantedOnce(name: string): Promise<WalResponse> {
    const config = this.restore;
    if (config === undefined) {
      return { ok: false, error: 'no object store to restore WAL from is configured for this instance' };
    }
    try {
      const spooled = join(this.o.restoreSpool, name);
      const pending = this.prefetching.get(name);
      const kept = this.kept;
      if (kept?.name === name && pending === undefined && !existsSync(spooled)) {
        // The end of recovery reads the last segment again: it is here (or on its way). Not
        // used for the first read, which a download in progress or the spool serves.
        this.kept = undefined;
        this.servedAgain = name;
        if (await kept.ready) {
          try {
            renameSync(join(this.o.restoreSpool, `${name}${AGAIN}`), spooled);
            this.spooledAt.set(name, Date.now());
            // The end of the archive is known: no read-ahead from here.
            return { ok: true };
          } catch {
            /* gone: fetched below */
          }
        }
      }
      const found =
        existsSync(spooled) || (pending !== undefined ? await pending : await this.fetch(name, config));
      if (!found) {
        this.keepBefore(name, config);
        return { ok: false, missing: true };
      }
      if (this.kept !== undefined && isSegmentName(name) && name > this.kept.name) {
        // Replay went past it (new WAL arrived): the copy is not needed.
        this.dropKept();
      }
      // Replay goes on from here: keep maxParallel segments ahead of it from now on.
      this.readAhead = segmentNameAfter(name, this.segmentSize);
      this.topUpRestore();
      // Found: in the spool now, or already taken by the shell that asked.
      return { ok: true };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }

  private fetch(name: string, config: WalArchiveConfig): Promise<boolean> {
    const p = this.download(name, join(this.o.restoreSpool, name), config)
      .then((found) => {
        if (found) this.spooledAt.set(name, Date.now());
        return found;
      })
      .finally(() => this.prefetching.delete(name));
    this.prefetching.set(name, p);
    return p;
  }

  /**
   * Downloads `name` to `path` in the spool, given to PostgreSQL's account *before* it appears
   * under its name: restore_command's shell takes a file the moment it exists, and PostgreSQL
   * could not open one still owned by root.
   */
  private async download(name: string, path: string, config: WalArchiveConfig): Promise<boolean> {
    const tmp = `${path}${TMP}`;
    try {
      if (!(await restoreWal(config.store, config.serverName, name, tmp))) return false;
      this.giveToPg(tmp);
      renameSync(tmp, path);
      return true;
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  /** Puts a copy of `name` in the spool as `%f.again` (from the spool, else the archive). */
  private keepCopy(name: string, config: WalArchiveConfig): void {
    if (this.kept?.name === name) return;
    this.dropKept();
    const again = join(this.o.restoreSpool, `${name}${AGAIN}`);
    const ready = (async (): Promise<boolean> => {
      await this.prefetching.get(name)?.catch(() => false);
      try {
        // Not yet consumed by replay: a local copy (PostgreSQL only reads a restored file),
        // PostgreSQL's before it is in place.
        await copyFile(join(this.o.restoreSpool, name), `${again}${TMP}`);
        this.giveToPg(`${again}${TMP}`);
        renameSync(`${again}${TMP}`, again);
        return true;
      } catch {
        rmSync(`${again}${TMP}`, { force: true });
        return this.download(name, again, config);
      }
    })().catch((err: unknown) => {
      this.o.log.debug({ wal: name, err }, 'keeping a copy of the last WAL segment failed');
      return false;
    });
    this.kept = { name, ready };
  }

  private dropKept(): void {
    const kept = this.kept;
    if (kept === undefined) return;
    this.kept = undefined;
    const remove = (): void => {
      rmSync(join(this.o.restoreSpool, `${kept.name}${AGAIN}`), { force: true });
      rmSync(join(this.o.restoreSpool, `${kept.name}${AGAIN}${TMP}`), { force: true });
    };
    remove();
    void kept.ready.then(remove);
  }

  /** A recovery at the end of the archive: the segment before `missing` is read again next. */
  private keepBefore(missing: string, config: WalArchiveConfig): void {
    if (!this.keepLastSegment) return;
    const last = segmentNameAfter(missing, this.segmentSize, -1);
    // A read-ahead may also miss a segment after the first missing one: that one is not last.
    // And the segment PostgreSQL already read a second time is not kept a third time.
    if (last === undefined || last === this.servedAgain) return;
    if (this.kept !== undefined && last > this.kept.name) return;
    this.keepCopy(last, config);
  }

  /**
   * Keeps up to maxParallel segments after the last one PostgreSQL asked for downloaded or
   * downloading, as it consumes them (a `mv` that the service only sees as a file gone from
   * the spool). Stops at the first segment the archive does not have (its end).
   */
  private topUpRestore(): void {
    const config = this.restore;
    if (config === undefined || this.readAhead === undefined) return;
    const spooled = this.listDir(this.o.restoreSpool).filter(isWalName);
    let inFlight = spooled.length + this.prefetching.size;
    let guard = 0;
    while (this.readAhead !== undefined && inFlight < Math.max(1, config.maxParallel) && guard++ < 64) {
      const name = this.readAhead;
      this.readAhead = segmentNameAfter(name, this.segmentSize);
      if (this.prefetching.has(name) || spooled.includes(name)) continue;
      inFlight++;
      this.fetch(name, config).then(
        (found) => {
          if (!found) {
            // The end of the archive (for now): the next slow-path request starts again.
            this.readAhead = undefined;
            this.keepBefore(name, config);
            return;
          }
          this.topUpRestore();
        },
        (err: unknown) =>
          this.o.log.debug({ wal: name, err }, 'prefetching WAL failed; it is fetched on demand'),
      );
    }
  }
}

/** The shell commands PostgreSQL runs; every path is single-quoted for /bin/sh. */
export function walCommands(input: {
  node: string;
  client: string;
  socketPath: string;
  archiveSpool: string;
  restoreSpool: string;
}): { archiveCommand: string; restoreCommand: string } {
  const q = (s: string): string => `'${s.replaceAll("'", `'"'"'`)}'`;
  const client = `exec ${q(input.node)} ${q(input.client)}`;
  // PostgreSQL's archiver often asks for a segment the moment it is complete, a few ms
  // before the manager's upload of it is done: the shell waits for the marker (up to 2 s, a
  // builtin test and a sleep every 20 ms) rather than start a Node process per segment, which
  // costs ~50 ms of CPU each and would tax both pgbench and catch-up after an outage.
  const marker = `${q(input.archiveSpool)}/%f`;
  return {
    archiveCommand: `i=0; while [ $i -lt 100 ]; do if [ -e ${marker} ]; then rm -f ${marker}; exit 0; fi; sleep 0.02; i=$((i+1)); done; ${client} archive ${q(input.socketPath)} %p`,
    restoreCommand: restoreCommand(q(input.restoreSpool), `${client} restore ${q(input.socketPath)} %f %p`),
  };
}

/**
 * restore_command: the prefetched file, else a `%f.want` request answered in the spool (the
 * file, `%f.none`, `%f.error` or `%f.fatal`), tested with shell builtins every 5 ms (a
 * /bin/sleep each time) 1000 times, 6-10 s; then the Node client, which waits for the
 * manager as long as a download takes.
 */
function restoreCommand(spool: string, fallback: string): string {
  const f = `${spool}/%f`;
  return [
    `mv ${f} %p 2>/dev/null && exit 0`,
    `rm -f ${f}${NONE} ${f}${ERROR} ${f}${FATAL}`,
    `: > ${f}${WANT} || ${fallback}`,
    'i=0',
    'while [ $i -lt 1000 ]',
    `do if [ -e ${f} ]; then mv ${f} %p && exit 0; fi`,
    `if [ -e ${f}${NONE} ]; then rm -f ${f}${NONE}; exit 1; fi`,
    `if [ -e ${f}${ERROR} ]; then cat ${f}${ERROR} >&2; rm -f ${f}${ERROR}; exit 1; fi`,
    `if [ -e ${f}${FATAL} ]; then cat ${f}${FATAL} >&2; rm -f ${f}${FATAL}; exit 126; fi`,
    'sleep 0.005',
    'i=$((i+1))',
    'done',
    fallback,
  ].join('; ');
}
