/** `pgherd up` and `pgherd down`: the whole local installation in one command. */
import { applicationDatabase, type ClusterResource } from '../api/index.ts';
import type { ServiceResource } from '../api/internal.ts';
import { applyFile } from './apply.ts';
import type { CliContext } from './context.ts';
import { waitForReady } from './wait.ts';

export async function upCommand(ctx: CliContext, file: string | undefined, timeoutMs: number): Promise<void> {
  const started = Date.now();
  const { started: fresh, pid } = await ctx.platform.startControlPlane(ctx.io.progress);
  ctx.io.progress(
    fresh
      ? `control plane started (pid ${pid}, home ${ctx.platform.home})`
      : `control plane already running (pid ${pid})`,
  );
  if (file === undefined) return;
  const result = await applyFile(ctx, file);
  const clusters = result.outcomes.filter((o) => o.kind === 'Cluster');
  for (const c of clusters) {
    const sub = { ...ctx, namespace: c.namespace };
    const ready = await waitForReady(sub, c.name, timeoutMs);
    const services = (await ctx.platform.controlPlane().get('service', c.namespace)) as ServiceResource[];
    ctx.io.out(
      connectionHelp(
        ready,
        services.filter((s) => s.spec.cluster === c.name),
        Date.now() - started,
      ),
    );
  }
}

const ROLE_ORDER = ['rw', 'ro', 'r'];

export function connectionHelp(c: ClusterResource, services: ServiceResource[], elapsedMs: number): string {
  const name = c.metadata.name;
  const appSecret = applicationDatabase(c.spec).secret?.name ?? `${name}-app`;
  const lines = [
    `cluster ${name} is ready in ${(elapsedMs / 1000).toFixed(1)}s: ${c.status?.readyInstances} instance(s), primary ${c.status?.currentPrimary}`,
    '',
    'Services (TLS; the certificate authority is in the secret ' + `${name}-ca):`,
    ...[...services]
      .sort((a, b) => ROLE_ORDER.indexOf(a.spec.role) - ROLE_ORDER.indexOf(b.spec.role))
      .map(
        (s) =>
          `  ${s.metadata.name.padEnd(name.length + 4)} ${s.spec.host}:${s.spec.port}  ${{ rw: 'read-write, the primary', ro: 'read-only, the replicas', r: 'read-only, any instance' }[s.spec.role]}`,
      ),
    '',
    'Connect as the application user:',
    `  psql "$(npx pgherd get secret ${appSecret} -o jsonpath='{.data.uri}')"`,
    'Or as the superuser on the primary:',
    `  npx pgherd psql ${name}`,
    '',
    `Status: npx pgherd status ${name}    Logs: npx pgherd logs ${name}    Stop: npx pgherd down`,
  ];
  return lines.join('\n');
}

export async function downCommand(ctx: CliContext): Promise<void> {
  const { wasRunning } = await ctx.platform.stopControlPlane(true, ctx.io.progress);
  ctx.io.out(
    wasRunning
      ? 'stopped: instances, router and control plane (data kept; `pgherd up` starts them again)'
      : 'the control plane was not running',
  );
}
