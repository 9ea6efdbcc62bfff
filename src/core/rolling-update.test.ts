import { describe, expect, it } from 'vitest';
import { planRollingUpdate, type RollingInput, type RollingInstance } from './rolling-update.ts';

const inst = (name: string, over: Partial<RollingInstance> = {}): RollingInstance => ({
  name,
  isPrimary: name === 'pg-1',
  ready: true,
  pendingRestart: true,
  fenced: false,
  replayLsn: '0/100',
  restartRequested: false,
  ...over,
});
const input = (instances: RollingInstance[], over: Partial<RollingInput> = {}): RollingInput => ({
  currentPrimary: 'pg-1',
  strategy: 'unsupervised',
  method: 'restart',
  instances,
  ...over,
});

const cases: Array<{
  name: string;
  input: RollingInput;
  expect: { type: string; name?: string; contains: string };
}> = [
  {
    name: 'nothing pending: nothing to do',
    input: input([inst('pg-1', { pendingRestart: false }), inst('pg-2', { pendingRestart: false })]),
    expect: { type: 'none', contains: 'no instance' },
  },
  {
    name: 'standbys first, one at a time, by name',
    input: input([inst('pg-1'), inst('pg-3'), inst('pg-2')]),
    expect: { type: 'restart', name: 'pg-2', contains: 'standby pg-2' },
  },
  {
    name: 'waits while a requested restart has not happened',
    input: input([inst('pg-1'), inst('pg-2', { restartRequested: true }), inst('pg-3')]),
    expect: { type: 'wait', contains: 'pg-2 to restart' },
  },
  {
    name: 'waits until every instance is ready again',
    input: input([inst('pg-1'), inst('pg-2', { pendingRestart: false, ready: false }), inst('pg-3')]),
    expect: { type: 'wait', contains: 'pg-2 to be ready' },
  },
  {
    name: 'then the primary restarts in place (method restart)',
    input: input([
      inst('pg-1'),
      inst('pg-2', { pendingRestart: false }),
      inst('pg-3', { pendingRestart: false }),
    ]),
    expect: { type: 'restart', name: 'pg-1', contains: 'in place' },
  },
  {
    name: 'or switches over to the most advanced standby (method switchover)',
    input: input(
      [
        inst('pg-1'),
        inst('pg-2', { pendingRestart: false, replayLsn: '0/100' }),
        inst('pg-3', { pendingRestart: false, replayLsn: '0/200' }),
      ],
      { method: 'switchover' },
    ),
    expect: { type: 'switchover', name: 'pg-3', contains: 'from pg-1 to pg-3' },
  },
  {
    name: 'never switches over to a standby that itself waits for a restart',
    input: input([inst('pg-1'), inst('pg-2', { fenced: true, ready: false })], { method: 'switchover' }),
    expect: { type: 'restart', name: 'pg-1', contains: 'in place' },
  },
  {
    name: 'a single instance restarts in place even with method switchover',
    input: input([inst('pg-1')], { method: 'switchover' }),
    expect: { type: 'restart', name: 'pg-1', contains: 'in place' },
  },
  {
    name: 'supervised: the primary waits for the user',
    input: input([inst('pg-1'), inst('pg-2', { pendingRestart: false })], { strategy: 'supervised' }),
    expect: { type: 'wait', contains: 'pgherd promote' },
  },
  {
    name: 'a fenced instance is neither waited for nor restarted',
    input: input([inst('pg-1', { pendingRestart: false }), inst('pg-2', { fenced: true, ready: false })]),
    expect: { type: 'none', contains: 'no instance' },
  },
];

describe('planRollingUpdate', () => {
  it.each(cases)('$name', (c) => {
    const a = planRollingUpdate(c.input);
    expect(a.type).toBe(c.expect.type);
    expect(a.reason).toContain(c.expect.contains);
    if (c.expect.name !== undefined) {
      expect((a as { name?: string; target?: string }).name ?? (a as { target?: string }).target).toBe(
        c.expect.name,
      );
    }
  });
});
