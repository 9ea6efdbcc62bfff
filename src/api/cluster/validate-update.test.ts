import { describe, expect, it } from 'vitest';
import { loadManifests } from '../load-manifests.ts';
import { formatIssue } from '../manifest-issue.ts';
import type { ClusterResource } from './cluster-resource.ts';
import { validateUpdate } from './validate-update.ts';

function load(specLines: string[], file = 'next.yaml'): ClusterResource {
  const text = [
    'apiVersion: postgresql.cnpg.io/v1',
    'kind: Cluster',
    'metadata:',
    '  name: c',
    'spec:',
    ...specLines,
    '',
  ];
  const result = loadManifests(text.join('\n'), file);
  expect(result.errors).toEqual([]);
  const [resource] = result.resources;
  if (resource?.kind !== 'Cluster') throw new Error('expected a Cluster');
  return resource;
}

const BASE = [
  '  instances: 3',
  '  imageName: ghcr.io/cloudnative-pg/postgresql:16.2',
  '  storage: {size: 2Gi}',
  '  walStorage: {size: 1Gi}',
  '  bootstrap:',
  '    initdb:',
  '      database: app',
  '      postInitSQL: [create extension x]',
];

describe('validateUpdate', () => {
  it('accepts the same spec, and changes that are allowed', () => {
    const previous = load(BASE, 'previous.yaml');
    expect(validateUpdate(previous, load(BASE))).toEqual([]);
    const grown = load([
      '  instances: 5',
      '  imageName: ghcr.io/cloudnative-pg/postgresql:16.4',
      '  storage: {size: 3Gi}',
      '  walStorage: {size: 1Gi}',
      '  bootstrap:',
      '    initdb:',
      '      database: app',
      '      secret: {name: other}',
      '      postInitSQL: [create extension x]',
      '  postgresql:',
      '    parameters: {work_mem: 8MB}',
    ]);
    expect(validateUpdate(previous, grown)).toEqual([]);
  });

  it('refuses changes to initdb settings, saying why, at the changed field', () => {
    const previous = load(BASE, 'previous.yaml');
    const next = load([
      '  instances: 3',
      '  imageName: ghcr.io/cloudnative-pg/postgresql:16.2',
      '  storage: {size: 2Gi}',
      '  walStorage: {size: 1Gi}',
      '  bootstrap:',
      '    initdb:',
      '      database: app',
      '      owner: app',
      '      encoding: LATIN1',
      '      walSegmentSize: 32',
      '      dataChecksums: true',
    ]);
    expect(validateUpdate(previous, next).map(formatIssue)).toEqual([
      'next.yaml:11:5  spec.bootstrap.initdb.postInitSQL  bootstrap.initdb.postInitSQL cannot change once the cluster exists: it ran once, when the cluster was created (was ["create extension x"], now [])',
      'next.yaml:14:17  spec.bootstrap.initdb.encoding  bootstrap.initdb.encoding cannot change once the cluster exists: initdb fixed the encoding of the template databases (was "UTF8", now "LATIN1")',
      'next.yaml:15:23  spec.bootstrap.initdb.walSegmentSize  bootstrap.initdb.walSegmentSize cannot change once the cluster exists: initdb fixed the WAL segment size (was 16, now 32)',
      'next.yaml:16:22  spec.bootstrap.initdb.dataChecksums  bootstrap.initdb.dataChecksums cannot change once the cluster exists: initdb decided whether data pages carry checksums (was false, now true)',
    ]);
    expect(validateUpdate(previous, next).every((issue) => issue.code === 'PGHERD_API_IMMUTABLE')).toBe(true);
  });

  it('treats spelling out a default as no change', () => {
    const previous = load(['  storage: {size: 1Gi}'], 'previous.yaml');
    const next = load([
      '  storage: {size: 1Gi}',
      '  bootstrap:',
      '    initdb: {database: app, owner: app, encoding: UTF8, walSegmentSize: 16, postInitSQL: []}',
    ]);
    expect(validateUpdate(previous, next)).toEqual([]);
  });

  it('refuses removing walStorage (reported at spec) and shrinking storage', () => {
    const previous = load(BASE, 'previous.yaml');
    const next = load([
      '  instances: 3',
      '  imageName: ghcr.io/cloudnative-pg/postgresql:16.2',
      '  storage: {size: 1536Mi}',
      '  bootstrap:',
      '    initdb:',
      '      database: app',
      '      postInitSQL: [create extension x]',
    ]);
    const issues = validateUpdate(previous, next);
    expect(issues.map((i) => `${i.line}:${i.column} ${i.path} ${i.code}`)).toEqual([
      '5:1 spec.walStorage PGHERD_API_IMMUTABLE',
      '8:19 spec.storage.size PGHERD_API_STORAGE_SHRINK',
    ]);
    expect(issues[0]?.message).toBe(
      'walStorage cannot be removed once configured: the WAL of every instance lives there',
    );
    expect(issues[1]?.message).toBe("can't shrink storage from 2Gi to 1536Mi: sizes can only grow");
  });

  it('refuses shrinking walStorage', () => {
    const previous = load(BASE, 'previous.yaml');
    const next = load(
      BASE.map((line) => line.replace('walStorage: {size: 1Gi}', 'walStorage: {size: 512Mi}')),
    );
    expect(validateUpdate(previous, next).map((i) => `${i.path} ${i.message}`)).toEqual([
      "spec.walStorage.size can't shrink walStorage from 1Gi to 512Mi: sizes can only grow",
    ]);
  });

  it('refuses a PostgreSQL major change, up or down', () => {
    const previous = load(BASE, 'previous.yaml');
    const up = load(BASE.map((line) => line.replace('postgresql:16.2', 'postgresql:17.0')));
    expect(
      validateUpdate(previous, up).map((i) => `${i.line}:${i.column} ${i.path} ${i.code} ${i.message}`),
    ).toEqual([
      '7:14 spec.imageName PGHERD_API_MAJOR_UPGRADE major upgrade from PostgreSQL 16 to 17 is not supported by pgherd yet; keep major 16',
    ]);
    expect(validateUpdate(up, previous).map((i) => i.message)).toEqual([
      "can't downgrade from PostgreSQL 17 to 16",
    ]);
  });

  it('refuses a major change through the image catalog', () => {
    const catalog = (major: number) => [
      '  storage: {size: 1Gi}',
      `  imageCatalogRef: {apiGroup: postgresql.cnpg.io, kind: ImageCatalog, name: pg, major: ${major}}`,
    ];
    const issues = validateUpdate(load(catalog(15), 'previous.yaml'), load(catalog(16)));
    expect(issues.map((i) => `${i.line}:${i.column} ${i.path} ${i.code}`)).toEqual([
      '7:88 spec.imageCatalogRef.major PGHERD_API_MAJOR_UPGRADE',
    ]);
  });

  it('refuses changing the HA slot prefix while HA slots are enabled', () => {
    const previous = load(['  storage: {size: 1Gi}'], 'previous.yaml');
    const next = load([
      '  storage: {size: 1Gi}',
      '  replicationSlots:',
      '    highAvailability: {slotPrefix: mine_}',
    ]);
    expect(validateUpdate(previous, next).map((i) => `${i.line}:${i.column} ${i.path} ${i.code}`)).toEqual([
      '8:36 spec.replicationSlots.highAvailability.slotPrefix PGHERD_API_IMMUTABLE',
    ]);
    const disabled = load([
      '  storage: {size: 1Gi}',
      '  replicationSlots:',
      '    highAvailability: {enabled: false}',
    ]);
    expect(validateUpdate(disabled, next)).toEqual([]);
  });

  it('refuses an image and parameter change together when updates switch over', () => {
    const spec = (image: string, workMem: string) => [
      '  instances: 2',
      `  imageName: ghcr.io/cloudnative-pg/postgresql:${image}`,
      '  primaryUpdateMethod: switchover',
      '  storage: {size: 1Gi}',
      '  postgresql:',
      `    parameters: {work_mem: ${workMem}}`,
    ];
    const issues = validateUpdate(load(spec('16.2', '4MB'), 'previous.yaml'), load(spec('16.4', '8MB')));
    expect(issues.map((i) => `${i.path} ${i.code}`)).toEqual(['spec.imageName PGHERD_API_CONFLICT']);
    expect(issues[0]?.message).toContain('(work_mem)');
    expect(validateUpdate(load(spec('16.2', '4MB'), 'previous.yaml'), load(spec('16.4', '4MB')))).toEqual([]);
  });

  it('names the resource when the new spec did not come from a file', () => {
    const previous = load(BASE, 'previous.yaml');
    const next = structuredClone(load(BASE));
    next.spec.storage.size = '1Gi';
    expect(validateUpdate(previous, next).map(formatIssue)).toEqual([
      "Cluster default/c  spec.storage.size  can't shrink storage from 2Gi to 1Gi: sizes can only grow",
    ]);
  });
  it('refuses a change of bootstrap method, and changes to recovery settings', () => {
    const recovery = (lines: string[]) => [
      '  storage: {size: 1Gi}',
      '  bootstrap:',
      '    recovery:',
      ...lines,
      '  externalClusters:',
      '    - name: origin',
      '      barmanObjectStore: {destinationPath: file:///srv/backups}',
    ];
    const restored = load(recovery(['      source: origin']), 'previous.yaml');
    expect(validateUpdate(restored, load(recovery(['      source: origin'])))).toEqual([]);
    expect(
      validateUpdate(
        restored,
        load(recovery(['      source: origin', '      database: app', '      owner: app'])),
      ),
    ).toEqual([]);
    expect(validateUpdate(restored, load(['  storage: {size: 1Gi}'])).map(formatIssue)).toEqual([
      'next.yaml:5:1  spec.bootstrap.initdb  the bootstrap method cannot change from recovery to initdb once the cluster exists: it was created with recovery; keep bootstrap.recovery as it was',
    ]);
    expect(
      validateUpdate(load(['  storage: {size: 1Gi}'], 'previous.yaml'), restored).map(formatIssue),
    ).toEqual([
      'previous.yaml:9:7  spec.bootstrap.recovery  the bootstrap method cannot change from initdb to recovery once the cluster exists: it was created with initdb; keep bootstrap.initdb as it was',
    ]);
    const changed = load(
      recovery([
        '      source: origin',
        '      database: shop',
        '      recoveryTarget: {targetTime: "2024-05-01T12:00:00Z"}',
      ]),
    );
    expect(validateUpdate(restored, changed).map(formatIssue)).toEqual([
      'next.yaml:8:5  spec.bootstrap.recovery.owner  bootstrap.recovery.owner cannot change once the cluster exists: the application owner came with the restored backup (was "app", now "shop")',
      'next.yaml:10:17  spec.bootstrap.recovery.database  bootstrap.recovery.database cannot change once the cluster exists: the application database came with the restored backup (was "app", now "shop")',
      'next.yaml:11:23  spec.bootstrap.recovery.recoveryTarget  bootstrap.recovery.recoveryTarget cannot change once the cluster exists: recovery stopped there when the cluster was created (was (unset), now {"targetTime":"2024-05-01T12:00:00Z"})',
    ]);
  });
});
