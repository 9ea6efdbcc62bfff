import type { ClusterResource } from './cluster/cluster-resource.ts';
import type { SecretResource } from './secret/secret-resource.ts';

/** A resource users apply: a CNPG Cluster or a core Secret. */
export type UserResource = ClusterResource | SecretResource;
