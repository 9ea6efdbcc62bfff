/**
 * Every code a manifest issue can carry, with what it means and what the user should check.
 * docs/errors.md is written from this table (a test keeps the two in step).
 */
export const ISSUE_CODES = {
  PGHERD_API_YAML_SYNTAX: {
    meaning: 'the text is not valid YAML',
    check: 'indentation, unclosed brackets or quotes, duplicate keys, tabs used for indentation',
  },
  PGHERD_API_YAML_ALIASES: {
    meaning: 'YAML aliases expand to too many nodes (a resource-exhaustion guard)',
    check: 'write the repeated values out instead of nesting anchors and aliases',
  },
  PGHERD_API_YAML_WARNING: {
    meaning: 'the YAML parser accepted something questionable (for example an unknown tag)',
    check: 'remove custom `!tags`; manifests use plain YAML',
  },
  PGHERD_API_EMPTY: {
    meaning: 'the file holds no resources at all',
    check: 'the file name, and that documents are not all commented out',
  },
  PGHERD_API_NOT_A_MAPPING: {
    meaning: 'a YAML document is a list or a scalar instead of a mapping',
    check: 'each document between `---` lines must be a mapping with apiVersion, kind and metadata',
  },
  PGHERD_API_REQUIRED: {
    meaning: 'a required field is missing (the position is the field that should contain it)',
    check: 'add the field named in the message',
  },
  PGHERD_API_TYPE: {
    meaning: 'a field has the wrong type (for example a number where CNPG wants a string)',
    check: 'quote numbers and booleans that must be strings (`"10000"`, `"on"`); lists vs mappings',
  },
  PGHERD_API_RANGE: {
    meaning: 'a number or a length is outside the allowed range',
    check: 'the limits given in the message (for example `instances` is at least 1)',
  },
  PGHERD_API_ENUM: {
    meaning: 'a field only takes one of a fixed set of values',
    check: 'spelling and case of the value; the allowed values are listed in the message',
  },
  PGHERD_API_FORMAT: {
    meaning: 'a string does not have the required format (names, quantities, image tags, base64, ...)',
    check: 'the format described in the message',
  },
  PGHERD_API_UNKNOWN_FIELD: {
    meaning: 'a field that neither CNPG nor pgherd knows (usually a typo)',
    check: 'the "did you mean" suggestion and the indentation (the field may be at the wrong level)',
  },
  PGHERD_API_NOT_IMPLEMENTED: {
    meaning:
      'a CNPG field, kind or value (such as a compression) that pgherd does not implement yet; it is refused, never silently ignored',
    check: 'remove the field or kind, or use a value the message names, or wait for pgherd to implement it',
  },
  PGHERD_API_IGNORED_FIELD: {
    meaning:
      'warning: a field that only means something on Kubernetes (or is set by pgherd, or tunes barman-cloud, which pgherd does not run) is accepted but ignored',
    check: 'nothing, unless you expected it to take effect on the local platform',
  },
  PGHERD_API_UNKNOWN_KIND: {
    meaning: 'a kind that is neither a CNPG kind nor Secret',
    check: 'the `kind:` spelling; pgherd accepts Cluster, Secret, Backup and ScheduledBackup',
  },
  PGHERD_API_API_VERSION: {
    meaning: 'the apiVersion does not match the kind',
    check:
      'Cluster, Backup and ScheduledBackup need `apiVersion: postgresql.cnpg.io/v1`, Secret needs `apiVersion: v1`',
  },
  PGHERD_API_DUPLICATE: {
    meaning: 'two documents declare the same kind, namespace and name, or two list entries the same name',
    check: 'rename one of them, or delete the copy',
  },
  PGHERD_API_PARAMETER_NAME: {
    meaning: 'a `postgresql.parameters` key is not a valid PostgreSQL setting name, or is set twice',
    check: 'names are letters, digits and `_`, optionally `extension.setting`; case does not matter',
  },
  PGHERD_API_PARAMETER_VALUE: {
    meaning: 'a `postgresql.parameters` value contains a line break or NUL (it could inject configuration)',
    check: 'put the value on one line',
  },
  PGHERD_API_PARAMETER_FIXED: {
    meaning: "a PostgreSQL setting that pgherd manages itself (CNPG's fixed parameters)",
    check: 'remove it; the message names the spec field to use instead when there is one',
  },
  PGHERD_API_PARAMETER_BLOCKED: {
    meaning: "a PostgreSQL setting that can never be set (CNPG's blocked parameters)",
    check: 'remove it',
  },
  PGHERD_API_PG_HBA: {
    meaning:
      'a `postgresql.pg_hba` rule is refused (several lines in one item, unknown type or method, `trust` over the network)',
    check:
      'one rule per list item, `host`/`hostssl`/`local` with a known method such as scram-sha-256 or cert',
  },
  PGHERD_API_PG_IDENT: {
    meaning:
      'a `postgresql.pg_ident` rule is refused (several lines in one item, not three fields, a map pgherd owns)',
    check: 'one `map system-user pg-user` rule per list item, with a map name of your own',
  },
  PGHERD_API_UNSAFE_TEXT: {
    meaning: 'a standby name or SQL text contains characters that would break out of where it is written',
    check: 'no control characters or double quotes in standby names, no NUL in SQL',
  },
  PGHERD_API_RESERVED_NAME: {
    meaning: 'a database or role name that PostgreSQL or pgherd reserves',
    check: 'pick another name (not postgres, template0, template1, streaming_replica, cnpg_*, pg_*)',
  },
  PGHERD_API_INVALID_VALUE: {
    meaning: 'a value breaks a CNPG rule, often one that involves other fields (the message names them)',
    check: 'the fields named in the message',
  },
  PGHERD_API_CONFLICT: {
    meaning: 'two fields that cannot be used together',
    check: 'keep only one of the fields named in the message',
  },
  PGHERD_API_SECRET_NOT_FOUND: {
    meaning: 'a referenced Secret is neither in the applied files nor already stored',
    check: 'the secret name and namespace; apply the Secret together with the Cluster',
  },
  PGHERD_API_SECRET_TYPE: {
    meaning: 'a referenced Secret has the wrong type',
    check: 'credentials secrets need `type: kubernetes.io/basic-auth`',
  },
  PGHERD_API_SECRET_KEYS: {
    meaning: 'a Secret lacks keys that its type or its use requires',
    check:
      'basic-auth secrets need `username` and `password` in data or stringData; object store credentials need the `key` their reference names',
  },
  PGHERD_API_BACKUP_NOT_CONFIGURED: {
    meaning: 'a Backup or ScheduledBackup names a cluster that has no `spec.backup.barmanObjectStore`',
    check:
      "`spec.cluster.name`, and the cluster's `spec.backup.barmanObjectStore` (apply it with the cluster)",
  },
  PGHERD_API_IMMUTABLE: {
    meaning:
      "a field that cannot change once the resource exists (a Cluster's bootstrap, a Backup's spec, a ScheduledBackup's cluster)",
    check: 'revert the field; create a new resource for a different setting',
  },
  PGHERD_API_STORAGE_SHRINK: {
    meaning: 'a storage size was decreased',
    check: 'sizes can only grow; keep the previous size or larger',
  },
  PGHERD_API_MAJOR_UPGRADE: {
    meaning: 'the PostgreSQL major version changed; major upgrades are not supported yet',
    check: 'keep the previous major version in imageName or imageCatalogRef.major',
  },
} as const satisfies Record<string, { meaning: string; check: string }>;

/** One of the codes above. */
export type IssueCode = keyof typeof ISSUE_CODES;
