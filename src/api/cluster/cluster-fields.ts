/**
 * Which Cluster fields pgherd accepts but ignores (they only mean something on Kubernetes) and
 * which it refuses because they are not implemented yet. Rules as data: the loader reads these
 * tables, the schema (cluster-spec-schema.ts) accepts every ignored path, and a test keeps the
 * two in step.
 */
import { objectStoreFields } from '../backup/barman-object-store.ts';
import type { IgnoredField, UnimplementedField } from '../field-notes.ts';

const scheduling = 'Pod scheduling';
const podVolumes = 'Pod volumes';
const pvc = 'PersistentVolumeClaims; data lives in a local directory';
const containerSecurity = 'container security settings';

/** The cluster's own object store, and the ones of the clusters it can recover from. */
const backupStore = objectStoreFields('spec.backup.barmanObjectStore');
const externalStore = objectStoreFields('spec.externalClusters[].barmanObjectStore');

/** Connecting to an external cluster (to stream or clone from it) is not implemented. */
const streaming =
  'pgherd reads an external cluster from its barmanObjectStore only, without connecting to it';

/** Kubernetes-only Cluster fields: accepted, reported once each as ignored on the local platform. */
export const CLUSTER_IGNORED_FIELDS: readonly IgnoredField[] = [
  {
    path: 'spec.inheritedMetadata',
    reason: 'kubernetes',
    about: 'labels and annotations of generated Kubernetes objects',
  },
  {
    path: 'spec.imagePullPolicy',
    reason: 'kubernetes',
    about: 'no images are pulled; PostgreSQL comes from the machine',
  },
  {
    path: 'spec.imagePullSecrets',
    reason: 'kubernetes',
    about: 'no images are pulled; PostgreSQL comes from the machine',
  },
  { path: 'spec.schedulerName', reason: 'kubernetes', about: scheduling },
  { path: 'spec.affinity', reason: 'kubernetes', about: scheduling },
  { path: 'spec.topologySpreadConstraints', reason: 'kubernetes', about: scheduling },
  { path: 'spec.priorityClassName', reason: 'kubernetes', about: scheduling },
  { path: 'spec.resources', reason: 'kubernetes', about: 'container CPU and memory requests and limits' },
  {
    path: 'spec.postgresUID',
    reason: 'kubernetes',
    about: 'container user id; PostgreSQL runs as the local postgres user',
  },
  {
    path: 'spec.postgresGID',
    reason: 'kubernetes',
    about: 'container group id; PostgreSQL runs as the local postgres user',
  },
  { path: 'spec.serviceAccountTemplate', reason: 'kubernetes', about: 'Kubernetes service accounts' },
  { path: 'spec.serviceAccountName', reason: 'kubernetes', about: 'Kubernetes service accounts' },
  { path: 'spec.env', reason: 'kubernetes', about: 'container environment variables' },
  { path: 'spec.envFrom', reason: 'kubernetes', about: 'container environment variables' },
  { path: 'spec.seccompProfile', reason: 'kubernetes', about: containerSecurity },
  { path: 'spec.podSecurityContext', reason: 'kubernetes', about: containerSecurity },
  { path: 'spec.securityContext', reason: 'kubernetes', about: containerSecurity },
  { path: 'spec.ephemeralVolumeSource', reason: 'kubernetes', about: podVolumes },
  { path: 'spec.ephemeralVolumesSizeLimit', reason: 'kubernetes', about: podVolumes },
  { path: 'spec.projectedVolumeTemplate', reason: 'kubernetes', about: podVolumes },
  {
    path: 'spec.livenessProbeTimeout',
    reason: 'kubernetes',
    about: 'Kubernetes liveness probes; set spec.probes.liveness instead',
  },
  { path: 'spec.probes.liveness.initialDelaySeconds', reason: 'kubernetes', about: 'kubelet probe timing' },
  { path: 'spec.probes.liveness.successThreshold', reason: 'kubernetes', about: 'kubelet probe timing' },
  {
    path: 'spec.probes.liveness.terminationGracePeriodSeconds',
    reason: 'kubernetes',
    about: 'kubelet probe timing',
  },
  { path: 'spec.nodeMaintenanceWindow', reason: 'kubernetes', about: 'Kubernetes node drains' },
  { path: 'spec.enablePDB', reason: 'kubernetes', about: 'PodDisruptionBudgets' },
  { path: 'spec.storage.storageClass', reason: 'kubernetes', about: pvc },
  { path: 'spec.storage.pvcTemplate', reason: 'kubernetes', about: pvc },
  { path: 'spec.storage.resizeInUseVolumes', reason: 'kubernetes', about: pvc },
  { path: 'spec.walStorage.storageClass', reason: 'kubernetes', about: pvc },
  { path: 'spec.walStorage.pvcTemplate', reason: 'kubernetes', about: pvc },
  { path: 'spec.walStorage.resizeInUseVolumes', reason: 'kubernetes', about: pvc },
  ...backupStore.ignored,
  ...externalStore.ignored,
  { path: 'status', reason: 'server', about: 'observed state' },
];

/** CNPG Cluster fields pgherd does not implement yet: refused by name. */
export const CLUSTER_UNIMPLEMENTED_FIELDS: readonly UnimplementedField[] = [
  {
    path: 'spec.backup.volumeSnapshot',
    hint: 'pgherd takes base backups to spec.backup.barmanObjectStore',
  },
  ...backupStore.unimplemented,
  { path: 'spec.externalClusters[].connectionParameters', hint: streaming },
  { path: 'spec.externalClusters[].sslCert', hint: streaming },
  { path: 'spec.externalClusters[].sslKey', hint: streaming },
  { path: 'spec.externalClusters[].sslRootCert', hint: streaming },
  { path: 'spec.externalClusters[].password', hint: streaming },
  {
    path: 'spec.externalClusters[].plugin',
    hint: 'backup plugins are not implemented; describe the object store with barmanObjectStore',
  },
  ...externalStore.unimplemented,
  { path: 'spec.managed' },
  { path: 'spec.replica' },
  { path: 'spec.monitoring' },
  { path: 'spec.tablespaces' },
  { path: 'spec.plugins' },
  { path: 'spec.primaryLease' },
  { path: 'spec.probes.startup' },
  { path: 'spec.probes.readiness' },
  { path: 'spec.podSelectorRefs' },
  {
    path: 'spec.bootstrap.recovery.volumeSnapshots',
    hint: 'recover from an object store with backup.name or source',
  },
  {
    path: 'spec.bootstrap.pg_basebackup',
    hint: "restore a backup instead: bootstrap.recovery from a Backup or an external cluster's barmanObjectStore",
  },
  { path: 'spec.bootstrap.initdb.import' },
  { path: 'spec.bootstrap.initdb.options' },
  { path: 'spec.bootstrap.initdb.locale', hint: 'use localeCollate and localeCType' },
  { path: 'spec.bootstrap.initdb.localeProvider' },
  { path: 'spec.bootstrap.initdb.icuLocale' },
  { path: 'spec.bootstrap.initdb.icuRules' },
  { path: 'spec.bootstrap.initdb.builtinLocale' },
  { path: 'spec.bootstrap.initdb.postInitSQLRefs', hint: 'write the statements in postInitSQL' },
  {
    path: 'spec.bootstrap.initdb.postInitApplicationSQLRefs',
    hint: 'write the statements in postInitApplicationSQL',
  },
  {
    path: 'spec.bootstrap.initdb.postInitTemplateSQLRefs',
    hint: 'write the statements in postInitTemplateSQL',
  },
  { path: 'spec.postgresql.ldap' },
  { path: 'spec.postgresql.shared_preload_libraries' },
  { path: 'spec.postgresql.extensions' },
  { path: 'spec.postgresql.promotionTimeout' },
  { path: 'spec.postgresql.enableAlterSystem' },
  { path: 'spec.postgresql.syncReplicaElectionConstraint' },
  { path: 'spec.postgresql.synchronous.podFailureDomainKeys' },
  { path: 'spec.postgresql.synchronous.nodeFailureDomainKeys' },
];
