/**
 * Reads the cluster state from PGDATA/global/pg_control without running pg_controldata: the
 * state is a 32-bit enum right after the system identifier and the two version numbers
 * (src/include/catalog/pg_control.h, unchanged since PostgreSQL 9.x).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';

/** DBState in pg_control.h order. */
const STATES = [
  'starting up',
  'shut down',
  'shut down in recovery',
  'shutting down',
  'in crash recovery',
  'in archive recovery',
  'in production',
] as const;

export type ClusterState = (typeof STATES)[number] | 'unknown';

/** The state pg_control records, or 'unknown' when the file cannot be read. */
export function readClusterState(pgdata: string): ClusterState {
  let fd: number | undefined;
  try {
    fd = openSync(join(pgdata, 'global', 'pg_control'), 'r');
    const buf = Buffer.alloc(20);
    if (readSync(fd, buf, 0, 20, 0) < 20) return 'unknown';
    return STATES[buf.readUInt32LE(16)] ?? 'unknown';
  } catch {
    return 'unknown';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * The location of the latest checkpoint record (ControlFileData.checkPoint, after the
 * system identifier, two version numbers, the state and the 8-byte time), as `X/Y`.
 */
export function readCheckpointLsn(pgdata: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(join(pgdata, 'global', 'pg_control'), 'r');
    const buf = Buffer.alloc(40);
    if (readSync(fd, buf, 0, 40, 0) < 40) return undefined;
    const lsn = buf.readBigUInt64LE(32);
    return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A clean shutdown: nothing to recover, the data is exactly what was last written. */
export function isCleanShutdown(state: ClusterState): boolean {
  return state === 'shut down' || state === 'shut down in recovery';
}
