import { z } from 'zod';
import { metadataSchema, type ObjectMeta } from '../object-meta.ts';
import { type ClusterSpec, checkClusterName, clusterSpecSchema } from './cluster-spec-schema.ts';

/** What pgherd observes about a Cluster, in CNPG's status field names. */
export interface ClusterStatus {
  phase?: string;
  phaseReason?: string;
  currentPrimary?: string;
  targetPrimary?: string;
  currentPrimaryTimestamp?: string;
  targetPrimaryTimestamp?: string;
  instances?: number;
  readyInstances?: number;
  instanceNames?: string[];
  latestGeneratedNode?: number;
  timelineID?: number;
  conditions?: Array<{
    type: string;
    status: 'True' | 'False' | 'Unknown';
    reason: string;
    message: string;
    lastTransitionTime: string;
  }>;
  instancesStatus?: Record<string, string[]>;
  [k: string]: unknown;
}

/** A CNPG Cluster with defaults applied. */
export interface ClusterResource {
  apiVersion: 'postgresql.cnpg.io/v1';
  kind: 'Cluster';
  metadata: ObjectMeta;
  spec: ClusterSpec;
  status?: ClusterStatus;
}

/** A whole Cluster document (apiVersion and kind are checked before this schema applies). */
export const clusterDocumentSchema = z.strictObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: metadataSchema(checkClusterName),
  spec: clusterSpecSchema,
  status: z.unknown().optional(),
});
