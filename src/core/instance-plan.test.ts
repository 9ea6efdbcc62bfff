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

const cases: Array<{
  name: string;
  observed: Partial<InstanceObservation>;
  expect: { step: string; asStandby?: boolean; reasonContains: string };
}> = [
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
    name: 'a former primary (still currentPrimary) with no data is refused too',
    observed: { isCurrentPrimary: true, dataValid: false },
    expect: { step: 'refuse', reasonContains: 'never re-created' },
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

describe('planInstance', () => {
  it.each(cases)('$name', (c) => {
    const step = planInstance({ ...base, ...c.observed });
    expect(step.step).toBe(c.expect.step);
    expect(step.reason).toContain(c.expect.reasonContains);
    if (c.expect.asStandby !== undefined) expect(step).toMatchObject({ asStandby: c.expect.asStandby });
  });
});
