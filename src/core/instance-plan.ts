/**
 * What an instance manager does next with its PostgreSQL, decided from what it observes.
 * Pure and table-tested: the manager observes, runs the step, observes again. The rules that
 * keep data safe live here: a primary's data is never re-initialized, a replica never starts
 * without standby.signal, a half-finished clone or bootstrap is never started.
 */

export interface InstanceObservation {
  /** status.targetPrimary names this instance. */
  isTargetPrimary: boolean;
  /** status.currentPrimary names this instance. */
  isCurrentPrimary: boolean;
  /** The cluster's Initialized condition is true (its data exists somewhere). */
  clusterInitialized: boolean;
  /** initdb finished here (marker written right after it). */
  initdbDone: boolean;
  /** The post-init SQL finished here (marker written right after it). */
  bootstrapDone: boolean;
  /** PG_VERSION and global/pg_control exist and no clone is half-done. */
  dataValid: boolean;
  /** A pg_basebackup into this data directory started and did not finish. */
  cloneInterrupted: boolean;
  postmasterRunning: boolean;
  /** Why the primary cannot be cloned now, or undefined when it can. */
  primaryNotReady: string | undefined;
  /** The instance is fenced (cnpg.io/fencedInstances): PostgreSQL must not run. */
  fenced: boolean;
}

export type InstanceStep =
  | { step: 'stopPostgres'; reason: string }
  | { step: 'fence'; reason: string }
  | { step: 'initdb'; reason: string }
  | { step: 'postInit'; reason: string }
  | { step: 'markInitialized'; reason: string }
  | { step: 'clone'; reason: string }
  | { step: 'start'; asStandby: boolean; reason: string }
  | { step: 'wait'; reason: string }
  | { step: 'refuse'; code: string; reason: string }
  | { step: 'maintain'; reason: string };

/** Decides the instance manager's next step. */
export function planInstance(o: InstanceObservation): InstanceStep {
  const bootstrapping = o.isTargetPrimary && !o.clusterInitialized;

  // Fencing wins over everything: PostgreSQL is stopped and stays stopped, data untouched.
  if (o.fenced) {
    if (o.postmasterRunning) return { step: 'fence', reason: 'the instance is fenced; stopping PostgreSQL' };
    return { step: 'wait', reason: 'the instance is fenced; PostgreSQL stays stopped until it is unfenced' };
  }

  if (o.postmasterRunning) {
    if (!o.dataValid) {
      return {
        step: 'stopPostgres',
        reason:
          'the data directory disappeared under a running PostgreSQL; stopping it so the instance is rebuilt',
      };
    }
    if (bootstrapping && !o.bootstrapDone) {
      if (!o.initdbDone) {
        return {
          step: 'stopPostgres',
          reason:
            'an earlier bootstrap did not finish initdb; stopping PostgreSQL to start the bootstrap over',
        };
      }
      return { step: 'postInit', reason: 'initdb is done; running the post-init SQL' };
    }
    if (bootstrapping) {
      return {
        step: 'markInitialized',
        reason: 'the bootstrap finished; recording this instance as the primary',
      };
    }
    return { step: 'maintain', reason: 'PostgreSQL is running' };
  }

  if (bootstrapping) {
    // Nothing of the user's can exist before the cluster is Initialized: starting over is safe.
    if (!o.initdbDone || !o.dataValid) return { step: 'initdb', reason: 'creating the primary with initdb' };
    return { step: 'start', asStandby: false, reason: 'starting the new primary' };
  }

  if (!o.dataValid) {
    if (o.isTargetPrimary || o.isCurrentPrimary) {
      return {
        step: 'refuse',
        code: 'PGHERD_INSTANCE_PRIMARY_DATA_LOST',
        reason:
          'the data directory of the primary is missing; it is never re-created from scratch (that would lose the cluster); a failover to a replica is needed',
      };
    }
    if (o.primaryNotReady !== undefined) return { step: 'wait', reason: o.primaryNotReady };
    return {
      step: 'clone',
      reason: o.cloneInterrupted
        ? 'an earlier clone did not finish; cloning the primary again'
        : 'cloning the primary with pg_basebackup',
    };
  }

  // A replica always starts as a standby, even if its data directory lost standby.signal
  // (a clone interrupted after pg_basebackup finished): never a second primary.
  const asStandby = !o.isTargetPrimary;
  return {
    step: 'start',
    asStandby,
    reason: asStandby ? 'starting PostgreSQL as a standby' : 'starting PostgreSQL as the primary',
  };
}
