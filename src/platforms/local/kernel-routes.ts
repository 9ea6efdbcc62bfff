/**
 * Kernel routing for the local Services, the way kube-proxy implements Kubernetes Services:
 * an nftables DNAT rule per service port sends each new loopback connection straight to an
 * instance, so the bytes never pass through a userspace proxy (on a small machine the proxy's
 * CPU is taken from PostgreSQL and its clients). The router keeps its listeners on the service
 * ports: they hold the ports, and they serve any connection no rule covers (a service with no
 * ready backend is closed at once, as before). Needs root and the `nft` program.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';

/** One service port and the instance ports it forwards to (round robin when several). */
export interface KernelRoute {
  port: number;
  backends: number[];
}

export interface KernelRoutes {
  /** Replaces every rule of this home atomically. Throws when nft refuses. */
  apply(routes: readonly KernelRoute[]): void;
  /** Removes this home's table (idempotent). */
  remove(): void;
  readonly table: string;
}

/** The nftables table of one $PGHERD_HOME (two homes never share rules). */
export function nftTableName(home: string): string {
  return `pgherd_${createHash('sha256').update(home).digest('hex').slice(0, 12)}`;
}

/**
 * The whole table as one nft script: declaring then deleting the table first makes the script
 * replace the previous rules in a single transaction (no moment without rules).
 */
export function renderNftTable(table: string, routes: readonly KernelRoute[]): string {
  const rules = routes
    .filter((r) => r.backends.length > 0)
    .map((r) => {
      const match = `ip daddr 127.0.0.1 tcp dport ${r.port}`;
      if (r.backends.length === 1) return `    ${match} dnat ip to 127.0.0.1:${r.backends[0]}`;
      const map = r.backends.map((p, i) => `${i} : 127.0.0.1 . ${p}`).join(', ');
      return `    ${match} dnat ip addr . port to numgen inc mod ${r.backends.length} map { ${map} }`;
    });
  return [
    `table ip ${table}`,
    `delete table ip ${table}`,
    `table ip ${table} {`,
    '  chain output {',
    '    type nat hook output priority -100; policy accept;',
    ...rules,
    '  }',
    '}',
    '',
  ].join('\n');
}

function nft(script: string): void {
  execFileSync('nft', ['-f', '-'], { input: script, stdio: ['pipe', 'ignore', 'pipe'], timeout: 10_000 });
}

/** nftables routes for a home. */
export function createNftRoutes(home: string): KernelRoutes {
  const table = nftTableName(home);
  return {
    table,
    apply(routes) {
      nft(renderNftTable(table, routes));
    },
    remove() {
      try {
        nft(`table ip ${table}\ndelete table ip ${table}\n`);
      } catch (err) {
        // Not installed: there can be no table. Anything else is a table we could not remove.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    },
  };
}

/**
 * Whether kernel routing can be used here: root, `nft` installed, and allowed to create a
 * table (a container without CAP_NET_ADMIN is not). Returns the reason when not.
 */
export function kernelRoutingAvailable(home: string): { ok: true } | { ok: false; reason: string } {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'pgherd does not run as root' };
  const probe = `${nftTableName(home)}_probe`;
  try {
    nft(`table ip ${probe}\ndelete table ip ${probe}\n`);
    return { ok: true };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT')
      return { ok: false, reason: 'the nft program is not installed (apt-get install nftables)' };
    return { ok: false, reason: `nft refused: ${String(e.stderr ?? e.message).trim()}` };
  }
}
