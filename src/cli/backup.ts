/**
 * `pgherd backup CLUSTER` (CNPG's `kubectl cnpg backup`): creates a Backup named
 * `<cluster>-<YYYYMMDDHHMMSS>` and, unless told not to, follows it to the end with its
 * progress, exiting non-zero when it fails.
 */
import type { BackupResource } from '../api/index.ts';
import { type CliContext, UserError } from './context.ts';

export interface BackupOptions {
  target?: string | undefined;
  name?: string | undefined;
  wait: boolean;
  timeoutMs: number;
  now: Date;
}

/** `<cluster>-YYYYMMDDHHMMSS` (UTC), as `kubectl cnpg backup` names them. */
export function defaultBackupName(cluster: string, now: Date): string {
  return `${cluster}-${now
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, '')}`;
}

function describe(b: BackupResource): string {
  const s = b.status ?? {};
  const where = s.instanceID?.podName !== undefined ? ` on ${s.instanceID.podName}` : '';
  const done = s.progress?.bytesDone ?? 0;
  const total = s.progress?.bytesTotal ?? 0;
  const pct =
    total > 0 && s.phase === 'running'
      ? ` ${Math.min(100, Math.floor((100 * done) / total))}% (${(done / 1048576).toFixed(0)} of ${(total / 1048576).toFixed(0)} MB)`
      : '';
  const why = s.error !== undefined && s.phase !== 'failed' ? `: ${s.error}` : '';
  return `${s.phase ?? 'new'}${where}${pct}${why}`;
}

export async function backupCommand(ctx: CliContext, cluster: string, o: BackupOptions): Promise<void> {
  if (o.target !== undefined && o.target !== 'primary' && o.target !== 'prefer-standby') {
    throw new UserError(`--target must be primary or prefer-standby (got "${o.target}")`, 'PGHERD_CLI_USAGE');
  }
  const name = o.name ?? defaultBackupName(cluster, o.now);
  const manifest = [
    'apiVersion: postgresql.cnpg.io/v1',
    'kind: Backup',
    'metadata:',
    `  name: ${JSON.stringify(name)}`,
    `  namespace: ${JSON.stringify(ctx.namespace)}`,
    'spec:',
    '  cluster:',
    `    name: ${JSON.stringify(cluster)}`,
    ...(o.target !== undefined ? [`  target: ${o.target}`] : []),
    '',
  ].join('\n');
  const cp = ctx.platform.controlPlane();
  await cp.apply(manifest, '<pgherd backup>');
  ctx.io.out(`backup/${name} created`);
  if (!o.wait) return;
  const started = Date.now();
  let last = '';
  for (;;) {
    const [b] = (await cp.get('backup', ctx.namespace, name)) as BackupResource[];
    const line = b === undefined ? 'gone' : describe(b);
    if (line !== last) {
      ctx.io.progress(`backup/${name}: ${line}`);
      last = line;
    }
    const s = b?.status;
    if (s?.phase === 'completed') {
      ctx.io.out(
        `backup/${name} completed in ${((Date.now() - started) / 1000).toFixed(1)} s: backup ID ${s.backupId}, WAL ${s.beginWal} to ${s.endWal}`,
      );
      return;
    }
    if (b === undefined || s?.phase === 'failed') {
      throw new UserError(`backup/${name} failed: ${s?.error ?? 'it was deleted'}`, 'PGHERD_BACKUP_FAILED');
    }
    if (Date.now() - started > o.timeoutMs) {
      throw new UserError(
        `backup/${name} is still ${s?.phase ?? 'new'} after ${o.timeoutMs / 1000} s; it goes on — follow it with \`pgherd get backup ${name}\``,
        'PGHERD_BACKUP_TIMEOUT',
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
