/**
 * Service endpoints, as Kubernetes Services select CNPG's pods: `-rw` the current primary,
 * `-ro` the ready replicas, `-r` every ready instance. Pure; the router applies it.
 */

export interface RoutableInstance {
  name: string;
  port: number;
  role: 'primary' | 'replica' | 'unknown';
  ready: boolean;
}

export interface RoutingInput {
  /** status.currentPrimary: only this instance may be behind `-rw`. */
  currentPrimary: string | undefined;
  /** status.targetPrimary: while it differs from currentPrimary (failover, switchover) `-rw` is empty. */
  targetPrimary: string | undefined;
  instances: readonly RoutableInstance[];
}

export interface Endpoints {
  rw: RoutableInstance[];
  ro: RoutableInstance[];
  r: RoutableInstance[];
}

/** Decides which instances each service of a cluster forwards to. */
export function planEndpoints(input: RoutingInput): Endpoints {
  const ready = input.instances.filter((i) => i.ready);
  const switching = input.targetPrimary !== undefined && input.targetPrimary !== input.currentPrimary;
  const rw = switching ? [] : ready.filter((i) => i.name === input.currentPrimary && i.role === 'primary');
  const ro = ready.filter((i) => i.role === 'replica' && i.name !== input.currentPrimary);
  const r = ready.filter((i) =>
    i.role === 'primary' ? i.name === input.currentPrimary : i.role === 'replica',
  );
  return { rw, ro, r };
}
