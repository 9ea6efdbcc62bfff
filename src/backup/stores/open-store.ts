/**
 * Opens the object store a `barmanObjectStore` section describes (CNPG's field names), with
 * the credentials read from Secrets. Errors name the field and the secret to check.
 */
import type { Readable } from 'node:stream';
import type { ObjectInfo, ObjectStore } from '../../ports/object-store.ts';
import { parseDestination } from './destination.ts';
import { FileObjectStore } from './file-store.ts';
import type { S3ObjectStore, S3StoreOptions } from './s3-store.ts';

/**
 * An S3 store whose SDK is loaded on its first request: the AWS SDK takes ~90 ms to import,
 * which every instance manager, CLI command and control plane would pay at start even when
 * the cluster archives to a folder or nowhere.
 */
class LazyS3ObjectStore implements ObjectStore {
  readonly location: string;
  private readonly o: S3StoreOptions;
  private store: Promise<S3ObjectStore> | undefined;
  constructor(o: S3StoreOptions) {
    this.o = o;
    this.location = `s3://${o.bucket}${o.prefix ? `/${o.prefix}` : ''}${o.endpoint ? ` at ${o.endpoint}` : ''}`;
  }
  private s3(): Promise<S3ObjectStore> {
    this.store ??= import('./s3-store.ts').then(
      (m) => new m.S3ObjectStore(this.o),
      (err: unknown) => {
        // Not cached: the next request tries again.
        this.store = undefined;
        throw err;
      },
    );
    return this.store;
  }
  async put(key: string, body: Buffer | Readable): Promise<void> {
    return (await this.s3()).put(key, body);
  }
  async get(key: string): Promise<Readable> {
    return (await this.s3()).get(key);
  }
  async head(key: string): Promise<ObjectInfo | undefined> {
    return (await this.s3()).head(key);
  }
  async list(prefix: string): Promise<ObjectInfo[]> {
    return (await this.s3()).list(prefix);
  }
  async delete(keys: readonly string[]): Promise<void> {
    return (await this.s3()).delete(keys);
  }
  async removeIncomplete(prefix: string): Promise<void> {
    return (await this.s3()).removeIncomplete(prefix);
  }
}

/** A `{name, key}` reference to one value of a Secret (CNPG's SecretKeySelector). */
export interface SecretKeyRef {
  name: string;
  key: string;
}

/** The parts of CNPG's BarmanObjectStoreConfiguration that locate and open the store. */
export interface StoreLocation {
  destinationPath: string;
  endpointURL?: string | undefined;
  endpointCA?: SecretKeyRef | undefined;
  serverName?: string | undefined;
  s3Credentials?:
    | {
        accessKeyId?: SecretKeyRef | undefined;
        secretAccessKey?: SecretKeyRef | undefined;
        region?: SecretKeyRef | undefined;
        sessionToken?: SecretKeyRef | undefined;
        inheritFromIAMRole?: boolean | undefined;
      }
    | undefined;
}

/** Reads one Secret value; throws an Error naming the secret and key when it is missing. */
export type SecretReader = (ref: SecretKeyRef, what: string) => string;

/** Opens the store at `location.destinationPath` (its serverName is the caller's business). */
export function openObjectStore(location: StoreLocation, readSecret: SecretReader): ObjectStore {
  const destination = parseDestination(location.destinationPath);
  if (destination.kind === 'file') return new FileObjectStore(destination.path);
  const creds = location.s3Credentials;
  const ca =
    location.endpointCA !== undefined
      ? readSecret(location.endpointCA, 'barmanObjectStore.endpointCA')
      : undefined;
  const region = creds?.region !== undefined ? readSecret(creds.region, 's3Credentials.region') : undefined;
  if (creds?.accessKeyId === undefined || creds.secretAccessKey === undefined) {
    if (creds?.inheritFromIAMRole === true) {
      // The SDK's default chain (environment, ~/.aws, instance metadata).
      return new LazyS3ObjectStore({
        bucket: destination.bucket,
        prefix: destination.prefix,
        endpoint: location.endpointURL,
        ca,
        region,
      });
    }
    throw new Error(
      `PGHERD_BACKUP_NO_CREDENTIALS: ${location.destinationPath} needs s3Credentials (accessKeyId and secretAccessKey, or inheritFromIAMRole: true)`,
    );
  }
  return new LazyS3ObjectStore({
    bucket: destination.bucket,
    prefix: destination.prefix,
    endpoint: location.endpointURL,
    ca,
    region,
    credentials: {
      accessKeyId: readSecret(creds.accessKeyId, 's3Credentials.accessKeyId'),
      secretAccessKey: readSecret(creds.secretAccessKey, 's3Credentials.secretAccessKey'),
      sessionToken:
        creds.sessionToken !== undefined
          ? readSecret(creds.sessionToken, 's3Credentials.sessionToken')
          : undefined,
    },
  });
}
