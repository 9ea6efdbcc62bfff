/**
 * The local control plane's API for the CLI: HTTP over a unix socket that only its owner can
 * open (the socket's folder is 0700 and the socket 0600).
 */
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { type ControlPlane, ControlPlaneError } from '../../ports/control-plane.ts';
import { ensureDir } from './layout.ts';

async function readBody(req: IncomingMessage): Promise<unknown> {
  let body = '';
  for await (const chunk of req) body += chunk as string;
  return body === '' ? {} : JSON.parse(body);
}

export function startApiServer(socketPath: string, cp: ControlPlane, logger: Logger): Promise<Server> {
  ensureDir(dirname(socketPath), 0o700);
  if (existsSync(socketPath)) unlinkSync(socketPath);
  const server = createServer((req, res) => {
    req.setEncoding('utf8');
    const send = (code: number, payload: unknown): void => {
      res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    };
    (async () => {
      const url = new URL(req.url ?? '/', 'http://pgherd');
      const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      const ns = url.searchParams.get('namespace') ?? 'default';
      if (req.method === 'POST' && parts[0] === 'apply') {
        const b = (await readBody(req)) as { text: string; file: string; dryRun?: boolean };
        return send(200, await cp.apply(b.text, b.file, { dryRun: b.dryRun === true }));
      }
      if (req.method === 'GET' && parts[0] === 'resources' && parts[1] !== undefined) {
        return send(200, await cp.get(parts[1], ns, parts[2]));
      }
      if (
        req.method === 'DELETE' &&
        parts[0] === 'resources' &&
        parts[1] !== undefined &&
        parts[2] !== undefined
      ) {
        await cp.delete(parts[1], ns, parts[2]);
        return send(200, { ok: true });
      }
      if (req.method === 'GET' && parts[0] === 'status' && parts[1] !== undefined) {
        return send(200, await cp.status(ns, parts[1]));
      }
      if (req.method === 'POST' && parts[0] === 'fence' && parts[1] !== undefined) {
        const b = (await readBody(req)) as { instance: string; on: boolean };
        return send(200, await cp.fence(ns, parts[1], b.instance, b.on === true));
      }
      if (req.method === 'POST' && parts[0] === 'promote' && parts[1] !== undefined) {
        const b = (await readBody(req)) as { instance: string };
        return send(200, await cp.promote(ns, parts[1], String(b.instance)));
      }
      if (req.method === 'POST' && parts[0] === 'reload' && parts[1] !== undefined) {
        return send(200, await cp.reload(ns, parts[1]));
      }
      if (req.method === 'POST' && parts[0] === 'shutdown') {
        const b = (await readBody(req)) as { stopInstances?: boolean };
        send(200, { ok: true });
        setImmediate(() => {
          cp.shutdown({ stopInstances: b.stopInstances !== false }).catch((err: unknown) =>
            logger.error({ err }, 'shutdown failed'),
          );
        });
        return;
      }
      if (req.method === 'GET' && parts[0] === 'ping') return send(200, { ok: true, pid: process.pid });
      return send(404, {
        error: {
          message: `no such endpoint ${req.method} ${url.pathname}`,
          code: 'PGHERD_CONTROL_NO_ENDPOINT',
        },
      });
    })().catch((err: unknown) => {
      if (err instanceof ControlPlaneError) {
        send(err.category === 'user' ? 400 : 500, {
          error: { message: err.message, code: err.code, category: err.category },
        });
        return;
      }
      logger.error({ err }, 'API request failed');
      send(500, {
        error: { message: (err as Error).message, code: 'PGHERD_INTERNAL', category: 'internal' },
      });
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      chmodSync(socketPath, 0o600);
      resolve(server);
    });
  });
}
