import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findUntraversableAncestor, HomeLayout, type PgUser, resolveHome } from './layout.ts';

const isRoot = process.getuid?.() === 0;
const bytes = (s: string): number => Buffer.byteLength(s);

describe('resolveHome', () => {
  it('takes the --home flag over PGHERD_HOME', () => {
    expect(resolveHome('/srv/flag-home', { PGHERD_HOME: '/srv/env-home' })).toBe('/srv/flag-home');
  });

  it('takes PGHERD_HOME when no flag is given, or the flag is empty', () => {
    expect(resolveHome(undefined, { PGHERD_HOME: '/srv/env-home' })).toBe('/srv/env-home');
    expect(resolveHome('', { PGHERD_HOME: '/srv/env-home' })).toBe('/srv/env-home');
  });

  it('makes relative homes absolute against the working directory and drops a trailing slash', () => {
    expect(resolveHome('rel/home/', {})).toBe(join(process.cwd(), 'rel/home'));
    expect(resolveHome(undefined, { PGHERD_HOME: 'env/home' })).toBe(join(process.cwd(), 'env/home'));
  });

  it('falls back to the default when neither is set (an empty PGHERD_HOME counts as unset)', () => {
    // root's own home is 0700, so root gets a folder the postgres user can reach.
    const expected = isRoot ? '/var/lib/pgherd' : join(homedir(), '.pgherd');
    expect(resolveHome(undefined, {})).toBe(expected);
    expect(resolveHome(undefined, { PGHERD_HOME: '' })).toBe(expected);
    expect(resolveHome('', { PGHERD_HOME: '' })).toBe(expected);
  });
});

describe('HomeLayout socket paths', () => {
  it('keeps sockets inside a short home', () => {
    const layout = new HomeLayout('/tmp/pgh-short');
    expect(layout.apiSocket).toBe('/tmp/pgh-short/run/pgherd.sock');
    expect(layout.instancePaths('default', 'pg', 'pg-1').socketDir).toBe(
      '/tmp/pgh-short/clusters/default/pg/pg-1/run',
    );
  });

  it('moves the sockets of a very deep home to a short per-home folder under the temp directory', () => {
    const deep = `/tmp/${'deep/'.repeat(60)}home`;
    const layout = new HomeLayout(deep);
    const api = layout.apiSocket;
    const socketDir = layout.instancePaths('default', 'pg', 'pg-1').socketDir;
    expect(bytes(api)).toBeLessThanOrEqual(100);
    // PostgreSQL names its socket .s.PGSQL.<port>: the longest port must still fit.
    expect(bytes(join(socketDir, '.s.PGSQL.65535'))).toBeLessThanOrEqual(100);
    expect(api).toMatch(new RegExp(`^${tmpdir()}/pgherd-[0-9a-f]{16}/pgherd\\.sock$`));
    expect(socketDir).toMatch(new RegExp(`^${tmpdir()}/pgherd-[0-9a-f]{16}$`));
    // Stable across processes (a second layout of the same home), distinct across homes and instances.
    expect(new HomeLayout(deep).apiSocket).toBe(api);
    expect(new HomeLayout(`${deep}2`).apiSocket).not.toBe(api);
    expect(layout.instancePaths('default', 'pg', 'pg-2').socketDir).not.toBe(socketDir);
    expect(socketDir).not.toBe(join(api, '..'));
  });

  it('keeps a socket path of exactly 100 bytes in the home and moves one of 101', () => {
    // '/run/pgherd.sock' is 16 bytes.
    const fits = `/tmp/${'a'.repeat(79)}`;
    expect(bytes(join(fits, 'run', 'pgherd.sock'))).toBe(100);
    expect(new HomeLayout(fits).apiSocket).toBe(join(fits, 'run', 'pgherd.sock'));
    const tooLong = `${fits}b`;
    expect(new HomeLayout(tooLong).apiSocket.startsWith(tooLong)).toBe(false);
    expect(bytes(new HomeLayout(tooLong).apiSocket)).toBeLessThanOrEqual(100);
  });

  it('counts bytes, not characters: a home with multi-byte names moves sooner', () => {
    const home = `/tmp/${'é'.repeat(40)}`; // 61 characters of socket path, 101 bytes
    expect(join(home, 'run', 'pgherd.sock').length).toBe(61);
    expect(new HomeLayout(home).apiSocket.startsWith(home)).toBe(false);
    expect(bytes(new HomeLayout(home).apiSocket)).toBeLessThanOrEqual(100);
  });

  it('keeps an instance socket of exactly 100 bytes in the instance folder and moves one of 101', () => {
    // '/clusters/default/pg/pg-1/run/.s.PGSQL.65535' is 44 bytes.
    const fits = `/tmp/${'a'.repeat(51)}`;
    const dir = new HomeLayout(fits).instancePaths('default', 'pg', 'pg-1').socketDir;
    expect(dir).toBe(join(fits, 'clusters/default/pg/pg-1/run'));
    expect(bytes(join(dir, '.s.PGSQL.65535'))).toBe(100);
    const moved = new HomeLayout(`${fits}b`).instancePaths('default', 'pg', 'pg-1').socketDir;
    expect(moved.startsWith(fits)).toBe(false);
  });
});

describe('findUntraversableAncestor', () => {
  /**
   * The postgres OS account, as root would run PostgreSQL. The check only reads modes and
   * owners, so it runs as any user, as long as that user is not the one in the PgUser (the
   * folders below would then be its own); then a uid/gid that owns nothing stands in.
   */
  const postgres = ((): PgUser => {
    const standIn: PgUser = { name: 'stand-in', uid: 4242, gid: 4242, switchUser: true };
    try {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      return uid === process.getuid?.() ? standIn : { name: 'postgres', uid, gid, switchUser: true };
    } catch {
      return standIn;
    }
  })();

  let base: string;
  beforeEach(() => {
    base = mkdtempSync('/tmp/pgh-layout-');
    chmodSync(base, 0o711);
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  /** Creates base/<rel> with the given mode (parents created beforehand keep theirs). */
  const dir = (rel: string, mode: number, owner?: { uid: number; gid: number }): string => {
    const p = join(base, rel);
    mkdirSync(p);
    chmodSync(p, mode);
    if (owner !== undefined) chownSync(p, owner.uid, owner.gid);
    return p;
  };

  it('names the first folder on the way that PostgreSQL cannot enter', () => {
    dir('a', 0o711);
    const blocked = dir('a/b', 0o700);
    dir('a/b/c', 0o700);
    dir('a/b/c/d', 0o711);
    expect(findUntraversableAncestor(join(base, 'a/b/c/d/home'), postgres)).toBe(blocked);
  });

  it('passes a chain of 0711 folders, including a home that does not exist yet', () => {
    dir('a', 0o711);
    dir('a/b', 0o711);
    expect(findUntraversableAncestor(join(base, 'a/b/home'), postgres)).toBeUndefined();
    expect(findUntraversableAncestor(join(base, 'a/missing/deeper/home'), postgres)).toBeUndefined();
  });

  it('blocks on a fresh mkdtemp folder (0700) right under /tmp', () => {
    const fresh = mkdtempSync(join(base, 'fresh-'));
    expect(findUntraversableAncestor(join(fresh, 'home'), postgres)).toBe(fresh);
  });

  it('checks the home folder itself, and resolves a relative path first', () => {
    dir('a', 0o711);
    const home = dir('a/home', 0o700);
    expect(findUntraversableAncestor(home, postgres)).toBe(home);
    expect(findUntraversableAncestor(relative(process.cwd(), join(home, 'x')), postgres)).toBe(home);
  });

  it('checks nothing when PostgreSQL runs as the current user', () => {
    const blocked = dir('a', 0o700);
    expect(findUntraversableAncestor(join(blocked, 'home'), { ...postgres, switchUser: false })).toBe(
      undefined,
    );
  });

  // The kernel reads the owner's bits for the owner and the group's for the group, even when
  // the bits for others would allow more. Giving folders to another user needs root.
  it.skipIf(!isRoot)("uses the owner's bits for a folder PostgreSQL owns", () => {
    dir('own', 0o700, postgres);
    expect(findUntraversableAncestor(join(base, 'own/home'), postgres)).toBeUndefined();
    const noOwnerX = dir('own/no-owner-x', 0o601, postgres);
    expect(findUntraversableAncestor(join(noOwnerX, 'home'), postgres)).toBe(noOwnerX);
  });

  it.skipIf(!isRoot)("uses the group's bits for a folder of PostgreSQL's group", () => {
    const group = { uid: 0, gid: postgres.gid };
    dir('grp', 0o710, group);
    expect(findUntraversableAncestor(join(base, 'grp/home'), postgres)).toBeUndefined();
    const noGroupX = dir('grp/no-group-x', 0o701, group);
    expect(findUntraversableAncestor(join(noGroupX, 'home'), postgres)).toBe(noGroupX);
  });
});
