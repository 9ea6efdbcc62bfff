import { describe, expect, it } from 'vitest';
import { planEndpoints, type RoutableInstance, type RoutingInput } from './routing.ts';

const i = (name: string, role: RoutableInstance['role'], ready = true): RoutableInstance => ({
  name,
  port: 1,
  role,
  ready,
});

const cases: Array<{
  name: string;
  input: RoutingInput;
  expect: { rw: string[]; ro: string[]; r: string[] };
}> = [
  {
    name: 'rw is the current primary, ro the ready replicas, r all ready instances',
    input: {
      currentPrimary: 'a',
      targetPrimary: 'a',
      instances: [i('a', 'primary'), i('b', 'replica'), i('c', 'replica', false)],
    },
    expect: { rw: ['a'], ro: ['b'], r: ['a', 'b'] },
  },
  {
    name: 'no instance is behind rw while the target primary differs (failover or switchover)',
    input: { currentPrimary: 'a', targetPrimary: 'b', instances: [i('a', 'primary'), i('b', 'replica')] },
    expect: { rw: [], ro: ['b'], r: ['a', 'b'] },
  },
  {
    name: 'a second instance claiming to be primary is never routed to',
    input: { currentPrimary: 'a', targetPrimary: 'a', instances: [i('a', 'primary'), i('b', 'primary')] },
    expect: { rw: ['a'], ro: [], r: ['a'] },
  },
  {
    name: 'an unready primary leaves rw empty so clients fail fast',
    input: {
      currentPrimary: 'a',
      targetPrimary: 'a',
      instances: [i('a', 'primary', false), i('b', 'replica')],
    },
    expect: { rw: [], ro: ['b'], r: ['b'] },
  },
];

describe('planEndpoints', () => {
  it.each(cases)('$name', (c) => {
    const e = planEndpoints(c.input);
    expect({ rw: e.rw.map((x) => x.name), ro: e.ro.map((x) => x.name), r: e.r.map((x) => x.name) }).toEqual(
      c.expect,
    );
  });
});
