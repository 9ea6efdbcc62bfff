import { describe, expect, it } from 'vitest';
import { type ObservedInstance, planTopology, type TopologyDesired } from './topology.ts';

const name = (s: number): string => `pg-${s}`;
const inst = (serial: number, over: Partial<ObservedInstance> = {}): ObservedInstance => ({
  name: name(serial),
  serial,
  managerAlive: true,
  ready: true,
  role: serial === 1 ? 'primary' : 'replica',
  phase: 'Running',
  ...over,
});
const desired = (over: Partial<TopologyDesired> = {}): TopologyDesired => ({
  instances: 3,
  latestGeneratedNode: 3,
  currentPrimary: 'pg-1',
  targetPrimary: 'pg-1',
  initialized: true,
  ...over,
});

interface Case {
  name: string;
  desired: TopologyDesired;
  observed: ObservedInstance[];
  expect: { actions: Array<[string, string]>; phase: string; reasonContains: string; settled?: boolean };
}

const cases: Case[] = [
  {
    name: 'a new cluster designates its first instance as primary and creates it with initdb',
    desired: desired({
      latestGeneratedNode: 0,
      currentPrimary: undefined,
      targetPrimary: undefined,
      initialized: false,
    }),
    observed: [],
    expect: {
      actions: [
        ['setTargetPrimary', 'pg-1'],
        ['createInstance', 'pg-1'],
      ],
      phase: 'Setting up primary',
      reasonContains: 'creating primary instance pg-1',
    },
  },
  {
    name: 'an initialized cluster with no instance left never runs initdb again',
    desired: desired({ initialized: true }),
    observed: [],
    expect: {
      actions: [],
      phase: 'Waiting for the instances to become active',
      reasonContains: 'refusing to run initdb again',
    },
  },
  {
    name: 'while a new cluster bootstraps, the replicas are created to wait for the primary',
    desired: desired({ latestGeneratedNode: 1, currentPrimary: undefined, initialized: false }),
    observed: [inst(1, { ready: false, role: 'unknown', phase: 'Initializing' })],
    expect: {
      actions: [
        ['createInstance', 'pg-2'],
        ['createInstance', 'pg-3'],
      ],
      phase: 'Setting up primary',
      reasonContains: 'waiting for the primary pg-1 to be ready',
    },
  },
  {
    name: 'an initialized cluster adds replicas only once its primary is ready',
    desired: desired({ latestGeneratedNode: 1 }),
    observed: [inst(1, { ready: false, phase: 'Starting' })],
    expect: {
      actions: [],
      phase: 'Waiting for the instances to become active',
      reasonContains: 'waiting for the primary pg-1',
    },
  },
  {
    name: 'a ready primary gets its replicas, with serials after latestGeneratedNode',
    desired: desired({ latestGeneratedNode: 1 }),
    observed: [inst(1)],
    expect: {
      actions: [
        ['createInstance', 'pg-2'],
        ['createInstance', 'pg-3'],
      ],
      phase: 'Creating a new replica',
      reasonContains: 'creating 2 replica(s)',
    },
  },
  {
    name: 'serials are never reused after a scale-down',
    desired: desired({ instances: 3, latestGeneratedNode: 5 }),
    observed: [inst(1), inst(2)],
    expect: {
      actions: [['createInstance', 'pg-6']],
      phase: 'Creating a new replica',
      reasonContains: 'creating 1',
    },
  },
  {
    name: 'scale-down removes the replicas with the highest serials, never the primary',
    desired: desired({ instances: 2, latestGeneratedNode: 5, currentPrimary: 'pg-5', targetPrimary: 'pg-5' }),
    observed: [inst(1, { role: 'replica' }), inst(2), inst(3), inst(4), inst(5, { role: 'primary' })],
    expect: {
      actions: [
        ['deleteInstance', 'pg-4'],
        ['deleteInstance', 'pg-3'],
        ['deleteInstance', 'pg-2'],
      ],
      phase: 'Scaling down',
      reasonContains: 'removing 3 replica(s)',
    },
  },
  {
    name: 'a dead instance manager is restarted (it adopts its running PostgreSQL)',
    desired: desired(),
    observed: [inst(1), inst(2, { managerAlive: false, ready: true }), inst(3)],
    expect: {
      actions: [['startManager', 'pg-2']],
      phase: 'Cluster in healthy state',
      reasonContains: '3 of 3 instances ready',
      settled: false,
    },
  },
  {
    name: 'a replica that is not ready keeps the cluster waiting',
    desired: desired(),
    observed: [inst(1), inst(2), inst(3, { ready: false, phase: 'Cloning' })],
    expect: {
      actions: [],
      phase: 'Waiting for the instances to become active',
      reasonContains: 'waiting for pg-3',
    },
  },
  {
    name: 'everything ready and as wanted is healthy and settled',
    desired: desired(),
    observed: [inst(1), inst(2), inst(3)],
    expect: { actions: [], phase: 'Cluster in healthy state', reasonContains: 'primary pg-1', settled: true },
  },
];

describe('planTopology', () => {
  it.each(cases)('$name', (c) => {
    const plan = planTopology(c.desired, c.observed, name);
    expect(plan.actions.map((a) => [a.type, a.name])).toEqual(c.expect.actions);
    expect(plan.phase).toBe(c.expect.phase);
    expect(plan.phaseReason).toContain(c.expect.reasonContains);
    if (c.expect.settled !== undefined) expect(plan.settled).toBe(c.expect.settled);
    for (const a of plan.actions) expect(a.reason.length).toBeGreaterThan(10);
  });
});
