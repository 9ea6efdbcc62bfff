/**
 * Calls an instance manager's HTTPS API, verifying it with the cluster's server CA (verify-ca,
 * as CNPG's operator: a certificate the user brought need not name 127.0.0.1). Mutating calls
 * present the control plane's client certificate.
 */
import { request } from 'node:https';
import type { InstanceResource } from '../../api/internal.ts';
import { INSTANCE_PATHS, type InstanceReport } from '../../instance/contract.ts';
import type { InstanceClient } from '../../ports/instance-runtime.ts';

/** The control plane's TLS client identity (CNPG creates one in memory at start). */
export interface ClientIdentity {
  certPem: string;
  keyPem: string;
}

function call(
  host: string,
  instance: InstanceResource,
  method: 'GET' | 'POST',
  path: string,
  caPem: string,
  timeoutMs: number,
  identity: ClientIdentity | undefined,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host,
        port: instance.spec.statusPort,
        path,
        method,
        ca: caPem,
        checkServerIdentity: () => undefined,
        ...(identity !== undefined ? { cert: identity.certPem, key: identity.keyPem } : {}),
        timeout: timeoutMs,
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => {
          // 202: accepted (a restart happens in the manager's loop).
          if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode > 299) {
            reject(new Error(`${instance.metadata.name}: HTTP ${res.statusCode}: ${body.slice(0, 200)}`));
            return;
          }
          resolve(body);
        });
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`${instance.metadata.name}: no answer within ${timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end();
  });
}

export function createLocalInstanceClient(host: string, identity?: ClientIdentity): InstanceClient {
  return {
    async getStatus(instance, caPem, timeoutMs): Promise<InstanceReport> {
      return JSON.parse(
        await call(host, instance, 'GET', INSTANCE_PATHS.status, caPem, timeoutMs, undefined),
      ) as InstanceReport;
    },
    async reload(instance, caPem, timeoutMs): Promise<void> {
      await call(host, instance, 'POST', INSTANCE_PATHS.reload, caPem, timeoutMs, identity);
    },
    async restart(instance, caPem, timeoutMs): Promise<void> {
      await call(host, instance, 'POST', INSTANCE_PATHS.restart, caPem, timeoutMs, identity);
    },
  };
}
