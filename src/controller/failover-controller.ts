/**
 * The control plane's side of failover: observes every instance of an initialized cluster
 * (process table through the runtime, GET /pg/status through the instance client, the status
 * each manager writes), asks the pure planner (core/failover.ts) what to do, and applies it
 * with compare-and-set writes to the Cluster status. Instance managers do the rest: the chosen
 * standby promotes itself, the old primary rewinds and follows.
 */
import type { Logger } from 'pino';
import type { ClusterResource, SecretResource } from '../api/index.ts';
import {
  certificateSecretNames,
  type InstanceResource,
  isFenced,
  type PrimaryLease,
  primaryLeaseOf,
} from '../api/internal.ts';
import {
  type FailoverAction,
  type FailoverInstance,
  PENDING_TARGET,
  planFailover,
} from '../core/failover.ts';
import { livenessSettings } from '../core/liveness.ts';
import { DATA_LOST, type InstanceReport } from '../instance/contract.ts';
import type { InstanceClient, InstanceRuntime } from '../ports/instance-runtime.ts';
import { type Store, updateWithRetry } from '../ports/store.ts';

/** Phases in which a manager that answers is busy on purpose (PostgreSQL down for a moment). */
const WORKING_PHASES: ReadonlySet<string> = new Set(['Starting', 'Promoting', 'Restarting']);

export interface FailoverDeps {
  store: Store;
  runtime: InstanceRuntime;
  instanceClient: InstanceClient;
  logger: Logger;
  now: () => Date;
}

export interface FailoverOutcome {
  action: FailoverAction;
  /** A failover or switchover is in progress or blocked: the normal reconcile waits. */
  inProgress: boolean;
  /** The status reports, by instance name (errors for the unreachable). */
  reports: Map<string, InstanceReport | Error>;
}

export class FailoverController {
  /** When each instance (namespace/name) was last seen healthy. */
  private readonly lastHealthy = new Map<string, number>();
  /** The last decision logged, per cluster. */
  private readonly lastDecision = new Map<string, string>();
  private readonly d: FailoverDeps;
  constructor(d: FailoverDeps) {
    this.d = d;
  }

  async reconcile(
    cluster: ClusterResource,
    instances: InstanceResource[],
    log: Logger,
  ): Promise<FailoverOutcome> {
    const { store, runtime } = this.d;
    const ns = cluster.metadata.namespace;
    const name = cluster.metadata.name;
    const liveness = livenessSettings(cluster.spec.probes?.liveness);
    const caPem = serverCaPem(store, cluster);
    const reports = new Map<string, InstanceReport | Error>();
    // Every status request has a hard deadline (a stopped process accepts TCP connections and
    // never answers). The old primary of a failover already decided is not asked at all.
    const pendingOld =
      cluster.status?.targetPrimary === PENDING_TARGET ? cluster.status.currentPrimary : undefined;
    await Promise.all(
      instances.map(async (i) => {
        if (i.metadata.name === pendingOld) {
          reports.set(i.metadata.name, new Error('the failed primary is not asked during the failover'));
          return;
        }
        try {
          reports.set(
            i.metadata.name,
            await withDeadline(
              this.d.instanceClient.getStatus(i, caPem, liveness.timeoutMs),
              liveness.timeoutMs,
              `${i.metadata.name}: no answer within ${liveness.timeoutMs} ms`,
            ),
          );
        } catch (err) {
          reports.set(i.metadata.name, err as Error);
        }
      }),
    );
    const nowMs = this.d.now().getTime();
    const observed: FailoverInstance[] = instances.map((i) => {
      const r = reports.get(i.metadata.name);
      const report = r instanceof Error ? undefined : r;
      const managerAlive = runtime.isManagerAlive(i);
      // A manager that answers while it starts PostgreSQL (granted restart, crash recovery) is
      // working, not hung: startDelay bounds that, not the liveness timeout.
      const healthy = report !== undefined && (report.isPostgresUp || WORKING_PHASES.has(report.phase));
      // Unhealthy time counts from the last healthy observation (or from the first sight after
      // a control-plane start), so the detection bound does not depend on when passes fall.
      // A fenced instance is down on purpose: its time does not count, so once unfenced it gets
      // the whole window to start again instead of being failed over at once.
      const key = `${ns}/${i.metadata.name}`;
      const fenced = isFenced(cluster, i.metadata.name);
      // Likewise while only its manager is dead and PostgreSQL runs on: the restarted manager
      // adopts it, and that restart is not the primary's failure.
      const orphaned = !managerAlive && runtime.isPostgresRunning(i);
      if (healthy || fenced || orphaned || !this.lastHealthy.has(key)) this.lastHealthy.set(key, nowMs);
      const since = healthy ? undefined : this.lastHealthy.get(key);
      return {
        name: i.metadata.name,
        managerAlive,
        postgresProcessesAlive: runtime.isPostgresRunning(i),
        reachable: report !== undefined,
        unhealthyForMs: since === undefined ? 0 : nowMs - since,
        primaryLost: report?.primaryLost ?? (managerAlive ? undefined : i.status?.primaryLost),
        dataLost: (report?.primaryLost ?? i.status?.primaryLost ?? '').startsWith(DATA_LOST),
        postgresUp: report?.isPostgresUp ?? false,
        isPrimary: report?.isPrimary ?? false,
        ready: report?.ready ?? false,
        receivedLsn: report?.receivedLsn ?? null,
        replayLsn: report?.replayLsn ?? null,
        walReceiverActive: report?.isWalReceiverActive ?? false,
        fenced,
      };
    });
    const status = cluster.status ?? {};
    const failingSince = status['currentPrimaryFailingSinceTimestamp'] as string | undefined;
    const action = planFailover({
      currentPrimary: status.currentPrimary,
      targetPrimary: status.targetPrimary,
      failingSinceMs: failingSince === undefined ? undefined : Date.parse(failingSince),
      nowMs,
      failoverDelayMs: cluster.spec.failoverDelay * 1000,
      unresponsiveTimeoutMs: liveness.unresponsiveTimeoutMs,
      initialized: true,
      quorum: this.quorum(cluster, instances),
      instances: observed,
    });
    // Each decision is logged once per cluster, not on every pass that repeats it.
    const decision = `${action.type}:${action.reason}`;
    if (action.type !== 'none' && this.lastDecision.get(`${ns}/${name}`) !== decision) {
      log.info({ failover: action.type }, action.reason);
    }
    this.lastDecision.set(`${ns}/${name}`, decision);
    const nowIso = this.d.now().toISOString();
    const byName = new Map(instances.map((i) => [i.metadata.name, i]));
    switch (action.type) {
      case 'none':
        return { action, inProgress: false, reports };
      case 'markFailing':
        updateStatus(store, ns, name, (s) =>
          s['currentPrimaryFailingSinceTimestamp'] === undefined
            ? { ...s, currentPrimaryFailingSinceTimestamp: nowIso }
            : undefined,
        );
        return { action, inProgress: true, reports };
      case 'clearFailing':
        updateStatus(store, ns, name, (s) => {
          const { currentPrimaryFailingSinceTimestamp: _gone, ...rest } = s;
          return rest;
        });
        return { action, inProgress: false, reports };
      case 'wait':
        this.writePhase(cluster, action.phase, action.reason);
        return { action, inProgress: true, reports };
      case 'restartInPlace': {
        const session = reportOf(reports, action.name)?.sessionId;
        if (session === undefined) return { action, inProgress: true, reports };
        updateStatus(store, ns, name, (s) => {
          // Only while nothing changed since the observation: same target, and the lease free or
          // still this instance's (a dead earlier manager session of it holds nothing).
          if (s.targetPrimary !== action.name || s.currentPrimary !== action.name) return undefined;
          const held = primaryLeaseOf({ ...cluster, status: s });
          if (held !== undefined && held.holder !== action.name) return undefined;
          if (held?.session === session) return undefined;
          const lease: PrimaryLease = { holder: action.name, session, acquiredTime: nowIso };
          return { ...s, primaryLease: lease, phase: 'Primary restarting', phaseReason: action.reason };
        });
        return { action, inProgress: true, reports };
      }
      case 'beginFailover': {
        const old = action.oldPrimary;
        let begun = false;
        updateStatus(store, ns, name, (s) => {
          begun = false;
          // Compare-and-set: the primary is still the one we judged, and was not granted a
          // restart meanwhile (a lease with a new session is a decision already taken).
          if (s.currentPrimary !== old || s.targetPrimary !== status.targetPrimary) return undefined;
          const lease = primaryLeaseOf({ ...cluster, status: s });
          if (JSON.stringify(lease) !== JSON.stringify(primaryLeaseOf(cluster))) return undefined;
          begun = true;
          const { primaryLease: _revoked, ...rest } = s;
          return {
            ...rest,
            targetPrimary: PENDING_TARGET,
            targetPrimaryTimestamp: nowIso,
            currentPrimaryFailingSinceTimestamp: s['currentPrimaryFailingSinceTimestamp'] ?? nowIso,
            phase: 'Failing over',
            phaseReason: action.reason,
          };
        });
        if (begun) {
          log.warn({ oldPrimary: old }, `failing over: ${action.reason}`);
          // The old primary, and a target that failed after it may have promoted: neither may
          // acknowledge another write once a new primary is chosen.
          const failedTarget =
            status.targetPrimary !== old && status.targetPrimary !== PENDING_TARGET
              ? status.targetPrimary
              : undefined;
          for (const n of [old, failedTarget]) {
            const inst = n === undefined ? undefined : byName.get(n);
            if (inst !== undefined) await runtime.killPostgres(inst);
          }
        }
        return { action, inProgress: true, reports };
      }
      case 'stopOldPrimary': {
        const inst = byName.get(action.name);
        if (inst !== undefined) await runtime.killPostgres(inst);
        return { action, inProgress: true, reports };
      }
      case 'electTarget':
        updateStatus(store, ns, name, (s) => {
          if (s.targetPrimary !== status.targetPrimary) return undefined;
          return {
            ...s,
            targetPrimary: action.name,
            targetPrimaryTimestamp: nowIso,
            phase: action.phase,
            phaseReason: action.reason,
          };
        });
        log.warn({ target: action.name }, action.reason);
        return { action, inProgress: true, reports };
    }
  }

  /**
   * failoverQuorum (CNPG §2.9): the requirement the primary last loaded. Missing means deny
   * (number 0), as CNPG treats a missing FailoverQuorum object. The primary's own name (a
   * filler CNPG adds with dataDurability required) is not a standby.
   */
  private quorum(
    cluster: ClusterResource,
    instances: InstanceResource[],
  ): { number: number; names: string[]; external: number } | undefined {
    if (cluster.spec.postgresql.synchronous?.failoverQuorum !== true) return undefined;
    const current = cluster.status?.currentPrimary;
    const applied = instances.find((i) => i.metadata.name === current)?.status?.synchronous;
    if (applied === undefined) return { number: 0, names: [], external: 0 };
    const members = new Set(instances.map((i) => i.metadata.name));
    const names = applied.names.filter((n) => members.has(n) && n !== current);
    const external = applied.names.filter((n) => !members.has(n)).length;
    return { number: applied.number, names, external };
  }

  private writePhase(cluster: ClusterResource, phase: string, reason: string): void {
    updateStatus(this.d.store, cluster.metadata.namespace, cluster.metadata.name, (s) =>
      s.phase === phase && s.phaseReason === reason ? undefined : { ...s, phase, phaseReason: reason },
    );
  }
}

function reportOf(reports: Map<string, InstanceReport | Error>, name: string): InstanceReport | undefined {
  const r = reports.get(name);
  return r instanceof Error ? undefined : r;
}

type Status = NonNullable<ClusterResource['status']>;

/** Compare-and-set on a Cluster's status; `mutate` returns undefined to leave it. */
function updateStatus(
  store: Store,
  namespace: string,
  name: string,
  mutate: (status: Status) => Status | undefined,
): void {
  updateWithRetry<ClusterResource>(store, 'Cluster', namespace, name, (c) => {
    const next = mutate(c.status ?? {});
    if (next === undefined) return undefined;
    c.status = next;
    return c;
  });
}

/** The cluster's server CA (verifies instance managers' status API). */
export function serverCaPem(store: Store, cluster: ClusterResource): string {
  const secret = store.get<SecretResource>(
    'Secret',
    cluster.metadata.namespace,
    certificateSecretNames(cluster).serverCa,
  );
  return secret ? Buffer.from(secret.data['ca.crt'] ?? '', 'base64').toString('utf8') : '';
}

/** Rejects when `p` has not settled within `ms`. */
function withDeadline<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}
