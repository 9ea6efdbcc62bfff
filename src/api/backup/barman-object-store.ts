/**
 * `barmanObjectStore` (CNPG's BarmanObjectStoreConfiguration, from
 * cloudnative-pg/barman-cloud pkg/api/config.go): where a cluster archives its WAL and base
 * backups (`spec.backup`), or where a cluster to recover from keeps them
 * (`spec.externalClusters[].barmanObjectStore`). pgherd implements S3-compatible stores
 * (`s3://`) and plain directories (`file://`); Azure and Google Cloud Storage are refused.
 */
import { z } from 'zod';
import type { IgnoredField, UnimplementedField } from '../field-notes.ts';
import { notImplementedMessage } from '../field-notes.ts';
import type { PathSegment } from '../field-path.ts';
import type { IssueCode } from '../issue-codes.ts';
import { checkDns1123Subdomain, checkSecretKey } from '../names.ts';
import { addIssue, refineWith } from '../zod-helpers.ts';

const INT32_MAX = 2_147_483_647;

/** A key of a Secret in the resource's namespace (`SecretKeySelector`). */
export const secretKeySelectorSchema = z.strictObject({
  name: z.string().superRefine(refineWith(checkDns1123Subdomain, 'PGHERD_API_FORMAT')),
  key: z.string().superRefine(refineWith(checkSecretKey, 'PGHERD_API_FORMAT')),
});

/** A key of a Secret in the resource's namespace. */
export type SecretKeySelector = z.output<typeof secretKeySelectorSchema>;

// --- destinationPath --------------------------------------------------------------------------

/** S3 bucket names: 3-63 lower-case letters, digits, dots and hyphens. */
const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const S3_DESTINATION = /^s3:\/\/([^/]+)(?:\/(.*))?$/;
const FILE_DESTINATION = /^file:\/\/(\/.*)$/;

/** The kind of store a destinationPath names, or undefined when it names none pgherd knows. */
export function destinationKind(destinationPath: string): 's3' | 'file' | undefined {
  if (S3_DESTINATION.test(destinationPath)) return 's3';
  if (FILE_DESTINATION.test(destinationPath)) return 'file';
  return undefined;
}

/**
 * Why a destinationPath cannot be used, or undefined: `s3://BUCKET[/PATH]` or
 * `file:///ABSOLUTE/PATH`. The same rules as the object stores' own parser
 * (src/backup/stores/destination.ts), checked here so that apply refuses what the stores would.
 */
export function checkDestinationPath(destinationPath: string): string | undefined {
  if (/[\u0000-\u001f\u007f]/.test(destinationPath)) {
    return 'destinationPath must not contain line breaks or other control characters';
  }
  const s3 = S3_DESTINATION.exec(destinationPath);
  if (s3 !== null) {
    const bucket = s3[1] ?? '';
    return S3_BUCKET.test(bucket)
      ? undefined
      : `destinationPath ${destinationPath}: "${bucket}" is not a valid S3 bucket name (3-63 characters: lower-case letters, digits, dots, hyphens)`;
  }
  const file = FILE_DESTINATION.exec(destinationPath);
  if (file !== null) {
    return (file[1] ?? '').split('/').includes('..')
      ? `destinationPath ${destinationPath}: the path must not contain ".."`
      : undefined;
  }
  // Azure and Google URLs are CNPG destinations pgherd does not implement: say so.
  if (/^(https?|gs):\/\//.test(destinationPath)) {
    return `destinationPath ${JSON.stringify(destinationPath)}: only s3://BUCKET/PATH (any S3-compatible store) and file:///ABSOLUTE/PATH are implemented by pgherd (not Azure Blob Storage or Google Cloud Storage)`;
  }
  return `destinationPath ${JSON.stringify(destinationPath)} is neither s3://BUCKET/PATH nor file:///ABSOLUTE/PATH`;
}

/** An S3 endpoint: an http(s) URL with a host, no credentials in it. */
function checkEndpointUrl(endpointURL: string): string | undefined {
  let url: URL;
  try {
    url = new URL(endpointURL);
  } catch {
    return `endpointURL ${JSON.stringify(endpointURL)} is not a URL (example: https://minio.example.com:9000)`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `endpointURL must be an http:// or https:// URL, got ${JSON.stringify(endpointURL)}`;
  }
  if (url.username !== '' || url.password !== '') {
    return 'endpointURL must not contain credentials: put them in s3Credentials';
  }
  return undefined;
}

/**
 * The server name is a folder of the store (`<destinationPath>/<serverName>/wals/...`): a
 * separator or `..` would write into another cluster's folder.
 */
export function checkServerName(serverName: string): string | undefined {
  if (serverName === '') return 'serverName must not be empty (leave it unset to use the cluster name)';
  if (serverName === '.' || serverName === '..' || /[/\\]/.test(serverName)) {
    return 'serverName is a folder name in the object store: it cannot contain "/" or "\\" or be "." or ".."';
  }
  if (/[\u0000-\u001f\u007f]/.test(serverName)) return 'serverName must not contain control characters';
  return undefined;
}

// --- credentials ------------------------------------------------------------------------------

const s3Credentials = z
  .strictObject({
    accessKeyId: secretKeySelectorSchema.optional(),
    secretAccessKey: secretKeySelectorSchema.optional(),
    region: secretKeySelectorSchema.optional(),
    sessionToken: secretKeySelectorSchema.optional(),
    inheritFromIAMRole: z.boolean().default(false),
  })
  .superRefine((credentials, ctx) => {
    // barman-cloud's ValidateAwsCredentials: keys come in pairs, and exactly one way to log in.
    const keys = credentials.accessKeyId !== undefined || credentials.secretAccessKey !== undefined;
    if (credentials.accessKeyId === undefined && credentials.secretAccessKey !== undefined) {
      addIssue(ctx, 'PGHERD_API_REQUIRED', 'secretAccessKey needs accessKeyId too: S3 keys come in pairs', [
        'accessKeyId',
      ]);
    } else if (credentials.accessKeyId !== undefined && credentials.secretAccessKey === undefined) {
      addIssue(ctx, 'PGHERD_API_REQUIRED', 'accessKeyId needs secretAccessKey too: S3 keys come in pairs', [
        'secretAccessKey',
      ]);
    }
    if (keys && credentials.inheritFromIAMRole) {
      addIssue(
        ctx,
        'PGHERD_API_CONFLICT',
        'inheritFromIAMRole cannot be combined with accessKeyId and secretAccessKey: use one way to authenticate',
        ['inheritFromIAMRole'],
      );
    } else if (!keys && !credentials.inheritFromIAMRole) {
      addIssue(
        ctx,
        'PGHERD_API_REQUIRED',
        's3Credentials needs accessKeyId and secretAccessKey (secret references), or inheritFromIAMRole: true',
        ['accessKeyId'],
      );
    }
  });

// --- wal and data -----------------------------------------------------------------------------

/** CNPG's WAL compressions (`wal.compression`). */
const WAL_COMPRESSIONS = ['bzip2', 'gzip', 'lz4', 'snappy', 'xz', 'zstd'] as const;
/** CNPG's base backup compressions (`data.compression`): no xz or zstd there. */
const DATA_COMPRESSIONS = ['bzip2', 'gzip', 'lz4', 'snappy'] as const;

/** The compressions pgherd implements, for WAL and base backups alike. */
export const IMPLEMENTED_COMPRESSIONS = ['gzip', 'lz4'] as const;

/** A compression pgherd implements (unset means files are stored uncompressed). */
export type Compression = (typeof IMPLEMENTED_COMPRESSIONS)[number];

function isImplementedCompression(value: string): value is Compression {
  return (IMPLEMENTED_COMPRESSIONS as readonly string[]).includes(value);
}

/** One of CNPG's compressions; the ones pgherd does not implement are refused by value. */
function compression(values: typeof WAL_COMPRESSIONS | typeof DATA_COMPRESSIONS) {
  return z
    .enum(values)
    .superRefine((value, ctx) => {
      if (isImplementedCompression(value)) return;
      addIssue(
        ctx,
        'PGHERD_API_NOT_IMPLEMENTED',
        notImplementedMessage(
          `compression "${value}"`,
          `use ${IMPLEMENTED_COMPRESSIONS.join(' or ')}, or leave compression unset to store files uncompressed`,
        ),
      );
    })
    .transform((value) => value as Compression); // only implemented values get past the check above
}

const wal = z.strictObject({
  compression: compression(WAL_COMPRESSIONS).optional(),
  /** WAL files archived (or restored) at once; CNPG processes them one at a time when unset. */
  maxParallel: z.number().int().min(1).max(INT32_MAX).default(1),
  archiveAdditionalCommandArgs: z.array(z.string()).optional(),
  restoreAdditionalCommandArgs: z.array(z.string()).optional(),
});

const data = z.strictObject({
  compression: compression(DATA_COMPRESSIONS).optional(),
  /** Files uploaded at once; CNPG leaves it unset and barman-cloud-backup then uses 2. */
  jobs: z.number().int().min(1).max(INT32_MAX).default(2),
  immediateCheckpoint: z.boolean().default(false),
  additionalCommandArgs: z.array(z.string()).optional(),
  restoreAdditionalCommandArgs: z.array(z.string()).optional(),
});

// --- barmanObjectStore ------------------------------------------------------------------------

/** The barmanObjectStore schema; output has `wal` and `data` with their defaults. */
export const barmanObjectStoreSchema = z.strictObject({
  destinationPath: z.string().superRefine(refineWith(checkDestinationPath, 'PGHERD_API_FORMAT')),
  endpointURL: z.string().superRefine(refineWith(checkEndpointUrl, 'PGHERD_API_FORMAT')).optional(),
  endpointCA: secretKeySelectorSchema.optional(),
  /** The store's folder for this server; the cluster's (or external cluster's) name when unset. */
  serverName: z.string().superRefine(refineWith(checkServerName, 'PGHERD_API_FORMAT')).optional(),
  s3Credentials: s3Credentials.optional(),
  wal: wal.prefault({}),
  data: data.prefault({}),
  tags: z.record(z.string(), z.string()).optional(),
  historyTags: z.record(z.string(), z.string()).optional(),
});

/** An object store as pgherd reads it (CNPG's BarmanObjectStoreConfiguration, defaults applied). */
export type BarmanObjectStoreConfiguration = z.output<typeof barmanObjectStoreSchema>;
/** `barmanObjectStore.s3Credentials`. */
export type S3Credentials = NonNullable<BarmanObjectStoreConfiguration['s3Credentials']>;
/** `barmanObjectStore.wal`. */
export type WalBackupConfiguration = BarmanObjectStoreConfiguration['wal'];
/** `barmanObjectStore.data`. */
export type DataBackupConfiguration = BarmanObjectStoreConfiguration['data'];

/** A problem with a whole barmanObjectStore, at a path relative to it. */
export interface ObjectStoreFinding {
  path: PathSegment[];
  code: IssueCode;
  message: string;
}

/**
 * Rules across the fields of one barmanObjectStore (barman-cloud's ValidateBackupConfiguration,
 * narrowed to what pgherd implements): an s3:// destination needs s3Credentials, a file://
 * destination takes no S3 settings. Run once every field is valid on its own.
 */
export function checkObjectStore(store: BarmanObjectStoreConfiguration): ObjectStoreFinding[] {
  const kind = destinationKind(store.destinationPath);
  if (kind === 's3') {
    return store.s3Credentials === undefined
      ? [
          {
            path: ['s3Credentials'],
            code: 'PGHERD_API_REQUIRED',
            message:
              'an s3:// destinationPath needs s3Credentials: accessKeyId and secretAccessKey, or inheritFromIAMRole: true',
          },
        ]
      : [];
  }
  if (kind !== 'file') return [];
  return (['s3Credentials', 'endpointURL', 'endpointCA'] as const).flatMap((field) =>
    store[field] === undefined
      ? []
      : [
          {
            path: [field],
            code: 'PGHERD_API_CONFLICT' as const,
            message: `${field} only applies to s3:// destinations; a file:// destinationPath is a local directory`,
          },
        ],
  );
}

/** The ignored and unimplemented fields of a barmanObjectStore found at `prefix` (a field pattern). */
export function objectStoreFields(prefix: string): {
  ignored: IgnoredField[];
  unimplemented: UnimplementedField[];
} {
  const commandLine = (tool: string, what: string): string =>
    `${tool} command-line arguments; pgherd ${what} itself, without barman-cloud`;
  const storage = 'pgherd implements S3-compatible object stores (s3Credentials) and file:// directories';
  const encryption = "leave it unset: the bucket's default encryption applies";
  return {
    ignored: [
      {
        path: `${prefix}.wal.archiveAdditionalCommandArgs`,
        reason: 'pgherd',
        about: commandLine('barman-cloud-wal-archive', 'archives WAL'),
      },
      {
        path: `${prefix}.wal.restoreAdditionalCommandArgs`,
        reason: 'pgherd',
        about: commandLine('barman-cloud-wal-restore', 'restores WAL'),
      },
      {
        path: `${prefix}.data.additionalCommandArgs`,
        reason: 'pgherd',
        about: commandLine('barman-cloud-backup', 'takes base backups'),
      },
      {
        path: `${prefix}.data.restoreAdditionalCommandArgs`,
        reason: 'pgherd',
        about: commandLine('barman-cloud-restore', 'restores base backups'),
      },
      {
        path: `${prefix}.tags`,
        reason: 'pgherd',
        about: 'object tags barman-cloud sets on uploads; pgherd does not tag objects',
      },
      {
        path: `${prefix}.historyTags`,
        reason: 'pgherd',
        about: 'object tags barman-cloud sets on history files; pgherd does not tag objects',
      },
    ],
    unimplemented: [
      { path: `${prefix}.azureCredentials`, hint: storage },
      { path: `${prefix}.googleCredentials`, hint: storage },
      { path: `${prefix}.wal.encryption`, hint: encryption },
      { path: `${prefix}.data.encryption`, hint: encryption },
    ],
  };
}
