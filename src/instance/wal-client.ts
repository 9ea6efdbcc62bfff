/**
 * The slow path of archive_command and restore_command (CNPG's `manager wal-archive` /
 * `wal-restore`): PostgreSQL runs it as its own OS user, and it asks the instance manager over
 * a Unix socket to archive or restore one WAL file. The fast path needs no process at all:
 * the manager archives `.ready` files ahead of PostgreSQL and prefetches WAL ahead of replay,
 * leaving a marker (archive) or the file (restore) in a spool folder that the shell command
 * consumes first (see wal-archiver.ts).
 *
 *   node wal-client.js archive SOCKET %p
 *   node wal-client.js restore SOCKET %f %p
 *
 * Self-contained on purpose (node:net only): the manager copies this file into the instance
 * folder, where PostgreSQL's account can read it wherever pgherd is installed. Exit codes: 0
 * done; 1 not done (PostgreSQL retries an archive, or treats a restore as "not in the
 * archive"); 126 only for a restore error during an archive recovery, which must stop
 * PostgreSQL (above 125 is fatal to it) rather than end the recovery early.
 */
import { connect } from 'node:net';

/** One request over the socket: a JSON line. */
export interface WalRequest {
  op: 'archive' | 'restore';
  /** archive: %p (relative to PGDATA, which is the working directory). */
  path?: string;
  /** restore: %f and %p. */
  name?: string;
  destination?: string;
  /** The working directory of the client (PGDATA): relative paths are resolved against it. */
  cwd: string;
}

/** The answer: a JSON line. */
export interface WalResponse {
  ok: boolean;
  /** restore: the archive does not have the file (the normal end of recovery). */
  missing?: boolean;
  /**
   * restore during an archive recovery: the error persists and must stop PostgreSQL (exit
   * 126) rather than pass for the end of the archive.
   */
  fatal?: boolean;
  error?: string;
}

/** Sends one request and waits for the answer (or `timeoutMs`). */
export function askManager(socket: string, request: WalRequest, timeoutMs: number): Promise<WalResponse> {
  return new Promise((resolve) => {
    let buffer = '';
    let settled = false;
    const done = (r: WalResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.destroy();
      resolve(r);
    };
    const conn = connect(socket);
    const timer = setTimeout(
      () => done({ ok: false, error: `the instance manager did not answer within ${timeoutMs / 1000} s` }),
      timeoutMs,
    );
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(`${JSON.stringify(request)}\n`));
    conn.on('data', (chunk: string) => {
      buffer += chunk;
      const nl = buffer.indexOf('\n');
      if (nl < 0) return;
      try {
        done(JSON.parse(buffer.slice(0, nl)) as WalResponse);
      } catch {
        done({ ok: false, error: 'the instance manager sent an unreadable answer' });
      }
    });
    conn.on('error', (err) =>
      done({
        ok: false,
        error: `cannot reach the instance manager at ${socket} (${err.message}); is it running?`,
      }),
    );
    conn.on('close', () => done({ ok: false, error: 'the instance manager closed the connection' }));
  });
}

async function main(argv: string[]): Promise<number> {
  const [op, socket, a, b] = argv;
  let request: WalRequest;
  if (op === 'archive' && socket !== undefined && a !== undefined) {
    request = { op, path: a, cwd: process.cwd() };
  } else if (op === 'restore' && socket !== undefined && a !== undefined && b !== undefined) {
    request = { op, name: a, destination: b, cwd: process.cwd() };
  } else {
    process.stderr.write('usage: wal-client archive SOCKET %p | wal-client restore SOCKET %f %p\n');
    return 1;
  }
  // An archive may wait for an upload; PostgreSQL waits with it (and retries after an error).
  const response = await askManager(socket, request, op === 'archive' ? 600_000 : 300_000);
  if (response.ok) return 0;
  if (response.missing !== true) {
    process.stderr.write(`pgherd wal-${op}: ${response.error ?? 'failed'}\n`);
  }
  return response.fatal === true ? 126 : 1;
}

// Run only as a program, not when imported (the manager and the tests import askManager).
if (process.argv[1] !== undefined && /wal-client\.(js|mjs)$/.test(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`pgherd wal client: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
