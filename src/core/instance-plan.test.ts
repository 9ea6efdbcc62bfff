import { describe, expect, it } from 'vitest';
import { type InstanceObservation, planInstance } from './instance-plan.ts';

const base: InstanceObservation = {
  isTargetPrimary: false,
  isCurrentPrimary: false,
  clusterInitialized: true,
  initdbDone: false,
  bootstrapDone: false,
  dataValid: true,
  cloneInterrupted: false,
  postmasterRunning: false,
  primaryNotReady: undefined,
  fenced: false,
  switching: false,
  targetPending: false,
  runningAsPrimary: undefined,
  dataIsPrimary: false,
  cleanShutdown: false,
  lease: 'other',
  walReceiverActive: false,
  rewindFailures: 0,
  cannotFollow: false,
  rewindRequested: false,
};
const primaryBoot: Partial<InstanceObservation> = { isTargetPrimary: true, clusterInitialized: false };

const fencingCases: Array<{
  name: string;
  observed: Partial<InstanceObservation>;
  expect: { step: string; reasonContains: string };
}> = [
  {
    name: 'a fenced running instance has its PostgreSQL stopped',
    observed: { fenced: true, postmasterRunning: true, isTargetPrimary: true, isCurrentPrimary: true },
    expect: { step: 'fence', reasonContains: 'fenced' },
  },
  {
    name: 'a fenced stopped instance stays stopped, even a replica without data',
    observed: { fenced: true, dataValid: false },
    expect: { step: 'wait', reasonContains: 'until it is unfenced' },
  },
];

describe('planInstance with fencing', () => {
  it.each(fencingCases)('$name', (c) => {
    const step = planInstance({ ...base, ...c.observed });
    expect(step.step).toBe(c.expect.step);
    expect(step.reason).toContain(c.expect.reasonContains);
  });
});

const cases: StepCase[] = [
  {
    name: 'a new cluster starts with initdb on the target primary',
    observed: { ...primaryBoot, dataValid: false },
    expect: { step: 'initdb', reasonContains: 'initdb' },
  },
  {
    name: 'after initdb the new primary starts, not as a standby',
    observed: { ...primaryBoot, initdbDone: true },
    expect: { step: 'start', asStandby: false, reasonContains: 'new primary' },
  },
  {
    name: 'a running new primary gets its post-init SQL',
    observed: { ...primaryBoot, initdbDone: true, postmasterRunning: true },
    expect: { step: 'postInit', reasonContains: 'post-init' },
  },
  {
    name: 'a running primary whose initdb never finished is stopped to start over',
    observed: { ...primaryBoot, postmasterRunning: true },
    expect: { step: 'stopPostgres', reasonContains: 'did not finish initdb' },
  },
  {
    name: 'a bootstrap that finished locally is recorded in the cluster',
    observed: { ...primaryBoot, initdbDone: true, bootstrapDone: true, postmasterRunning: true },
    expect: { step: 'markInitialized', reasonContains: 'bootstrap finished' },
  },
  {
    name: 'an initialized primary whose data is gone is refused, never re-initialized',
    observed: { isTargetPrimary: true, isCurrentPrimary: true, dataValid: false },
    expect: { step: 'refuse', reasonContains: 'never re-created' },
  },
  {
    name: 'a former primary with no data waits for the failover, then clones the new primary',
    observed: { isCurrentPrimary: true, dataValid: false, switching: true, targetPending: true },
    expect: { step: 'wait', reasonContains: 'failover to finish' },
  },
  {
    name: 'a replica without data waits while the primary is not ready',
    observed: { dataValid: false, primaryNotReady: 'waiting for the primary pg-1 to be ready' },
    expect: { step: 'wait', reasonContains: 'pg-1' },
  },
  {
    name: 'a replica without data clones the primary',
    observed: { dataValid: false },
    expect: { step: 'clone', reasonContains: 'pg_basebackup' },
  },
  {
    name: 'an interrupted clone is cloned again',
    observed: { dataValid: false, cloneInterrupted: true },
    expect: { step: 'clone', reasonContains: 'did not finish' },
  },
  {
    name: 'a replica with data always starts as a standby',
    observed: {},
    expect: { step: 'start', asStandby: true, reasonContains: 'standby' },
  },
  {
    name: 'a running replica whose data vanished is stopped to be re-cloned',
    observed: { postmasterRunning: true, dataValid: false },
    expect: { step: 'stopPostgres', reasonContains: 'disappeared' },
  },
  {
    name: 'a running instance of an initialized cluster is maintained',
    observed: { postmasterRunning: true, isTargetPrimary: true, isCurrentPrimary: true },
    expect: { step: 'maintain', reasonContains: 'running' },
  },
];

interface StepCase {
  name: string;
  observed: Partial<InstanceObservation>;
  expect: { step: string; asStandby?: boolean; immediate?: boolean; reasonContains: string };
}

/** The step planned for `base` changed by the case's observation is the one expected. */
function checkStep(c: StepCase): void {
  const step = planInstance({ ...base, ...c.observed });
  expect(step.step).toBe(c.expect.step);
  expect(step.reason).toContain(c.expect.reasonContains);
  if (c.expect.asStandby !== undefined) expect(step).toMatchObject({ asStandby: c.expect.asStandby });
  if (c.expect.immediate !== undefined) expect(step).toMatchObject({ immediate: c.expect.immediate });
}

describe('planInstance', () => {
  it.each(cases)('$name', checkStep);
});

const primary: Partial<InstanceObservation> = {
  isTargetPrimary: true,
  isCurrentPrimary: true,
  dataIsPrimary: true,
  lease: 'mine',
};
const failoverCases: StepCase[] = [
  {
    name: 'a running primary holding the lease is maintained',
    observed: { ...primary, postmasterRunning: true, runningAsPrimary: true },
    expect: { step: 'maintain', reasonContains: 'running' },
  },
  {
    name: 'an adopted running primary claims the lease its previous manager held',
    observed: { ...primary, postmasterRunning: true, runningAsPrimary: true, lease: 'ours' },
    expect: { step: 'takeLease', reasonContains: 'claims the primary lease' },
  },
  {
    name: 'a running primary whose lease another instance holds is stopped at once',
    observed: { ...primary, postmasterRunning: true, runningAsPrimary: true, lease: 'other' },
    expect: { step: 'demote', immediate: true, reasonContains: 'another instance holds' },
  },
  {
    name: 'switchover: the current primary, no longer target, shuts down cleanly',
    observed: {
      ...primary,
      isTargetPrimary: false,
      switching: true,
      postmasterRunning: true,
      runningAsPrimary: true,
    },
    expect: { step: 'demote', immediate: false, reasonContains: 'fast shutdown' },
  },
  {
    name: 'failover: a primary that is running again while the target is pending stops at once',
    observed: {
      ...primary,
      isTargetPrimary: false,
      switching: true,
      targetPending: true,
      postmasterRunning: true,
      runningAsPrimary: true,
    },
    expect: { step: 'demote', immediate: true, reasonContains: 'no longer the primary' },
  },
  {
    name: 'a stale primary that resumes after the failover stops at once',
    observed: {
      ...primary,
      isTargetPrimary: false,
      isCurrentPrimary: false,
      postmasterRunning: true,
      runningAsPrimary: true,
    },
    expect: { step: 'demote', immediate: true, reasonContains: 'no longer the primary' },
  },
  {
    name: 'the chosen standby waits for the old primary to release the lease',
    observed: { isTargetPrimary: true, switching: true, postmasterRunning: true, runningAsPrimary: false },
    expect: { step: 'wait', reasonContains: 'release the primary lease' },
  },
  {
    name: 'the chosen standby waits until its WAL receiver stopped (all WAL received)',
    observed: {
      isTargetPrimary: true,
      switching: true,
      postmasterRunning: true,
      runningAsPrimary: false,
      lease: 'free',
      walReceiverActive: true,
    },
    expect: { step: 'wait', reasonContains: 'last WAL' },
  },
  {
    name: 'the chosen standby promotes',
    observed: {
      isTargetPrimary: true,
      switching: true,
      postmasterRunning: true,
      runningAsPrimary: false,
      lease: 'free',
    },
    expect: { step: 'promote', reasonContains: 'promoting' },
  },
  {
    name: 'a promoted standby not yet recorded as current finishes the promotion',
    observed: {
      isTargetPrimary: true,
      switching: true,
      postmasterRunning: true,
      runningAsPrimary: true,
      lease: 'mine',
    },
    expect: { step: 'promote', reasonContains: 'finishing the promotion' },
  },
  {
    name: 'a primary that crashed is not restarted without the lease: the control plane decides',
    observed: { ...primary, lease: 'free' },
    expect: { step: 'primaryLost', reasonContains: 'without a clean shutdown' },
  },
  {
    name: 'a primary whose manager and postmaster died waits too (the lease names the dead manager)',
    observed: { ...primary, lease: 'ours' },
    expect: { step: 'primaryLost', reasonContains: 'fail over or to allow a restart' },
  },
  {
    name: 'a primary granted the lease after a crash restarts in place',
    observed: { ...primary, lease: 'mine' },
    expect: { step: 'start', asStandby: false, reasonContains: 'as the primary' },
  },
  {
    name: 'a primary shut down cleanly (pgherd down) claims the lease and starts',
    observed: { ...primary, lease: 'ours', cleanShutdown: true },
    expect: { step: 'takeLease', reasonContains: 'shut down cleanly' },
  },
  {
    name: 'a cleanly shut down primary never starts while another instance holds the lease',
    observed: { ...primary, lease: 'other', cleanShutdown: true },
    expect: { step: 'primaryLost', reasonContains: 'waiting for the control plane' },
  },
  {
    name: 'the former primary waits while the failover runs',
    observed: { ...primary, isTargetPrimary: false, switching: true, targetPending: true },
    expect: { step: 'wait', reasonContains: 'before rejoining' },
  },
  {
    name: 'the former primary waits for the new primary to be ready',
    observed: {
      ...primary,
      isTargetPrimary: false,
      isCurrentPrimary: false,
      primaryNotReady: 'waiting for the primary pg-2 to be ready',
    },
    expect: { step: 'wait', reasonContains: 'pg-2' },
  },
  {
    name: 'the former primary rewinds onto the new primary',
    observed: { ...primary, isTargetPrimary: false, isCurrentPrimary: false, lease: 'other' },
    expect: { step: 'rewind', reasonContains: 'pg_rewind' },
  },
  {
    name: 'the former primary is re-cloned when pg_rewind keeps failing',
    observed: {
      ...primary,
      isTargetPrimary: false,
      isCurrentPrimary: false,
      lease: 'other',
      rewindFailures: 4,
    },
    expect: { step: 'reclone', reasonContains: 'failed 4 times' },
  },
  {
    name: 'a running standby that cannot follow the new timeline is stopped to be rewound',
    observed: { postmasterRunning: true, runningAsPrimary: false, cannotFollow: true },
    expect: { step: 'stopToRewind', reasonContains: 'cannot follow' },
  },
  {
    name: 'a standby that cannot follow is left alone while a failover still runs',
    observed: { postmasterRunning: true, runningAsPrimary: false, cannotFollow: true, switching: true },
    expect: { step: 'maintain', reasonContains: 'running' },
  },
  {
    name: 'a standby stopped to be rewound rewinds once the primary is ready',
    observed: { rewindRequested: true },
    expect: { step: 'rewind', reasonContains: 'rejoins the new timeline' },
  },
  {
    name: 'a standby stopped to be rewound is re-cloned after repeated rewind failures',
    observed: { rewindRequested: true, rewindFailures: 4 },
    expect: { step: 'reclone', reasonContains: 'failed 4 times' },
  },
  {
    name: 'a fenced former primary stays stopped',
    observed: { ...primary, isTargetPrimary: false, isCurrentPrimary: false, fenced: true },
    expect: { step: 'wait', reasonContains: 'fenced' },
  },
];

describe('planInstance during failover and switchover', () => {
  it.each(failoverCases)('$name', checkStep);
});
