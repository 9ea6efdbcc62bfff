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
  /** A failover or switchover runs: targetPrimary is "pending" or differs from currentPrimary. */
  switching: boolean;
  /** targetPrimary is "pending": a failover is choosing the new primary. */
  targetPending: boolean;
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
  /** While running: PostgreSQL said it is not in recovery (undefined until it answered once). */
  runningAsPrimary: boolean | undefined;
  /** The data directory has no standby.signal: it last ran as a primary. */
  dataIsPrimary: boolean;
  /** pg_control records a clean shutdown (not a crash). */
  cleanShutdown: boolean;
  /**
   * The cluster's primary lease: held by this instance manager ('mine'), by this instance under
   * an earlier manager ('ours'), by nobody ('free') or by another instance ('other').
   */
  lease: 'mine' | 'ours' | 'free' | 'other';
  /** The standby's WAL receiver still streams from the (old) primary. */
  walReceiverActive: boolean;
  /** pg_rewind attempts that failed in a row. */
  rewindFailures: number;
  /**
   * A running standby has not streamed for a while although the primary is ready and on a
   * newer timeline: its WAL went past the point where the new timeline forked (it was ahead of
   * the standby that was promoted), so it can never follow without a rewind.
   */
  cannotFollow: boolean;
  /** This standby was stopped to be rewound (cannotFollow), and the rewind has not succeeded yet. */
  rewindRequested: boolean;
  /** Why the primary cannot be cloned or followed now, or undefined when it can. */
  primaryNotReady: string | undefined;
  /** The instance is fenced (cnpg.io/fencedInstances): PostgreSQL must not run. */
  fenced: boolean;
}

/** pg_rewind attempts before the old primary is re-cloned instead (CNPG retries 4 times). */
export const MAX_REWIND_ATTEMPTS = 4;

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
  | { step: 'maintain'; reason: string }
  /** This instance's PostgreSQL runs as a primary but must not: shut it down. */
  | { step: 'demote'; immediate: boolean; reason: string }
  /** Take the primary lease (compare-and-set) before acting as the primary. */
  | { step: 'takeLease'; reason: string }
  /** Promote this standby (it holds or takes the lease) and record it as currentPrimary. */
  | { step: 'promote'; reason: string }
  /** The primary's PostgreSQL stopped uncleanly: report it and wait for the control plane's decision. */
  | { step: 'primaryLost'; reason: string }
  /** Rewind the former primary onto the new primary's timeline, then follow it. */
  | { step: 'rewind'; reason: string }
  /** pg_rewind cannot do it: clone the new primary again. */
  | { step: 'reclone'; reason: string }
  /** A standby that cannot follow the new timeline: stop it (cleanly) so it can be rewound. */
  | { step: 'stopToRewind'; reason: string };

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
    if (o.runningAsPrimary === true) return planRunningPrimary(o);
    if (o.runningAsPrimary === false && o.isTargetPrimary) {
      if (o.lease === 'other') {
        return { step: 'wait', reason: 'waiting for the old primary to release the primary lease' };
      }
      if (o.walReceiverActive) {
        return { step: 'wait', reason: 'receiving the last WAL from the old primary before promoting' };
      }
      return { step: 'promote', reason: 'this standby was chosen as the new primary; promoting it' };
    }
    if (o.runningAsPrimary === false && o.cannotFollow && !o.switching) {
      return {
        step: 'stopToRewind',
        reason:
          'this standby cannot follow the new primary (its WAL goes past the point where the new timeline began); stopping it to rewind it',
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
    if (o.isTargetPrimary) {
      return {
        step: 'refuse',
        code: 'PGHERD_INSTANCE_PRIMARY_DATA_LOST',
        reason:
          'the data directory of the primary is missing; it is never re-created from scratch (that would lose the cluster); a failover to a replica is needed',
      };
    }
    if (o.switching) {
      return { step: 'wait', reason: 'waiting for the failover to finish before cloning the new primary' };
    }
    if (o.primaryNotReady !== undefined) return { step: 'wait', reason: o.primaryNotReady };
    return {
      step: 'clone',
      reason: o.cloneInterrupted
        ? 'an earlier clone did not finish; cloning the primary again'
        : 'cloning the primary with pg_basebackup',
    };
  }

  if (o.dataIsPrimary) return planStoppedPrimaryData(o);
  if (o.rewindRequested) {
    return planRejoin(o, 'this standby rejoins the new timeline: pg_rewind onto the primary, then follow it');
  }

  // A replica (standby.signal) starts as a standby; the target is promoted once it runs.
  return { step: 'start', asStandby: true, reason: 'starting PostgreSQL as a standby' };
}

/** PostgreSQL runs as a primary: keep it, claim the lease, finish a promotion, or demote it. */
function planRunningPrimary(o: InstanceObservation): InstanceStep {
  if (!o.isTargetPrimary) {
    // A switchover (another instance is the target, this one still current) shuts down cleanly
    // so the target receives every WAL record; a failover ("pending", or a new primary chosen
    // while this one was lost) stops it at once: it is no longer the primary.
    const switchover = o.isCurrentPrimary && !o.targetPending;
    return {
      step: 'demote',
      immediate: !switchover,
      reason: switchover
        ? 'another instance is becoming the primary; shutting this primary down (checkpoint, fast shutdown)'
        : 'this instance is no longer the primary; stopping it before it accepts more writes',
    };
  }
  if (!o.isCurrentPrimary) {
    return { step: 'promote', reason: 'finishing the promotion: recording this instance as the primary' };
  }
  if (o.lease === 'other') {
    return {
      step: 'demote',
      immediate: true,
      reason: 'another instance holds the primary lease; stopping this primary',
    };
  }
  if (o.lease !== 'mine')
    return { step: 'takeLease', reason: 'this running primary claims the primary lease' };
  return { step: 'maintain', reason: 'PostgreSQL is running' };
}

/** PostgreSQL is stopped and its data last ran as a primary. */
function planStoppedPrimaryData(o: InstanceObservation): InstanceStep {
  if (o.isTargetPrimary) {
    if (o.switching && !o.isCurrentPrimary) {
      // Promoted, then stopped before currentPrimary was written: it is the primary to be.
      if (o.lease === 'mine')
        return { step: 'start', asStandby: false, reason: 'restarting the promoted primary' };
      if (o.lease === 'free' || o.lease === 'ours') {
        return { step: 'takeLease', reason: 'the promoted primary claims the primary lease' };
      }
      return { step: 'wait', reason: 'waiting for the old primary to release the primary lease' };
    }
    if (o.lease === 'mine')
      return { step: 'start', asStandby: false, reason: 'starting PostgreSQL as the primary' };
    if (o.cleanShutdown && (o.lease === 'ours' || o.lease === 'free')) {
      return {
        step: 'takeLease',
        reason: 'the primary was shut down cleanly; claiming the lease to start it',
      };
    }
    return {
      step: 'primaryLost',
      reason:
        'PostgreSQL of the primary stopped without a clean shutdown; waiting for the control plane to fail over or to allow a restart in place',
    };
  }
  // The former primary: it rejoins as a standby once the new primary runs.
  return planRejoin(
    o,
    'this former primary rejoins as a standby: pg_rewind onto the new primary, then follow it',
  );
}

/** Rewinds (or, after repeated failures, re-clones) data that must follow the current primary. */
function planRejoin(o: InstanceObservation, reason: string): InstanceStep {
  if (o.switching) {
    return {
      step: 'wait',
      reason: 'waiting for the failover or switchover to finish before rejoining as a standby',
    };
  }
  if (o.primaryNotReady !== undefined) return { step: 'wait', reason: o.primaryNotReady };
  if (o.rewindFailures >= MAX_REWIND_ATTEMPTS) {
    return {
      step: 'reclone',
      reason: `pg_rewind failed ${o.rewindFailures} times; cloning the new primary again with pg_basebackup`,
    };
  }
  return { step: 'rewind', reason };
}
