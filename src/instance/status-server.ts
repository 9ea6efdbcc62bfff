/**
 * The instance manager's HTTPS API (CNPG's port 8000), on loopback with the cluster's server
 * certificate. Read-only status and probes are open, as in CNPG. Endpoints that change state
 * require the control plane's client certificate: the TLS handshake asks for one, and its
 * SHA-256 fingerprint must be the one the control plane published in the Cluster's status
 * (CNPG's operatorCertificateFingerprint) — 401 without a certificate, 403 with another.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { INSTANCE_PATHS, type InstanceReport } from './contract.ts';

export interface StatusServerOptions {
  port: number;
  host: string;
  cert: string;
  key: string;
  report: () => InstanceReport;
  /** The fingerprint (hex SHA-256 of the DER) a caller of a mutating endpoint must present. */
  trustedFingerprint: () => string | undefined;
  /** POST /pg/reload: reload PostgreSQL's configuration now. */
  reload: () => Promise<void>;
  /** POST /pg/restart: restart PostgreSQL soon (the manager's loop does it); returns at once. */
  restart: () => void;
}

/** Hex SHA-256 of a certificate's DER bytes, as published in the Cluster status. */
export function certificateFingerprint(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex');
}

export function startStatusServer(opts: StatusServerOptions): Promise<Server> {
  // requestCert without rejectUnauthorized: anyone may read, only the control plane may act.
  const tlsOptions = {
    cert: opts.cert,
    key: opts.key,
    minVersion: 'TLSv1.3' as const,
    requestCert: true,
    rejectUnauthorized: false,
  };
  const server = createServer(tlsOptions, (req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    const json = (code: number, body: unknown): void => {
      res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.method === 'POST') {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      if (peer === undefined || peer.raw === undefined) {
        json(401, { error: 'this endpoint requires the control plane client certificate' });
        return;
      }
      const expected = opts.trustedFingerprint();
      if (expected === undefined || certificateFingerprint(peer.raw) !== expected) {
        json(403, { error: 'the client certificate is not the control plane certificate' });
        return;
      }
      if (url === INSTANCE_PATHS.restart) {
        opts.restart();
        json(202, { restarting: true });
        return;
      }
      if (url === INSTANCE_PATHS.reload) {
        opts.reload().then(
          () => json(200, { reloaded: true }),
          (err: unknown) => json(500, { error: (err as Error).message }),
        );
        return;
      }
      json(404, { error: `no such path ${url}` });
      return;
    }
    if (req.method !== 'GET') {
      json(405, { error: 'method not allowed' });
      return;
    }
    const report = opts.report();
    switch (url) {
      case INSTANCE_PATHS.status:
        json(200, report);
        return;
      case INSTANCE_PATHS.failsafe:
        json(200, { ok: true });
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
