/** Where PostgreSQL's programs are: $PGHERD_PG_BINDIR, else `pg_config --bindir`. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export function findPgBindir(env: NodeJS.ProcessEnv): string {
  const fromEnv = env['PGHERD_PG_BINDIR'];
  let dir: string | undefined = fromEnv;
  if (dir === undefined || dir === '') {
    try {
      dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
    } catch {
      // Debian puts pg_config on PATH only with libpq-dev; look where postgresql-15 installs.
      dir = ['/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/17/bin'].find(
        (d) => existsSync(join(d, 'postgres')),
      );
    }
  }
  if (dir === undefined || !existsSync(join(dir, 'postgres')) || !existsSync(join(dir, 'initdb'))) {
    throw new Error(
      `PGHERD_LOCAL_NO_POSTGRES: PostgreSQL's programs were not found${fromEnv ? ` in PGHERD_PG_BINDIR=${fromEnv}` : ''}. Install PostgreSQL 15 (apt-get install -y postgresql-15) or set PGHERD_PG_BINDIR to the folder holding postgres, initdb and pg_basebackup.`,
    );
  }
  return dir;
}
