import { connect, createServer, type Server, type Socket } from 'node:net';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore } from '../../../test/fakes/memory-store.ts';
import { type ClusterResource, type ClusterStatus, clusterSpecSchema } from '../../api/index.ts';
import type { InstanceResource, InstanceRole, ServiceResource, ServiceRole } from '../../api/internal.ts';
import { updateWithRetry } from '../../ports/store.ts';
import { Router } from './router.ts';

const NS = 'default';
const WAIT = { timeout: 5000, interval: 20 };

/** A TCP server standing in for one PostgreSQL instance: answers every line with `<name>:<line>`. */
interface FakePostgres {
  name: string;
  port: number;
  server: Server;
  sockets: Set<Socket>;
}

async function startFakePostgres(name: string): Promise<FakePostgres> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      let nl = buffered.indexOf('\n');
      while (nl >= 0) {
        socket.write(`${name}:${buffered.slice(0, nl)}\n`);
        buffered = buffered.slice(nl + 1);
        nl = buffered.indexOf('\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return { name, port: address.port, server, sockets };
}

async function stopFakePostgres(p: FakePostgres): Promise<void> {
  for (const s of p.sockets) s.destroy();
  await new Promise<void>((resolve) => p.server.close(() => resolve()));
}

/** 'settled' when the promise settles within WAIT.timeout, so a missing close fails fast. */
async function settles(p: Promise<unknown>): Promise<'settled' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => {
    timer = setTimeout(() => r('timeout'), WAIT.timeout);
  });
  try {
    return await Promise.race([p.then(() => 'settled' as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A port nobody listens on right now. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const address = s.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return address.port;
}

/**
 * `n` distinct ports nobody listens on right now: all held open until each is known, so the
 * kernel cannot hand the same port out twice (it did once in CI: -rw and -r got one port, and
 * -rw clients were answered by the -r round robin).
 */
async function freePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => createServer());
  await Promise.all(
    servers.map((s) => new Promise<void>((resolve) => s.listen({ host: '127.0.0.1', port: 0 }, resolve))),
  );
  const ports = servers.map((s) => {
    const address = s.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    return address.port;
  });
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/** A client connection through the router, as psql would hold one. */
interface Client {
  /**
   * Sends a line and returns the answer line; 'closed' when the connection ends first, 'no answer'
   * when neither happens within WAIT.timeout.
   */
  ask(line: string): Promise<string>;
  /** Resolves when the connection is closed (by either side). */
  closed: Promise<void>;
  isClosed(): boolean;
  socket: Socket;
}

const clients = new Set<Socket>();

/** Connects to a router port; rejects with the socket error (ECONNREFUSED) when nothing listens. */
function openClient(port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    clients.add(socket);
    let received = '';
    let closed = false;
    let wake: (() => void) | undefined;
    const closedPromise = new Promise<void>((r) =>
      socket.once('close', () => {
        closed = true;
        clients.delete(socket);
        wake?.();
        r();
      }),
    );
    socket.on('data', (chunk) => {
      received += chunk.toString('utf8');
      wake?.();
    });
    // Before 'connect' an error (ECONNREFUSED) rejects; after it, a reset shows up as 'close'.
    socket.on('error', (err) => reject(err));
    socket.once('connect', () => {
      resolve({
        socket,
        closed: closedPromise,
        isClosed: () => closed,
        async ask(line: string): Promise<string> {
          if (!closed) socket.write(`${line}\n`);
          const deadline = Date.now() + WAIT.timeout;
          for (;;) {
            const nl = received.indexOf('\n');
            if (nl >= 0) {
              const answer = received.slice(0, nl);
              received = received.slice(nl + 1);
              return answer;
            }
            if (closed) return 'closed';
            if (Date.now() >= deadline) return 'no answer';
            await new Promise<void>((r) => {
              wake = r;
              setTimeout(r, 50);
            });
            wake = undefined;
          }
        },
      });
    });
  });
}

/** Opens a connection, asks one line, closes; returns who answered (or 'closed'). */
async function whoAnswers(port: number): Promise<string> {
  const c = await openClient(port);
  const answer = await c.ask('who');
  c.socket.destroy();
  await c.closed;
  return answer === 'closed' ? answer : answer.replace(/:who$/, '');
}

/** Resolves 'refused' when nothing listens on the port, 'accepted' otherwise. */
async function probe(port: number): Promise<'refused' | 'accepted'> {
  try {
    const c = await openClient(port);
    c.socket.destroy();
    return 'accepted';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') return 'refused';
    throw err;
  }
}

type StoredCluster = ClusterResource;

function cluster(name: string, status: ClusterStatus): StoredCluster {
  return {
    apiVersion: 'postgresql.cnpg.io/v1',
    kind: 'Cluster',
    metadata: { name, namespace: NS },
    spec: clusterSpecSchema.parse({ instances: 4, storage: { size: '1Gi' } }),
    status,
  };
}

function instance(
  clusterName: string,
  serial: number,
  pgPort: number,
  role: InstanceRole,
  ready: boolean,
): InstanceResource {
  return {
    apiVersion: 'pgherd.io/v1',
    kind: 'Instance',
    metadata: { name: `${clusterName}-${serial}`, namespace: NS },
    spec: { cluster: clusterName, serial, pgPort, statusPort: 1 },
    status: { role, ready },
  };
}

function service(clusterName: string, role: ServiceRole, port: number): ServiceResource {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `${clusterName}-${role}`, namespace: NS },
    spec: { cluster: clusterName, role, host: '127.0.0.1', port },
  };
}

function setInstance(store: MemoryStore, name: string, status: { role: InstanceRole; ready: boolean }): void {
  updateWithRetry<InstanceResource>(store, 'Instance', NS, name, (i) => {
    i.status = { ...i.status, ...status };
    return i;
  });
}

function setClusterStatus(store: MemoryStore, name: string, status: ClusterStatus): void {
  updateWithRetry<StoredCluster>(store, 'Cluster', NS, name, (c) => {
    c.status = { ...c.status, ...status };
    return c;
  });
}

describe('the local router', () => {
  let store: MemoryStore;
  let router: Router | undefined;
  let pgs: FakePostgres[];
  let ports: Record<ServiceRole, number>;

  beforeEach(async () => {
    store = new MemoryStore();
    // pg-1 is the primary, pg-2 and pg-3 ready replicas, pg-4 a replica still catching up.
    pgs = await Promise.all(['pg-1', 'pg-2', 'pg-3', 'pg-4'].map((n) => startFakePostgres(n)));
    store.create(cluster('pg', { currentPrimary: 'pg-1', targetPrimary: 'pg-1' }));
    store.create(instance('pg', 1, pgs[0]!.port, 'primary', true));
    store.create(instance('pg', 2, pgs[1]!.port, 'replica', true));
    store.create(instance('pg', 3, pgs[2]!.port, 'replica', true));
    store.create(instance('pg', 4, pgs[3]!.port, 'replica', false));
    const [rw, ro, r] = (await freePorts(3)) as [number, number, number];
    ports = { rw, ro, r };
    for (const role of ['rw', 'ro', 'r'] as const) store.create(service('pg', role, ports[role]));
    router = new Router({ store, logger: pino({ level: 'silent' }), pollMs: 20 });
    await router.start();
  });

  afterEach(async () => {
    await router?.stop();
    router = undefined;
    for (const c of clients) c.destroy();
    clients.clear();
    await Promise.all(pgs.map((p) => stopFakePostgres(p)));
    store.close();
  });

  it('sends every -rw client to the current primary', async () => {
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await whoAnswers(ports.rw));
    expect(answers).toEqual(['pg-1', 'pg-1', 'pg-1']);
  });

  it('spreads -ro clients round-robin over the ready replicas only', async () => {
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await whoAnswers(ports.ro));
    expect(answers).toEqual(['pg-2', 'pg-3', 'pg-2', 'pg-3', 'pg-2']);
  });

  it('spreads -r clients over every ready instance, primary included', async () => {
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await whoAnswers(ports.r));
    expect(answers).toEqual(['pg-1', 'pg-2', 'pg-3', 'pg-1', 'pg-2', 'pg-3']);
  });

  it('forwards bytes both ways for the life of a connection', async () => {
    const c = await openClient(ports.rw);
    expect(await c.ask('SELECT 1')).toBe('pg-1:SELECT 1');
    expect(await c.ask('SELECT 2')).toBe('pg-1:SELECT 2');
    expect(c.isClosed()).toBe(false);
  });

  it('closes a client at once when the service has no ready instance', async () => {
    const lonelyPort = await freePort();
    store.create(cluster('lonely', { currentPrimary: 'lonely-1', targetPrimary: 'lonely-1' }));
    store.create(instance('lonely', 1, pgs[3]!.port, 'primary', false));
    store.create(service('lonely', 'rw', lonelyPort));
    await vi.waitFor(() => expect(router!.snapshot().get(`${NS}/lonely-rw`)).toEqual([]), WAIT);

    const c = await openClient(lonelyPort);
    expect(await c.ask('who')).toBe('closed');
    expect(pgs[3]!.sockets.size).toBe(0);
  });

  it('closes -rw clients at once while a switchover is in progress', async () => {
    setClusterStatus(store, 'pg', { targetPrimary: 'pg-2' });
    await vi.waitFor(() => expect(router!.snapshot().get(`${NS}/pg-rw`)).toEqual([]), WAIT);
    const c = await openClient(ports.rw);
    expect(await c.ask('who')).toBe('closed');
    // Readers keep working during the switchover.
    expect(await whoAnswers(ports.ro)).toBe('pg-2');
  });

  it('after a failover cuts -rw connections to the old primary and sends new ones to the new primary', async () => {
    const writer = await openClient(ports.rw);
    expect(await writer.ask('who')).toBe('pg-1:who');
    const toPromoted = await openClient(ports.ro);
    expect(await toPromoted.ask('who')).toBe('pg-2:who');
    const toOtherReplica = await openClient(ports.ro);
    expect(await toOtherReplica.ask('who')).toBe('pg-3:who');

    // pg-2 is promoted; pg-1 comes back as a replica.
    setClusterStatus(store, 'pg', { targetPrimary: 'pg-2' });
    setInstance(store, 'pg-1', { role: 'replica', ready: false });
    setInstance(store, 'pg-2', { role: 'primary', ready: true });
    setClusterStatus(store, 'pg', { currentPrimary: 'pg-2' });
    setInstance(store, 'pg-1', { role: 'replica', ready: true });

    expect(await settles(writer.closed)).toBe('settled');
    expect(await settles(toPromoted.closed)).toBe('settled');
    await vi.waitFor(() => expect(router!.snapshot().get(`${NS}/pg-rw`)).toEqual(['pg-2']), WAIT);
    expect(await writer.ask('who')).toBe('closed');
    expect(await whoAnswers(ports.rw)).toBe('pg-2');
    // A connection to an instance that still backs -ro is left alone.
    expect(await toOtherReplica.ask('still there?')).toBe('pg-3:still there?');
    expect(router!.snapshot().get(`${NS}/pg-ro`)).toEqual(['pg-1', 'pg-3']);
  });

  it('keeps the sessions of a replica that is briefly unready, but sends it no new clients', async () => {
    const session = await openClient(ports.ro);
    expect(await session.ask('who')).toBe('pg-2:who');
    setInstance(store, 'pg-2', { role: 'replica', ready: false });
    await vi.waitFor(() => expect(router!.snapshot().get(`${NS}/pg-ro`)).toEqual(['pg-3']), WAIT);

    expect([await whoAnswers(ports.ro), await whoAnswers(ports.ro)]).toEqual(['pg-3', 'pg-3']);
    expect(await session.ask('still there?')).toBe('pg-2:still there?');
  });

  it('closes the listener and its connections when the Service is deleted', async () => {
    const c = await openClient(ports.ro);
    expect(await c.ask('who')).toBe('pg-2:who');
    expect(store.delete('Service', NS, 'pg-ro')).toBe(true);

    expect(await settles(c.closed)).toBe('settled');
    await vi.waitFor(async () => expect(await probe(ports.ro)).toBe('refused'), WAIT);
    expect(router!.snapshot().has(`${NS}/pg-ro`)).toBe(false);
    // The other services of the cluster keep working.
    expect(await whoAnswers(ports.rw)).toBe('pg-1');
  });

  it('opens a listener for a Service created while it runs, and moves it when its port changes', async () => {
    const first = await freePort();
    // A second -rw service, so every connection (the probes too) goes to the primary.
    store.create<ServiceResource>({
      ...service('pg', 'rw', first),
      metadata: { name: 'pg-rw-2', namespace: NS },
    });
    await vi.waitFor(async () => expect(await probe(first)).toBe('accepted'), WAIT);
    expect(await whoAnswers(first)).toBe('pg-1');

    const second = await freePort();
    updateWithRetry<ServiceResource>(store, 'Service', NS, 'pg-rw-2', (s) => {
      s.spec.port = second;
      return s;
    });
    await vi.waitFor(async () => expect(await probe(second)).toBe('accepted'), WAIT);
    expect(await probe(first)).toBe('refused');
    expect(await whoAnswers(second)).toBe('pg-1');
  });

  it('stops listening on every service port when stopped', async () => {
    await router!.stop();
    router = undefined;
    expect(await probe(ports.rw)).toBe('refused');
    expect(await probe(ports.ro)).toBe('refused');
    expect(await probe(ports.r)).toBe('refused');
  });
});
