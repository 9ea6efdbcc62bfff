import { z } from 'zod';
import { checkDns1123Label, checkLabelValue, checkQualifiedName } from './names.ts';
import { refineWith } from './zod-helpers.ts';

/** The namespace a resource lands in when its manifest names none (as kubectl does). */
export const DEFAULT_NAMESPACE = 'default';

/** Kubernetes object metadata, as far as pgherd keeps it. */
export interface ObjectMeta {
  name: string;
  namespace: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** Fields the server writes: accepted in manifests (exports of live objects carry them) and dropped. */
const serverWritten = z.unknown().optional();

/**
 * The `metadata` schema of a kind; `checkName` holds the kind's naming rule (Clusters are
 * DNS-1035 labels, Secrets DNS-1123 subdomains).
 */
export function metadataSchema(checkName: (name: string) => string | undefined) {
  return z.strictObject({
    name: z.string().superRefine(refineWith(checkName, 'PGHERD_API_FORMAT')),
    namespace: z
      .string()
      .superRefine(refineWith(checkDns1123Label, 'PGHERD_API_FORMAT'))
      .default(DEFAULT_NAMESPACE),
    labels: z
      .record(
        z.string().superRefine(refineWith(checkQualifiedName, 'PGHERD_API_FORMAT')),
        z.string().superRefine(refineWith(checkLabelValue, 'PGHERD_API_FORMAT')),
      )
      .optional(),
    annotations: z
      .record(z.string().superRefine(refineWith(checkQualifiedName, 'PGHERD_API_FORMAT')), z.string())
      .optional(),
    uid: serverWritten,
    resourceVersion: serverWritten,
    generation: serverWritten,
    creationTimestamp: serverWritten,
    deletionTimestamp: serverWritten,
    deletionGracePeriodSeconds: serverWritten,
    managedFields: serverWritten,
    selfLink: serverWritten,
    finalizers: z.array(z.string()).optional(),
    ownerReferences: z.array(z.record(z.string(), z.unknown())).optional(),
  });
}

/** The parsed metadata of any kind. */
export type ParsedMetadata = z.output<ReturnType<typeof metadataSchema>>;

/** The ObjectMeta pgherd keeps from parsed metadata: what the user owns, nothing the server writes. */
export function toObjectMeta(parsed: ParsedMetadata): ObjectMeta {
  const meta: ObjectMeta = { name: parsed.name, namespace: parsed.namespace };
  if (parsed.labels !== undefined) meta.labels = parsed.labels;
  if (parsed.annotations !== undefined) meta.annotations = parsed.annotations;
  return meta;
}
