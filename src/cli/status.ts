/** `pgherd status CLUSTER`: what `kubectl cnpg status` shows that applies here. */
import type { ClusterSpec } from '../api/index.ts';
import type { ClusterView } from '../ports/control-plane.ts';
import type { CliContext } from './context.ts';
import { table, toJson } from './output.ts';

function fmtBytes(n: number | null): string {
  if (n === null) return '-';
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 ** 2).toFixed(1)} MB`;
}

export function renderStatus(v: ClusterView): string {
  const c = v.cluster;
  const s = (c.status ?? {}) as Record<string, unknown>;
  const primary = v.instances.find((i) => i.name === s['currentPrimary']);
  const lines: string[] = [];
  const spec = c.spec as { instances: number };
  lines.push('Cluster Summary');
  lines.push(
    table(
      ['', ''],
      [
        ['Name:', `${c.metadata.namespace}/${c.metadata.name}`],
        ['System ID:', primary?.systemId ?? '-'],
        ['Primary instance:', String(s['currentPrimary'] ?? '-')],
        ['Primary start time:', String(s['currentPrimaryTimestamp'] ?? '-')],
        // A failover or switchover in progress (CNPG shows the target the same way).
        ...(s['targetPrimary'] !== undefined && s['targetPrimary'] !== s['currentPrimary']
          ? [
              [
                'Target primary:',
                `${String(s['targetPrimary'])}${s['targetPrimary'] === 'pending' ? ' (failing over: choosing the most advanced standby)' : ''} since ${String(s['targetPrimaryTimestamp'] ?? '-')}`,
              ],
            ]
          : []),
        ...(s['currentPrimaryFailingSinceTimestamp'] !== undefined
          ? [['Primary failing since:', String(s['currentPrimaryFailingSinceTimestamp'])]]
          : []),
        [
          'Status:',
          `${String(s['phase'] ?? 'Pending')}${s['phaseReason'] ? ` (${String(s['phaseReason'])})` : ''}`,
        ],
        ['Instances:', String(spec.instances)],
        ['Ready instances:', String(s['readyInstances'] ?? 0)],
        [
          'Current Write LSN:',
          primary?.currentLsn ? `${primary.currentLsn} (Timeline: ${primary.timelineId ?? '-'})` : '-',
        ],
      ],
    )
      .split('\n')
      .slice(1)
      .join('\n'),
  );
  const backup = (c.spec as Partial<ClusterSpec>).backup;
  if (backup?.barmanObjectStore !== undefined) {
    // CNPG's "Continuous Backup status".
    const conditions = (s['conditions'] ?? []) as Array<{ type: string; status: string; message: string }>;
    const archiving = conditions.find((x) => x.type === 'ContinuousArchiving');
    const a = v.archiving;
    lines.push('', 'Continuous Backup status');
    lines.push(
      table(
        ['', ''],
        [
          ['Destination:', backup.barmanObjectStore.destinationPath],
          ['First Point of Recoverability:', String(s['firstRecoverabilityPoint'] ?? 'Not Available')],
          ['Last Successful Backup:', String(s['lastSuccessfulBackup'] ?? '-')],
          ...(s['lastFailedBackup'] !== undefined
            ? [['Last Failed Backup:', String(s['lastFailedBackup'])]]
            : []),
          [
            'Working WAL archiving:',
            archiving === undefined
              ? 'Not yet (nothing archived)'
              : archiving.status === 'True'
                ? 'OK'
                : `Failing: ${archiving.message}`,
          ],
          ['WALs waiting to be archived:', a === undefined ? '-' : String(a.pendingFiles)],
          [
            'Last Archived WAL:',
            a?.lastArchivedWal ? `${a.lastArchivedWal} @ ${a.lastArchivedAt ?? '-'}` : '-',
          ],
          ['Last Failed WAL:', a?.lastFailedWal ? `${a.lastFailedWal} @ ${a.lastFailedAt ?? '-'}` : '-'],
        ],
      )
        .split('\n')
        .slice(1)
        .join('\n'),
    );
  }
  lines.push('', 'Services');
  lines.push(
    table(
      ['Name', 'Role', 'Address', 'Endpoints'],
      v.services.map((x) => [x.name, x.role, `${x.host}:${x.port}`, x.endpoints.join(', ') || '(none)']),
    ),
  );
  lines.push('', 'Streaming Replication status');
  if (v.replication.length === 0) lines.push('Not configured or no standby streaming');
  else {
    lines.push(
      table(
        ['Name', 'Sent LSN', 'Replay LSN', 'Replay Lag', 'State', 'Sync State'],
        v.replication.map((r) => [
          r.applicationName,
          r.sentLsn ?? '-',
          r.replayLsn ?? '-',
          r.replayLag ?? '0',
          r.state,
          r.syncState,
        ]),
      ),
    );
  }
  lines.push('', 'Instances status');
  lines.push(
    table(
      [
        'Name',
        'Role',
        'Status',
        'Current LSN',
        'Received LSN',
        'Replay LSN',
        'Lag',
        'Timeline',
        'Port',
        'Error',
      ],
      v.instances.map((i) => [
        i.name,
        i.role,
        i.ready ? 'OK' : i.phase,
        i.currentLsn ?? '-',
        i.receivedLsn ?? '-',
        i.replayLsn ?? '-',
        i.role === 'primary' ? '-' : fmtBytes(i.lagBytes),
        i.timelineId ?? '-',
        i.pgPort,
        i.error ?? (i.ready ? '' : i.phaseReason),
      ]),
    ),
  );
  return lines.join('\n');
}

export async function statusCommand(
  ctx: CliContext,
  name: string,
  output: string | undefined,
): Promise<void> {
  const v = await ctx.platform.controlPlane().status(ctx.namespace, name);
  ctx.io.out(output === 'json' ? toJson(v) : renderStatus(v));
}
