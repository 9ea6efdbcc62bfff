/** The CLI's side of the local control-plane API (HTTP over the owner-only unix socket). */
import { request } from 'node:http';
import type { ApplyResult, ClusterView, ControlPlane, PromoteResult } from '../../ports/control-plane.ts';
import { ControlPlaneError } from '../../ports/control-plane.ts';
import type { StoredObject } from '../../ports/store.ts';

function call<T>(
  socketPath: string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 60_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, method, path, headers: { 'content-type': 'application/json' }, timeout: timeoutMs },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            reject(
              new ControlPlaneError(
                `the control plane sent a malformed answer: ${text.slice(0, 200)}`,
                'PGHERD_CLI_BAD_ANSWER',
                'internal',
              ),
            );
            return;
          }
          if ((res.statusCode ?? 500) >= 400) {
            const e =
              (parsed as { error?: { message?: string; code?: string; category?: 'user' | 'internal' } })
                .error ?? {};
            reject(
              new ControlPlaneError(
                e.message ?? `HTTP ${res.statusCode}`,
                e.code ?? 'PGHERD_INTERNAL',
                e.category ?? 'internal',
              ),
            );
            return;
          }
          resolve(parsed as T);
        });
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`the control plane did not answer within ${timeoutMs} ms`)),
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
        reject(
          new ControlPlaneError(
            `the control plane is not running (no answer on ${socketPath}); start it with \`pgherd up\` or \`pgherd operator\``,
            'PGHERD_CLI_NO_CONTROL_PLANE',
            'user',
          ),
        );
        return;
      }
      reject(
        new ControlPlaneError(
          `cannot reach the control plane: ${err.message}`,
          'PGHERD_CLI_NO_CONTROL_PLANE',
          'internal',
        ),
      );
    });
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}

export function createApiClient(
  socketPath: string,
): ControlPlane & { ping(timeoutMs?: number): Promise<{ pid: number }> } {
  const q = (ns: string): string => `?namespace=${encodeURIComponent(ns)}`;
  return {
    apply: (text, file, opts = {}) =>
      call<ApplyResult>(socketPath, 'POST', '/apply', { text, file, dryRun: opts.dryRun === true }),
    get: (kind, ns, name) =>
      call<StoredObject[]>(
        socketPath,
        'GET',
        `/resources/${encodeURIComponent(kind)}${name !== undefined ? `/${encodeURIComponent(name)}` : ''}${q(ns)}`,
      ),
    delete: async (kind, ns, name) => {
      await call(
        socketPath,
        'DELETE',
        `/resources/${encodeURIComponent(kind)}/${encodeURIComponent(name)}${q(ns)}`,
      );
    },
    status: (ns, name) => call<ClusterView>(socketPath, 'GET', `/status/${encodeURIComponent(name)}${q(ns)}`),
    fence: (ns, name, instance, on) =>
      call<{ fenced: string[] }>(socketPath, 'POST', `/fence/${encodeURIComponent(name)}${q(ns)}`, {
        instance,
        on,
      }),
    promote: (ns, name, instance) =>
      call<PromoteResult>(socketPath, 'POST', `/promote/${encodeURIComponent(name)}${q(ns)}`, { instance }),
    reload: (ns, name) =>
      call<{ reloaded: string[] }>(socketPath, 'POST', `/reload/${encodeURIComponent(name)}${q(ns)}`),
    shutdown: async (opts) => {
      await call(socketPath, 'POST', '/shutdown', opts);
    },
    ping: (timeoutMs = 2000) => call<{ pid: number }>(socketPath, 'GET', '/ping', undefined, timeoutMs),
  };
}
