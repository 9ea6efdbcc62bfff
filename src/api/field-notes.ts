/** A field pgherd accepts but ignores: reported once, as a warning, when a manifest sets it. */
export interface IgnoredField {
  /** Dotted path from the document root, like `spec.affinity`; `[]` stands for every list item. */
  path: string;
  /**
   * `kubernetes`: only means something on Kubernetes; `server`: written by pgherd, not by users;
   * `pgherd`: tunes a tool pgherd does not run (barman-cloud's command lines, for example).
   */
  reason: 'kubernetes' | 'server' | 'pgherd';
  /** What the field is about, shown in the warning. */
  about: string;
}

/** A CNPG field pgherd does not implement yet: refused by name, never silently ignored. */
export interface UnimplementedField {
  /** Dotted path from the document root; `[]` stands for every list item. */
  path: string;
  /** What to do instead, when there is something. */
  hint?: string;
}

/** The warning sentence for an ignored field, found at `path` (the field's own path by default). */
export function ignoredFieldMessage(field: IgnoredField, path: string = field.path): string {
  switch (field.reason) {
    case 'server':
      return `${path} is set by pgherd; the value in the manifest is ignored`;
    case 'kubernetes':
      return `${path} is ignored on the local platform (${field.about})`;
    case 'pgherd':
      return `${path} is ignored by pgherd (${field.about})`;
  }
}

/** The error sentence for an unimplemented field or kind. */
export function notImplementedMessage(what: string, hint?: string): string {
  return hint === undefined
    ? `${what} is not implemented yet by pgherd`
    : `${what} is not implemented yet by pgherd; ${hint}`;
}

/** Metadata fields every kind accepts and ignores: Kubernetes writes them, or they drive its garbage collector. */
export const METADATA_IGNORED_FIELDS: readonly IgnoredField[] = [
  { path: 'metadata.uid', reason: 'server', about: 'object identity' },
  { path: 'metadata.resourceVersion', reason: 'server', about: 'optimistic concurrency' },
  { path: 'metadata.generation', reason: 'server', about: 'spec generation' },
  { path: 'metadata.creationTimestamp', reason: 'server', about: 'creation time' },
  { path: 'metadata.deletionTimestamp', reason: 'server', about: 'deletion time' },
  { path: 'metadata.deletionGracePeriodSeconds', reason: 'server', about: 'deletion grace period' },
  { path: 'metadata.managedFields', reason: 'server', about: 'server-side apply bookkeeping' },
  { path: 'metadata.selfLink', reason: 'server', about: 'API link' },
  { path: 'metadata.finalizers', reason: 'kubernetes', about: 'Kubernetes finalizers' },
  { path: 'metadata.ownerReferences', reason: 'kubernetes', about: 'Kubernetes garbage collection' },
];

/** Metadata fields CNPG users may set that pgherd does not implement. */
export const METADATA_UNIMPLEMENTED_FIELDS: readonly UnimplementedField[] = [
  { path: 'metadata.generateName', hint: 'set metadata.name' },
];
