/**
 * The failover planner: decides, from what the control plane observes of the primary and the
 * standbys, whether the primary has failed, whether a failover may start, when the standbys
 * have stopped receiving WAL from the old primary, and which standby becomes the new primary.
 * CloudNativePG's state machine (reference/cnpg.md §2.4): current == target -> "pending" ->
 * the most advanced standby -> it promotes and becomes current. Pure and table-tested; the
 * controller observes, this decides, the controller applies.
 *
 * One machine gives certainty CNPG does not have: a process that is gone holds nothing, so a
 * primary whose instance manager and postmaster are both dead, or whose instance manager
 * reports that PostgreSQL exited, has failed at once; only an unresponsive (hung) primary needs
 * a timeout. A failover never starts while the primary is fenced, without a standby that can
 * take over, or (failoverQuorum) without a quorum that guarantees the acknowledged writes.
 */
import { compareLsn } from '../postgres/lsn.ts';

/** Sentinel value of status.targetPrimary while a failover chooses the new primary (CNPG's). */
export const PENDING_TARGET = 'pending';

export const FAILOVER_PHASES = {
  failingOver: 'Failing over',
  switchover: 'Switchover in progress',
  waitingForPromotion: 'Waiting for the new primary to be promoted',
} as const;

/** What the control plane observes of one instance (the primary or a standby). */
export interface FailoverInstance {
  name: string;
  /** The instance manager process exists. */
  managerAlive: boolean;
  /** Some PostgreSQL process of this instance still runs (postmaster or orphaned backends). */
  postgresProcessesAlive: boolean;
  /** The instance manager answered GET /pg/status in this pass. */
  reachable: boolean;
  /** Milliseconds the instance has been continuously unhealthy (unreachable, or PostgreSQL not answering); 0 when healthy. */
  unhealthyForMs: number;
  /** The instance manager reports that its PostgreSQL, a primary, stopped and may not be restarted without a decision. */
  primaryLost: string | undefined;
  /** That report says the data directory is gone: a restart in place is impossible. */
  dataLost: boolean;
  /** PostgreSQL answered the manager's status queries. */
  postgresUp: boolean;
  /** PostgreSQL is not in recovery. */
  isPrimary: boolean;
  ready: boolean;
  receivedLsn: string | null;
  replayLsn: string | null;
  walReceiverActive: boolean;
  fenced: boolean;
}

export interface FailoverInput {
  currentPrimary: string | undefined;
  targetPrimary: string | undefined;
  /** status.currentPrimaryFailingSinceTimestamp, as ms since the epoch. */
  failingSinceMs: number | undefined;
  nowMs: number;
  /** spec.failoverDelay in ms. */
  failoverDelayMs: number;
  /** How long a primary may be unresponsive before it is declared failed. */
  unresponsiveTimeoutMs: number;
  /** The cluster's data exists (the bootstrap finished). */
  initialized: boolean;
  /**
   * failoverQuorum: the synchronous configuration the primary last applied, or undefined when
   * quorum checking is off. `names` are the cluster's standbys in synchronous_standby_names,
   * `number` how many must acknowledge, `external` the names from standbyNamesPre/Post.
   */
  quorum?: { number: number; names: readonly string[]; external: number } | undefined;
  instances: readonly FailoverInstance[];
}

export type FailoverAction =
  /** Nothing to do for failover; the normal reconcile may run. */
  | { type: 'none'; reason: string }
  /** The primary is failing; record when it started (for failoverDelay) and wait. */
  | { type: 'markFailing'; reason: string }
  /** The primary is healthy again: forget the failing timestamp. */
  | { type: 'clearFailing'; reason: string }
  /** Wait; the failover (or switchover) is in progress or blocked. */
  | { type: 'wait'; phase: string; reason: string; blocked?: boolean }
  /**
   * A failed primary for which no failover is possible, but which can restart where it is
   * without losing anything: grant its instance manager the primary lease again.
   */
  | { type: 'restartInPlace'; name: string; reason: string }
  /** Start the failover: targetPrimary = pending, the old primary leaves every service. */
  | { type: 'beginFailover'; oldPrimary: string; reason: string }
  /** Stop what is left of the old primary's PostgreSQL (certain on one machine). */
  | { type: 'stopOldPrimary'; name: string; reason: string }
  /** targetPrimary = the chosen standby. */
  | { type: 'electTarget'; name: string; phase: string; reason: string };

/** A standby that could become the primary. */
function isCandidate(i: FailoverInstance, exclude: string | undefined): boolean {
  return (
    i.name !== exclude &&
    i.reachable &&
    i.postgresUp &&
    !i.isPrimary &&
    !i.fenced &&
    i.primaryLost === undefined &&
    (i.receivedLsn !== null || i.replayLsn !== null)
  );
}

/** Received LSN lifted to the replay LSN when smaller, as CNPG compares. */
function effectiveReceived(i: FailoverInstance): string {
  const r = i.receivedLsn ?? '0/0';
  const p = i.replayLsn ?? '0/0';
  return compareLsn(r, p) >= 0 ? r : p;
}

/** CNPG's order for choosing the new primary: received LSN, then replay LSN, then name. */
export function rankCandidates(candidates: readonly FailoverInstance[]): FailoverInstance[] {
  return [...candidates].sort((a, b) => {
    const received = compareLsn(effectiveReceived(b), effectiveReceived(a));
    if (received !== 0) return received;
    const replay = compareLsn(b.replayLsn ?? '0/0', a.replayLsn ?? '0/0');
    if (replay !== 0) return replay;
    return a.name.localeCompare(b.name);
  });
}

/** Why the primary has failed, or undefined while it has not (yet). */
export function primaryFailure(p: FailoverInstance | undefined, timeoutMs: number): string | undefined {
  if (p === undefined) return 'the primary has no instance any more';
  if (p.primaryLost !== undefined) return p.primaryLost;
  if (!p.managerAlive && !p.postgresProcessesAlive)
    return `the instance manager and PostgreSQL of ${p.name} are not running`;
  if (!p.managerAlive) return undefined; // its manager is restarted and adopts the running PostgreSQL
  if (p.unhealthyForMs >= timeoutMs) {
    return p.reachable
      ? `PostgreSQL of ${p.name} has not answered for ${Math.round(p.unhealthyForMs / 1000)} s`
      : `the instance manager of ${p.name} has not answered for ${Math.round(p.unhealthyForMs / 1000)} s`;
  }
  return undefined;
}

/** failoverQuorum (CNPG §2.9): promote only if R + W > N. Undefined when allowed, else why not. */
function quorumDenial(
  q: NonNullable<FailoverInput['quorum']>,
  byName: Map<string, FailoverInstance>,
): string | undefined {
  const n = q.names.length + q.external;
  const w = q.number;
  if (w <= 0 || n === 0) {
    return 'failoverQuorum: the primary has not recorded its synchronous configuration, so no standby is known to have every acknowledged write';
  }
  const available = q.names.filter((name) => {
    const i = byName.get(name);
    return i !== undefined && i.reachable && i.postgresUp && !i.fenced;
  });
  const r = available.length;
  if (r + w > n) return undefined;
  return `failoverQuorum: too few synchronous standbys are available to be sure a promoted one has every acknowledged write (R=${r} of ${q.names.join(', ')}, W=${w}, N=${n}; R + W must exceed N)`;
}

/** Decides the next failover step for one cluster. */
export function planFailover(input: FailoverInput): FailoverAction {
  const byName = new Map(input.instances.map((i) => [i.name, i]));
  const current = input.currentPrimary;
  const target = input.targetPrimary;
  if (!input.initialized || current === undefined) {
    return { type: 'none', reason: 'the cluster has no primary yet' };
  }

  // A failover chose no target yet: wait for the old primary to be gone and for every standby
  // to stop receiving its WAL, then choose the most advanced standby.
  if (target === PENDING_TARGET) {
    const old = byName.get(current);
    if (old !== undefined && old.postgresProcessesAlive) {
      return {
        type: 'stopOldPrimary',
        name: current,
        reason: `stopping what is left of the failed primary ${current} so it can accept no more writes`,
      };
    }
    // Anything else that runs as a primary (a chosen target that failed after promoting) is
    // stopped too before a new one is chosen.
    const rogue = input.instances.find((i) => i.name !== current && i.isPrimary && i.postgresProcessesAlive);
    if (rogue !== undefined) {
      return {
        type: 'stopOldPrimary',
        name: rogue.name,
        reason: `stopping ${rogue.name}, which runs as a primary but was not chosen, before choosing a new primary`,
      };
    }
    const receiving = input.instances.filter((i) => i.name !== current && i.walReceiverActive);
    if (receiving.length > 0) {
      return {
        type: 'wait',
        phase: FAILOVER_PHASES.failingOver,
        reason: `waiting for ${receiving.map((i) => i.name).join(', ')} to stop receiving WAL from ${current}`,
      };
    }
    // A standby whose PostgreSQL runs but whose manager does not answer may hold the newest
    // WAL: wait for it, up to the failure window, rather than choose without it.
    const silent = input.instances.filter(
      (i) =>
        i.name !== current &&
        !i.reachable &&
        !i.fenced &&
        i.postgresProcessesAlive &&
        i.unhealthyForMs < input.unresponsiveTimeoutMs,
    );
    if (silent.length > 0) {
      return {
        type: 'wait',
        phase: FAILOVER_PHASES.failingOver,
        reason: `waiting for ${silent.map((i) => i.name).join(', ')} to answer: it may have the most recent WAL`,
      };
    }
    // failoverQuorum is judged again on what is available now, not when the failover began.
    const lateDenial = input.quorum === undefined ? undefined : quorumDenial(input.quorum, byName);
    if (lateDenial !== undefined) {
      return { type: 'wait', phase: FAILOVER_PHASES.failingOver, reason: lateDenial, blocked: true };
    }
    const [best] = rankCandidates(input.instances.filter((i) => isCandidate(i, current)));
    if (best === undefined) {
      return {
        type: 'wait',
        phase: FAILOVER_PHASES.failingOver,
        reason: `no standby can take over from ${current}: waiting for one to be up`,
        blocked: true,
      };
    }
    return {
      type: 'electTarget',
      name: best.name,
      phase: `${FAILOVER_PHASES.failingOver} from ${current} to ${best.name}`,
      reason: `${best.name} is the most advanced standby (received ${best.receivedLsn ?? '-'}, replayed ${best.replayLsn ?? '-'})`,
    };
  }

  // A switchover or an elected failover target: the target promotes itself. If it fails
  // meanwhile, choose again (CNPG's re-targeting).
  if (target !== undefined && target !== current) {
    const t = byName.get(target);
    const targetFailed =
      t === undefined || t.fenced || primaryFailure(t, input.unresponsiveTimeoutMs) !== undefined;
    if (targetFailed && !(t?.isPrimary === true && t.reachable)) {
      const old = byName.get(current);
      if (old !== undefined && old.isPrimary && old.reachable && old.ready) {
        // A switchover whose target died before the old primary stopped: stay with the old one.
        return {
          type: 'electTarget',
          name: current,
          phase: FAILOVER_PHASES.switchover,
          reason: `the switchover target ${target} failed; ${current} stays the primary`,
        };
      }
      return {
        type: 'beginFailover',
        oldPrimary: current,
        reason: `the new primary ${target} failed before it was promoted; choosing another`,
      };
    }
    return {
      type: 'wait',
      phase: FAILOVER_PHASES.waitingForPromotion,
      reason: `waiting for ${target} to be promoted (current primary: ${current})`,
    };
  }

  // Normal state: is the primary healthy?
  const p = byName.get(current);
  const failure = primaryFailure(p, input.unresponsiveTimeoutMs);
  if (failure === undefined) {
    if (input.failingSinceMs !== undefined)
      return { type: 'clearFailing', reason: `the primary ${current} is healthy again` };
    return { type: 'none', reason: `the primary ${current} is healthy` };
  }
  if (p !== undefined && p.fenced) {
    return {
      type: 'wait',
      phase: 'Fenced',
      reason: `the primary ${current} is fenced: no failover happens until it is unfenced (${failure})`,
      blocked: true,
    };
  }
  const candidates = input.instances.filter((i) => isCandidate(i, current));
  const denial = input.quorum === undefined ? undefined : quorumDenial(input.quorum, byName);
  if (candidates.length === 0 || denial !== undefined) {
    const why = candidates.length === 0 ? 'no standby is available to take over' : denial;
    // The old primary may restart in place when nothing of it is left running and its
    // manager is there to do it: that loses nothing.
    if (
      p !== undefined &&
      p.managerAlive &&
      p.reachable &&
      p.primaryLost !== undefined &&
      !p.dataLost &&
      !p.postgresProcessesAlive
    ) {
      return { type: 'restartInPlace', name: current, reason: `${failure}; ${why}: restarting it in place` };
    }
    return {
      type: 'wait',
      phase: FAILOVER_PHASES.failingOver,
      reason: `${failure}; ${why}`,
      blocked: true,
    };
  }
  if (input.failingSinceMs === undefined) {
    if (input.failoverDelayMs > 0) return { type: 'markFailing', reason: failure };
  } else if (input.nowMs - input.failingSinceMs < input.failoverDelayMs) {
    const left = Math.ceil((input.failoverDelayMs - (input.nowMs - input.failingSinceMs)) / 1000);
    return {
      type: 'wait',
      phase: FAILOVER_PHASES.failingOver,
      reason: `${failure}; failing over in ${left} s (failoverDelay)`,
    };
  }
  return { type: 'beginFailover', oldPrimary: current, reason: failure };
}
