/**
 * The router: the local platform's Services. One process per $PGHERD_HOME with a loopback TCP
 * listener per Service (`<cluster>-rw`, `-ro`, `-r`). It reads the store on its own, so it
 * keeps routing while the control plane restarts. TLS is end to end: the router forwards
 * bytes and never terminates it (the server certificate carries the service names).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { ClusterResource } from '../../api/index.ts';
import type { InstanceResource, ServiceResource } from '../../api/internal.ts';
import { type Endpoints, planEndpoints, type RoutableInstance } from '../../core/routing.ts';
import type { Store } from '../../ports/store.ts';
import type { KernelRoute, KernelRoutes } from './kernel-routes.ts';

interface Listener {
  service: ServiceResource;
  server: Server;
  /** Open client connections and the backend instance each goes to. */
  connections: Map<Socket, { upstream: Socket; backend: string }>;
  next: number;
}

export interface RouterOptions {
  store: Store;
  logger: Logger;
  /**
   * Kernel routing (nftables DNAT): when given, new connections go straight to the instances
   * and the listeners only hold the ports and serve what no rule covers.
   */
  kernel?: KernelRoutes | undefined;
  /** How often the store is checked for changes, ms. */
  pollMs?: number;
}

export class Router {
  private readonly listeners = new Map<string, Listener>();
  private endpoints = new Map<string, Endpoints>();
  private lastRevision = -1;
  private kernelFingerprint = '';
  /** Kernel rules could be neither updated nor removed: retry on every tick. */
  private kernelDirty = false;
  /** Services whose port could not be taken yet. */
  private readonly failedListeners = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly pollMs: number;

  private readonly opts: RouterOptions;
  /** Cleared when nft fails: the router then forwards everything itself. */
  private kernel: KernelRoutes | undefined;
  constructor(opts: RouterOptions) {
    this.opts = opts;
    this.kernel = opts.kernel;
    this.pollMs = opts.pollMs ?? 100;
  }

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch((err: unknown) => this.opts.logger.error({ err }, 'router refresh failed'));
    }, this.pollMs);
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    try {
      this.kernel?.remove();
    } catch (err) {
      this.opts.logger.error({ err }, `cannot remove the kernel routes of table ${this.kernel?.table}`);
    }
    await Promise.all([...this.listeners.keys()].map((k) => this.closeListener(k)));
  }

  /** Current endpoints by service key `namespace/name`, for tests and status. */
  snapshot(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [key, l] of this.listeners) {
      out.set(
        key,
        this.backendsFor(l.service).map((b) => b.name),
      );
    }
    return out;
  }

  private async refresh(): Promise<void> {
    const rev = this.opts.store.revision();
    // A service whose port could not be taken is retried on every tick, not only on changes.
    if (rev === this.lastRevision && this.failedListeners.size === 0 && !this.kernelDirty) return;
    this.lastRevision = rev;
    const services = this.opts.store.list<ServiceResource>('Service');
    const clusters = this.opts.store.list<ClusterResource>('Cluster');
    const instances = this.opts.store.list<InstanceResource>('Instance');
    const next = new Map<string, Endpoints>();
    const eligible = new Map<string, Endpoints>();
    for (const c of clusters) {
      const ns = c.metadata.namespace;
      const routable: RoutableInstance[] = instances
        .filter((i) => i.metadata.namespace === ns && i.spec.cluster === c.metadata.name)
        .map((i) => ({
          name: i.metadata.name,
          port: i.spec.pgPort,
          role: i.status?.role ?? 'unknown',
          ready: i.status?.ready === true,
        }));
      const input = { currentPrimary: c.status?.currentPrimary, targetPrimary: c.status?.targetPrimary };
      next.set(`${ns}/${c.metadata.name}`, planEndpoints({ ...input, instances: routable }));
      // Open connections are judged by role, not readiness: an instance that is briefly
      // unready keeps its sessions; one that leaves the service (demoted, removed) loses them.
      eligible.set(
        `${ns}/${c.metadata.name}`,
        planEndpoints({ ...input, instances: routable.map((r) => ({ ...r, ready: true })) }),
      );
    }
    this.endpoints = next;

    const wanted = new Set(services.map((s) => key(s)));
    for (const k of [...this.listeners.keys()]) {
      const l = this.listeners.get(k)!;
      const s = services.find((x) => key(x) === k);
      const moved =
        s !== undefined && (s.spec.port !== l.service.spec.port || s.spec.host !== l.service.spec.host);
      if (!wanted.has(k) || s === undefined || moved) await this.closeListener(k);
    }
    for (const k of [...this.failedListeners]) if (!wanted.has(k)) this.failedListeners.delete(k);
    for (const s of services) {
      const k = key(s);
      const existing = this.listeners.get(k);
      if (existing === undefined) await this.openListener(s);
      else existing.service = s;
    }
    this.applyKernelRoutes();
    // Connections to an instance that no longer backs the service are cut, so that clients of
    // `-rw` reconnect to the new primary instead of writing to a demoted one.
    for (const l of this.listeners.values()) {
      const e = eligible.get(`${l.service.metadata.namespace}/${l.service.spec.cluster}`);
      const allowed = new Set((e?.[l.service.spec.role] ?? []).map((b) => b.name));
      for (const [client, conn] of l.connections) {
        if (!allowed.has(conn.backend)) {
          this.opts.logger.info(
            { service: l.service.metadata.name, backend: conn.backend },
            'closing a connection to an instance that left the service',
          );
          client.destroy();
          conn.upstream.destroy();
        }
      }
    }
  }

  /** Programs the kernel rules when the routes changed; falls back to userspace if nft fails. */
  private applyKernelRoutes(): void {
    const kernel = this.kernel;
    if (kernel === undefined) return;
    const routes: KernelRoute[] = [...this.listeners.values()]
      .map((l) => ({ port: l.service.spec.port, backends: this.backendsFor(l.service).map((b) => b.port) }))
      .sort((a, b) => a.port - b.port);
    const fingerprint = JSON.stringify(routes);
    if (fingerprint === this.kernelFingerprint) return;
    try {
      kernel.apply(routes);
      this.kernelFingerprint = fingerprint;
      this.kernelDirty = false;
      this.opts.logger.info({ table: kernel.table, routes }, 'kernel routes updated');
    } catch (err) {
      // Rules that cannot be updated must not stay: they could point at a former primary. Until
      // they are gone, every tick tries again.
      this.opts.logger.error(
        { err },
        'cannot program kernel routes; removing them and forwarding in userspace',
      );
      try {
        kernel.remove();
        this.kernel = undefined;
      } catch (removeErr) {
        this.kernelFingerprint = '';
        this.kernelDirty = true;
        this.opts.logger.error(
          { err: removeErr },
          `cannot remove the kernel routes of table ${kernel.table}; retrying`,
        );
      }
    }
  }

  private backendsFor(s: ServiceResource): RoutableInstance[] {
    const e = this.endpoints.get(`${s.metadata.namespace}/${s.spec.cluster}`);
    if (e === undefined) return [];
    return e[s.spec.role];
  }

  private openListener(s: ServiceResource): Promise<void> {
    const l: Listener = { service: s, server: createServer(), connections: new Map(), next: 0 };
    l.server.on('connection', (client) => this.onConnection(l, client));
    return new Promise((resolve) => {
      const onListenError = (err: Error): void => {
        if (!this.failedListeners.has(key(s))) {
          this.opts.logger.error(
            { err, service: s.metadata.name, port: s.spec.port },
            `cannot listen on ${s.spec.host}:${s.spec.port} for service ${s.metadata.name}; is another process using the port? retrying`,
          );
        }
        this.failedListeners.add(key(s));
        l.server.close();
        resolve();
      };
      l.server.once('error', onListenError);
      l.server.listen({ host: s.spec.host, port: s.spec.port }, () => {
        l.server.off('error', onListenError);
        l.server.on('error', (err) =>
          this.opts.logger.error({ err, service: s.metadata.name }, 'service listener error'),
        );
        this.failedListeners.delete(key(s));
        this.listeners.set(key(s), l);
        this.opts.logger.info({ service: s.metadata.name, port: s.spec.port }, 'service listening');
        resolve();
      });
    });
  }

  private closeListener(k: string): Promise<void> {
    const l = this.listeners.get(k);
    if (l === undefined) return Promise.resolve();
    this.listeners.delete(k);
    for (const [client, conn] of l.connections) {
      client.destroy();
      conn.upstream.destroy();
    }
    return new Promise((resolve) => l.server.close(() => resolve()));
  }

  private onConnection(l: Listener, client: Socket): void {
    client.setNoDelay(true);
    const backends = this.backendsFor(l.service);
    if (backends.length === 0) {
      // No ready instance: close at once so the client retries instead of hanging.
      client.destroy();
      return;
    }
    const backend = backends[l.next++ % backends.length]!;
    const upstream = connect({ host: '127.0.0.1', port: backend.port });
    upstream.setNoDelay(true);
    l.connections.set(client, { upstream, backend: backend.name });
    const cleanup = (): void => {
      l.connections.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', cleanup);
    upstream.on('error', cleanup);
    client.on('close', cleanup);
    upstream.on('close', cleanup);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}

function key(s: ServiceResource): string {
  return `${s.metadata.namespace}/${s.metadata.name}`;
}
