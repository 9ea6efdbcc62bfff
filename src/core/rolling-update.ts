/**
 * Rolling restarts when parameters that need a restart changed (CNPG's rolling update): the
 * standbys one at a time, then the primary according to `primaryUpdateStrategy` and
 * `primaryUpdateMethod` (restart in place, or switchover to the most advanced standby, after
 * which the old primary restarts as a standby). Pure and table-tested.
 */
import { compareLsn } from '../postgres/lsn.ts';

export interface RollingInstance {
  name: string;
  isPrimary: boolean;
  ready: boolean;
  /** PostgreSQL reports parameters waiting for a restart (pg_settings.pending_restart). */
  pendingRestart: boolean;
  fenced: boolean;
  replayLsn: string | null;
  /** A restart was already requested and this PostgreSQL has not restarted yet. */
  restartRequested: boolean;
}

export interface RollingInput {
  currentPrimary: string;
  strategy: 'unsupervised' | 'supervised';
  method: 'restart' | 'switchover';
  instances: readonly RollingInstance[];
}

export type RollingAction =
  | { type: 'none'; reason: string }
  | { type: 'wait'; phase: string; reason: string }
  | { type: 'restart'; name: string; phase: string; reason: string }
  | { type: 'switchover'; target: string; phase: string; reason: string };

export const ROLLING_PHASES = {
  upgrading: 'Upgrading cluster',
  restartingPrimary: 'Primary instance is being restarted in-place',
  switchover: 'Switchover in progress',
  waitingForUser: 'Waiting for user action',
} as const;

export function planRollingUpdate(input: RollingInput): RollingAction {
  const pending = input.instances.filter((i) => i.pendingRestart && !i.fenced);
  if (pending.length === 0) return { type: 'none', reason: 'no instance waits for a restart' };
  const inFlight = input.instances.find((i) => i.restartRequested);
  if (inFlight !== undefined) {
    return {
      type: 'wait',
      phase: ROLLING_PHASES.upgrading,
      reason: `waiting for ${inFlight.name} to restart`,
    };
  }
  // One instance down at a time: only when every instance is ready.
  const notReady = input.instances.filter((i) => !i.ready && !i.fenced);
  if (notReady.length > 0) {
    return {
      type: 'wait',
      phase: ROLLING_PHASES.upgrading,
      reason: `waiting for ${notReady.map((i) => i.name).join(', ')} to be ready before the next restart`,
    };
  }
  const standby = pending
    .filter((i) => i.name !== input.currentPrimary)
    .sort((a, b) => a.name.localeCompare(b.name))[0];
  if (standby !== undefined) {
    return {
      type: 'restart',
      name: standby.name,
      phase: ROLLING_PHASES.upgrading,
      reason: `restarting the standby ${standby.name} to apply parameters that need a restart`,
    };
  }
  const primary = pending.find((i) => i.name === input.currentPrimary);
  if (primary === undefined) return { type: 'none', reason: 'no instance waits for a restart' };
  if (input.strategy === 'supervised') {
    return {
      type: 'wait',
      phase: ROLLING_PHASES.waitingForUser,
      reason: `the standbys are restarted; the primary ${primary.name} waits for you (primaryUpdateStrategy: supervised): switch over with \`pgherd promote\``,
    };
  }
  if (input.method === 'switchover') {
    const candidates = input.instances
      // A target that itself waits for a restart would only pass the problem on.
      .filter(
        (i) => i.name !== input.currentPrimary && i.ready && !i.fenced && !i.isPrimary && !i.pendingRestart,
      )
      .sort((a, b) => {
        const lsn = compareLsn(b.replayLsn ?? '0/0', a.replayLsn ?? '0/0');
        return lsn !== 0 ? lsn : a.name.localeCompare(b.name);
      });
    const target = candidates[0];
    if (target !== undefined) {
      return {
        type: 'switchover',
        target: target.name,
        phase: ROLLING_PHASES.switchover,
        reason: `switching over from ${primary.name} to ${target.name} to apply parameters that need a restart (primaryUpdateMethod: switchover)`,
      };
    }
  }
  return {
    type: 'restart',
    name: primary.name,
    phase: ROLLING_PHASES.restartingPrimary,
    reason: `restarting the primary ${primary.name} in place to apply parameters that need a restart`,
  };
}
