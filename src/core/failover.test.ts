import { describe, expect, it } from 'vitest';
import {
  type FailoverInput,
  type FailoverInstance,
  PENDING_TARGET,
  planFailover,
  rankCandidates,
} from './failover.ts';

const healthyPrimary = (name: string, over: Partial<FailoverInstance> = {}): FailoverInstance => ({
  name,
  managerAlive: true,
  postgresProcessesAlive: true,
  reachable: true,
  unhealthyForMs: 0,
  primaryLost: undefined,
  dataLost: false,
  postgresUp: true,
  isPrimary: true,
  ready: true,
  receivedLsn: null,
  replayLsn: null,
  walReceiverActive: false,
  fenced: false,
  ...over,
});
const standby = (name: string, lsn: string, over: Partial<FailoverInstance> = {}): FailoverInstance => ({
  ...healthyPrimary(name),
  isPrimary: false,
  receivedLsn: lsn,
  replayLsn: lsn,
  walReceiverActive: true,
  ...over,
});
const deadPrimary = (name: string, over: Partial<FailoverInstance> = {}): FailoverInstance =>
  healthyPrimary(name, {
    managerAlive: false,
    postgresProcessesAlive: false,
    reachable: false,
    unhealthyForMs: 300,
    postgresUp: false,
    ready: false,
    ...over,
  });
const input = (instances: FailoverInstance[], over: Partial<FailoverInput> = {}): FailoverInput => ({
  currentPrimary: 'pg-1',
  targetPrimary: 'pg-1',
  failingSinceMs: undefined,
  nowMs: 100_000,
  failoverDelayMs: 0,
  unresponsiveTimeoutMs: 5000,
  initialized: true,
  instances,
  ...over,
});

interface Case {
  name: string;
  input: FailoverInput;
  expect: { type: string; name?: string; reasonContains: string; blocked?: boolean };
}

const cases: Case[] = [
  {
    name: 'a healthy primary: nothing to do',
    input: input([healthyPrimary('pg-1'), standby('pg-2', '0/5000000')]),
    expect: { type: 'none', reasonContains: 'healthy' },
  },
  {
    name: 'a new cluster never fails over',
    input: input([deadPrimary('pg-1')], { initialized: false }),
    expect: { type: 'none', reasonContains: 'no primary yet' },
  },
  {
    name: 'manager and postmaster both dead: failed at once, the failover begins',
    input: input([deadPrimary('pg-1'), standby('pg-2', '0/5000000', { walReceiverActive: false })]),
    expect: {
      type: 'beginFailover',
      reasonContains: 'instance manager and PostgreSQL of pg-1 are not running',
    },
  },
  {
    name: 'only the manager is dead: not a failure (the restarted manager adopts PostgreSQL)',
    input: input([
      deadPrimary('pg-1', { postgresProcessesAlive: true, unhealthyForMs: 9000 }),
      standby('pg-2', '0/5000000'),
    ]),
    expect: { type: 'none', reasonContains: 'healthy' },
  },
  {
    name: 'the manager reports its PostgreSQL exited: failed at once',
    input: input([
      healthyPrimary('pg-1', {
        primaryLost: 'PostgreSQL of pg-1 exited',
        postgresUp: false,
        ready: false,
        postgresProcessesAlive: false,
      }),
      standby('pg-2', '0/5000000'),
    ]),
    expect: { type: 'beginFailover', reasonContains: 'PostgreSQL of pg-1 exited' },
  },
  {
    name: 'an unresponsive primary is not failed before the timeout',
    input: input([
      healthyPrimary('pg-1', { reachable: false, unhealthyForMs: 4999, ready: false }),
      standby('pg-2', '0/5000000'),
    ]),
    expect: { type: 'none', reasonContains: 'healthy' },
  },
  {
    name: 'an unresponsive primary is failed after the timeout',
    input: input([
      healthyPrimary('pg-1', { reachable: false, unhealthyForMs: 5000, ready: false }),
      standby('pg-2', '0/5000000'),
    ]),
    expect: { type: 'beginFailover', reasonContains: 'instance manager of pg-1 has not answered for 5 s' },
  },
  {
    name: 'failoverDelay: the first failed observation only records the time',
    input: input([deadPrimary('pg-1'), standby('pg-2', '0/5000000')], { failoverDelayMs: 10_000 }),
    expect: { type: 'markFailing', reasonContains: 'not running' },
  },
  {
    name: 'failoverDelay: waits until it has elapsed',
    input: input([deadPrimary('pg-1'), standby('pg-2', '0/5000000')], {
      failoverDelayMs: 10_000,
      failingSinceMs: 95_000,
    }),
    expect: { type: 'wait', reasonContains: 'failing over in 5 s' },
  },
  {
    name: 'failoverDelay: elapsed, the failover begins',
    input: input([deadPrimary('pg-1'), standby('pg-2', '0/5000000')], {
      failoverDelayMs: 10_000,
      failingSinceMs: 90_000,
    }),
    expect: { type: 'beginFailover', reasonContains: 'not running' },
  },
  {
    name: 'a primary that recovered clears the failing timestamp',
    input: input([healthyPrimary('pg-1'), standby('pg-2', '0/5000000')], { failingSinceMs: 90_000 }),
    expect: { type: 'clearFailing', reasonContains: 'healthy again' },
  },
  {
    name: 'a fenced primary blocks the failover',
    input: input([deadPrimary('pg-1', { fenced: true }), standby('pg-2', '0/5000000')]),
    expect: { type: 'wait', reasonContains: 'fenced', blocked: true },
  },
  {
    name: 'no standby that could take over: a lost primary restarts in place',
    input: input([
      healthyPrimary('pg-1', { primaryLost: 'PostgreSQL of pg-1 exited', postgresProcessesAlive: false }),
      standby('pg-2', '0/5000000', { fenced: true }),
    ]),
    expect: { type: 'restartInPlace', name: 'pg-1', reasonContains: 'no standby is available' },
  },
  {
    name: 'a single instance restarts in place',
    input: input([
      healthyPrimary('pg-1', { primaryLost: 'PostgreSQL of pg-1 exited', postgresProcessesAlive: false }),
    ]),
    expect: { type: 'restartInPlace', name: 'pg-1', reasonContains: 'restarting it in place' },
  },
  {
    name: 'no standby and no manager: blocked, nothing is promoted',
    input: input([
      deadPrimary('pg-1'),
      standby('pg-2', '0/5000000', { reachable: false, postgresUp: false }),
    ]),
    expect: { type: 'wait', reasonContains: 'no standby is available', blocked: true },
  },
  {
    name: 'failoverQuorum denies with one of two synchronous standbys reachable (R=1, W=1, N=2)',
    input: input(
      [
        deadPrimary('pg-1'),
        standby('pg-2', '0/5000000'),
        standby('pg-3', '0/5000000', { reachable: false, postgresUp: false }),
      ],
      { quorum: { number: 1, names: ['pg-2', 'pg-3'], external: 0 } },
    ),
    expect: { type: 'wait', reasonContains: 'failoverQuorum', blocked: true },
  },
  {
    name: 'failoverQuorum allows with both synchronous standbys reachable (R=2, W=1, N=2)',
    input: input([deadPrimary('pg-1'), standby('pg-2', '0/5000000'), standby('pg-3', '0/5000000')], {
      quorum: { number: 1, names: ['pg-2', 'pg-3'], external: 0 },
    }),
    expect: { type: 'beginFailover', reasonContains: 'not running' },
  },
  {
    name: 'pending: what is left of the old primary is stopped first',
    input: input([deadPrimary('pg-1', { postgresProcessesAlive: true }), standby('pg-2', '0/5000000')], {
      targetPrimary: PENDING_TARGET,
    }),
    expect: { type: 'stopOldPrimary', name: 'pg-1', reasonContains: 'accept no more writes' },
  },
  {
    name: 'pending: waits while a standby still receives WAL',
    input: input(
      [
        deadPrimary('pg-1'),
        standby('pg-2', '0/5000000'),
        standby('pg-3', '0/5000000', { walReceiverActive: false }),
      ],
      { targetPrimary: PENDING_TARGET },
    ),
    expect: { type: 'wait', reasonContains: 'pg-2 to stop receiving WAL' },
  },
  {
    name: 'pending: the most advanced standby by received LSN wins over a higher replay LSN',
    input: input(
      [
        deadPrimary('pg-1'),
        standby('pg-2', '0/5000000', { walReceiverActive: false, receivedLsn: '0/6000000' }),
        standby('pg-3', '0/5800000', { walReceiverActive: false, receivedLsn: '0/5900000' }),
      ],
      { targetPrimary: PENDING_TARGET },
    ),
    expect: { type: 'electTarget', name: 'pg-2', reasonContains: 'most advanced' },
  },
  {
    name: 'pending: the fenced standby is never chosen',
    input: input(
      [
        deadPrimary('pg-1'),
        standby('pg-2', '0/9000000', { walReceiverActive: false, fenced: true }),
        standby('pg-3', '0/5000000', { walReceiverActive: false }),
      ],
      { targetPrimary: PENDING_TARGET },
    ),
    expect: { type: 'electTarget', name: 'pg-3', reasonContains: 'most advanced' },
  },
  {
    name: 'pending: no candidate left, blocked',
    input: input(
      [
        deadPrimary('pg-1'),
        standby('pg-2', '0/9000000', { walReceiverActive: false, reachable: false, unhealthyForMs: 6000 }),
      ],
      {
        targetPrimary: PENDING_TARGET,
      },
    ),
    expect: { type: 'wait', reasonContains: 'no standby can take over', blocked: true },
  },
  {
    name: 'pending: another instance running as a primary (a target that failed after promoting) is stopped first',
    input: input(
      [
        deadPrimary('pg-1'),
        healthyPrimary('pg-2', { walReceiverActive: false }),
        standby('pg-3', '0/5000000'),
      ],
      { targetPrimary: PENDING_TARGET },
    ),
    expect: { type: 'stopOldPrimary', name: 'pg-2', reasonContains: 'was not chosen' },
  },
  {
    name: 'pending: waits for a standby whose PostgreSQL runs but whose manager does not answer (it may be ahead)',
    input: input(
      [
        deadPrimary('pg-1'),
        standby('pg-2', '0/5000000', { walReceiverActive: false }),
        standby('pg-3', '0/6000000', { walReceiverActive: false, reachable: false, unhealthyForMs: 1000 }),
      ],
      { targetPrimary: PENDING_TARGET },
    ),
    expect: { type: 'wait', reasonContains: 'pg-3 to answer' },
  },
  {
    name: 'pending: a standby silent for longer than the failure window is left out',
    input: input(
      [
        deadPrimary('pg-1'),
        standby('pg-2', '0/5000000', { walReceiverActive: false }),
        standby('pg-3', '0/6000000', { walReceiverActive: false, reachable: false, unhealthyForMs: 5000 }),
      ],
      { targetPrimary: PENDING_TARGET },
    ),
    expect: { type: 'electTarget', name: 'pg-2', reasonContains: 'most advanced' },
  },
  {
    name: 'pending: failoverQuorum is judged again at the election (a synchronous standby died meanwhile)',
    input: input(
      [
        deadPrimary('pg-1'),
        standby('pg-2', '0/5000000', { walReceiverActive: false }),
        standby('pg-3', '0/5000000', {
          walReceiverActive: false,
          reachable: false,
          postgresUp: false,
          postgresProcessesAlive: false,
        }),
      ],
      { targetPrimary: PENDING_TARGET, quorum: { number: 1, names: ['pg-2', 'pg-3'], external: 0 } },
    ),
    expect: { type: 'wait', reasonContains: 'R=1', blocked: true },
  },
  {
    name: 'a primary whose data directory is gone is never restarted in place',
    input: input([
      healthyPrimary('pg-1', {
        primaryLost: 'PGHERD_INSTANCE_PRIMARY_DATA_LOST: gone',
        dataLost: true,
        postgresProcessesAlive: false,
      }),
    ]),
    expect: { type: 'wait', reasonContains: 'no standby is available', blocked: true },
  },
  {
    name: 'an elected target: wait for it to promote',
    input: input([deadPrimary('pg-1'), standby('pg-2', '0/9000000', { walReceiverActive: false })], {
      targetPrimary: 'pg-2',
    }),
    expect: { type: 'wait', reasonContains: 'waiting for pg-2 to be promoted' },
  },
  {
    name: 'an elected target that died before promoting: choose again',
    input: input([deadPrimary('pg-1'), deadPrimary('pg-2', { isPrimary: false })], { targetPrimary: 'pg-2' }),
    expect: { type: 'beginFailover', reasonContains: 'failed before it was promoted' },
  },
  {
    name: 'a switchover target that died while the old primary still runs: the old primary stays',
    input: input([healthyPrimary('pg-1'), deadPrimary('pg-2', { isPrimary: false })], {
      targetPrimary: 'pg-2',
    }),
    expect: { type: 'electTarget', name: 'pg-1', reasonContains: 'stays the primary' },
  },
];

describe('planFailover', () => {
  for (const c of cases) {
    it(c.name, () => {
      const a = planFailover(c.input);
      expect(a.type).toBe(c.expect.type);
      expect(a.reason).toContain(c.expect.reasonContains);
      if (c.expect.name !== undefined) expect((a as { name?: string }).name).toBe(c.expect.name);
      if (c.expect.blocked !== undefined) expect((a as { blocked?: boolean }).blocked).toBe(c.expect.blocked);
    });
  }
});

describe('rankCandidates', () => {
  it('orders by received LSN (lifted to replay), then replay LSN, then name', () => {
    const ranked = rankCandidates([
      standby('c', '0/10', { receivedLsn: '0/20', replayLsn: '0/10' }),
      standby('b', '0/10', { receivedLsn: '0/20', replayLsn: '0/18' }),
      standby('a', '0/10', { receivedLsn: null, replayLsn: '0/30' }),
      standby('d', '0/10', { receivedLsn: '0/20', replayLsn: '0/18' }),
    ]);
    expect(ranked.map((r) => r.name)).toEqual(['a', 'b', 'd', 'c']);
  });
});
