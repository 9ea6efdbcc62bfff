import { describe, expect, it } from 'vitest';
import { METADATA_IGNORED_FIELDS } from '../field-notes.ts';
import { patternSegments } from '../field-path.ts';
import { loadManifests } from '../load-manifests.ts';
import { knownKeysAt, schemaAt } from '../schema-keys.ts';
import { CLUSTER_IGNORED_FIELDS, CLUSTER_UNIMPLEMENTED_FIELDS } from './cluster-fields.ts';
import { clusterDocumentSchema } from './cluster-resource.ts';

const HEADER = 'apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\n';

/** What a section needs besides the refused field, so that the refused field is the only error. */
const REQUIRED_SIBLINGS: Readonly<Record<string, readonly string[]>> = {
  synchronous: ['method: any', 'number: 1'],
  recovery: ['backup: {name: b}'],
  barmanObjectStore: ['destinationPath: s3://bucket/x'],
};

/**
 * A Cluster manifest that sets the field a pattern names to `{}` (`[]` becomes a one-item list),
 * and the position of the field's key.
 */
function manifestSetting(pattern: string): { text: string; line: number; column: number } {
  const lines = ['  storage: {size: 1Gi}'];
  const parts = pattern.split('.').slice(1);
  let indent = 2;
  let position = { line: 0, column: 0 };
  for (const [index, part] of parts.entries()) {
    const isList = part.endsWith('[]');
    const key = isList ? part.slice(0, -2) : part;
    if (index === parts.length - 1) {
      lines.push(`${' '.repeat(indent)}${key}: {}`);
      // The spec body starts on line 5.
      position = { line: 4 + lines.length, column: indent + 1 };
      break;
    }
    lines.push(`${' '.repeat(indent)}${key}:`);
    indent += 2;
    if (isList) {
      lines.push(`${' '.repeat(indent)}- name: x`);
      indent += 2;
    }
    for (const sibling of REQUIRED_SIBLINGS[key] ?? []) lines.push(`${' '.repeat(indent)}${sibling}`);
  }
  return { text: `${HEADER}metadata: {name: c}\nspec:\n${lines.join('\n')}\n`, ...position };
}

describe('Kubernetes-only Cluster fields', () => {
  it('are all accepted by the schema', () => {
    for (const field of [...METADATA_IGNORED_FIELDS, ...CLUSTER_IGNORED_FIELDS]) {
      expect(schemaAt(clusterDocumentSchema, patternSegments(field.path)), field.path).toBeDefined();
    }
  });

  it('are each reported once, as a warning at the key, and the cluster still loads', () => {
    const text = [
      'apiVersion: postgresql.cnpg.io/v1',
      'kind: Cluster',
      'metadata:',
      '  name: c',
      '  uid: 8f0c',
      '  finalizers: [x]',
      'spec:',
      '  instances: 3',
      '  affinity:',
      '    enablePodAntiAffinity: true',
      '    topologyKey: kubernetes.io/hostname',
      '  resources: {requests: {memory: 1Gi}}',
      '  imagePullPolicy: IfNotPresent',
      '  enablePDB: false',
      '  env: [{name: TZ, value: UTC}]',
      '  storage:',
      '    size: 1Gi',
      '    storageClass: standard',
      '  walStorage:',
      '    size: 1Gi',
      '    storageClass: fast',
      '    resizeInUseVolumes: false',
      'status:',
      '  phase: Cluster in healthy state',
      '',
    ].join('\n');
    const result = loadManifests(text, 'k8s.yaml');
    expect(result.resources).toHaveLength(1);
    expect(result.errors).toEqual([]);
    expect(result.warnings.map((w) => `${w.line}:${w.column} ${w.path} ${w.code}`)).toEqual([
      '5:3 metadata.uid PGHERD_API_IGNORED_FIELD',
      '6:3 metadata.finalizers PGHERD_API_IGNORED_FIELD',
      '9:3 spec.affinity PGHERD_API_IGNORED_FIELD',
      '12:3 spec.resources PGHERD_API_IGNORED_FIELD',
      '13:3 spec.imagePullPolicy PGHERD_API_IGNORED_FIELD',
      '14:3 spec.enablePDB PGHERD_API_IGNORED_FIELD',
      '15:3 spec.env PGHERD_API_IGNORED_FIELD',
      '18:5 spec.storage.storageClass PGHERD_API_IGNORED_FIELD',
      '21:5 spec.walStorage.storageClass PGHERD_API_IGNORED_FIELD',
      '22:5 spec.walStorage.resizeInUseVolumes PGHERD_API_IGNORED_FIELD',
      '23:1 status PGHERD_API_IGNORED_FIELD',
    ]);
    expect(result.warnings[2]?.message).toBe(
      'spec.affinity is ignored on the local platform (Pod scheduling)',
    );
    expect(result.warnings[0]?.message).toBe(
      'metadata.uid is set by pgherd; the value in the manifest is ignored',
    );
  });

  it('warns once per field even when the field is a big structure', () => {
    const result = loadManifests(
      `${HEADER}metadata: {name: c}\nspec:\n  storage: {size: 1Gi}\n  affinity:\n    nodeSelector: {a: b}\n    tolerations: [{key: k}]\n    additionalPodAffinity: {x: 1}\n`,
      'a.yaml',
    );
    expect(result.errors).toEqual([]);
    expect(result.warnings.map((w) => w.path)).toEqual(['spec.affinity']);
  });

  it('does not warn about the CNPG defaults pgherd fills in', () => {
    const result = loadManifests(`${HEADER}metadata: {name: c}\nspec:\n  storage: {size: 1Gi}\n`, 'a.yaml');
    expect(result.warnings).toEqual([]);
    const [cluster] = result.resources;
    expect(cluster?.kind === 'Cluster' && cluster.spec.storage.resizeInUseVolumes).toBe(true);
  });
});

describe('unimplemented Cluster fields', () => {
  it('are not part of the schema (so they cannot slip through)', () => {
    for (const field of CLUSTER_UNIMPLEMENTED_FIELDS) {
      const path = patternSegments(field.path);
      expect(knownKeysAt(clusterDocumentSchema, path.slice(0, -1)), field.path).not.toContain(
        path[path.length - 1],
      );
    }
  });

  it.each(CLUSTER_UNIMPLEMENTED_FIELDS.map((field) => [field.path]))(
    'refuses %s by name, at its key',
    (pattern) => {
      const { text, line, column } = manifestSetting(pattern);
      const result = loadManifests(text, 'u.yaml');
      const dotted = pattern.replaceAll('[]', '[0]');
      expect(result.errors.map((e) => `${e.line}:${e.column} ${e.path} ${e.code}`)).toEqual([
        `${line}:${column} ${dotted} PGHERD_API_NOT_IMPLEMENTED`,
      ]);
      expect(result.errors[0]?.message).toContain(`${dotted} is not implemented yet by pgherd`);
    },
  );

  it('treats tolerations outside affinity as unknown, as the Kubernetes API server does', () => {
    const result = loadManifests(
      `${HEADER}metadata: {name: c}\nspec:\n  storage: {size: 1Gi}\n  tolerations: []\n`,
      't.yaml',
    );
    expect(result.errors.map((e) => `${e.line}:${e.column} ${e.path} ${e.code}`)).toEqual([
      '6:3 spec.tolerations PGHERD_API_UNKNOWN_FIELD',
    ]);
  });

  it('refuses spec.probes.readiness (a field pgherd could not honour by ignoring it)', () => {
    const result = loadManifests(
      `${HEADER}metadata: {name: c}\nspec:\n  storage: {size: 1Gi}\n  probes: {readiness: {periodSeconds: 3}}\n`,
      'p.yaml',
    );
    expect(result.errors[0]?.code).toBe('PGHERD_API_NOT_IMPLEMENTED');
    expect(result.errors[0]?.path).toBe('spec.probes.readiness');
  });

  it('accepts spec.probes.liveness, which sets failure detection and self-fencing', () => {
    const result = loadManifests(
      `${HEADER}metadata: {name: c}\nspec:\n  storage: {size: 1Gi}\n  probes:\n    liveness:\n      periodSeconds: 2\n      failureThreshold: 4\n      isolationCheck: {enabled: false}\n`,
      'p.yaml',
    );
    expect(result.errors).toEqual([]);
    const spec = (result.resources[0] as { spec: { probes?: { liveness?: unknown } } }).spec;
    expect(spec.probes?.liveness).toEqual({
      periodSeconds: 2,
      failureThreshold: 4,
      isolationCheck: { enabled: false, requestTimeout: 1000, connectionTimeout: 1000 },
    });
  });
});
