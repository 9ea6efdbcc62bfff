import { describe, expect, it } from 'vitest';
import { loadManifests } from '../load-manifests.ts';

function load(body: string) {
  return loadManifests(`apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n${body}`, 's.yaml');
}

describe('Secret', () => {
  it('defaults the type to Opaque and folds stringData into base64 data (stringData wins)', () => {
    const result = load('data:\n  a: YQ==\n  b: Yg==\nstringData:\n  b: "bé"\n  c: "line1\\nline2"\n');
    expect(result.errors).toEqual([]);
    expect(result.resources).toEqual([
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 's', namespace: 'default' },
        type: 'Opaque',
        data: {
          a: 'YQ==',
          b: Buffer.from('bé').toString('base64'),
          c: Buffer.from('line1\nline2').toString('base64'),
        },
      },
    ]);
  });

  it('accepts base64 folded over several lines, as the API server does', () => {
    const result = load(
      'data:\n  long: |\n    VHhWZVE0bk44MlNTaVlIb3N3cU9VUlp2UURhTDRL\n    cE5FbHNDRUVlOWJ3RHhNZDczS2NrSWVYelM1Y1U2TGlDMg==\n',
    );
    expect(result.errors).toEqual([]);
    const [secret] = result.resources;
    expect(secret?.kind === 'Secret' && Buffer.from(secret.data['long'] ?? '', 'base64').toString()).toBe(
      'TxVeQ4nN82SSiYHoswqOURZvQDaL4KpNElsCEEe9bwDxMd73KckIeXzS5cU6LiC2',
    );
  });

  it('refuses data that is not base64, keys Kubernetes refuses, and non-string values', () => {
    const result = load('data:\n  password: "not base64!"\n  "bad/key": YQ==\nstringData:\n  port: 5432\n');
    expect(result.errors.map((e) => `${e.line}:${e.column} ${e.path} ${e.code} ${e.message}`)).toEqual([
      '6:13 data.password PGHERD_API_FORMAT must be base64 (standard alphabet, with = padding)',
      '7:3 data.bad/key PGHERD_API_FORMAT must be a valid secret key: letters, digits, "-", "_" and "." (not "." or ".."), at most 253 characters',
      '9:9 stringData.port PGHERD_API_TYPE must be a string, quote it: "5432"',
    ]);
  });

  it('refuses a basic-auth secret without username or password', () => {
    const result = load('type: kubernetes.io/basic-auth\ndata:\n  other: YQ==\n');
    expect(result.errors.map((e) => `${e.line}:${e.column} ${e.path} ${e.code} ${e.message}`)).toEqual([
      '6:1 data PGHERD_API_SECRET_KEYS a kubernetes.io/basic-auth secret needs at least one of the keys username, password',
    ]);
  });

  it('refuses a TLS secret without its key', () => {
    const result = load('type: kubernetes.io/tls\nstringData:\n  tls.crt: x\n');
    expect(result.errors.map((e) => `${e.line}:${e.column} ${e.path} ${e.code} ${e.message}`)).toEqual([
      '1:1 data PGHERD_API_SECRET_KEYS a kubernetes.io/tls secret needs the keys tls.key',
    ]);
  });

  it('refuses immutable by name, and unknown fields', () => {
    const result = load('immutable: true\nstrngData: {}\n');
    expect(result.errors.map((e) => `${e.line}:${e.column} ${e.path} ${e.code} ${e.message}`)).toEqual([
      '5:1 immutable PGHERD_API_NOT_IMPLEMENTED immutable is not implemented yet by pgherd',
      '6:1 strngData PGHERD_API_UNKNOWN_FIELD unknown field "strngData"; did you mean "stringData"?',
    ]);
  });

  it('accepts a dotted secret name (DNS-1123 subdomain), unlike a cluster name', () => {
    const result = loadManifests(
      'apiVersion: v1\nkind: Secret\nmetadata: {name: app.credentials}\n',
      's.yaml',
    );
    expect(result.errors).toEqual([]);
  });
});
