/**
 * The instance manager: supervises one PostgreSQL instance next to it. It reads its Instance
 * and Cluster from the store, creates the data (initdb for the first primary, pg_basebackup
 * for the others), writes the configuration, starts or adopts the postmaster, restarts it when
 * it dies, re-clones a replica whose data directory disappeared, keeps the primary's HA
 * replication slots, reports its status in the store and over HTTPS, and re-emits
 * PostgreSQL's log. It never decides the cluster's topology: that is the control plane's job.
 */
import { randomUUID } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { request as httpsRequest, type Server } from 'node:https';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ClusterResource, SecretResource } from '../api/index.ts';
import {
  certificateSecretNames,
  haSlotName,
  type InstanceResource,
  type InstanceStatus,
  isClusterInitialized,
  isDeletionRequested,
  isFenced,
  type PrimaryLease,
  primaryLeaseOf,
} from '../api/internal.ts';
import { checkWalArchiveEmpty } from '../backup/catalog.ts';
import { clusterObjectStore } from '../backup/cluster-store.ts';
import { restoreBaseBackup } from '../backup/restore.ts';
import { PENDING_TARGET } from '../core/failover.ts';
import { type InstanceObservation, type InstanceStep, planInstance } from '../core/instance-plan.ts';
import { livenessSettings } from '../core/liveness.ts';
import { type Store, type StoredObject, updateWithRetry } from '../ports/store.ts';
import {
  recoveryTargetSettings,
  renderPgHba,
  renderPgIdent,
  renderPostgresqlConf,
  renderRecoveryConf,
  renderStandbyConf,
} from '../postgres/configuration.ts';
import { compareLsn } from '../postgres/lsn.ts';
import { parseSyncStandbyNames, planSyncStandbyNames } from '../postgres/synchronous.ts';
import { recordArchiveResult, walArchiveConfig } from './archiving.ts';
import { BackupJobs } from './backup-job.ts';
import {
  dropSlotOnPrimary,
  type PrimarySlot,
  readPrimarySlots,
  recreateEmptyDir,
  replicationConninfo,
  runBaseBackup,
  runInitdb,
  runPostInit,
  runPostRecovery,
  runRewind,
} from './bootstrap.ts';
import { DATA_LOST, INSTANCE_PATHS, type InstanceReport } from './contract.ts';
import { isCleanShutdown, readCheckpointLsn, readClusterState } from './control-file.ts';
import { LogTail } from './log-tail.ts';
import type { PgTools } from './pg-tools.ts';
import { Postmaster, sleep } from './postmaster.ts';
import { connectLocal, type ProbeResult, probe } from './probe.ts';
import { explainRecoveryFailure, planRecovery, type RecoveryPlan, recoverySpecOf } from './recovery.ts';
import {
  type CertificateFiles,
  certificateFiles,
  secretValue,
  writeCertificates,
  writeIfChanged,
} from './secrets.ts';
import { startStatusServer } from './status-server.ts';
import { type WalArchiveConfig, WalService, walCommands } from './wal-service.ts';

/** The folders of one instance (laid out by the platform). */
export interface InstanceDirs {
  dir: string;
  pgdata: string;
  walDir: string;
  certs: string;
  pgLogDir: string;
  socketDir: string;
}

export interface InstanceManagerOptions {
  store: Store;
  tools: PgTools;
  dirs: InstanceDirs;
  namespace: string;
  cluster: string;
  instance: string;
  logger: Logger;
  /** Carries `logger: postgres`; PostgreSQL's own records go here. */
  pgLogger: Logger;
  /** OS users allowed to connect locally as the superuser (peer auth): us and PostgreSQL's account. */
  localOsUsers: string[];
  /** Loopback address everything binds to. */
  host: string;
  pollMs?: number;
  /**
   * Whether the control plane answers within `timeoutMs` (the primary's isolation check).
   * Without it the isolation check is off.
   */
  controlPlaneReachable?: (timeoutMs: number) => Promise<boolean>;
}

/** The steps during which the primary's PostgreSQL is down awaiting the control plane. */
function isPrimaryLostStep(step: InstanceStep): boolean {
  return (
    step.step === 'primaryLost' ||
    (step.step === 'refuse' && step.code === 'PGHERD_INSTANCE_PRIMARY_DATA_LOST')
  );
}

/** Markers in the instance folder (owned by pgherd, not PostgreSQL). */
const INITDB_DONE = '.initdb-done';
const BOOTSTRAP_DONE = '.bootstrap-done';
const CLONE_IN_PROGRESS = '.clone-in-progress';
const POSTINIT_STARTED = '.post-init-started';
/** A new cluster's first primary checks that its archive holds no other cluster's WAL. */
const CHECK_EMPTY_WAL_ARCHIVE = '.check-empty-wal-archive';
/** The WAL client PostgreSQL's archive_command and restore_command run (wal-client.ts). */
const WAL_CLIENT = 'wal-client.mjs';
/** A recovery PostgreSQL refused for good (a target it cannot reach): not retried. */
const RECOVERY_FAILED = '.recovery-failed';

export class InstanceManager {
  private readonly log: Logger;
  private readonly postmaster: Postmaster;
  private readonly certs: CertificateFiles;
  private readonly sessionId = randomUUID();
  private stopping = false;
  private server: Server | undefined;
  private logTail: LogTail | undefined;
  private phase = 'Pending';
  private phaseReason = 'starting the instance manager';
  private lastProbe: ProbeResult | undefined;
  private lastProbeError: string | undefined;
  private probeFailures = 0;
  /** Configuration or certificates changed and PostgreSQL has not reloaded them yet. */
  private pendingReload = false;
  /** PostgreSQL was started (or adopted) and answered; cleared when it stops. */
  private startupComplete = false;
  private lastStatusServerError: string | undefined;
  /** Aborted when the instance is deleted or the manager stops: cancels initdb/pg_basebackup. */
  private readonly abort = new AbortController();
  private deletionWatch: NodeJS.Timeout | undefined;
  private revisionWatch: NodeJS.Timeout | undefined;
  private lastSlotSync = 0;
  private lastSlotMirror = 0;
  private wake: (() => void) | undefined;
  private woken = false;
  /** Why the last reconcile pass failed, while the passes after it have not yet succeeded. */
  private lastFailure: string | undefined;
  /** The phase reason as given, without the "retrying" note. */
  private phaseGiven = 'starting the instance manager';
  private readonly wal: WalService;
  private readonly backups: BackupJobs;
  /** Set while bootstrap.recovery replays WAL from its source. */
  private recoverySource: WalArchiveConfig | undefined;
  private readonly walCommands: { archiveCommand: string; restoreCommand: string };
  /** The opened archive, kept while spec.backup.barmanObjectStore does not change. */
  private walConfig: { key: string; config: WalArchiveConfig | string } | undefined;
  /** The Instance as last read: its ports stay known while it is being deleted. */
  private instanceSpec: InstanceResource['spec'] | undefined;
  private loopDone: Promise<void> | undefined;
  /** pg_rewind attempts that failed in a row (re-clone after MAX_REWIND_ATTEMPTS). */
  private rewindFailures = 0;
  /** The last failed recovery attempt: how many so far, when to try again, and why. */
  private recoveryRetry: { generation: number; attempts: number; at: number; error: string } | undefined;
  /** The control plane asked for a restart (restart-only parameters changed). */
  private restartRequested = false;
  /** This standby was stopped because it cannot follow the new timeline; rewind it. */
  private rewindRequested = false;
  /** Since when this running standby has been on an older timeline than the primary. */
  private notStreamingSince: number | undefined;
  /** Why this primary's PostgreSQL is down awaiting the control plane's decision, if it is. */
  private primaryLostReason: string | undefined;
  private isolationWatch: NodeJS.Timeout | undefined;
  /** status.currentPrimary names this instance (as last read). */
  private isCurrentPrimary = false;
  /** synchronous_standby_names as last written, and as PostgreSQL has loaded it. */
  private renderedSync = '';
  private appliedSync: string | undefined;
  /** The last step decided (logged once per change). */
  private lastDecision = '';
  /** When the isolation check last reached the control plane or a peer (or did not apply). */
  private lastConnected = Date.now();
  private isolationRunning = false;
  /** Set when the isolation check decided this primary must fence itself. */
  private isolated: string | undefined;

  private readonly o: InstanceManagerOptions;
  constructor(o: InstanceManagerOptions) {
    this.o = o;
    this.log = o.logger;
    this.postmaster = new Postmaster(o.tools, o.dirs.pgdata, join(o.dirs.dir, 'postmaster.stderr'));
    this.certs = certificateFiles(o.dirs.certs);
    // The service and the commands PostgreSQL runs share the spools and the socket.
    const walPaths = {
      archiveSpool: join(o.dirs.dir, 'wal-archive-spool'),
      restoreSpool: join(o.dirs.dir, 'wal-restore-spool'),
      socketPath: join(o.dirs.socketDir, '.s.pgherd.wal'),
    };
    this.wal = new WalService({
      walDir: join(o.dirs.pgdata, 'pg_wal'),
      ...walPaths,
      account: o.tools.account,
      log: o.logger.child({ logger: 'wal-archive' }),
      firstArchiveCheck: async (config) => this.firstArchiveCheck(config),
      onArchiveResult: (result) => {
        try {
          recordArchiveResult(o.store, o.namespace, o.cluster, result, new Date());
        } catch (err) {
          this.log.warn({ err }, 'cannot record the archiving result in the cluster status');
        }
      },
    });
    this.backups = new BackupJobs({
      store: o.store,
      namespace: o.namespace,
      cluster: o.cluster,
      instance: o.instance,
      sessionId: this.sessionId,
      log: o.logger.child({ logger: 'backup' }),
      connect: () => connectLocal(this.conn()),
      archive: () => (typeof this.walConfig?.config === 'object' ? this.walConfig.config : undefined),
    });
    this.walCommands = walCommands({
      node: process.execPath,
      client: join(o.dirs.dir, WAL_CLIENT),
      ...walPaths,
    });
  }

  /**
   * CNPG's empty-archive check before a new cluster's first archive: the destination must not
   * hold WAL already (another cluster's, or this name reused), or recovery from it would mix
   * histories. The marker is written at initdb and removed once the check passed.
   */
  private async firstArchiveCheck(config: WalArchiveConfig): Promise<void> {
    const marker = join(this.o.dirs.dir, CHECK_EMPTY_WAL_ARCHIVE);
    if (!existsSync(marker)) return;
    const refusal = await checkWalArchiveEmpty(config.store, config.serverName);
    if (refusal !== undefined) throw new Error(`${refusal.code}: ${refusal.message}`);
    rmSync(marker, { force: true });
  }

  /** Copies the WAL client where PostgreSQL's account can run it, and starts the WAL service. */
  private async startWalService(): Promise<void> {
    const source = new URL('./wal-client.js', import.meta.url);
    const target = join(this.o.dirs.dir, WAL_CLIENT);
    for (const p of [process.execPath, target, this.o.dirs.socketDir, this.o.dirs.dir]) {
      if (p.includes('%') || p.includes('\n')) {
        throw new Error(
          `PGHERD_INSTANCE_BAD_PATH: ${JSON.stringify(p)} contains "%" or a line break, which archive_command cannot carry; choose another PGHERD_HOME`,
        );
      }
    }
    copyFileSync(source, target);
    if (this.o.tools.account.switchUser) {
      this.o.tools.chownToPg(target);
    }
    await this.wal.start();
  }

  /** Tells the WAL service where to archive and restore, and whether this instance archives. */
  private configureWal(cluster: ClusterResource): void {
    const spec = clusterObjectStore(cluster);
    let archive: WalArchiveConfig | string | undefined;
    if (spec !== undefined) {
      // Credentials rotate: a changed secret opens the store again.
      const secrets = [spec.s3Credentials?.accessKeyId, spec.s3Credentials?.secretAccessKey, spec.endpointCA]
        .map((ref) =>
          ref === undefined ? '' : (this.secret(ref.name)?.metadata.resourceVersion ?? 'missing'),
        )
        .join(',');
      const key = `${JSON.stringify(spec)} ${secrets}`;
      if (this.walConfig?.key !== key) {
        try {
          this.walConfig = {
            key,
            config: walArchiveConfig(spec, this.o.cluster, (name) => this.secret(name)),
          };
        } catch (err) {
          const reason = `cannot open the backup object store: ${(err as Error).message}`;
          this.walConfig = { key, config: reason };
          this.log.error({ err }, reason);
        }
      }
      archive = this.walConfig.config;
    } else {
      this.walConfig = undefined;
    }
    this.wal.configure({
      archive,
      isCurrentPrimary: cluster.status?.currentPrimary === this.o.instance,
      // While a new cluster recovers, WAL comes from the recovery source, not its own archive.
      restore: this.recoverySource ?? (typeof archive === 'string' ? undefined : archive),
      segmentSize: (cluster.spec.bootstrap.initdb?.walSegmentSize ?? 16) * 1024 * 1024,
    });
  }

  /** Runs until `stop()` or until the instance is deleted. */
  async run(): Promise<void> {
    const adopted = this.postmaster.adopt();
    if (adopted) {
      this.log.info({ postmasterPid: this.postmaster.pid }, 'adopted a running PostgreSQL');
      this.pendingReload = true;
    }
    // Deletion is noticed even while a long step (pg_basebackup, a start wait) runs.
    // Store changes (a new target primary, a released lease) wake the loop at once: failover
    // and switchover steps hand over between managers through the store.
    let lastRevision = -1;
    this.revisionWatch = setInterval(() => {
      try {
        const rev = this.o.store.revision();
        if (rev !== lastRevision) {
          lastRevision = rev;
          this.wake?.();
        }
      } catch {
        /* a busy store: the regular poll goes on */
      }
    }, 50);
    this.deletionWatch = setInterval(() => {
      try {
        const { instance } = this.read();
        if (instance === undefined || isDeletionRequested(instance)) this.markDeleted();
      } catch (err) {
        // A busy or unreadable store must not crash the manager in the middle of a clone.
        this.log.warn({ err }, 'cannot check whether the instance was deleted');
      }
    }, 500);
    this.scheduleIsolationCheck();
    await this.startWalService();
    this.logTail = new LogTail(join(this.o.dirs.pgLogDir, 'postgres.json'), this.o.pgLogger, !adopted);
    this.logTail.start();
    this.loopDone = this.loop();
    await this.loopDone;
  }

  /** Clean stop: PostgreSQL is shut down (fast, then immediate) unless `keepPostgres`. */
  async stop(keepPostgres = false): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    if (this.deletionWatch !== undefined) clearInterval(this.deletionWatch);
    if (this.revisionWatch !== undefined) clearInterval(this.revisionWatch);
    if (this.isolationWatch !== undefined) clearTimeout(this.isolationWatch);
    this.wake?.();
    await this.loopDone?.catch(() => {});
    if (!keepPostgres) await this.shutdownPostgres();
    // After PostgreSQL: its archiver hands over the last files during the shutdown.
    await this.wal.stop();
    this.logTail?.stop();
    await new Promise<void>((r) => {
      if (this.server === undefined) r();
      else {
        this.server.closeAllConnections();
        this.server.close(() => r());
      }
    });
  }

  report(): InstanceReport {
    const p = this.lastProbe;
    return {
      instance: this.o.instance,
      cluster: this.o.cluster,
      sessionId: this.sessionId,
      managerPid: process.pid,
      postmasterPid: this.postmaster.isRunning() ? (this.postmaster.pid ?? null) : null,
      phase: this.phase,
      phaseReason: this.phaseReason,
      isPostgresUp: p !== undefined,
      isPrimary: p?.isPrimary ?? false,
      ready: this.isReady(),
      systemId: p?.systemId ?? null,
      timelineId: p?.timelineId ?? null,
      currentLsn: p?.currentLsn ?? null,
      receivedLsn: p?.receivedLsn ?? null,
      replayLsn: p?.replayLsn ?? null,
      isWalReceiverActive: p?.walReceiverStatus === 'streaming',
      pendingRestart: p?.pendingRestart ?? false,
      replication: p?.replication ?? [],
      replayLagSeconds: p?.replayLagSeconds ?? null,
      archiving: this.wal.report(),
      ...(this.primaryLostReason !== undefined ? { primaryLost: this.primaryLostReason } : {}),
      ...(this.lastProbeError !== undefined ? { error: this.lastProbeError } : {}),
    };
  }

  /**
   * Ready is PostgreSQL's state, not the manager's: a failed reconcile step (a busy store, a
   * slot query) must not take a healthy primary out of `-rw`.
   */
  private isReady(): boolean {
    const p = this.lastProbe;
    if (p === undefined || !this.startupComplete || !this.postmaster.isRunning()) return false;
    return p.isPrimary || p.walReceiverStatus === 'streaming';
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      // While passes fail, what could fix the cause is noted before the pass, so that a change
      // made during a failing pass ends the back-off after it.
      let key = failures > 0 ? this.failureWakeKey() : undefined;
      try {
        await this.reconcile();
        failures = 0;
        this.clearLastFailure();
        this.reassertArchiveCondition();
      } catch (err) {
        failures++;
        const msg = (err as Error).message;
        if (this.isReady()) this.setPhase('Running', `PostgreSQL is running; last reconcile error: ${msg}`);
        else this.setPhase('Failed', msg);
        this.lastFailure = msg;
        this.log.error({ err }, `reconcile failed: ${msg}`);
        try {
          this.publishStatus();
        } catch (publishErr) {
          this.log.error({ err: publishErr }, 'cannot write the instance status to the store');
        }
      }
      if (this.stopping) break;
      const delay = failures === 0 ? (this.o.pollMs ?? 250) : Math.min(200 * 2 ** failures, 5000);
      // A wake-up that came while this pass ran (a store change) starts the next pass at once.
      if (this.woken && failures === 0) {
        this.woken = false;
        continue;
      }
      // After a failure the back-off is kept, except for a change that may fix the cause or
      // must be acted on (a new spec, a secret, a new primary, deletion): the pass's own status
      // write, and the control plane's copy of it, must not start the next attempt at once, or
      // a failing bootstrap loops without pause and its reason is on show for milliseconds.
      if (failures > 0) key ??= this.failureWakeKey();
      else key = undefined;
      await new Promise<void>((r) => {
        this.wake = () => {
          if (key !== undefined && !this.stopping && this.failureWakeKey() === key) return;
          this.woken = true;
          r();
        };
        setTimeout(r, delay);
      });
      this.woken = false;
      this.wake = () => {
        this.woken = true;
      };
    }
  }

  /**
   * The ContinuousArchiving condition is written when an upload ends; a write lost to a busy
   * store would leave it wrong until the next segment. While this instance archives, each pass
   * writes it again if the stored one says otherwise.
   */
  private reassertArchiveCondition(): void {
    const result = this.wal.archiveCondition();
    if (result === undefined) return;
    try {
      const cluster = this.read().cluster;
      if (cluster === undefined || cluster.status?.currentPrimary !== this.o.instance) return;
      const stored = cluster.status?.conditions?.find((c) => c.type === 'ContinuousArchiving');
      if (stored?.status === (result.ok ? 'True' : 'False')) return;
      recordArchiveResult(this.o.store, this.o.namespace, this.o.cluster, result, new Date());
    } catch (err) {
      this.log.warn({ err }, 'cannot record the archiving result in the cluster status');
    }
  }

  /**
   * What may end a failure's back-off early: the specs, annotations and primary fields of this
   * Cluster and Instance, the Secrets and Backups, and this manager's own requests. Status
   * fields that merely report (phases, readiness) are left out.
   */
  private failureWakeKey(): string {
    try {
      return this.failureWakeKeyOrThrow();
    } catch {
      // The store cannot be read now: a fresh string never matches, so any wake-up counts.
      return `unreadable ${performance.now()}`;
    }
  }

  private failureWakeKeyOrThrow(): string {
    const { store, namespace } = this.o;
    const { instance, cluster } = this.read();
    const meta = (o: { metadata: StoredObject['metadata'] } | undefined) =>
      o === undefined ? null : [o.metadata.generation, o.metadata.annotations, o.metadata.labels];
    const st = cluster?.status;
    return JSON.stringify([
      meta(cluster),
      meta(instance),
      st === undefined
        ? null
        : [
            st.currentPrimary,
            st.targetPrimary,
            st.targetPrimaryTimestamp,
            st['primaryLease'],
            st['operatorCertificateFingerprint'],
          ],
      store.list('Secret', namespace).map((s) => [s.metadata.name, s.metadata.resourceVersion]),
      store.list('Backup', namespace).map((b) => [b.metadata.name, b.metadata.generation]),
      this.isolated,
      this.restartRequested,
      this.rewindRequested,
    ]);
  }

  /** The first pass that succeeds after failures: the reason no longer says "retrying". */
  private clearLastFailure(): void {
    if (this.lastFailure === undefined) return;
    this.lastFailure = undefined;
    this.setPhase(this.phase, this.phaseGiven);
    try {
      this.publishStatus();
    } catch (err) {
      this.log.error({ err }, 'cannot write the instance status to the store');
    }
  }

  /**
   * While passes are failing, the reason of every other phase also says why the last attempt
   * failed, so `pgherd status` and `wait` show the cause during the retry, not only between.
   */
  private setPhase(phase: string, given: string): void {
    this.phaseGiven = given;
    const reason =
      this.lastFailure !== undefined && phase !== 'Failed' && phase !== 'Running'
        ? `${given} (retrying; the last attempt failed: ${this.lastFailure})`
        : given;
    if (phase !== this.phase || reason !== this.phaseReason) {
      this.log.info({ phase, reason }, `phase ${phase}: ${reason}`);
    }
    this.phase = phase;
    this.phaseReason = reason;
  }

  private read(): { instance: InstanceResource | undefined; cluster: ClusterResource | undefined } {
    const { store, namespace, cluster, instance } = this.o;
    return {
      instance: store.get<InstanceResource>('Instance', namespace, instance),
      cluster: store.get<ClusterResource>('Cluster', namespace, cluster),
    };
  }

  private secret(name: string): SecretResource | undefined {
    return this.o.store.get<SecretResource>('Secret', this.o.namespace, name);
  }

  private async reconcile(): Promise<void> {
    const read = this.read();
    const instance = read.instance;
    if (instance === undefined || read.cluster === undefined || isDeletionRequested(instance)) {
      this.markDeleted();
      return;
    }
    let cluster: ClusterResource = read.cluster;
    this.instanceSpec = instance.spec;
    const names = certificateSecretNames(cluster);
    const certsChanged = writeCertificates(
      this.o.dirs.certs,
      {
        serverCa: this.secret(names.serverCa),
        clientCa: this.secret(names.clientCa),
        server: this.secret(names.serverTls),
        replication: this.secret(names.replicationTls),
      },
      this.o.tools,
    );
    await this.ensureStatusServer(instance);
    if (certsChanged && this.server !== undefined) {
      // A renewed server certificate: new TLS sessions of the status API use it at once.
      this.server.setSecureContext({
        cert: readFileSync(this.certs.serverCert, 'utf8'),
        key: readFileSync(this.certs.serverKey, 'utf8'),
        minVersion: 'TLSv1.3',
      });
      this.log.info('certificates changed; the status API and PostgreSQL use the new ones');
    }

    // Run steps until the instance is maintained, waits, or is refused; each step is decided
    // afresh from what is observed after the previous one (core/instance-plan.ts).
    for (let n = 0; n < 8 && !this.stopping; n++) {
      if (this.postmaster.isRunning()) await this.refreshProbe();
      if (this.isolated !== undefined && this.postmaster.isRunning() && this.lastProbe?.isPrimary === true) {
        await this.selfFence(this.isolated);
      }
      if (this.restartRequested) {
        this.restartRequested = false;
        if (this.postmaster.isRunning() && this.startupComplete) {
          // A clean stop keeps a primary's lease: the next step starts it again as it was.
          await this.shutdownPostgres(
            cluster.spec.stopDelay * 1000,
            'Restarting',
            'restarting PostgreSQL to apply parameters that need a restart',
          );
        }
      }
      // Read afresh every step: a step before (a released lease) changes what may be done next.
      const current: ClusterResource | undefined = this.read().cluster;
      if (current === undefined) return;
      cluster = current;
      this.isCurrentPrimary = cluster.status?.currentPrimary === this.o.instance;
      this.configureWal(cluster);
      // A lease this instance still holds although another is the target (its manager died in
      // the middle of a switchover's shutdown) is released once it no longer runs as a primary.
      const lease = primaryLeaseOf(cluster);
      const runsAsPrimary = this.postmaster.isRunning() && this.lastProbe?.isPrimary === true;
      if (
        lease?.holder === this.o.instance &&
        cluster.status?.targetPrimary !== this.o.instance &&
        !runsAsPrimary
      ) {
        this.releaseLease();
        continue;
      }
      const step = planInstance(this.observe(cluster));
      // Each decision is logged once, not on every pass that repeats it (a wait).
      const decision = `${step.step}:${step.reason}`;
      if (step.step !== 'maintain' && decision !== this.lastDecision)
        this.log.info({ step: step.step }, step.reason);
      this.lastDecision = decision;
      if (!isPrimaryLostStep(step) && this.primaryLostReason !== undefined) {
        this.primaryLostReason = undefined;
        this.publishStatus();
      }
      switch (step.step) {
        case 'demote':
          if (await this.demote(cluster, step.immediate, step.reason)) continue;
          return;
        case 'takeLease':
          if (this.takeLease()) continue;
          this.setPhase('Pending', 'waiting for the primary lease');
          this.publishStatus();
          return;
        case 'promote':
          if (await this.promote(cluster, instance)) continue;
          return;
        case 'primaryLost':
          this.primaryLostReason ??= `PostgreSQL of the primary ${this.o.instance} stopped without a clean shutdown`;
          this.setPhase('Failed', step.reason);
          this.publishStatus();
          return;
        case 'rewind':
          await this.rewind(cluster);
          continue;
        case 'reclone':
          await this.join(cluster);
          this.rewindFailures = 0;
          this.rewindRequested = false;
          continue;
        case 'stopToRewind':
          await this.shutdownPostgres(cluster.spec.stopDelay * 1000, 'Rewinding', step.reason);
          this.rewindRequested = true;
          this.notStreamingSince = undefined;
          continue;
        case 'fence':
          // CNPG's fencing: like a switchover's shutdown (fast within switchoverDelay, then
          // immediate); the data stays, the instance leaves every service.
          await this.shutdownPostgres(cluster.spec.switchoverDelay * 1000, 'Fenced', step.reason);
          this.publishStatus();
          return;
        case 'stopPostgres':
          await this.postmaster.stop('immediate', 10_000);
          this.startupComplete = false;
          this.lastProbe = undefined;
          continue;
        case 'initdb':
          if (recoverySpecOf(cluster) !== undefined) await this.recover(cluster, instance);
          else await this.initdb(cluster);
          continue;
        case 'clone':
          await this.join(cluster);
          continue;
        case 'start':
          if (step.asStandby) this.ensureStandbySignal();
          else if (isClusterInitialized(cluster) && !this.holdsLease()) {
            // Belt and braces: a primary starts only under the lease it holds right now.
            this.setPhase('Pending', 'waiting for the primary lease before starting as the primary');
            this.publishStatus();
            return;
          }
          this.writeConfig(cluster, instance);
          await this.startPostgres(cluster);
          continue;
        case 'postInit':
          await this.postInit(cluster);
          continue;
        case 'markInitialized':
          this.markInitialized();
          return;
        case 'wait':
          this.setPhase(isFenced(cluster, this.o.instance) ? 'Fenced' : 'Pending', step.reason);
          this.publishStatus();
          return;
        case 'refuse':
          this.startupComplete = false;
          if (isPrimaryLostStep(step)) {
            // The control plane fails over to a replica; this instance is re-cloned afterwards.
            this.releaseLease();
            this.primaryLostReason = `${DATA_LOST}: the data directory of the primary ${this.o.instance} is missing`;
            this.publishStatus();
          }
          throw new Error(`${step.code}: ${step.reason}`);
        case 'maintain':
          // A reload that failed (or never happened: the manager was replaced after writing the
          // files) is retried until it succeeds; an adopted postmaster is reloaded once.
          if (this.writeConfig(cluster, instance) || certsChanged) this.pendingReload = true;
          if (this.pendingReload) {
            await this.reload();
            this.pendingReload = false;
          }
          if (this.lastProbe === undefined) await this.refreshProbe();
          if (this.lastProbe !== undefined) {
            this.startupComplete = true;
            this.setPhase('Running', 'PostgreSQL is running');
          }
          if (this.lastProbe?.isPrimary === true) await this.syncHaSlots(cluster);
          else if (this.lastProbe?.isPrimary === false) await this.mirrorHaSlots(cluster);
          if (this.lastProbe !== undefined) this.backups.poll(cluster, this.lastProbe.isPrimary);
          this.publishStatus();
          return;
      }
    }
  }

  /** What planInstance needs, read from the files, the process table and the store. */
  private observe(cluster: ClusterResource): InstanceObservation {
    const { dirs } = this.o;
    const cloneInterrupted = existsSync(join(dirs.dir, CLONE_IN_PROGRESS));
    const running = this.postmaster.isRunning();
    const me = this.o.instance;
    if (!running && this.startupComplete) {
      const wasPrimary = this.lastProbe?.isPrimary ?? !existsSync(join(dirs.pgdata, 'standby.signal'));
      this.log.warn(
        { lastErrors: this.postmaster.lastStartupErrors(), wasPrimary },
        wasPrimary
          ? 'PostgreSQL (the primary) exited; the control plane decides between a failover and a restart'
          : 'PostgreSQL is not running; restarting it',
      );
      this.startupComplete = false;
      this.lastProbe = undefined;
      // A primary that crashed is not restarted on this manager's own authority: releasing the
      // lease hands the decision to the control plane (fail over, or grant a restart in place).
      if (wasPrimary) this.releaseLease();
      this.publishStatus();
      cluster = this.read().cluster ?? cluster;
    }
    const status = cluster.status;
    const lease = primaryLeaseOf(cluster);
    const dataValid =
      !cloneInterrupted &&
      existsSync(join(dirs.pgdata, 'PG_VERSION')) &&
      existsSync(join(dirs.pgdata, 'global', 'pg_control'));
    return {
      isTargetPrimary: status?.targetPrimary === me,
      isCurrentPrimary: status?.currentPrimary === me,
      switching: status?.targetPrimary !== undefined && status.targetPrimary !== status.currentPrimary,
      targetPending: status?.targetPrimary === PENDING_TARGET,
      runningAsPrimary: running && this.lastProbe !== undefined ? this.lastProbe.isPrimary : undefined,
      dataIsPrimary: dataValid && !existsSync(join(dirs.pgdata, 'standby.signal')),
      cleanShutdown: !running && dataValid && isCleanShutdown(readClusterState(dirs.pgdata)),
      lease:
        lease === undefined
          ? 'free'
          : lease.holder !== me
            ? 'other'
            : lease.session === this.sessionId
              ? 'mine'
              : 'ours',
      walReceiverActive: running && (this.lastProbe?.walReceiverStatus ?? null) !== null,
      rewindFailures: this.rewindFailures,
      cannotFollow: running && this.cannotFollow(cluster),
      rewindRequested: this.rewindRequested,
      clusterInitialized: isClusterInitialized(cluster),
      // initdb counts as done only while no post-init SQL started without finishing.
      initdbDone:
        existsSync(join(dirs.dir, INITDB_DONE)) &&
        (!existsSync(join(dirs.dir, POSTINIT_STARTED)) || existsSync(join(dirs.dir, BOOTSTRAP_DONE))),
      bootstrapDone: existsSync(join(dirs.dir, BOOTSTRAP_DONE)),
      dataValid,
      cloneInterrupted,
      postmasterRunning: running,
      primaryNotReady: this.primaryNotReady(cluster),
      fenced: isFenced(cluster, this.o.instance),
    };
  }

  /** The status API starts once the certificates exist; a busy port is retried, never fatal. */
  private async ensureStatusServer(instance: InstanceResource): Promise<void> {
    if (this.server !== undefined) return;
    try {
      this.server = await startStatusServer({
        host: this.o.host,
        port: instance.spec.statusPort,
        cert: readFileSync(this.certs.serverCert, 'utf8'),
        key: readFileSync(this.certs.serverKey, 'utf8'),
        report: () => this.report(),
        trustedFingerprint: () =>
          this.read().cluster?.status?.operatorCertificateFingerprint as string | undefined,
        reload: async () => {
          const { instance: current, cluster } = this.read();
          if (current === undefined || cluster === undefined)
            throw new Error('the instance is being deleted');
          this.writeConfig(cluster, current);
          await this.reload();
          this.pendingReload = false;
        },
        restart: () => {
          this.restartRequested = true;
          this.wake?.();
        },
      });
    } catch (err) {
      const msg = (err as Error).message;
      if (msg !== this.lastStatusServerError) this.log.error({ err }, msg);
      this.lastStatusServerError = msg;
    }
  }

  /** Called when the Instance (or its Cluster) is gone: long steps are aborted, then we exit. */
  private markDeleted(): void {
    if (this.stopping) return;
    this.log.info('the instance was deleted; stopping PostgreSQL and exiting');
    this.stopping = true;
    this.abort.abort();
    this.wake?.();
  }

  private ensureStandbySignal(): void {
    writeIfChanged(join(this.o.dirs.pgdata, 'standby.signal'), '', 0o600, this.o.tools);
  }

  private async initdb(cluster: ClusterResource): Promise<void> {
    this.setPhase('Initializing', 'running initdb');
    this.publishStatus();
    rmSync(join(this.o.dirs.dir, INITDB_DONE), { force: true });
    rmSync(join(this.o.dirs.dir, BOOTSTRAP_DONE), { force: true });
    rmSync(join(this.o.dirs.dir, POSTINIT_STARTED), { force: true });
    rmSync(this.o.dirs.walDir, { recursive: true, force: true });
    await runInitdb(
      this.o.tools,
      {
        pgdata: this.o.dirs.pgdata,
        walDir: cluster.spec.walStorage !== undefined ? this.o.dirs.walDir : undefined,
        spec: cluster.spec,
      },
      this.abort.signal,
    );
    writeFileSync(join(this.o.dirs.dir, CHECK_EMPTY_WAL_ARCHIVE), '', { mode: 0o600 });
    writeFileSync(join(this.o.dirs.dir, INITDB_DONE), `${new Date().toISOString()}\n`, { mode: 0o600 });
  }

  /**
   * bootstrap.recovery (CNPG's full-recovery job): restores the chosen base backup into an
   * empty PGDATA, replays WAL from the source's archive up to the target, lets PostgreSQL
   * promote, then stops it cleanly; the normal start, post-init and standbys follow.
   */
  private async recover(cluster: ClusterResource, instance: InstanceResource): Promise<void> {
    const failedMarker = join(this.o.dirs.dir, RECOVERY_FAILED);
    if (existsSync(failedMarker)) {
      throw new Error(
        `${readFileSync(failedMarker, 'utf8').trim()} (delete and re-create the cluster to try again)`,
      );
    }
    // A failed attempt (a store that went away, PostgreSQL stopping) is retried, but not at the
    // pace of the reconcile loop: each attempt downloads the whole backup again. As CNPG's
    // recovery Job: 10 s, 20 s, 40 s ... up to 5 minutes between attempts.
    // A changed spec (another backup, another target) is tried at once.
    const generation = cluster.metadata.generation ?? 0;
    const retry = this.recoveryRetry?.generation === generation ? this.recoveryRetry : undefined;
    if (retry !== undefined && Date.now() < retry.at) {
      throw new Error(
        `${retry.error} (attempt ${retry.attempts} failed; the next one at ${new Date(retry.at).toISOString()})`,
      );
    }
    try {
      await this.recoverOnce(cluster, instance);
      this.recoveryRetry = undefined;
    } catch (err) {
      const attempts = (retry?.attempts ?? 0) + 1;
      this.recoveryRetry = {
        generation,
        attempts,
        at: Date.now() + Math.min(10_000 * 2 ** (attempts - 1), 300_000),
        error: (err as Error).message,
      };
      throw err;
    }
  }

  private async recoverOnce(cluster: ClusterResource, instance: InstanceResource): Promise<void> {
    const spec = recoverySpecOf(cluster)!;
    this.setPhase('Recovering', 'looking for the base backup to restore');
    this.publishStatus();
    rmSync(join(this.o.dirs.dir, INITDB_DONE), { force: true });
    rmSync(join(this.o.dirs.dir, BOOTSTRAP_DONE), { force: true });
    rmSync(join(this.o.dirs.dir, POSTINIT_STARTED), { force: true });
    const store = clusterObjectStore(cluster);
    const plan = await planRecovery(
      cluster,
      spec,
      this.o.store,
      (name) => this.secret(name),
      store?.wal?.maxParallel ?? 8,
    );
    this.log.info(
      { backupId: plan.backupId, from: plan.from, target: plan.target },
      `recovering from base backup ${plan.backupId} of ${plan.from}`,
    );
    recreateEmptyDir(this.o.tools, this.o.dirs.pgdata);
    const started = Date.now();
    let lastReport = 0;
    const restored = await restoreBaseBackup({
      store: plan.archive.store,
      serverName: plan.archive.serverName,
      backupId: plan.backupId,
      pgdata: this.o.dirs.pgdata,
      signal: this.abort.signal,
      onProgress: (bytes, total) => {
        if (Date.now() - lastReport < 1000) return;
        lastReport = Date.now();
        const pct = total > 0 ? Math.floor((100 * bytes) / total) : 0;
        this.setPhase(
          'Recovering',
          `restoring base backup ${plan.backupId}: ${pct}% (${(bytes / 1048576).toFixed(0)} of ${(total / 1048576).toFixed(0)} MB)`,
        );
        this.publishStatus();
      },
    });
    if (cluster.spec.walStorage !== undefined) {
      // The WAL folder lives apart, as initdb --waldir does it.
      recreateEmptyDir(this.o.tools, this.o.dirs.walDir);
      mkdirSync(join(this.o.dirs.walDir, 'archive_status'), { recursive: true, mode: 0o700 });
      rmSync(join(this.o.dirs.pgdata, 'pg_wal'), { recursive: true, force: true });
      symlinkSync(this.o.dirs.walDir, join(this.o.dirs.pgdata, 'pg_wal'));
    }
    // Files the source cluster's configuration left behind are replaced by ours.
    rmSync(join(this.o.dirs.pgdata, 'postgresql.auto.conf'), { force: true });
    writeFileSync(join(this.o.dirs.pgdata, 'postgresql.auto.conf'), '', { mode: 0o600 });
    this.o.tools.chownToPg(this.o.dirs.pgdata);
    if (cluster.spec.walStorage !== undefined) this.o.tools.chownToPg(this.o.dirs.walDir);
    this.log.info({ ms: Date.now() - started }, `restored base backup ${plan.backupId}`);
    writeFileSync(join(this.o.dirs.dir, CHECK_EMPTY_WAL_ARCHIVE), '', { mode: 0o600 });
    this.recoverySource = plan.archive;
    try {
      this.configureWal(cluster);
      if (restored.beginWal !== null) {
        // Without a target, replay ends where the archive does (and reads its last segment twice).
        this.wal.prefetch(restored.beginWal, {
          archiveRecovery: true,
          endOfArchive: !recoveryTargetSettings(plan.target).some(([k]) => k !== 'recovery_target_timeline'),
        });
      }
      this.writeConfig(cluster, instance);
      const conf = join(this.o.dirs.pgdata, 'postgresql.conf');
      writeIfChanged(
        conf,
        `${readFileSync(conf, 'utf8')}\n${renderRecoveryConf({ restoreCommand: this.walCommands.restoreCommand })}`,
        0o600,
        this.o.tools,
      );
      writeIfChanged(join(this.o.dirs.pgdata, 'recovery.signal'), '', 0o600, this.o.tools);
      await this.replayUntilPromoted(plan);
    } finally {
      this.recoverySource = undefined;
    }
    // The promoted server goes on as the new primary (CNPG restarts it; nothing needs that
    // here): its configuration without the recovery settings is written and reloaded.
    writeFileSync(join(this.o.dirs.dir, INITDB_DONE), `${new Date().toISOString()}\n`, { mode: 0o600 });
    this.configureWal(cluster);
    this.writeConfig(cluster, instance);
    this.startupComplete = true;
    try {
      await this.reload();
    } catch (err) {
      // The recovery is done; the reload is retried by the next passes.
      this.pendingReload = true;
      this.log.warn(
        { err },
        `reloading the configuration after the recovery failed: ${(err as Error).message}`,
      );
    }
    this.log.info({ ms: Date.now() - started }, `recovery finished; the new cluster starts from it`);
  }

  /** Starts PostgreSQL in recovery and waits for it to promote, showing how far replay is. */
  private async replayUntilPromoted(plan: RecoveryPlan): Promise<void> {
    this.setPhase('Recovering', 'replaying WAL from the archive');
    this.publishStatus();
    const pid = this.postmaster.start(recoveryTargetSettings(plan.target));
    this.log.info({ postmasterPid: pid }, 'PostgreSQL started in recovery');
    let lastLsn = '';
    let lastReport = 0;
    let client: Awaited<ReturnType<typeof connectLocal>> | undefined;
    for (;;) {
      if (this.stopping) {
        await client?.end().catch(() => {});
        throw new Error('PGHERD_INSTANCE_STOPPING: the instance manager is stopping');
      }
      if (!this.postmaster.isRunning()) {
        await client?.end().catch(() => {});
        // Before the logging collector runs, PostgreSQL writes to its stderr.
        const fatal =
          lastFatalMessage(join(this.o.dirs.pgLogDir, 'postgres.json')) ||
          this.postmaster
            .lastStartupErrors(20)
            .split('\n')
            .filter((l) => /FATAL|PANIC|invalid value/.test(l))
            .map((l) => l.replace(/^.*?(FATAL|PANIC|LOG):\s+/, ''))
            .join('; ');
        const explained = explainRecoveryFailure(fatal, plan);
        if (explained !== undefined) {
          writeFileSync(join(this.o.dirs.dir, RECOVERY_FAILED), explained, { mode: 0o600 });
          throw new Error(explained);
        }
        throw new Error(
          `PGHERD_RECOVERY_FAILED: PostgreSQL stopped during the recovery: ${fatal || 'see the postgres log'}`,
        );
      }
      try {
        // One connection for the whole replay (promotion keeps it), asked every 100 ms: the
        // restart as primary follows the promotion without waiting out a longer poll.
        client ??= await connectLocal(this.conn(), 'postgres', 1000);
        const r = await client.query<{ rec: boolean; lsn: string | null }>(
          'SELECT pg_is_in_recovery() AS rec, pg_last_wal_replay_lsn()::text AS lsn',
        );
        const row = r.rows[0]!;
        if (!row.rec) break;
        if (row.lsn !== null && row.lsn !== lastLsn && Date.now() - lastReport >= 1000) {
          lastLsn = row.lsn;
          lastReport = Date.now();
          this.setPhase('Recovering', `replaying WAL from the archive: at ${row.lsn}`);
          this.publishStatus();
        }
      } catch {
        // Not accepting connections before the consistent point (or the connection broke).
        await client?.end().catch(() => {});
        client = undefined;
      }
      await sleep(100);
    }
    await client?.end().catch(() => {});
    this.log.info('recovery reached its target and PostgreSQL promoted; it goes on as the new primary');
    this.lastProbe = undefined;
  }

  private primaryEndpoint(cluster: ClusterResource): { host: string; port: number; name: string } {
    const name = cluster.status?.currentPrimary;
    if (name === undefined)
      throw new Error('PGHERD_INSTANCE_NO_PRIMARY: waiting for the cluster to have a primary');
    const primary = this.o.store.get<InstanceResource>('Instance', this.o.namespace, name);
    if (primary === undefined)
      throw new Error(`PGHERD_INSTANCE_NO_PRIMARY: primary ${name} has no instance record`);
    return { host: this.o.host, port: primary.spec.pgPort, name };
  }

  /**
   * synchronous_standby_names for this instance, as if it were the primary, from the other
   * instances as they are now: on the primary it is the cluster's requirement; a standby loads
   * it too (it means nothing during recovery) so that if it is promoted its very first commit
   * already waits for a standby. Empty while a new cluster bootstraps (the post-init SQL must
   * not wait for standbys that do not exist yet).
   */
  private syncStandbyNames(cluster: ClusterResource): string {
    if (!isClusterInitialized(cluster)) return '';
    const standbys = this.o.store
      .list<InstanceResource>('Instance', this.o.namespace)
      .filter(
        (i) =>
          i.spec.cluster === this.o.cluster && i.metadata.name !== this.o.instance && !isDeletionRequested(i),
      )
      .map((i) => ({
        name: i.metadata.name,
        healthy: i.status?.ready === true && i.status.role === 'replica',
      }));
    return planSyncStandbyNames({
      synchronous: cluster.spec.postgresql?.synchronous,
      minSyncReplicas: cluster.spec.minSyncReplicas ?? 0,
      maxSyncReplicas: cluster.spec.maxSyncReplicas ?? 0,
      primary: this.o.instance,
      standbys,
    });
  }

  /** Why a replica cannot clone yet (the primary is not designated or not ready), or undefined. */
  private primaryNotReady(cluster: ClusterResource): string | undefined {
    const name = cluster.status?.currentPrimary;
    if (name === undefined) return 'waiting for the cluster to have a primary to clone from';
    const primary = this.o.store.get<InstanceResource>('Instance', this.o.namespace, name);
    if (primary?.status?.ready !== true || primary.status.role !== 'primary') {
      return `waiting for the primary ${name} to be ready before cloning it`;
    }
    return undefined;
  }

  private slotName(cluster: ClusterResource, instance: string): string | undefined {
    const ha = cluster.spec.replicationSlots?.highAvailability;
    if (ha?.enabled === false) return undefined;
    return haSlotName(instance, ha?.slotPrefix ?? '_cnpg_');
  }

  private async join(cluster: ClusterResource): Promise<void> {
    const primary = this.primaryEndpoint(cluster);
    this.setPhase('Cloning', `cloning ${primary.name} with pg_basebackup`);
    this.publishStatus();
    const input = {
      pgdata: this.o.dirs.pgdata,
      walDir: cluster.spec.walStorage !== undefined ? this.o.dirs.walDir : undefined,
      primary,
      instanceName: this.o.instance,
      slotName: this.slotName(cluster, this.o.instance),
      certs: this.certs,
      verifyHost: !certificateSecretNames(cluster).userServerTls,
    };
    // The marker makes a clone that is interrupted (manager killed, machine down) count as no
    // data at all, so a half-copied directory is never started.
    const marker = join(this.o.dirs.dir, CLONE_IN_PROGRESS);
    writeFileSync(marker, `${new Date().toISOString()}\n`, { mode: 0o600 });
    await dropSlotOnPrimary(input, (p) => readFileSync(p, 'utf8'));
    const started = Date.now();
    await runBaseBackup(this.o.tools, input, this.abort.signal);
    this.ensureStandbySignal();
    rmSync(marker, { force: true });
    this.log.info({ ms: Date.now() - started }, `cloned ${primary.name}`);
  }

  /** Writes postgresql.conf, pg_hba.conf and pg_ident.conf; returns whether anything changed. */
  private writeConfig(cluster: ClusterResource, instance: InstanceResource): boolean {
    const { dirs, tools } = this.o;
    const pg = cluster.spec.postgresql;
    const archives = clusterObjectStore(cluster) !== undefined;
    this.renderedSync = this.syncStandbyNames(cluster);
    let conf = renderPostgresqlConf({
      clusterName: this.o.cluster,
      instanceName: this.o.instance,
      port: instance.spec.pgPort,
      listenAddresses: this.o.host,
      socketDir: dirs.socketDir,
      logDir: dirs.pgLogDir,
      certs: {
        serverCertFile: this.certs.serverCert,
        serverKeyFile: this.certs.serverKey,
        caFile: this.certs.clientCa,
      },
      userParameters: pg?.parameters ?? {},
      syncStandbyNames: this.renderedSync,
      hbaFile: join(dirs.pgdata, 'pg_hba.conf'),
      identFile: join(dirs.pgdata, 'pg_ident.conf'),
      // Always on, so that adding a backup store later needs a reload, not a restart; without
      // a store every file is archived by doing nothing (CNPG's wal-archive does the same).
      archiveCommand: archives ? this.walCommands.archiveCommand : '/bin/true',
    });
    if (existsSync(join(dirs.pgdata, 'standby.signal'))) {
      const primary = this.primaryEndpoint(cluster);
      const slot = this.slotName(cluster, this.o.instance);
      conf += `\n${renderStandbyConf({
        primaryConninfo: replicationConninfo({
          primary,
          instanceName: this.o.instance,
          certs: this.certs,
          verifyHost: !certificateSecretNames(cluster).userServerTls,
        }),
        ...(slot !== undefined ? { primarySlotName: slot } : {}),
        // A standby that fell behind the primary's WAL catches up from the archive.
        ...(archives ? { restoreCommand: this.walCommands.restoreCommand } : {}),
      })}`;
    }
    let changed = writeIfChanged(join(dirs.pgdata, 'postgresql.conf'), conf, 0o600, tools);
    changed =
      writeIfChanged(
        join(dirs.pgdata, 'pg_hba.conf'),
        renderPgHba({
          userRules: pg?.pg_hba ?? [],
          superuserNetworkAccess: cluster.spec.enableSuperuserAccess === true,
        }),
        0o600,
        tools,
      ) || changed;
    changed =
      writeIfChanged(
        join(dirs.pgdata, 'pg_ident.conf'),
        renderPgIdent({ localOsUsers: this.o.localOsUsers, userRules: pg?.pg_ident ?? [] }),
        0o600,
        tools,
      ) || changed;
    return changed;
  }

  private async startPostgres(cluster: ClusterResource): Promise<void> {
    this.setPhase('Starting', 'starting PostgreSQL');
    this.publishStatus();
    const pid = this.postmaster.start();
    const deadline = Date.now() + (cluster.spec.startDelay ?? 3600) * 1000;
    let lastErr: unknown;
    while (Date.now() < deadline) {
      if (this.stopping) throw new Error('PGHERD_INSTANCE_STOPPING: the instance manager is stopping');
      if (!this.postmaster.isRunning()) {
        throw new Error(
          `PGHERD_INSTANCE_START_FAILED: PostgreSQL exited while starting: ${this.postmaster.lastStartupErrors() || 'see the postgres log'}`,
        );
      }
      try {
        const client = await connectLocal(this.conn(), 'postgres', 1000);
        await client.end();
        this.log.info({ postmasterPid: pid }, 'PostgreSQL accepts connections');
        this.startupComplete = true;
        this.appliedSync = this.renderedSync;
        return;
      } catch (err) {
        lastErr = err;
      }
      await sleep(50);
    }
    throw new Error(
      `PGHERD_INSTANCE_START_TIMEOUT: PostgreSQL did not accept connections within startDelay`,
      {
        cause: lastErr,
      },
    );
  }

  private conn(): { socketDir: string; port: number } {
    if (this.instanceSpec === undefined) throw new Error('the instance has not been read from the store yet');
    return { socketDir: this.o.dirs.socketDir, port: this.instanceSpec.pgPort };
  }

  /**
   * The post-init SQL is not idempotent (user statements), so a failure starts the bootstrap
   * over: PostgreSQL is stopped and the initdb marker removed, and the next pass re-runs initdb.
   * Nothing of the user's exists before the cluster is Initialized.
   */
  private async postInit(cluster: ClusterResource): Promise<void> {
    this.setPhase('Initializing', 'running the post-init SQL');
    this.publishStatus();
    // If this manager dies during the SQL, its successor must not run it twice (user statements
    // are not idempotent): the marker makes it start the bootstrap over instead.
    writeFileSync(join(this.o.dirs.dir, POSTINIT_STARTED), `${new Date().toISOString()}\n`, { mode: 0o600 });
    try {
      await this.runPostInitSql(cluster);
    } catch (err) {
      rmSync(join(this.o.dirs.dir, INITDB_DONE), { force: true });
      await this.postmaster.stop('immediate', 10_000);
      this.startupComplete = false;
      throw err;
    }
    writeFileSync(join(this.o.dirs.dir, BOOTSTRAP_DONE), `${new Date().toISOString()}\n`, { mode: 0o600 });
  }

  private async runPostInitSql(cluster: ClusterResource): Promise<void> {
    const c = this.o.cluster;
    const recovery = recoverySpecOf(cluster);
    const initdb = cluster.spec.bootstrap?.initdb;
    const appSecretName = (recovery?.secret ?? initdb?.secret)?.name ?? `${c}-app`;
    const appSecret = this.secret(appSecretName);
    const superuserSecretName = cluster.spec.superuserSecret?.name ?? `${c}-superuser`;
    const appPassword = secretValue(appSecret, 'password', `the application user (${appSecretName})`);
    const superuserPassword =
      cluster.spec.enableSuperuserAccess === true
        ? secretValue(this.secret(superuserSecretName), 'password', `the superuser (${superuserSecretName})`)
        : undefined;
    if (recovery !== undefined) {
      const database = recovery.database ?? 'app';
      await runPostRecovery({
        conn: this.conn(),
        database,
        owner: recovery.owner ?? database,
        appPassword,
        superuserPassword,
      });
      return;
    }
    await runPostInit({
      conn: this.conn(),
      spec: cluster.spec,
      appUsername: secretValue(appSecret, 'username', `the application user (${appSecretName})`),
      appPassword,
      superuserPassword,
    });
  }

  /**
   * Takes the primary lease by compare-and-set: only while this instance is the target primary
   * and nobody else holds it. False when it cannot be taken now.
   */
  private takeLease(): boolean {
    let taken = false;
    const me = this.o.instance;
    updateWithRetry<ClusterResource>(this.o.store, 'Cluster', this.o.namespace, this.o.cluster, (c) => {
      taken = false;
      if (c.status?.targetPrimary !== me) return undefined;
      const lease = primaryLeaseOf(c);
      if (lease !== undefined && lease.holder !== me) return undefined;
      taken = true;
      if (lease?.session === this.sessionId) return undefined;
      const next: PrimaryLease = {
        holder: me,
        session: this.sessionId,
        acquiredTime: new Date().toISOString(),
      };
      c.status = { ...(c.status ?? {}), primaryLease: next };
      return c;
    });
    if (taken) this.log.info('holding the primary lease');
    return taken;
  }

  /** True when the store says this manager session holds the primary lease now. */
  private holdsLease(): boolean {
    const c = this.read().cluster;
    const lease = c === undefined ? undefined : primaryLeaseOf(c);
    return lease?.holder === this.o.instance && lease.session === this.sessionId;
  }

  /** Releases the primary lease if this manager holds it (after a clean shutdown or a crash). */
  private releaseLease(): void {
    const me = this.o.instance;
    try {
      updateWithRetry<ClusterResource>(this.o.store, 'Cluster', this.o.namespace, this.o.cluster, (c) => {
        const lease = primaryLeaseOf(c);
        // One manager runs per instance: a lease of this instance under an earlier (dead)
        // session is this manager's to release.
        if (lease === undefined || lease.holder !== me) return undefined;
        const { primaryLease: _released, ...rest } = c.status ?? {};
        c.status = rest;
        return c;
      });
      this.log.info('released the primary lease');
    } catch (err) {
      this.log.error({ err }, 'cannot release the primary lease');
    }
  }

  /**
   * Stops a PostgreSQL that runs as a primary but must not: cleanly in a switchover (checkpoint,
   * fast shutdown within switchoverDelay, so the target receives every WAL record), at once in
   * a failover. Then the lease is released for the new primary.
   */
  private async demote(cluster: ClusterResource, immediate: boolean, reason: string): Promise<boolean> {
    const target = cluster.status?.targetPrimary;
    if (!immediate && target !== undefined && !(await this.streamsTo(target))) {
      // The clean shutdown sends every WAL record only to standbys connected at that moment: a
      // target that is not streaming now would promote without the last acknowledged writes.
      this.setPhase('Demoting', `waiting for ${target} to stream from this primary before shutting down`);
      this.publishStatus();
      return false;
    }
    this.appliedSync = undefined;
    this.setPhase('Demoting', reason);
    this.publishStatus();
    if (immediate) {
      await this.postmaster.stopEscalating('immediate', 10_000);
      this.startupComplete = false;
      this.lastProbe = undefined;
      this.log.info('PostgreSQL stopped (immediate): this instance is no longer the primary');
    } else {
      await this.shutdownPostgres(cluster.spec.switchoverDelay * 1000, 'Demoting', reason);
      // The target promotes only once it has received the shutdown checkpoint recorded here.
      const lsn = readCheckpointLsn(this.o.dirs.pgdata);
      if (lsn !== undefined && isCleanShutdown(readClusterState(this.o.dirs.pgdata))) {
        updateWithRetry<ClusterResource>(this.o.store, 'Cluster', this.o.namespace, this.o.cluster, (c) => {
          c.status = {
            ...(c.status ?? {}),
            lastPrimaryShutdown: {
              instance: this.o.instance,
              checkpointLsn: lsn,
              at: new Date().toISOString(),
            },
          };
          return c;
        });
      }
    }
    this.releaseLease();
    this.publishStatus();
    return true;
  }

  /** True when `standby` streams from this primary right now (pg_stat_replication). */
  private async streamsTo(standby: string): Promise<boolean> {
    try {
      const client = await connectLocal(this.conn(), 'postgres', 2000);
      try {
        const r = await client.query<{ n: string }>(
          "SELECT count(*) AS n FROM pg_stat_replication WHERE application_name = $1 AND state = 'streaming'",
          [standby],
        );
        return r.rows[0]?.n !== '0';
      } finally {
        await client.end().catch(() => {});
      }
    } catch {
      return false;
    }
  }

  /**
   * Promotes this standby: it takes the lease, gets the new primary's synchronous configuration
   * before it can accept a write, promotes, creates the HA slots of the other instances (so they
   * follow without losing WAL), and records itself as currentPrimary. False when it must wait.
   */
  private async promote(cluster: ClusterResource, instance: InstanceResource): Promise<boolean> {
    if (!this.takeLease()) {
      this.setPhase('Pending', 'waiting for the primary lease before promoting');
      this.publishStatus();
      return false;
    }
    // A switchover: the old primary shut down cleanly and recorded its shutdown checkpoint;
    // promote only with that record received, or acknowledged writes would be left behind.
    // Only a record written for this very switchover counts (not one from an earlier one, in a
    // failover); and the receive position right after a receiver restart reads as the segment
    // start, so the furthest of received and replayed is what this standby has.
    const shutdown = cluster.status?.['lastPrimaryShutdown'] as
      | { instance: string; checkpointLsn: string; at?: string }
      | undefined;
    const probe = this.lastProbe;
    const positions = [probe?.receivedLsn, probe?.replayLsn].filter(
      (x): x is string => typeof x === 'string',
    );
    const received = positions.sort((x, y) => compareLsn(y, x))[0] ?? null;
    const since = cluster.status?.targetPrimaryTimestamp;
    if (
      probe?.isPrimary !== true &&
      shutdown !== undefined &&
      shutdown.instance === cluster.status?.currentPrimary &&
      shutdown.at !== undefined &&
      since !== undefined &&
      shutdown.at >= since &&
      (received === null || compareLsn(received, shutdown.checkpointLsn) <= 0)
    ) {
      this.setPhase(
        'Pending',
        `waiting to receive the old primary's shutdown checkpoint ${shutdown.checkpointLsn} before promoting (received ${received ?? 'nothing'})`,
      );
      this.publishStatus();
      return false;
    }
    const started = Date.now();
    this.setPhase('Promoting', 'promoting this standby to primary');
    this.publishStatus();
    if (this.lastProbe?.isPrimary !== true) {
      // The new primary's synchronous_standby_names is already loaded (standbys carry it), unless
      // an earlier attempt wrote it and its reload failed: reload whenever it is not in force.
      if (this.writeConfig(cluster, instance) || this.appliedSync !== this.renderedSync) await this.reload();
      const client = await connectLocal(this.conn());
      try {
        const r = await client.query<{ promoted: boolean }>('SELECT pg_promote(true, 60) AS promoted');
        if (r.rows[0]?.promoted !== true) {
          throw new Error(
            'PGHERD_INSTANCE_PROMOTE_FAILED: PostgreSQL did not finish its promotion within 60 s',
          );
        }
      } finally {
        await client.end().catch(() => {});
      }
      this.log.info({ ms: Date.now() - started }, 'PostgreSQL promoted');
    }
    try {
      await this.syncHaSlots(cluster, true);
    } catch (err) {
      // Never block the promotion on a slot: the standbys' slots are created again later.
      this.log.warn({ err }, 'cannot create the HA slots at promotion; retrying later');
    }
    let recorded = false;
    const now = new Date().toISOString();
    updateWithRetry<ClusterResource>(this.o.store, 'Cluster', this.o.namespace, this.o.cluster, (c) => {
      recorded = false;
      if (c.status?.targetPrimary !== this.o.instance) return undefined;
      recorded = true;
      if (c.status.currentPrimary === this.o.instance) return undefined;
      const { currentPrimaryFailingSinceTimestamp: _cleared, ...rest } = c.status;
      c.status = { ...rest, currentPrimary: this.o.instance, currentPrimaryTimestamp: now };
      return c;
    });
    if (!recorded) {
      throw new Error(
        'PGHERD_INSTANCE_PROMOTE_REVOKED: this instance stopped being the target primary while it promoted',
      );
    }
    this.log.info({ ms: Date.now() - started }, 'this instance is the primary');
    await this.refreshProbe();
    // pg_rewind of the former primary reads the new timeline from pg_control: checkpoint now.
    try {
      const client = await connectLocal(this.conn());
      await client.query('CHECKPOINT').finally(() => client.end().catch(() => {}));
    } catch (err) {
      this.log.warn({ err }, 'the checkpoint after the promotion failed');
    }
    return true;
  }

  /**
   * CNPG's primary isolation check: a running primary that reaches neither the control plane nor
   * any other instance's status API for `periodSeconds x failureThreshold` (spec.probes.liveness)
   * stops PostgreSQL, so that a partitioned primary accepts no writes while the others may fail
   * over. Skipped for a single instance and when isolationCheck.enabled is false.
   */
  private scheduleIsolationCheck(): void {
    const cluster = this.read().cluster;
    const live = livenessSettings(cluster?.spec.probes?.liveness);
    // Checks start every period even while an earlier one still waits for its timeouts.
    this.isolationWatch = setTimeout(() => {
      if (!this.stopping) this.scheduleIsolationCheck();
      void this.isolationCheck();
    }, live.periodMs);
  }

  private async isolationCheck(): Promise<void> {
    if (this.isolationRunning || this.o.controlPlaneReachable === undefined) return;
    this.isolationRunning = true;
    try {
      const cluster = this.read().cluster;
      const live = livenessSettings(cluster?.spec.probes?.liveness);
      const peers = this.o.store
        .list<InstanceResource>('Instance', this.o.namespace)
        .filter((i) => i.spec.cluster === this.o.cluster && i.metadata.name !== this.o.instance);
      const primary = this.postmaster.isRunning() && this.lastProbe?.isPrimary === true;
      if (cluster === undefined || !live.isolation.enabled || !primary || peers.length === 0) {
        this.lastConnected = Date.now();
        return;
      }
      const timeout = live.isolation.connectionTimeoutMs + live.isolation.requestTimeoutMs;
      if (await this.o.controlPlaneReachable(timeout)) {
        this.lastConnected = Date.now();
        return;
      }
      const ca = readFileSync(this.certs.serverCa, 'utf8');
      const reached = await Promise.all(
        peers.map((p) => pingPeer(this.o.host, p.spec.statusPort, ca, timeout)),
      );
      if (reached.some((x) => x)) {
        this.lastConnected = Date.now();
        return;
      }
      const alone = Date.now() - this.lastConnected;
      this.log.warn(
        { isolatedForMs: alone, limitMs: live.unresponsiveTimeoutMs },
        'isolation check: neither the control plane nor any other instance answers',
      );
      if (alone >= live.unresponsiveTimeoutMs) {
        this.isolated = `isolated: neither the control plane nor any other instance answered for ${Math.round(alone / 1000)} s`;
        this.wake?.();
      }
    } catch (err) {
      this.log.warn({ err }, 'isolation check failed');
    } finally {
      this.isolationRunning = false;
    }
  }

  /** The isolation check fired: stop PostgreSQL now and leave the decision to the control plane. */
  private async selfFence(reason: string): Promise<void> {
    this.log.error(`${reason}; stopping PostgreSQL so this primary accepts no more writes`);
    this.setPhase('Failed', reason);
    await this.postmaster.stopEscalating('immediate', 10_000);
    this.startupComplete = false;
    this.lastProbe = undefined;
    this.isolated = undefined;
    this.lastConnected = Date.now();
    this.releaseLease();
    this.primaryLostReason = `PostgreSQL of the primary ${this.o.instance} fenced itself (${reason})`;
    this.publishStatus();
  }

  /** Rewinds this former primary onto the new primary; it then starts as a standby. */
  private async rewind(cluster: ClusterResource): Promise<void> {
    const primary = this.primaryEndpoint(cluster);
    this.setPhase('Rewinding', `pg_rewind onto the new primary ${primary.name}`);
    this.publishStatus();
    const started = Date.now();
    try {
      const out = await runRewind(
        this.o.tools,
        {
          pgdata: this.o.dirs.pgdata,
          primary,
          instanceName: this.o.instance,
          certs: this.certs,
          verifyHost: !certificateSecretNames(cluster).userServerTls,
        },
        this.abort.signal,
      );
      this.log.info(
        { ms: Date.now() - started, output: out.split('\n').slice(-3).join(' | ') },
        'pg_rewind finished',
      );
    } catch (err) {
      this.rewindFailures++;
      const detail =
        (err as { result?: { stderr?: string } }).result?.stderr?.trim() || (err as Error).message;
      throw new Error(
        `PGHERD_INSTANCE_REWIND_FAILED: pg_rewind from ${primary.name} failed (attempt ${this.rewindFailures}; re-cloned after 4): ${detail.split('\n').slice(-3).join(' ')}`,
        { cause: err },
      );
    }
    this.rewindFailures = 0;
    this.rewindRequested = false;
    this.ensureStandbySignal();
  }

  private markInitialized(): void {
    const now = new Date().toISOString();
    updateWithRetry<ClusterResource>(this.o.store, 'Cluster', this.o.namespace, this.o.cluster, (cl) => {
      const status = cl.status ?? {};
      status.currentPrimary = this.o.instance;
      status.currentPrimaryTimestamp = now;
      status['primaryLease'] = { holder: this.o.instance, session: this.sessionId, acquiredTime: now };
      const conditions = (status.conditions ?? []).filter((x) => x.type !== 'Initialized');
      conditions.push({
        type: 'Initialized',
        status: 'True',
        reason: 'InitdbCompleted',
        message: `initdb and post-init SQL completed on ${this.o.instance}`,
        lastTransitionTime: now,
      });
      status.conditions = conditions;
      cl.status = status;
      return cl;
    });
  }

  private async reload(): Promise<void> {
    const client = await connectLocal(this.conn());
    try {
      const next = this.renderedSync;
      if (next !== this.appliedSync && this.appliedSync !== undefined) {
        // failoverQuorum must not judge by a requirement that is being replaced.
        this.appliedSync = undefined;
        this.publishStatus();
      }
      await client.query('SELECT pg_reload_conf()');
      this.appliedSync = next;
      this.log.info('configuration reloaded');
    } finally {
      await client.end().catch(() => {});
    }
  }

  private async refreshProbe(): Promise<void> {
    try {
      const client = await connectLocal(this.conn(), 'postgres', 2000);
      try {
        this.lastProbe = await probe(client);
        this.lastProbeError = undefined;
        this.probeFailures = 0;
      } finally {
        await client.end().catch(() => {});
      }
    } catch (err) {
      const msg = (err as Error).message;
      if (msg !== this.lastProbeError) this.log.warn({ err }, `PostgreSQL status check failed: ${msg}`);
      this.lastProbeError = msg;
      // One slow answer is not an outage: readiness (and -rw's connections) survive two misses.
      this.probeFailures++;
      if (this.probeFailures >= 3 || !this.postmaster.isRunning()) this.lastProbe = undefined;
    }
  }

  /**
   * The primary keeps a physical slot for every replica that finished cloning, and drops the
   * slots of instances that no longer exist (scale-down), so WAL is neither lost nor hoarded.
   */
  private async syncHaSlots(cluster: ClusterResource, promoting = false): Promise<void> {
    if (!promoting && Date.now() - this.lastSlotSync < 2000) return;
    this.lastSlotSync = Date.now();
    const ha = cluster.spec.replicationSlots?.highAvailability;
    if (ha?.enabled === false) return;
    const prefix = ha?.slotPrefix ?? '_cnpg_';
    const instances = this.o.store
      .list<InstanceResource>('Instance', this.o.namespace)
      .filter((i) => i.spec.cluster === this.o.cluster && i.metadata.name !== this.o.instance);
    const wanted = new Map(instances.map((i) => [haSlotName(i.metadata.name, prefix), i]));
    const client = await connectLocal(this.conn());
    try {
      const r = await client.query<{ slot_name: string; active: boolean }>(
        "SELECT slot_name, active FROM pg_replication_slots WHERE slot_type = 'physical' AND starts_with(slot_name, $1)",
        [prefix],
      );
      const existing = new Map(r.rows.map((x) => [x.slot_name, x.active]));
      for (const [slot, inst] of wanted) {
        // At a promotion every other instance gets its slot at once: the standbys follow the
        // new primary without a gap in the WAL kept for them.
        if (!existing.has(slot) && (promoting || inst.status?.phase === 'Running')) {
          await client.query('SELECT pg_create_physical_replication_slot($1, true)', [slot]);
          this.log.info({ slot }, `created the HA replication slot for ${inst.metadata.name}`);
        }
      }
      for (const [slot, active] of existing) {
        if (!wanted.has(slot) && !active) {
          await client.query('SELECT pg_drop_replication_slot($1)', [slot]);
          this.log.info({ slot }, 'dropped the HA replication slot of a removed instance');
        }
      }
    } finally {
      await client.end().catch(() => {});
    }
  }

  /**
   * The synchronous requirement PostgreSQL loaded, for failoverQuorum. Kept while PostgreSQL is
   * down after a crash: it is what the lost primary had, the very thing the quorum judges by.
   * A standby's value ('') parses to nothing.
   */
  private appliedSyncStatus(): { synchronous?: { number: number; names: string[] } } {
    // Standbys load the value they would need as the primary (so a promotion is synchronous
    // from its first commit); only the current primary's is the cluster's requirement.
    if (!this.isCurrentPrimary) return {};
    const parsed = this.appliedSync === undefined ? undefined : parseSyncStandbyNames(this.appliedSync);
    return parsed === undefined ? {} : { synchronous: { number: parsed.number, names: parsed.names } };
  }

  /**
   * A standby keeps a copy of the primary's HA slots of the other instances (CNPG's slot
   * replicator), advanced every `replicationSlots.updateInterval` to where the primary has them
   * (never beyond what this standby replayed), so that when it is promoted every other standby
   * finds its slot with the WAL it still needs. Slots the primary no longer has are dropped.
   */
  private async mirrorHaSlots(cluster: ClusterResource): Promise<void> {
    const interval = (cluster.spec.replicationSlots?.updateInterval ?? 30) * 1000;
    if (Date.now() - this.lastSlotMirror < interval) return;
    this.lastSlotMirror = Date.now();
    const ha = cluster.spec.replicationSlots?.highAvailability;
    if (ha?.enabled === false) return;
    const prefix = ha?.slotPrefix ?? '_cnpg_';
    const own = haSlotName(this.o.instance, prefix);
    let onPrimary: PrimarySlot[];
    try {
      onPrimary = await readPrimarySlots(
        {
          primary: this.primaryEndpoint(cluster),
          certs: this.certs,
          verifyHost: !certificateSecretNames(cluster).userServerTls,
        },
        prefix,
        (p) => readFileSync(p, 'utf8'),
      );
    } catch (err) {
      this.log.warn({ err }, "cannot read the primary's HA slots to mirror them; retrying later");
      return;
    }
    const wanted = new Map(
      onPrimary.filter((x) => x.slotName !== own).map((x) => [x.slotName, x.restartLsn]),
    );
    const client = await connectLocal(this.conn());
    try {
      const local = await client.query<{
        slot_name: string;
        restart_lsn: string | null;
        replay: string | null;
      }>(
        "SELECT slot_name, restart_lsn::text, pg_last_wal_replay_lsn()::text AS replay FROM pg_replication_slots WHERE slot_type = 'physical' AND starts_with(slot_name, $1)",
        [prefix],
      );
      const have = new Map(local.rows.map((x) => [x.slot_name, x.restart_lsn]));
      for (const [slot, lsn] of wanted) {
        if (!have.has(slot)) {
          await client.query('SELECT pg_create_physical_replication_slot($1, true)', [slot]);
          this.log.info({ slot }, 'mirrored the HA replication slot of another instance');
        }
        if (lsn === null) continue;
        // Advancing stops at what this standby replayed; PostgreSQL refuses to go backwards.
        await client
          .query(
            'SELECT pg_replication_slot_advance($1, LEAST($2::pg_lsn, pg_last_wal_replay_lsn())) WHERE (SELECT restart_lsn FROM pg_replication_slots WHERE slot_name = $1) < LEAST($2::pg_lsn, pg_last_wal_replay_lsn())',
            [slot, lsn],
          )
          .catch((err: unknown) => this.log.warn({ err, slot }, 'cannot advance a mirrored HA slot'));
      }
      for (const slot of have.keys()) {
        if (!wanted.has(slot)) {
          await client.query('SELECT pg_drop_replication_slot($1)', [slot]);
          this.log.info({ slot }, 'dropped a mirrored HA slot the primary no longer has');
        }
      }
    } finally {
      await client.end().catch(() => {});
    }
  }

  /**
   * A running standby that has stayed on an older timeline than the ready primary for 10 s: its
   * WAL went past the point where the new timeline forked (it was ahead of the standby that was
   * promoted), so PostgreSQL keeps refusing the new timeline ("forked off ... before current
   * recovery point"). A standby that follows switches timeline within a second.
   */
  private cannotFollow(cluster: ClusterResource): boolean {
    const p = this.lastProbe;
    const name = cluster.status?.currentPrimary;
    const primary =
      name === undefined || name === this.o.instance
        ? undefined
        : this.o.store.get<InstanceResource>('Instance', this.o.namespace, name);
    const primaryTimeline = primary?.status?.timelineId;
    const behind =
      p !== undefined &&
      !p.isPrimary &&
      primary?.status?.ready === true &&
      primary.status.role === 'primary' &&
      primaryTimeline !== undefined &&
      primaryTimeline > p.timelineId;
    if (!behind) {
      this.notStreamingSince = undefined;
      return false;
    }
    this.notStreamingSince ??= Date.now();
    return Date.now() - this.notStreamingSince >= 10_000;
  }

  /** Writes this instance's status into the store when something a reader cares about changed. */
  private publishStatus(): void {
    const r = this.report();
    const status: InstanceStatus = {
      phase: r.phase,
      phaseReason: r.phaseReason,
      role: r.isPostgresUp ? (r.isPrimary ? 'primary' : 'replica') : 'unknown',
      ready: r.ready,
      managerPid: r.managerPid,
      ...(r.postmasterPid !== null ? { postmasterPid: r.postmasterPid } : {}),
      ...(r.timelineId !== null ? { timelineId: r.timelineId } : {}),
      ...(r.systemId !== null ? { systemId: r.systemId } : {}),
      sessionId: r.sessionId,
      ...(this.primaryLostReason !== undefined ? { primaryLost: this.primaryLostReason } : {}),
      ...this.appliedSyncStatus(),
    };
    // Compared with what the store holds, not with what we last wrote: someone else (the
    // controller clearing a stale ready flag) may have changed it since.
    const fingerprint = JSON.stringify(status);
    updateWithRetry<InstanceResource>(this.o.store, 'Instance', this.o.namespace, this.o.instance, (i) => {
      const { lastUpdate: _ignored, ...stored } = i.status ?? {};
      if (JSON.stringify(stored) === fingerprint) return undefined;
      i.status = { ...status, lastUpdate: new Date().toISOString() };
      return i;
    });
  }

  private async shutdownPostgres(
    timeoutMs?: number,
    phase = 'Stopped',
    reason = 'PostgreSQL was stopped by the instance manager',
  ): Promise<void> {
    if (!this.postmaster.isRunning()) return;
    const cluster = this.read().cluster;
    this.setPhase('Stopping', 'shutting PostgreSQL down');
    try {
      const client = await connectLocal(this.conn(), 'postgres', 1000);
      await client.query('CHECKPOINT').catch(() => {});
      await client.end().catch(() => {});
    } catch {
      /* shutting down anyway */
    }
    await this.postmaster.stopEscalating('fast', timeoutMs ?? (cluster?.spec.stopDelay ?? 1800) * 1000);
    this.startupComplete = false;
    this.log.info('PostgreSQL stopped');
    try {
      this.setPhase(phase, reason);
      this.lastProbe = undefined;
      this.publishStatus();
    } catch {
      /* the instance may be gone */
    }
  }
}

/** GET /failsafe on a peer's status API: true when it answers 200 within `timeoutMs`. */
function pingPeer(host: string, port: number, ca: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpsRequest(
      {
        host,
        port,
        path: INSTANCE_PATHS.failsafe,
        method: 'GET',
        ca,
        checkServerIdentity: () => undefined,
        timeout: timeoutMs,
        agent: false,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    const timer = setTimeout(() => req.destroy(), timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** The last FATAL or PANIC message in PostgreSQL's JSON log (its last 256 kB). */
function lastFatalMessage(logFile: string): string {
  let text: string;
  try {
    const buf = readFileSync(logFile);
    text = buf.subarray(Math.max(0, buf.length - 262_144)).toString('utf8');
  } catch {
    return '';
  }
  let last = '';
  for (const line of text.split('\n')) {
    if (!line.includes('"FATAL"') && !line.includes('"PANIC"')) continue;
    try {
      const rec = JSON.parse(line) as { message?: string };
      if (rec.message !== undefined) last = rec.message;
    } catch {
      /* a partial line */
    }
  }
  return last;
}
