/**
 * The object store over the S3 protocol (AWS or any S3-compatible endpoint:
 * barmanObjectStore.endpointURL, path-style addressing). Large bodies go up as multipart
 * uploads (5 MiB parts), which S3 makes visible only once complete. Errors are mapped to
 * ObjectStoreError codes that say what to check.
 */
import { Agent } from 'node:https';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { type ObjectInfo, type ObjectStore, ObjectStoreError } from '../../ports/object-store.ts';
import { joinKey } from './destination.ts';

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix below the bucket (destinationPath's path, plus serverName for barman). */
  prefix: string;
  /** endpointURL; AWS when absent. */
  endpoint?: string | undefined;
  /** PEM of the CA that signed the endpoint's certificate (endpointCA). */
  ca?: string | undefined;
  region?: string | undefined;
  /** Absent: the SDK's default chain (CNPG's inheritFromIAMRole). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined };
  /** Parallel parts of one multipart upload. */
  queueSize?: number;
}

export class S3ObjectStore implements ObjectStore {
  readonly location: string;
  private readonly client: S3Client;
  private readonly o: S3StoreOptions;
  constructor(o: S3StoreOptions) {
    this.o = o;
    this.location = `s3://${o.bucket}${o.prefix ? `/${o.prefix}` : ''}${o.endpoint ? ` at ${o.endpoint}` : ''}`;
    this.client = new S3Client({
      region: o.region ?? 'us-east-1',
      ...(o.credentials !== undefined
        ? {
            credentials: {
              accessKeyId: o.credentials.accessKeyId,
              secretAccessKey: o.credentials.secretAccessKey,
              ...(o.credentials.sessionToken !== undefined
                ? { sessionToken: o.credentials.sessionToken }
                : {}),
            },
          }
        : {}),
      ...(o.endpoint !== undefined ? { endpoint: o.endpoint, forcePathStyle: true } : {}),
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
      requestHandler: new NodeHttpHandler({
        connectionTimeout: 5000,
        // A request that sends and receives nothing for a minute fails (and is retried)
        // instead of holding a WAL restore or upload forever.
        socketTimeout: 60_000,
        ...(o.ca !== undefined ? { httpsAgent: new Agent({ ca: o.ca, keepAlive: true }) } : {}),
      }),
    });
  }

  private k(key: string): string {
    return joinKey(this.o.prefix, key);
  }

  async put(key: string, body: Buffer | Readable): Promise<void> {
    try {
      await new Upload({
        client: this.client,
        params: { Bucket: this.o.bucket, Key: this.k(key), Body: body },
        partSize: 5 * 1024 * 1024,
        queueSize: this.o.queueSize ?? 2,
        leavePartsOnError: false,
      }).done();
    } catch (err) {
      throw this.wrap(err, `writing ${key}`);
    }
  }

  async get(key: string): Promise<Readable> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.o.bucket, Key: this.k(key) }));
      return r.Body as Readable;
    } catch (err) {
      throw this.wrap(err, `reading ${key}`);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.o.bucket, Key: this.k(key) }));
      return { key, size: Number(r.ContentLength ?? 0) };
    } catch (err) {
      const e = this.wrap(err, `checking ${key}`);
      if (e.code === 'not-found') return undefined;
      throw e;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    const base = this.o.prefix === '' ? '' : `${this.o.prefix}/`;
    let token: string | undefined;
    try {
      do {
        const r = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.o.bucket,
            Prefix: base + prefix,
            ...(token !== undefined ? { ContinuationToken: token } : {}),
          }),
        );
        for (const c of r.Contents ?? []) {
          if (c.Key !== undefined) out.push({ key: c.Key.slice(base.length), size: Number(c.Size ?? 0) });
        }
        token = r.IsTruncated === true ? r.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (err) {
      throw this.wrap(err, `listing ${prefix || '/'}`);
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      try {
        await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.o.bucket,
            Delete: { Objects: batch.map((k) => ({ Key: this.k(k) })), Quiet: true },
          }),
        );
      } catch (err) {
        throw this.wrap(err, `deleting ${batch.length} objects`);
      }
    }
  }

  async removeIncomplete(prefix: string): Promise<void> {
    try {
      const r = await this.client.send(
        new ListMultipartUploadsCommand({ Bucket: this.o.bucket, Prefix: this.k(prefix) }),
      );
      for (const u of r.Uploads ?? []) {
        await this.client.send(
          new AbortMultipartUploadCommand({ Bucket: this.o.bucket, Key: u.Key, UploadId: u.UploadId }),
        );
      }
    } catch (err) {
      throw this.wrap(err, `removing unfinished uploads under ${prefix}`);
    }
  }

  /** An SDK or network error as an ObjectStoreError that says what to check. */
  private wrap(err: unknown, doing: string): ObjectStoreError {
    const e = err as {
      name?: string;
      code?: string;
      message?: string;
      $metadata?: { httpStatusCode?: number };
    };
    const status = e.$metadata?.httpStatusCode;
    const name = e.name ?? e.code ?? '';
    const at = `${this.location} (${doing})`;
    if (name === 'NoSuchBucket') {
      return new ObjectStoreError(
        'no-bucket',
        `${at}: the bucket ${this.o.bucket} does not exist; create it or fix destinationPath`,
        { cause: err },
      );
    }
    if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
      return new ObjectStoreError('not-found', `${at}: no such object`, { cause: err });
    }
    if (
      status === 403 ||
      ['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'Forbidden'].includes(name)
    ) {
      return new ObjectStoreError(
        'access-denied',
        `${at}: access denied (${name || status}); check s3Credentials (access key id, secret key) and the bucket's permissions`,
        { cause: err },
      );
    }
    if (
      ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'TimeoutError'].includes(name) ||
      /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|certificate|self.signed|timed? ?out/i.test(e.message ?? '')
    ) {
      return new ObjectStoreError(
        'unreachable',
        `${at}: the endpoint cannot be reached (${e.message ?? name}); check endpointURL, the network and endpointCA`,
        { cause: err },
      );
    }
    return new ObjectStoreError('other', `${at}: ${e.message ?? String(err)}`, { cause: err });
  }
}
