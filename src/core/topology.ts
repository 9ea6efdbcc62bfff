/**
 * The topology planner: which instances should exist and which instance managers must run,
 * given what the cluster asks for and what is observed. Pure: the caller observes, this
 * decides, the caller applies. Every action carries the reason that is logged and shown.
 */

/** What the planner needs to know about the cluster. */
export interface TopologyDesired {
  instances: number;
  /** status.latestGeneratedNode: new instances take the next serial, never reuse one. */
  latestGeneratedNode: number;
  currentPrimary: string | undefined;
  targetPrimary: string | undefined;
  /** The cluster's data exists (initdb finished once): a missing primary is never re-initialized. */
  initialized: boolean;
}

/** What is observed of one instance. */
export interface ObservedInstance {
  name: string;
  serial: number;
  /** The instance manager process is running. */
  managerAlive: boolean;
  /** The instance reports itself ready (accepting connections; a replica also streaming). */
  ready: boolean;
  role: 'primary' | 'replica' | 'unknown';
  phase: string | undefined;
  /** What the instance manager says it is doing (restoring a backup, an error). */
  phaseReason?: string | undefined;
}

export type TopologyAction =
  | { type: 'createInstance'; name: string; serial: number; reason: string }
  | { type: 'setTargetPrimary'; name: string; reason: string }
  | { type: 'startManager'; name: string; reason: string }
  | { type: 'deleteInstance'; name: string; reason: string };

export const CLUSTER_PHASES = {
  settingUpPrimary: 'Setting up primary',
  creatingReplica: 'Creating a new replica',
  healthy: 'Cluster in healthy state',
  waitingForInstances: 'Waiting for the instances to become active',
  scalingDown: 'Scaling down',
} as const;

export interface TopologyPlan {
  actions: TopologyAction[];
  phase: string;
  phaseReason: string;
  readyInstances: number;
  /** True when nothing is left to do and every instance is ready. */
  settled: boolean;
}

/** Decides the next topology steps for one cluster. */
export function planTopology(
  desired: TopologyDesired,
  observed: readonly ObservedInstance[],
  nameFor: (serial: number) => string,
): TopologyPlan {
  const actions: TopologyAction[] = [];
  const byName = new Map(observed.map((o) => [o.name, o]));
  const readyInstances = observed.filter((o) => o.ready).length;

  for (const o of observed) {
    if (!o.managerAlive) {
      actions.push({
        type: 'startManager',
        name: o.name,
        reason: `the instance manager of ${o.name} is not running; starting it (it adopts a running PostgreSQL)`,
      });
    }
  }

  // Bootstrap: the first instance becomes the target primary and runs initdb.
  if (observed.length === 0) {
    if (desired.initialized) {
      return {
        actions,
        phase: CLUSTER_PHASES.waitingForInstances,
        phaseReason:
          'the cluster was initialized but no instance is left; refusing to run initdb again over existing data',
        readyInstances,
        settled: false,
      };
    }
    const serial = desired.latestGeneratedNode + 1;
    const name = nameFor(serial);
    actions.push({
      type: 'setTargetPrimary',
      name,
      reason: `${name} is the first instance and becomes the primary`,
    });
    actions.push({
      type: 'createInstance',
      name,
      serial,
      reason: `creating the primary ${name} with initdb`,
    });
    return {
      actions,
      phase: CLUSTER_PHASES.settingUpPrimary,
      phaseReason: `creating primary instance ${name}`,
      readyInstances,
      settled: false,
    };
  }

  const primaryName = desired.currentPrimary ?? desired.targetPrimary;
  const primary = primaryName === undefined ? undefined : byName.get(primaryName);
  const primaryReady = primary?.ready === true && primary.role === 'primary';
  if (!primaryReady) {
    // While a new cluster bootstraps, the replicas' instance managers start alongside the
    // primary's initdb and wait for it; they clone only once it is ready.
    if (!desired.initialized && primary !== undefined && observed.length < desired.instances) {
      const missing = desired.instances - observed.length;
      for (let i = 1; i <= missing; i++) {
        const serial = desired.latestGeneratedNode + i;
        actions.push({
          type: 'createInstance',
          name: nameFor(serial),
          serial,
          reason: `the new cluster wants ${desired.instances} instances; ${nameFor(serial)} will clone the primary once it is ready`,
        });
      }
    }
    return {
      actions,
      phase:
        desired.currentPrimary === undefined
          ? CLUSTER_PHASES.settingUpPrimary
          : CLUSTER_PHASES.waitingForInstances,
      phaseReason:
        primaryName === undefined
          ? 'no primary is designated'
          : `waiting for the primary ${primaryName} to be ready${primary?.phaseReason ? ` (${primary.phase}: ${primary.phaseReason})` : ''}`,
      readyInstances,
      settled: false,
    };
  }

  if (observed.length < desired.instances) {
    const missing = desired.instances - observed.length;
    for (let i = 1; i <= missing; i++) {
      const serial = desired.latestGeneratedNode + i;
      const name = nameFor(serial);
      actions.push({
        type: 'createInstance',
        name,
        serial,
        reason: `the cluster wants ${desired.instances} instances and has ${observed.length}; cloning ${name} from the primary`,
      });
    }
    return {
      actions,
      phase: CLUSTER_PHASES.creatingReplica,
      phaseReason: `creating ${missing} replica(s)`,
      readyInstances,
      settled: false,
    };
  }

  if (observed.length > desired.instances) {
    // CNPG removes the non-primary instance with the highest serial (findDeletableInstance).
    const candidates = observed
      .filter((o) => o.name !== primaryName && o.name !== desired.targetPrimary)
      .sort((a, b) => b.serial - a.serial);
    const excess = observed.length - desired.instances;
    for (const victim of candidates.slice(0, excess)) {
      actions.push({
        type: 'deleteInstance',
        name: victim.name,
        reason: `the cluster wants ${desired.instances} instances and has ${observed.length}; removing ${victim.name}, the replica with the highest serial`,
      });
    }
    return {
      actions,
      phase: CLUSTER_PHASES.scalingDown,
      phaseReason: `removing ${excess} replica(s)`,
      readyInstances,
      settled: false,
    };
  }

  const notReady = observed.filter((o) => !o.ready).map((o) => o.name);
  if (notReady.length > 0) {
    return {
      actions,
      phase: CLUSTER_PHASES.waitingForInstances,
      phaseReason: `waiting for ${notReady.join(', ')} to be ready`,
      readyInstances,
      settled: false,
    };
  }
  return {
    actions,
    phase: CLUSTER_PHASES.healthy,
    phaseReason: `${readyInstances} of ${desired.instances} instances ready, primary ${primaryName}`,
    readyInstances,
    settled: actions.length === 0,
  };
}
