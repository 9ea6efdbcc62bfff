import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3, type TestS3 } from '../../../test/harness/s3.ts';
import { getBuffer, type ObjectStore, ObjectStoreError } from '../../ports/object-store.ts';
import { FileObjectStore } from './file-store.ts';
import { S3ObjectStore } from './s3-store.ts';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'none';
  } catch (err) {
    return err instanceof ObjectStoreError ? err.code : `not an ObjectStoreError: ${(err as Error).message}`;
  }
}

let tmp: string;
let s3: TestS3;
beforeAll(async () => {
  tmp = mkdtempSync('/tmp/pgherd-objstore-');
  s3 = await startS3(join(tmp, 's3'), ['backups']);
});
afterAll(async () => {
  await s3.close();
  rmSync(tmp, { recursive: true, force: true });
});

const stores: Array<[string, () => ObjectStore]> = [
  [
    'file store',
    () => {
      const root = join(tmp, `files-${randomBytes(3).toString('hex')}`);
      mkdirSync(root);
      return new FileObjectStore(root);
    },
  ],
  [
    's3 store (s3rver)',
    () =>
      new S3ObjectStore({
        bucket: 'backups',
        prefix: `pg/${randomBytes(3).toString('hex')}`,
        endpoint: s3.endpoint,
        credentials: s3.credentials,
      }),
  ],
];

describe.each(stores)('%s', (_name, make) => {
  it('writes, reads back, sizes, lists in order and deletes objects', async () => {
    const store = make();
    await store.put('c/wals/0000000100000000/000000010000000000000002.gz', Buffer.from('two'));
    await store.put('c/wals/0000000100000000/000000010000000000000001.gz', Buffer.from('one'));
    await store.put('c/base/20261126T120000/backup.info', Buffer.from('status=DONE\n'));
    expect((await getBuffer(store, 'c/base/20261126T120000/backup.info')).toString()).toBe('status=DONE\n');
    expect(await store.head('c/wals/0000000100000000/000000010000000000000001.gz')).toEqual({
      key: 'c/wals/0000000100000000/000000010000000000000001.gz',
      size: 3,
    });
    expect(await store.head('c/nothing')).toBeUndefined();
    expect((await store.list('c/wals/')).map((o) => o.key)).toEqual([
      'c/wals/0000000100000000/000000010000000000000001.gz',
      'c/wals/0000000100000000/000000010000000000000002.gz',
    ]);
    await store.delete(['c/wals/0000000100000000/000000010000000000000001.gz']);
    expect((await store.list('c/')).map((o) => o.key)).toEqual([
      'c/base/20261126T120000/backup.info',
      'c/wals/0000000100000000/000000010000000000000002.gz',
    ]);
    expect(await code(store.get('c/missing'))).toBe('not-found');
  });

  it('streams a 12 MiB object up and down unchanged (multipart on S3)', async () => {
    const store = make();
    const big = randomBytes(12 * 1024 * 1024);
    await store.put('c/base/x/data.tar', Readable.from([big.subarray(0, 7e6), big.subarray(7e6)]));
    const back = await getBuffer(store, 'c/base/x/data.tar');
    expect(back.length).toBe(big.length);
    expect(sha(back)).toBe(sha(big));
  });
});

describe('object store errors say what to check', () => {
  it('a missing destination folder', async () => {
    const store = new FileObjectStore(join(tmp, 'no-such-folder'));
    expect(await code(store.put('a', Buffer.from('x')))).toBe('no-bucket');
  });
  it('a missing bucket, wrong credentials, an unreachable endpoint', async () => {
    const base = { prefix: 'p', endpoint: s3.endpoint, credentials: s3.credentials };
    expect(await code(new S3ObjectStore({ ...base, bucket: 'nope' }).put('a', Buffer.from('x')))).toBe(
      'no-bucket',
    );
    // s3rver checks the access key id but not SigV4 signatures (real S3 answers
    // SignatureDoesNotMatch to a wrong secret, mapped the same way).
    const wrong = new S3ObjectStore({
      ...base,
      bucket: 'backups',
      credentials: { accessKeyId: 'NOBODY', secretAccessKey: 'wrong' },
    });
    expect(await code(wrong.list(''))).toBe('access-denied');
    const closed = new S3ObjectStore({ ...base, bucket: 'backups', endpoint: 'http://127.0.0.1:9' });
    const err = await closed.list('').catch((e: unknown) => e as ObjectStoreError);
    expect((err as ObjectStoreError).code).toBe('unreachable');
    expect((err as ObjectStoreError).message).toContain('check endpointURL');
  });
});

describe('an S3 endpoint over TLS (endpointCA)', () => {
  let tls: TestS3;
  let ca: string;
  beforeAll(async () => {
    // A self-signed certificate for 127.0.0.1: the endpoint's, and the CA to trust.
    const dir = join(tmp, 'tls');
    mkdirSync(dir);
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    ca = readFileSync(join(dir, 'cert.pem'), 'utf8');
    tls = await startS3(join(tmp, 's3-tls'), ['backups'], 0, {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: ca,
    });
  });
  afterAll(async () => {
    await tls.close();
  });

  it('stores and reads back through HTTPS when given the CA', async () => {
    expect(tls.endpoint).toMatch(/^https:/);
    const store = new S3ObjectStore({
      bucket: 'backups',
      prefix: 'tls',
      endpoint: tls.endpoint,
      credentials: tls.credentials,
      ca,
    });
    const body = randomBytes(100_000);
    await store.put('obj', body);
    expect(sha(await getBuffer(store, 'obj'))).toBe(sha(body));
  });

  it('refuses an endpoint whose certificate it cannot verify, and says to check endpointCA', async () => {
    const store = new S3ObjectStore({
      bucket: 'backups',
      prefix: 'tls',
      endpoint: tls.endpoint,
      credentials: tls.credentials,
    });
    const err = await store.list('').catch((e: unknown) => e as ObjectStoreError);
    expect(err).toBeInstanceOf(ObjectStoreError);
    expect((err as ObjectStoreError).code).toBe('unreachable');
    expect((err as ObjectStoreError).message).toContain('endpointCA');
  });
});
