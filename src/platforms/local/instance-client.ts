/** Reads an instance manager's HTTPS status API, verifying it with the cluster CA. */
import { request } from 'node:https';
import type { InstanceResource } from '../../api/internal.ts';
import { INSTANCE_PATHS, type InstanceReport } from '../../instance/contract.ts';
import type { InstanceClient } from '../../ports/instance-runtime.ts';

export function createLocalInstanceClient(host: string): InstanceClient {
  return {
    getStatus(instance: InstanceResource, caPem: string, timeoutMs: number): Promise<InstanceReport> {
      return new Promise((resolve, reject) => {
        const req = request(
          {
            host,
            port: instance.spec.statusPort,
            path: INSTANCE_PATHS.status,
            method: 'GET',
            ca: caPem,
            // verify-ca, as CNPG's operator: the chain must lead to the cluster's server CA; a
            // certificate the user brought need not name 127.0.0.1 or localhost.
            checkServerIdentity: () => undefined,
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
              if (res.statusCode !== 200) {
                reject(new Error(`${instance.metadata.name}: HTTP ${res.statusCode}: ${body.slice(0, 200)}`));
                return;
              }
              try {
                resolve(JSON.parse(body) as InstanceReport);
              } catch (err) {
                reject(err);
              }
            });
          },
        );
        req.on('timeout', () =>
          req.destroy(new Error(`${instance.metadata.name}: no answer within ${timeoutMs} ms`)),
        );
        req.on('error', reject);
        req.end();
      });
    },
  };
}
