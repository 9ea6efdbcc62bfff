/**
 * pgherd's user-facing API: CNPG `postgresql.cnpg.io/v1` Cluster and core Secret manifests —
 * loading, schemas, defaults and validation. Pure.
 */
export type { ClusterResource, ClusterStatus } from './cluster/cluster-resource.ts';
export { clusterDocumentSchema } from './cluster/cluster-resource.ts';
export type { ClusterSpec } from './cluster/cluster-spec-schema.ts';
export { checkClusterName, clusterSpecSchema } from './cluster/cluster-spec-schema.ts';
export { declaredMajor } from './cluster/declared-major.ts';
export { validateUpdate } from './cluster/validate-update.ts';
export { ISSUE_CODES, type IssueCode } from './issue-codes.ts';
export { CNPG_API_VERSION, UNIMPLEMENTED_KINDS } from './kinds.ts';
export { type LoadResult, loadManifests } from './load-manifests.ts';
export { formatIssue, type ManifestIssue } from './manifest-issue.ts';
export { DEFAULT_NAMESPACE, type ObjectMeta } from './object-meta.ts';
export {
  BASIC_AUTH_SECRET_TYPE,
  type SecretResource,
  secretDocumentSchema,
} from './secret/secret-resource.ts';
export type { UserResource } from './user-resource.ts';
export { validateReferences } from './validate-references.ts';
