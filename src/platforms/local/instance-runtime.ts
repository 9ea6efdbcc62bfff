/**
 * The local platform's InstanceRuntime: instance managers are detached processes, data lives
 * in folders under $PGHERD_HOME, services are the router's listeners.
 */
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { InstanceResource } from '../../api/internal.ts';
import type { InstanceRuntime } from '../../ports/instance-runtime.ts';
import { ensureDir, type HomeLayout, type PgUser } from './layout.ts';
import { isOurProcess, processesInDirectory, readLivePid, spawnDetached, waitForExit } from './processes.ts';

export interface LocalRuntimeOptions {
  layout: HomeLayout;
  pgUser: PgUser;
  /** How to run ourselves: [node, path/to/bin/pgherd.js]. */
  self: [string, string];
  logger: Logger;
  host: string;
  /** PGHERD_PORT_RANGE, when set: FROM-TO. */
  portRange?: string | undefined;
}

export function managerMarkers(layout: HomeLayout, instance: string): string[] {
  return ['instance', '--home', layout.home, '--instance', instance];
}

export function operatorMarkers(home: string): string[] {
  return ['operator', '--home', home];
}

export function routerMarkers(layout: HomeLayout): string[] {
  return ['router', '--home', layout.home];
}

/** How long a just-spawned process counts as running before it has taken its pid file. */
const STARTING_GRACE_MS = 5000;

const key = (i: InstanceResource): string => `${i.metadata.namespace}/${i.metadata.name}`;

/** SIGKILL to a process group we created (detached spawn: the group id is the leader's pid). */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

export class LocalInstanceRuntime implements InstanceRuntime {
  private readonly recentlyStarted = new Map<string, number>();
  private readonly o: LocalRuntimeOptions;
  constructor(o: LocalRuntimeOptions) {
    this.o = o;
  }

  isManagerAlive(instance: InstanceResource): boolean {
    const { layout } = this.o;
    const paths = layout.instancePaths(
      instance.metadata.namespace,
      instance.spec.cluster,
      instance.metadata.name,
    );
    if (readLivePid(paths.managerPidFile, managerMarkers(layout, instance.metadata.name)) !== undefined)
      return true;
    // A manager takes its pid file a moment after it is spawned: do not start a second one.
    return this.isStarting(key(instance));
  }

  isPostgresRunning(instance: InstanceResource): boolean {
    return processesInDirectory(this.pgdataOf(instance)).length > 0;
  }

  async killPostgres(instance: InstanceResource): Promise<void> {
    const pgdata = this.pgdataOf(instance);
    for (let round = 0; round < 20; round++) {
      const pids = processesInDirectory(pgdata);
      if (pids.length === 0) return;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      if (round === 0) {
        this.o.logger.warn(
          { instance: instance.metadata.name, pids },
          `killed the PostgreSQL processes of the failed primary ${instance.metadata.name}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(
      `PGHERD_LOCAL_POSTGRES_UNKILLABLE: PostgreSQL processes of ${instance.metadata.name} survive SIGKILL`,
    );
  }

  private pgdataOf(instance: InstanceResource): string {
    return this.o.layout.instancePaths(
      instance.metadata.namespace,
      instance.spec.cluster,
      instance.metadata.name,
    ).pgdata;
  }

  private isStarting(k: string): boolean {
    const at = this.recentlyStarted.get(k);
    return at !== undefined && Date.now() - at < STARTING_GRACE_MS;
  }

  async startManager(instance: InstanceResource): Promise<void> {
    if (this.isManagerAlive(instance)) return;
    const { layout, pgUser } = this.o;
    const ns = instance.metadata.namespace;
    const paths = layout.instancePaths(ns, instance.spec.cluster, instance.metadata.name);
    // Folders above PGDATA are traversable (0711) but not listable by PostgreSQL's account;
    // what PostgreSQL owns is 0700 and its own.
    ensureDir(join(layout.home, 'clusters'), 0o711);
    ensureDir(join(layout.home, 'clusters', ns), 0o711);
    ensureDir(layout.clusterDir(ns, instance.spec.cluster), 0o711);
    ensureDir(paths.dir, 0o711);
    const pgOwner = pgUser.switchUser ? { uid: pgUser.uid, gid: pgUser.gid } : undefined;
    ensureDir(paths.certs, 0o700, pgOwner);
    ensureDir(paths.pgLogDir, 0o700, pgOwner);
    ensureDir(paths.socketDir, 0o700, pgOwner);
    const [node, script] = this.o.self;
    const pid = spawnDetached({
      command: node,
      args: [
        script,
        'instance',
        '--home',
        layout.home,
        '--namespace',
        ns,
        '--cluster',
        instance.spec.cluster,
        '--instance',
        instance.metadata.name,
      ],
      logFile: paths.managerLog,
    });
    this.recentlyStarted.set(key(instance), Date.now());
    this.o.logger.info({ instance: instance.metadata.name, pid }, 'instance manager started');
  }

  async destroyInstance(
    namespace: string,
    cluster: string,
    instance: string,
    timeoutMs: number,
  ): Promise<void> {
    const { layout } = this.o;
    const paths = layout.instancePaths(namespace, cluster, instance);
    const markers = managerMarkers(layout, instance);
    const pid = readLivePid(paths.managerPidFile, markers);
    if (pid !== undefined) {
      // The manager notices its Instance is gone, stops PostgreSQL and exits on its own.
      if (!(await waitForExit(pid, markers, timeoutMs))) {
        // Its whole process group: an initdb or pg_basebackup it started goes too (the
        // postmaster runs in a session of its own and is stopped below).
        killGroup(pid);
        await waitForExit(pid, markers, 5000);
      }
    }
    if (await this.stopOrphanPostmaster(paths.pgdata)) {
      throw new Error(
        `PGHERD_LOCAL_POSTMASTER_STILL_RUNNING: PostgreSQL of ${instance} does not stop; its data is kept until it does`,
      );
    }
    rmSync(paths.dir, { recursive: true, force: true });
    if (!paths.socketDir.startsWith(paths.dir)) rmSync(paths.socketDir, { recursive: true, force: true });
    this.o.logger.info({ instance }, 'instance removed');
  }

  /**
   * A postmaster left without its manager (manager killed) is stopped before its data goes.
   * Returns true when it is still running after fast and then immediate shutdown.
   */
  private async stopOrphanPostmaster(pgdata: string): Promise<boolean> {
    let pid: number;
    try {
      pid = Number(readFileSync(join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      return false;
    }
    const markers = ['-D', pgdata];
    if (!Number.isInteger(pid) || pid <= 0 || !isOurProcess(pid, markers)) return false;
    process.kill(pid, 'SIGINT');
    if (await waitForExit(pid, markers, 30_000)) return false;
    if (isOurProcess(pid, markers)) process.kill(pid, 'SIGQUIT');
    return !(await waitForExit(pid, markers, 10_000));
  }

  async destroyClusterData(namespace: string, cluster: string): Promise<void> {
    rmSync(this.o.layout.clusterDir(namespace, cluster), { recursive: true, force: true });
  }

  async ensureRouter(): Promise<void> {
    const { layout } = this.o;
    if (readLivePid(layout.routerPidFile, routerMarkers(layout)) !== undefined || this.isStarting('router'))
      return;
    ensureDir(layout.logsDir, 0o700);
    const [node, script] = this.o.self;
    const pid = spawnDetached({
      command: node,
      args: [script, 'router', '--home', layout.home],
      logFile: layout.routerLog,
    });
    this.recentlyStarted.set('router', Date.now());
    this.o.logger.info({ pid }, 'router started');
  }

  /**
   * Ports for services and instances come from below the kernel's ephemeral range, so that an
   * outgoing connection (which takes an ephemeral port) can never hold the port an instance
   * needs after a restart. PGHERD_PORT_RANGE=FROM-TO overrides the range.
   */
  async allocatePorts(count: number, taken: ReadonlySet<number>): Promise<number[]> {
    const [from, to] = portRange(this.o.portRange);
    const out: number[] = [];
    for (let attempts = 0; out.length < count && attempts < 500; attempts++) {
      const port = from + Math.floor(Math.random() * (to - from + 1));
      if (taken.has(port) || out.includes(port)) continue;
      if (await isFree(this.o.host, port)) out.push(port);
    }
    if (out.length < count) {
      throw new Error(
        `PGHERD_LOCAL_NO_FREE_PORT: no free loopback TCP port between ${from} and ${to}; set PGHERD_PORT_RANGE=FROM-TO to another range`,
      );
    }
    return out;
  }
}

/**
 * The range to take ports from: PGHERD_PORT_RANGE, else from 20000 up to just below the
 * kernel's ephemeral range (net.ipv4.ip_local_port_range, 32768 by default).
 */
export function portRange(override: string | undefined): [number, number] {
  if (override !== undefined && override !== '') {
    const m = /^(\d+)-(\d+)$/.exec(override.trim());
    const from = Number(m?.[1]);
    const to = Number(m?.[2]);
    if (m === null || from < 1024 || to > 65535 || from > to) {
      throw new Error(
        `PGHERD_LOCAL_PORT_RANGE: PGHERD_PORT_RANGE="${override}" must be FROM-TO within 1024-65535`,
      );
    }
    return [from, to];
  }
  let ephemeralLow = 32768;
  try {
    ephemeralLow = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
    );
  } catch {
    /* not Linux: keep the default */
  }
  return [20000, Math.max(20000 + 1000, ephemeralLow - 1)];
}

/** True when nothing listens on `host:port` right now. */
function isFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}
