/** `pgherd wait CLUSTER --for ready`: block until the cluster is ready, showing progress. */
import type { ClusterResource } from '../api/index.ts';
import { ControlPlaneError } from '../ports/control-plane.ts';
import { type CliContext, UserError } from './context.ts';

export function isClusterReady(c: ClusterResource): boolean {
  const s = c.status;
  return (
    s?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') === true &&
    s.readyInstances === c.spec.instances &&
    s.currentPrimary !== undefined
  );
}

export async function waitForReady(
  ctx: CliContext,
  name: string,
  timeoutMs: number,
): Promise<ClusterResource> {
  const cp = ctx.platform.controlPlane();
  const deadline = Date.now() + timeoutMs;
  let lastLine = '';
  while (true) {
    let c: ClusterResource | undefined;
    try {
      c = (await cp.get('cluster', ctx.namespace, name))[0] as ClusterResource | undefined;
    } catch (err) {
      if (!(err instanceof ControlPlaneError) || err.code !== 'PGHERD_CLI_NOT_FOUND') throw err;
      throw new UserError(
        `cluster "${name}" does not exist in namespace ${ctx.namespace}`,
        'PGHERD_CLI_NOT_FOUND',
      );
    }
    if (c !== undefined && isClusterReady(c)) return c;
    const line = `${name}: ${c?.status?.phase ?? 'Pending'} (${c?.status?.readyInstances ?? 0}/${c?.spec.instances ?? '?'} ready)${c?.status?.phaseReason ? ` - ${c.status.phaseReason}` : ''}`;
    if (line !== lastLine) {
      ctx.io.progress(line);
      lastLine = line;
    }
    if (Date.now() > deadline) {
      throw new UserError(
        `timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${name} to be ready; last state: ${line}. Check \`pgherd status ${name}\` and \`pgherd logs ${name}\``,
        'PGHERD_CLI_WAIT_TIMEOUT',
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until a cluster is gone after a delete, showing progress. */
export async function waitForDeletion(ctx: CliContext, name: string, timeoutMs: number): Promise<void> {
  const cp = ctx.platform.controlPlane();
  const deadline = Date.now() + timeoutMs;
  let shown = false;
  while (Date.now() < deadline) {
    try {
      const [c] = await cp.get('cluster', ctx.namespace, name);
      if (!shown) {
        ctx.io.progress(`${name}: stopping instances and removing data...`);
        shown = true;
      }
      void c;
    } catch (err) {
      if (err instanceof ControlPlaneError && err.code === 'PGHERD_CLI_NOT_FOUND') return;
      throw err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new UserError(
    `timed out waiting for cluster ${name} to be deleted; see \`pgherd logs\``,
    'PGHERD_CLI_WAIT_TIMEOUT',
  );
}

/**
 * After `pgherd promote`: waits until `instance` is the current primary and the cluster is
 * ready again, showing the phases it goes through.
 */
export async function waitForPrimary(
  ctx: CliContext,
  name: string,
  instance: string,
  timeoutMs: number,
): Promise<void> {
  const cp = ctx.platform.controlPlane();
  const deadline = Date.now() + timeoutMs;
  let lastLine = '';
  while (true) {
    const c = (await cp.get('cluster', ctx.namespace, name))[0] as ClusterResource | undefined;
    const s = c?.status;
    if (s?.currentPrimary === instance && s.targetPrimary === instance) return;
    if (
      s?.targetPrimary !== undefined &&
      s.targetPrimary !== instance &&
      s.targetPrimary === s.currentPrimary
    ) {
      throw new UserError(
        `the switchover to ${instance} did not happen: ${s.currentPrimary} is the primary (${s.phase ?? ''}: ${s.phaseReason ?? ''})`,
        'PGHERD_CLI_PROMOTE',
      );
    }
    const line = `${name}: ${s?.phase ?? 'Pending'}${s?.phaseReason ? ` - ${s.phaseReason}` : ''}`;
    if (line !== lastLine) {
      ctx.io.progress(line);
      lastLine = line;
    }
    if (Date.now() > deadline) {
      throw new UserError(
        `timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${instance} to be the primary; last state: ${line}. Check \`pgherd status ${name}\``,
        'PGHERD_CLI_WAIT_TIMEOUT',
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
