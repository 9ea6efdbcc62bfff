/** `pgherd psql CLUSTER [--replica] [-- args]`: psql on the primary (or a replica) as the superuser. */
import { spawn } from 'node:child_process';
import type { ClusterResource } from '../api/index.ts';
import type { InstanceResource } from '../api/internal.ts';
import { type CliContext, UserError } from './context.ts';

export async function psqlCommand(
  ctx: CliContext,
  cluster: string,
  replica: boolean,
  args: string[],
): Promise<number> {
  const cp = ctx.platform.controlPlane();
  const [c] = (await cp.get('cluster', ctx.namespace, cluster)) as ClusterResource[];
  const instances = (await cp.get('instance', ctx.namespace)) as InstanceResource[];
  const mine = instances.filter((i) => i.spec.cluster === cluster);
  const target = replica
    ? mine.find((i) => i.status?.role === 'replica' && i.status.ready === true)
    : mine.find((i) => i.metadata.name === c?.status?.currentPrimary);
  if (target === undefined) {
    throw new UserError(
      replica
        ? `cluster ${cluster} has no ready replica`
        : `cluster ${cluster} has no primary yet; see \`pgherd status ${cluster}\``,
      'PGHERD_CLI_NO_INSTANCE',
    );
  }
  const { command, args: base } = ctx.platform.psqlCommand(
    ctx.namespace,
    cluster,
    target.metadata.name,
    target.spec.pgPort,
  );
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...base, ...args], { stdio: 'inherit' });
    child.on('error', (err) => reject(new UserError(`cannot run psql: ${err.message}`, 'PGHERD_CLI_PSQL')));
    child.on('exit', (code) => resolve(code ?? 1));
  });
}
