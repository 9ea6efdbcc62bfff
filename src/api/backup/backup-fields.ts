/**
 * Which Backup and ScheduledBackup fields pgherd ignores (written by pgherd) or refuses until it
 * implements them. Rules as data, read by the loader (see cluster/cluster-fields.ts).
 */
import type { IgnoredField, UnimplementedField } from '../field-notes.ts';

const plugins = 'backup plugins are not implemented; pgherd backs up to the barmanObjectStore itself';

/** Backup fields pgherd accepts and ignores. */
export const BACKUP_IGNORED_FIELDS: readonly IgnoredField[] = [
  { path: 'status', reason: 'server', about: 'observed state' },
];

/** Backup fields pgherd refuses by name. */
export const BACKUP_UNIMPLEMENTED_FIELDS: readonly UnimplementedField[] = [
  { path: 'spec.pluginConfiguration', hint: plugins },
];

/** ScheduledBackup fields pgherd accepts and ignores. */
export const SCHEDULED_BACKUP_IGNORED_FIELDS: readonly IgnoredField[] = [
  { path: 'status', reason: 'server', about: 'observed state' },
];

/** ScheduledBackup fields pgherd refuses by name. */
export const SCHEDULED_BACKUP_UNIMPLEMENTED_FIELDS: readonly UnimplementedField[] = [
  { path: 'spec.pluginConfiguration', hint: plugins },
];
