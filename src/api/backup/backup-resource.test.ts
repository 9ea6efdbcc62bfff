import { describe, expect, it } from 'vitest';
import { loadManifests } from '../load-manifests.ts';
import { formatIssue } from '../manifest-issue.ts';
import { effectiveBackupTarget } from './backup-resource.ts';
import { scheduledBackupName } from './scheduled-backup-resource.ts';

function doc(kind: 'Backup' | 'ScheduledBackup', spec: string[], extra: string[] = []): string {
  return [
    'apiVersion: postgresql.cnpg.io/v1',
    `kind: ${kind}`,
    'metadata: {name: nightly}',
    'spec:',
    ...spec,
    ...extra,
    '',
  ].join('\n');
}

function errors(text: string): string[] {
  const result = loadManifests(text, 'b.yaml');
  expect(result.resources).toEqual([]);
  return result.errors.map(formatIssue);
}

describe('Backup', () => {
  it("loads with CNPG's default method and no target (the cluster's applies)", () => {
    const result = loadManifests(doc('Backup', ['  cluster: {name: pg}']), 'b.yaml');
    expect(result.errors).toEqual([]);
    expect(result.resources).toEqual([
      {
        apiVersion: 'postgresql.cnpg.io/v1',
        kind: 'Backup',
        metadata: { name: 'nightly', namespace: 'default' },
        spec: { cluster: { name: 'pg' }, method: 'barmanObjectStore' },
      },
    ]);
  });

  it('takes a target, and warns that a status in the manifest is ignored', () => {
    const result = loadManifests(
      doc('Backup', ['  cluster: {name: pg}', '  target: primary'], ['status: {phase: completed}']),
      'b.yaml',
    );
    expect(result.errors).toEqual([]);
    expect(result.resources[0]?.kind === 'Backup' && result.resources[0].spec.target).toBe('primary');
    expect(result.warnings.map(formatIssue)).toEqual([
      'b.yaml:7:1  status  status is set by pgherd; the value in the manifest is ignored',
    ]);
  });

  it('needs the cluster', () => {
    expect(errors(doc('Backup', ['  target: primary']))).toEqual([
      'b.yaml:4:1  spec.cluster  missing required field "cluster"',
    ]);
  });

  it('refuses the volumeSnapshot and plugin methods and plugin configuration as not implemented', () => {
    expect(errors(doc('Backup', ['  cluster: {name: pg}', '  method: volumeSnapshot']))).toEqual([
      'b.yaml:6:11  spec.method  method "volumeSnapshot" is not implemented yet by pgherd; use barmanObjectStore (the default): a base backup to the cluster\'s spec.backup.barmanObjectStore',
    ]);
    expect(
      errors(
        doc('Backup', ['  cluster: {name: pg}', '  method: plugin', '  pluginConfiguration: {name: barman}']),
      ),
    ).toEqual([
      'b.yaml:6:11  spec.method  method "plugin" is not implemented yet by pgherd; use barmanObjectStore (the default): a base backup to the cluster\'s spec.backup.barmanObjectStore',
      'b.yaml:7:3  spec.pluginConfiguration  spec.pluginConfiguration is not implemented yet by pgherd; backup plugins are not implemented; pgherd backs up to the barmanObjectStore itself',
    ]);
    expect(errors(doc('Backup', ['  cluster: {name: pg}', '  method: barman']))[0]).toContain(
      'must be one of "barmanObjectStore", "volumeSnapshot", "plugin", got "barman"',
    );
  });

  it("refuses online and onlineConfiguration with barmanObjectStore, as CNPG's webhook", () => {
    expect(
      errors(
        doc('Backup', [
          '  cluster: {name: pg}',
          '  online: false',
          '  onlineConfiguration: {waitForArchive: true}',
        ]),
      ),
    ).toEqual([
      'b.yaml:6:3  spec.online  online can be specified only if the backup method is volumeSnapshot; barmanObjectStore backups are always online',
      'b.yaml:7:3  spec.onlineConfiguration  onlineConfiguration can be specified only if the backup method is volumeSnapshot; barmanObjectStore backups are always online',
    ]);
  });

  it('has no default target of its own: the Backup, else the cluster, else prefer-standby', () => {
    expect(effectiveBackupTarget({ spec: { target: 'primary' } }, { spec: {} })).toBe('primary');
    expect(effectiveBackupTarget({ spec: {} }, { spec: { backup: { target: 'primary' } } })).toBe('primary');
    expect(effectiveBackupTarget({ spec: {} }, { spec: {} })).toBe('prefer-standby');
  });
});

describe('ScheduledBackup', () => {
  it('loads with its defaults', () => {
    const result = loadManifests(
      doc('ScheduledBackup', ['  schedule: "0 30 2 * * *"', '  cluster: {name: pg}', '  immediate: true']),
      's.yaml',
    );
    expect(result.errors).toEqual([]);
    expect(result.resources[0]?.kind === 'ScheduledBackup' && result.resources[0].spec).toEqual({
      schedule: '0 30 2 * * *',
      cluster: { name: 'pg' },
      immediate: true,
      backupOwnerReference: 'none',
      method: 'barmanObjectStore',
    });
  });

  it('needs a schedule and a cluster', () => {
    expect(errors(doc('ScheduledBackup', ['  suspend: true']))).toEqual([
      'b.yaml:4:1  spec.schedule  missing required field "schedule"',
      'b.yaml:4:1  spec.cluster  missing required field "cluster"',
    ]);
  });

  it('refuses a schedule without seconds, saying the format', () => {
    expect(errors(doc('ScheduledBackup', ['  schedule: "0 2 * * *"', '  cluster: {name: pg}']))).toEqual([
      'b.yaml:5:13  spec.schedule  schedule "0 2 * * *" has 5 fields; it needs exactly 6, seconds first: second minute hour day-of-month month day-of-week, such as "0 0 0 * * *" (every day at midnight UTC)',
    ]);
  });

  it('refuses an owner reference CNPG does not know', () => {
    expect(
      errors(
        doc('ScheduledBackup', [
          '  schedule: "0 0 0 * * *"',
          '  cluster: {name: pg}',
          '  backupOwnerReference: backup',
        ]),
      ),
    ).toEqual([
      'b.yaml:7:25  spec.backupOwnerReference  must be one of "none", "self", "cluster", got "backup"',
    ]);
  });

  it('refuses the same method settings as Backup', () => {
    expect(
      errors(
        doc('ScheduledBackup', [
          '  schedule: "0 0 0 * * *"',
          '  cluster: {name: pg}',
          '  method: volumeSnapshot',
          '  online: true',
        ]),
      ),
    ).toEqual([
      'b.yaml:7:11  spec.method  method "volumeSnapshot" is not implemented yet by pgherd; use barmanObjectStore (the default): a base backup to the cluster\'s spec.backup.barmanObjectStore',
    ]);
  });

  it("names each run's Backup after the time it was scheduled for, in UTC", () => {
    expect(scheduledBackupName({ metadata: { name: 'nightly' } }, new Date('2026-03-01T02:30:00.250Z'))).toBe(
      'nightly-20260301023000',
    );
  });
});
