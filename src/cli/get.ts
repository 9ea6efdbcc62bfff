/** `pgherd get KIND [NAME] [-o json|yaml|jsonpath=...]`. */
import type {
  BackupResource,
  ClusterResource,
  ScheduledBackupResource,
  SecretResource,
} from '../api/index.ts';
import type { InstanceResource, ServiceResource } from '../api/internal.ts';
import type { StoredObject } from '../ports/store.ts';
import { type CliContext, UserError } from './context.ts';
import { age, jsonpath, table, toJson, toYaml } from './output.ts';

/** Secret values are stored base64 (as Kubernetes); jsonpath prints `.data.*` decoded for shells. */
function decodeSecretData(obj: StoredObject) {
  return (path: string[], v: unknown): unknown => {
    if (obj.kind === 'Secret' && path[0] === 'data' && path.length === 2 && typeof v === 'string') {
      return Buffer.from(v, 'base64').toString('utf8');
    }
    return v;
  };
}

export function renderGet(
  objs: StoredObject[],
  output: string | undefined,
  single: boolean,
  now: Date,
): string {
  if (output === 'json') return toJson(single ? objs[0] : { apiVersion: 'v1', kind: 'List', items: objs });
  if (output === 'yaml') return toYaml(single ? objs[0] : { apiVersion: 'v1', kind: 'List', items: objs });
  if (output?.startsWith('jsonpath=')) {
    const tpl = output.slice('jsonpath='.length);
    if (single) return jsonpath(tpl, objs[0], decodeSecretData(objs[0]!));
    return jsonpath(tpl, { items: objs });
  }
  if (output !== undefined && output !== 'wide') {
    throw new UserError(
      `unknown output format "${output}": use json, yaml, wide or jsonpath=TEMPLATE`,
      'PGHERD_CLI_OUTPUT',
    );
  }
  if (objs.length === 0) return `No resources found.`;
  switch (objs[0]!.kind) {
    case 'Cluster':
      return table(
        ['NAME', 'AGE', 'INSTANCES', 'READY', 'STATUS', 'PRIMARY'],
        (objs as ClusterResource[]).map((c) => [
          c.metadata.name,
          age(c.metadata.creationTimestamp, now),
          c.spec.instances,
          c.status?.readyInstances ?? 0,
          c.status?.phase ?? '',
          c.status?.currentPrimary ?? '',
        ]),
      );
    case 'Service':
      return table(
        ['NAME', 'ROLE', 'HOST', 'PORT', 'AGE'],
        (objs as ServiceResource[]).map((s) => [
          s.metadata.name,
          s.spec.role,
          s.spec.host,
          s.spec.port,
          age(s.metadata.creationTimestamp, now),
        ]),
      );
    case 'Secret':
      return table(
        ['NAME', 'TYPE', 'DATA', 'AGE'],
        (objs as SecretResource[]).map((s) => [
          s.metadata.name,
          s.type,
          Object.keys(s.data).length,
          age(s.metadata.creationTimestamp, now),
        ]),
      );
    case 'Instance':
      return table(
        ['NAME', 'CLUSTER', 'ROLE', 'READY', 'PHASE', 'PORT', 'AGE'],
        (objs as InstanceResource[]).map((i) => [
          i.metadata.name,
          i.spec.cluster,
          i.status?.role ?? 'unknown',
          i.status?.ready === true ? 'true' : 'false',
          i.status?.phase ?? '',
          i.spec.pgPort,
          age(i.metadata.creationTimestamp, now),
        ]),
      );
    case 'Backup':
      // kubectl's columns for CNPG's Backup CRD.
      return table(
        ['NAME', 'AGE', 'CLUSTER', 'METHOD', 'PHASE', 'ERROR'],
        (objs as BackupResource[]).map((b) => [
          b.metadata.name,
          age(b.metadata.creationTimestamp, now),
          b.spec.cluster.name,
          b.spec.method,
          b.status?.phase ?? '',
          b.status?.error ?? '',
        ]),
      );
    case 'ScheduledBackup':
      // kubectl's columns for CNPG's ScheduledBackup CRD: LAST BACKUP is the age of the last run.
      return table(
        ['NAME', 'AGE', 'CLUSTER', 'LAST BACKUP'],
        (objs as ScheduledBackupResource[]).map((s) => [
          s.metadata.name,
          age(s.metadata.creationTimestamp, now),
          s.spec.cluster.name,
          age(s.status?.lastScheduleTime, now),
        ]),
      );
    default:
      return toYaml(objs);
  }
}

export async function getCommand(
  ctx: CliContext,
  kind: string,
  name: string | undefined,
  output: string | undefined,
) {
  const objs = await ctx.platform.controlPlane().get(kind, ctx.namespace, name);
  ctx.io.out(renderGet(objs, output, name !== undefined, new Date()));
}
