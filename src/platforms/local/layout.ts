/**
 * Where everything lives under $PGHERD_HOME, and who may read it. Two homes are two
 * independent installations. Unix socket paths are limited to 107 bytes, so deep homes get
 * their sockets in a short, per-home folder under the system temp directory.
 */

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, lchownSync, lstatSync, mkdirSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** The OS account PostgreSQL runs as, and whether pgherd must switch to it. */
export interface PgUser {
  name: string;
  uid: number;
  gid: number;
  /** True when pgherd runs as root and must start PostgreSQL tools as `name`. */
  switchUser: boolean;
}

/** Longest socket path we allow ourselves (Linux sun_path is 108 bytes with the NUL). */
const MAX_SOCKET_PATH = 100;

/** $PGHERD_HOME resolution: flag, then env, then a default (root: /var/lib/pgherd, others: ~/.pgherd). */
export function resolveHome(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag !== undefined && flag !== '') return resolve(flag);
  if (env['PGHERD_HOME'] !== undefined && env['PGHERD_HOME'] !== '') return resolve(env['PGHERD_HOME']);
  // root's home (/root) is 0700 and the postgres user could not reach a PGDATA inside it.
  if (process.getuid?.() === 0) return '/var/lib/pgherd';
  return join(homedir(), '.pgherd');
}

/** A short folder for sockets when `preferred/name` would be too long. */
function shortSocketPath(preferredDir: string, name: string): string {
  const candidate = join(preferredDir, name);
  if (Buffer.byteLength(candidate) <= MAX_SOCKET_PATH) return candidate;
  const hash = createHash('sha256').update(preferredDir).digest('hex').slice(0, 16);
  const inTmpdir = join(tmpdir(), `pgherd-${hash}`, name);
  // TMPDIR itself may be deep: /tmp is always short.
  return Buffer.byteLength(inTmpdir) <= MAX_SOCKET_PATH ? inTmpdir : join('/tmp', `pgherd-${hash}`, name);
}

export class HomeLayout {
  readonly home: string;
  constructor(home: string) {
    this.home = home;
  }
  get storeFile(): string {
    return join(this.home, 'store.db');
  }
  get apiSocket(): string {
    return shortSocketPath(join(this.home, 'run'), 'pgherd.sock');
  }
  get operatorPidFile(): string {
    return join(this.home, 'operator.pid');
  }
  get operatorLog(): string {
    return join(this.home, 'logs', 'operator.log');
  }
  get routerPidFile(): string {
    return join(this.home, 'router.pid');
  }
  get routerLog(): string {
    return join(this.home, 'logs', 'router.log');
  }
  get logsDir(): string {
    return join(this.home, 'logs');
  }
  clusterDir(namespace: string, cluster: string): string {
    return join(this.home, 'clusters', namespace, cluster);
  }
  instanceDir(namespace: string, cluster: string, instance: string): string {
    return join(this.clusterDir(namespace, cluster), instance);
  }
  instancePaths(namespace: string, cluster: string, instance: string): InstancePaths {
    const dir = this.instanceDir(namespace, cluster, instance);
    return {
      dir,
      pgdata: join(dir, 'pgdata'),
      walDir: join(dir, 'pgwal'),
      certs: join(dir, 'certs'),
      pgLogDir: join(dir, 'log'),
      managerLog: join(dir, 'manager.log'),
      managerPidFile: join(dir, 'manager.pid'),
      socketDir: dirname(shortSocketPath(join(dir, 'run'), '.s.PGSQL.65535')),
    };
  }
}

export interface InstancePaths {
  dir: string;
  pgdata: string;
  walDir: string;
  certs: string;
  pgLogDir: string;
  managerLog: string;
  managerPidFile: string;
  socketDir: string;
}

/** Who runs PostgreSQL: the current user, or `postgres` when we are root. */
export function resolvePgUser(): PgUser {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  if (uid !== 0) {
    const name = execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();
    return { name, uid, gid, switchUser: false };
  }
  let pgUid: number;
  let pgGid: number;
  try {
    pgUid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    pgGid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  } catch (err) {
    throw new Error(
      'PGHERD_LOCAL_NO_POSTGRES_USER: pgherd runs as root, and PostgreSQL refuses to run as root, but there is no `postgres` OS user. Install PostgreSQL (apt-get install postgresql-15) or run pgherd as a normal user.',
      { cause: err },
    );
  }
  return { name: 'postgres', uid: pgUid, gid: pgGid, switchUser: true };
}

/**
 * Creates a folder with a mode (and owner), fixing the mode if it already exists. Refuses a
 * symlink or a folder owned by another user: some of these folders live under the shared
 * temp directory with predictable names, and root must never chmod/chown what a link points to.
 */
export function ensureDir(path: string, mode: number, owner?: { uid: number; gid: number }): void {
  mkdirSync(path, { recursive: true, mode });
  const st = lstatSync(path);
  const me = process.getuid?.() ?? 0;
  if (!st.isDirectory()) {
    throw new Error(
      `PGHERD_LOCAL_UNSAFE_PATH: ${path} is not a folder (a symlink or file is in the way); remove it`,
    );
  }
  if (st.uid !== me && st.uid !== owner?.uid) {
    throw new Error(
      `PGHERD_LOCAL_UNSAFE_PATH: ${path} belongs to another user (uid ${st.uid}); pgherd will not use it. Remove it or choose a shorter --home`,
    );
  }
  chmodSync(path, mode);
  if (owner !== undefined) lchownSync(path, owner.uid, owner.gid);
}

/**
 * When PostgreSQL runs as another user, every folder above its data must be traversable by
 * it. Returns the first folder that is not, so the error can name it.
 */
export function findUntraversableAncestor(path: string, user: PgUser): string | undefined {
  if (!user.switchUser) return undefined;
  let dir = resolve(path);
  const chain: string[] = [];
  while (true) {
    chain.unshift(dir);
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  for (const d of chain) {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(d);
    } catch {
      return undefined; // not created yet: we create it with the right mode
    }
    const canTraverse =
      st.uid === user.uid
        ? (st.mode & 0o100) !== 0
        : st.gid === user.gid
          ? (st.mode & 0o010) !== 0
          : (st.mode & 0o001) !== 0;
    if (!canTraverse) return d;
  }
  return undefined;
}

/** Creates $PGHERD_HOME with modes that let PostgreSQL's account reach its data and nothing else. */
export function prepareHome(layout: HomeLayout): void {
  const pgUser = resolvePgUser();
  const blocked = findUntraversableAncestor(layout.home, pgUser);
  if (blocked !== undefined) {
    throw new Error(
      `PGHERD_LOCAL_HOME_NOT_TRAVERSABLE: PostgreSQL runs as "${pgUser.name}", which cannot enter ${blocked} (a folder above PGHERD_HOME=${layout.home}). Choose a home it can reach (e.g. --home /var/lib/pgherd) or allow it to traverse that folder (chmod o+x ${blocked}).`,
    );
  }
  // 0711 when PostgreSQL runs as another user: it may pass through, not list.
  ensureDir(layout.home, pgUser.switchUser ? 0o711 : 0o700);
  ensureDir(layout.logsDir, 0o700);
}

export function selfCommand(entry: string): [string, string] {
  return [process.execPath, entry];
}
