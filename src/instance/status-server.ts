/**
 * The instance manager's HTTPS API (CNPG's port 8000): read-only status and probes, served
 * with the cluster's server certificate on loopback.
 */
import { createServer, type Server } from 'node:https';
import { INSTANCE_PATHS, type InstanceReport } from './contract.ts';

export interface StatusServerOptions {
  port: number;
  host: string;
  cert: string;
  key: string;
  report: () => InstanceReport;
}

export function startStatusServer(opts: StatusServerOptions): Promise<Server> {
  const server = createServer({ cert: opts.cert, key: opts.key, minVersion: 'TLSv1.3' }, (req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { 'content-type': 'application/json' }).end('{"error":"method not allowed"}');
      return;
    }
    const report = opts.report();
    const json = (code: number, body: unknown): void => {
      res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    switch (url) {
      case INSTANCE_PATHS.status:
        json(200, report);
        return;
      case INSTANCE_PATHS.healthz:
        json(200, { ok: true, phase: report.phase });
        return;
      case INSTANCE_PATHS.readyz:
        json(report.ready ? 200 : 503, {
          ready: report.ready,
          phase: report.phase,
          reason: report.phaseReason,
        });
        return;
      default:
        json(404, { error: `no such path ${url}` });
    }
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  return new Promise((resolve, reject) => {
    server.once('error', (err) =>
      reject(
        new Error(
          `PGHERD_INSTANCE_STATUS_PORT: cannot listen on ${opts.host}:${opts.port} for the instance status API (${err.message}); is another process using the port?`,
          { cause: err },
        ),
      ),
    );
    server.listen(opts.port, opts.host, () => resolve(server));
  });
}
