import { describe, expect, it } from 'vitest';
import type { BackupResource, ScheduledBackupResource } from '../api/index.ts';
import { renderGet } from './get.ts';

const NOW = new Date('2026-01-02T00:00:00Z');

function backup(name: string, status: BackupResource['status']): BackupResource {
  return {
    apiVersion: 'postgresql.cnpg.io/v1',
    kind: 'Backup',
    metadata: { name, namespace: 'default', creationTimestamp: '2026-01-01T23:00:00Z' },
    spec: { cluster: { name: 'pg' }, method: 'barmanObjectStore' },
    ...(status === undefined ? {} : { status }),
  };
}

describe('get tables', () => {
  it("lists Backups with kubectl's columns for CNPG's Backup", () => {
    const out = renderGet(
      [
        backup('first', { phase: 'completed' }),
        backup('second', { phase: 'failed', error: 'object store unreachable' }),
        backup('third', undefined),
      ],
      undefined,
      false,
      NOW,
    );
    expect(out.split('\n')).toEqual([
      'NAME    AGE  CLUSTER  METHOD             PHASE      ERROR',
      'first   60m  pg       barmanObjectStore  completed',
      'second  60m  pg       barmanObjectStore  failed     object store unreachable',
      'third   60m  pg       barmanObjectStore',
    ]);
  });

  it('lists ScheduledBackups with the age of their last backup', () => {
    const scheduled: ScheduledBackupResource[] = [
      {
        apiVersion: 'postgresql.cnpg.io/v1',
        kind: 'ScheduledBackup',
        metadata: { name: 'nightly', namespace: 'default', creationTimestamp: '2025-12-01T00:00:00Z' },
        spec: {
          schedule: '0 0 0 * * *',
          cluster: { name: 'pg' },
          backupOwnerReference: 'none',
          method: 'barmanObjectStore',
        },
        status: { lastScheduleTime: '2026-01-01T23:59:00Z' },
      },
      {
        apiVersion: 'postgresql.cnpg.io/v1',
        kind: 'ScheduledBackup',
        metadata: { name: 'weekly', namespace: 'default', creationTimestamp: '2026-01-01T23:59:30Z' },
        spec: {
          schedule: '0 0 0 * * SUN',
          cluster: { name: 'pg' },
          backupOwnerReference: 'self',
          method: 'barmanObjectStore',
        },
      },
    ];
    expect(renderGet(scheduled, undefined, false, NOW).split('\n')).toEqual([
      'NAME     AGE  CLUSTER  LAST BACKUP',
      'nightly  32d  pg       60s',
      'weekly   30s  pg',
    ]);
  });
});
