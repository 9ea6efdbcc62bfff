import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../test/fakes/memory-store.ts';
import { type BackupResource, formatIssue, type ScheduledBackupResource } from '../api/index.ts';
import type { InstanceClient } from '../ports/instance-runtime.ts';
import { createControlPlane } from './control-plane.ts';

const CLUSTER = `apiVersion: postgresql.cnpg.io/v1
kind: Cluster
metadata: {name: pg}
spec:
  storage: {size: 1Gi}
  backup:
    barmanObjectStore: {destinationPath: file:///srv/backups}
`;

const BACKUP = `apiVersion: postgresql.cnpg.io/v1
kind: Backup
metadata: {name: first}
spec:
  cluster: {name: pg}
`;

const SCHEDULED = `apiVersion: postgresql.cnpg.io/v1
kind: ScheduledBackup
metadata: {name: nightly}
spec:
  schedule: "0 0 0 * * *"
  cluster: {name: pg}
  backupOwnerReference: self
`;

/** A control plane over an in-memory store; the instance client is never reached by these calls. */
function setup() {
  const store = new MemoryStore({ now: () => new Date('2026-01-01T00:00:00Z') });
  const notified: string[] = [];
  const controlPlane = createControlPlane({
    store,
    instanceClient: {} as InstanceClient,
    logger: pino({ level: 'silent' }),
    now: () => new Date('2026-01-01T00:00:00Z'),
    notify: (key) => notified.push(key),
    onShutdown: async () => {},
  });
  return { store, notified, controlPlane };
}

describe('control plane: Backup and ScheduledBackup', () => {
  it('applies them with their cluster, and notifies the cluster once', async () => {
    const { controlPlane, notified, store } = setup();
    const result = await controlPlane.apply(`${CLUSTER}---\n${BACKUP}---\n${SCHEDULED}`, 'all.yaml');
    expect(result.errors).toEqual([]);
    expect(result.outcomes.map((o) => `${o.kind}/${o.name} ${o.action}`)).toEqual([
      'Cluster/pg created',
      'Backup/first created',
      'ScheduledBackup/nightly created',
    ]);
    expect(notified).toEqual(['default/pg']);
    expect(store.get<BackupResource>('Backup', 'default', 'first')?.spec).toEqual({
      cluster: { name: 'pg' },
      method: 'barmanObjectStore',
    });
  });

  it('refuses a backup of a cluster that has no object store', async () => {
    const { controlPlane, store } = setup();
    const cluster = await controlPlane.apply(CLUSTER.replace(/ {2}backup:\n.*\n/, ''), 'cluster.yaml');
    expect(cluster.outcomes.map((o) => o.action)).toEqual(['created']);
    const result = await controlPlane.apply(BACKUP, 'backup.yaml');
    expect(result.errors.map(formatIssue)).toEqual([
      'backup.yaml:5:19  spec.cluster.name  cluster "pg" has no spec.backup.barmanObjectStore, so a Backup has nowhere to store its backups; configure the cluster\'s object store first',
    ]);
    expect(store.list('Backup')).toEqual([]);
  });

  it('keeps the status on a re-apply, and refuses a change of a Backup spec', async () => {
    const { controlPlane, store } = setup();
    await controlPlane.apply(`${CLUSTER}---\n${BACKUP}`, 'all.yaml');
    const stored = store.get<BackupResource>('Backup', 'default', 'first');
    if (stored === undefined) throw new Error('expected the Backup');
    store.update({ ...stored, status: { phase: 'completed', backupId: '20260101T000000' } });

    const again = await controlPlane.apply(BACKUP, 'backup.yaml');
    expect(again.outcomes.map((o) => o.action)).toEqual(['unchanged']);
    const labelled = await controlPlane.apply(
      BACKUP.replace('metadata: {name: first}', 'metadata: {name: first, labels: {team: db}}'),
      'backup.yaml',
    );
    expect(labelled.outcomes.map((o) => o.action)).toEqual(['configured']);
    expect(store.get<BackupResource>('Backup', 'default', 'first')?.status).toEqual({
      phase: 'completed',
      backupId: '20260101T000000',
    });

    const changed = await controlPlane.apply(`${BACKUP}  target: primary\n`, 'backup.yaml');
    expect(changed.errors.map(formatIssue)).toEqual([
      'backup.yaml:6:11  spec.target  the spec of a Backup cannot change once it exists: target was (unset), now "primary"; create a new Backup instead',
    ]);
    expect(store.get<BackupResource>('Backup', 'default', 'first')?.spec.target).toBeUndefined();
  });

  it('lets a ScheduledBackup change its schedule but not its cluster', async () => {
    const { controlPlane, store } = setup();
    await controlPlane.apply(`${CLUSTER}---\n${SCHEDULED}`, 'all.yaml');
    const hourly = await controlPlane.apply(SCHEDULED.replace('0 0 0 * * *', '0 0 * * * *'), 's.yaml');
    expect(hourly.errors).toEqual([]);
    expect(store.get<ScheduledBackupResource>('ScheduledBackup', 'default', 'nightly')?.spec.schedule).toBe(
      '0 0 * * * *',
    );
    const moved = await controlPlane.apply(SCHEDULED.replace('name: pg', 'name: other'), 's.yaml');
    expect(moved.errors.map((e) => `${e.path} ${e.code}`)).toEqual([
      'spec.cluster.name PGHERD_API_IMMUTABLE',
    ]);
  });

  it('gets them by kubectl names and deletes them; a ScheduledBackup takes the Backups it owns along', async () => {
    const { controlPlane, store } = setup();
    await controlPlane.apply(`${CLUSTER}---\n${BACKUP}---\n${SCHEDULED}`, 'all.yaml');
    const owned = (name: string, parent: string): BackupResource => ({
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'Backup',
      metadata: { name, namespace: 'default', labels: { 'cnpg.io/scheduled-backup': parent } },
      spec: { cluster: { name: 'pg' }, method: 'barmanObjectStore' },
    });
    store.create(owned('nightly-20260101000000', 'nightly'));
    store.create(owned('weekly-20260101000000', 'weekly'));

    for (const kind of ['backup', 'backups', 'Backup']) {
      expect((await controlPlane.get(kind, 'default')).map((o) => o.metadata.name)).toEqual([
        'first',
        'nightly-20260101000000',
        'weekly-20260101000000',
      ]);
    }
    expect((await controlPlane.get('scheduledbackups', 'default', 'nightly')).map((o) => o.kind)).toEqual([
      'ScheduledBackup',
    ]);

    await controlPlane.delete('scheduledbackup', 'default', 'nightly');
    expect(store.list('ScheduledBackup')).toEqual([]);
    expect(store.list('Backup').map((o) => o.metadata.name)).toEqual(['first', 'weekly-20260101000000']);

    await controlPlane.delete('backup', 'default', 'first');
    expect(store.list('Backup').map((o) => o.metadata.name)).toEqual(['weekly-20260101000000']);
    await expect(controlPlane.delete('backup', 'default', 'first')).rejects.toThrow(
      'backup "first" not found in namespace default',
    );
    // The cluster is untouched by deleting its backups.
    expect(store.get('Cluster', 'default', 'pg')).toBeDefined();
  });

  it('keeps Backups a ScheduledBackup created when it does not own them', async () => {
    const { controlPlane, store } = setup();
    await controlPlane.apply(`${CLUSTER}---\n${SCHEDULED.replace('self', 'none')}`, 'all.yaml');
    store.create({
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'Backup',
      metadata: {
        name: 'nightly-20260101000000',
        namespace: 'default',
        labels: { 'cnpg.io/scheduled-backup': 'nightly' },
      },
      spec: { cluster: { name: 'pg' }, method: 'barmanObjectStore' },
    } satisfies BackupResource);
    await controlPlane.delete('scheduledbackup', 'default', 'nightly');
    expect(store.list('Backup').map((o) => o.metadata.name)).toEqual(['nightly-20260101000000']);
  });
});
