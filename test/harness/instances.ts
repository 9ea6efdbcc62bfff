/** Reaching one instance's PostgreSQL and processes directly, as a fault-injection test must. */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';

/** Runs a query as the superuser over the unix socket of the instance in `instanceDir` (we run as root or its owner). */
export async function sqlOn<T>(instanceDir: string, query: string, database = 'postgres'): Promise<T[]> {
  const c = await connectInstance(instanceDir, database);
  try {
    return (await c.query(query)).rows as T[];
  } finally {
    await c.end();
  }
}

/** Pids whose working directory is `dir` (PostgreSQL's processes of one data directory). */
export function processesIn(dir: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        return readlinkSync(`/proc/${e}/cwd`) === dir;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** SIGCONT to stopped processes; one the failover killed meanwhile is skipped. */
export function resume(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      /* gone */
    }
  }
}

/** A superuser client over the unix socket of the instance in `instanceDir`; the caller ends it. */
export async function connectInstance(instanceDir: string, database = 'postgres'): Promise<pg.Client> {
  const conf = readFileSync(join(instanceDir, 'pgdata', 'postgresql.conf'), 'utf8');
  const port = Number(/^port = '?(\d+)'?/m.exec(conf)![1]);
  const socketDir = /^unix_socket_directories = '([^']+)'/m.exec(conf)![1]!;
  const c = new pg.Client({ host: socketDir, port, user: 'postgres', database });
  await c.connect();
  return c;
}
