/**
 * How a cluster was (or will be) created, and the application database every bootstrap method
 * names: `spec.bootstrap.initdb` or `spec.bootstrap.recovery` (exactly one is set).
 */
import type { ClusterSpec } from './cluster-spec-schema.ts';

/** The bootstrap methods pgherd implements. */
export type BootstrapMethod = 'initdb' | 'recovery';

/** The cluster's bootstrap method. */
export function bootstrapMethod(spec: Pick<ClusterSpec, 'bootstrap'>): BootstrapMethod {
  return spec.bootstrap.recovery !== undefined ? 'recovery' : 'initdb';
}

/** The application database, its owner and the owner's credentials secret (when the user gives one). */
export interface ApplicationDatabase {
  database: string;
  owner: string;
  secret?: { name: string };
}

/**
 * The application database of either bootstrap method, with CNPG's defaults (`app`, owned by
 * `app`): initdb creates it; recovery finds it in the backup and sets the owner's password.
 */
export function applicationDatabase(spec: Pick<ClusterSpec, 'bootstrap'>): ApplicationDatabase {
  const method = spec.bootstrap.recovery ?? spec.bootstrap.initdb;
  return method === undefined
    ? { database: 'app', owner: 'app' }
    : {
        database: method.database,
        owner: method.owner,
        ...(method.secret !== undefined ? { secret: method.secret } : {}),
      };
}
