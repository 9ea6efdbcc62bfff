import { z } from 'zod';
import { checkDns1123Subdomain, checkSecretKey } from '../names.ts';
import { metadataSchema, type ObjectMeta } from '../object-meta.ts';
import { addIssue, refineWith } from '../zod-helpers.ts';

/** A Kubernetes Secret (core `v1`); `stringData` is folded into `data`, so every value is base64. */
export interface SecretResource {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: ObjectMeta;
  type: string;
  data: Record<string, string>;
}

/** The Secret type CNPG requires for credentials (application owner, superuser). */
export const BASIC_AUTH_SECRET_TYPE = 'kubernetes.io/basic-auth';

/** Keys the API server requires per Secret type (k8s.io/kubernetes pkg/apis/core/validation). */
const REQUIRED_KEYS: Readonly<Record<string, { anyOf?: readonly string[]; allOf?: readonly string[] }>> = {
  [BASIC_AUTH_SECRET_TYPE]: { anyOf: ['username', 'password'] },
  'kubernetes.io/tls': { allOf: ['tls.crt', 'tls.key'] },
  'kubernetes.io/ssh-auth': { allOf: ['ssh-privatekey'] },
};

/** Standard base64 with padding, as the API server decodes `data` (line breaks are ignored). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function checkBase64(value: string): string | undefined {
  return BASE64.test(value.replace(/[\r\n]/g, ''))
    ? undefined
    : 'must be base64 (standard alphabet, with = padding)';
}

const secretKey = z.string().superRefine(refineWith(checkSecretKey, 'PGHERD_API_FORMAT'));

/** Base64 of a text's UTF-8 bytes. */
function encodeBase64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** A whole Secret document (apiVersion and kind are checked before this schema applies). */
export const secretDocumentSchema = z
  .strictObject({
    apiVersion: z.string(),
    kind: z.string(),
    metadata: metadataSchema(checkDns1123Subdomain),
    type: z.string().min(1).default('Opaque'),
    data: z
      .record(secretKey, z.string().superRefine(refineWith(checkBase64, 'PGHERD_API_FORMAT')))
      .optional(),
    stringData: z.record(secretKey, z.string()).optional(),
  })
  .transform((doc) => {
    // As the API server does: stringData is merged into data and wins on conflicts.
    const data: Record<string, string> = {};
    for (const [key, value] of Object.entries(doc.data ?? {})) data[key] = value.replace(/[\r\n]/g, '');
    for (const [key, value] of Object.entries(doc.stringData ?? {})) data[key] = encodeBase64(value);
    return { ...doc, data };
  })
  .superRefine((doc, ctx) => {
    const required = REQUIRED_KEYS[doc.type];
    if (required === undefined) return;
    const keys = Object.keys(doc.data);
    if (required.anyOf !== undefined && !required.anyOf.some((key) => keys.includes(key))) {
      addIssue(
        ctx,
        'PGHERD_API_SECRET_KEYS',
        `a ${doc.type} secret needs at least one of the keys ${required.anyOf.join(', ')}`,
        ['data'],
        'key',
      );
    }
    const missing = (required.allOf ?? []).filter((key) => !keys.includes(key));
    if (missing.length > 0) {
      addIssue(
        ctx,
        'PGHERD_API_SECRET_KEYS',
        `a ${doc.type} secret needs the keys ${missing.join(', ')}`,
        ['data'],
        'key',
      );
    }
  });
