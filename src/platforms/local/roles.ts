/**
 * The local platform's long-running roles: the control plane (`pgherd operator`), the router
 * and the instance manager. Each runs in its own process; bin/ picks one.
 */

import { X509Certificate } from 'node:crypto';
import type { Server } from 'node:http';
import type { SecretResource } from '../../api/index.ts';
import type { InstanceResource } from '../../api/internal.ts';
import { openClusterStore } from '../../backup/cluster-store.ts';
import { BackupController } from '../../controller/backup-controller.ts';
import { ClusterController, recordStopped } from '../../controller/cluster-controller.ts';
import { type CertificatePolicy, DEFAULT_CERTIFICATE_POLICY } from '../../controller/cluster-secrets.ts';
import { createControlPlane } from '../../controller/control-plane.ts';
import { OperatorLoop, startTicker } from '../../controller/operator.ts';
import { certificateFingerprint } from '../../instance/status-server.ts';
import { parseDurationMs } from '../../lib/duration.ts';
import { createLogger } from '../../observability/logger.ts';
import { createCa, issueClientCertificate } from '../../tls/certificates.ts';
import { startApiServer } from './api-server.ts';
import { createLocalInstanceClient } from './instance-client.ts';
import { LocalInstanceRuntime, managerMarkers, operatorMarkers, routerMarkers } from './instance-runtime.ts';
import { createNftRoutes } from './kernel-routes.ts';
import { HomeLayout, prepareHome, resolvePgUser, selfCommand } from './layout.ts';
import { LOOPBACK } from './loopback.ts';
import { acquirePidFile, readLivePid, releasePidFile, removeFile, waitForExit } from './processes.ts';
import { openSqliteStore } from './sqlite-store.ts';

/** `pgherd operator`: runs the control plane in this process until SIGTERM or `down`. */
export async function runOperator(home: string, entry: string): Promise<void> {
  const layout = new HomeLayout(home);
  prepareHome(layout);
  const logger = createLogger({ component: 'operator' });
  const lock = acquirePidFile(layout.operatorPidFile, operatorMarkers(home));
  if (!lock.ok) {
    throw new Error(
      `PGHERD_LOCAL_OPERATOR_RUNNING: a control plane already runs for ${home} (pid ${lock.holder})`,
    );
  }
  const store = openSqliteStore(layout.storeFile);
  const runtime = new LocalInstanceRuntime({
    layout,
    pgUser: resolvePgUser(),
    self: selfCommand(entry),
    logger,
    host: LOOPBACK,
    portRange: process.env['PGHERD_PORT_RANGE'],
  });
  const certificates = certificatePolicy(process.env);
  // The control plane's client identity, new at every start and never written to disk (as
  // CNPG's operator does); its fingerprint goes into each Cluster's status.
  const identity = await createOperatorIdentity();
  const controller = new ClusterController({
    store,
    runtime,
    instanceClient: createLocalInstanceClient(LOOPBACK, identity),
    logger,
    now: () => new Date(),
    host: LOOPBACK,
    certificates,
    operatorFingerprint: identity.fingerprint,
  });
  const loop = new OperatorLoop({ store, controller, logger });
  const backups = new BackupController({
    store,
    runtime,
    logger,
    openStore: (cluster) =>
      openClusterStore(cluster, (name) =>
        store.get<SecretResource>('Secret', cluster.metadata.namespace, name),
      ),
  });
  const backupTicker = startTicker(() => backups.tick(new Date()), 1000, logger);
  let server: Server | undefined;
  let finished: () => void = () => {};
  const done = new Promise<void>((r) => {
    finished = r;
  });
  let stopping = false;
  const stop = async (stopInstances: boolean): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ stopInstances }, 'control plane stopping');
    await loop.stop();
    await backupTicker.stop();
    if (stopInstances) {
      await stopEverything(layout, store.list<InstanceResource>('Instance'), logger);
      recordStopped(store, new Date(), 'stopped by `pgherd down`; `pgherd up` starts it again');
    }
    server?.close();
    store.close();
    releasePidFile(layout.operatorPidFile);
    logger.info('control plane stopped');
    finished();
  };
  const cp = createControlPlane({
    store,
    instanceClient: createLocalInstanceClient(LOOPBACK, identity),
    logger,
    now: () => new Date(),
    notify: (key) => loop.notify(key),
    onShutdown: stop,
  });
  server = await startApiServer(layout.apiSocket, cp, logger);
  loop.start();
  logger.info({ home, socket: layout.apiSocket, pid: process.pid }, 'control plane started');
  // SIGTERM/SIGINT stop only the control plane: databases and services keep running and the
  // next control plane adopts them.
  process.once('SIGTERM', () => void stop(false));
  process.once('SIGINT', () => void stop(false));
  await done;
}

/** Stops every instance manager (each shuts its PostgreSQL down) and the router. */
async function stopEverything(
  layout: HomeLayout,
  instances: InstanceResource[],
  logger: ReturnType<typeof createLogger>,
): Promise<void> {
  await Promise.all(
    instances.map(async (i) => {
      const paths = layout.instancePaths(i.metadata.namespace, i.spec.cluster, i.metadata.name);
      const markers = managerMarkers(layout, i.metadata.name);
      const pid = readLivePid(paths.managerPidFile, markers);
      if (pid === undefined) return;
      process.kill(pid, 'SIGTERM');
      if (!(await waitForExit(pid, markers, 120_000)))
        logger.warn({ instance: i.metadata.name }, 'instance manager did not stop in time');
    }),
  );
  const routerPid = readLivePid(layout.routerPidFile, routerMarkers(layout));
  if (routerPid !== undefined) {
    process.kill(routerPid, 'SIGTERM');
    if (!(await waitForExit(routerPid, routerMarkers(layout), 10_000))) {
      logger.warn({ pid: routerPid }, 'the router did not stop in time; leaving it and its pid file');
      return;
    }
  }
  removeFile(layout.routerPidFile);
  // The router removes its kernel routes when it stops; a router that was killed could not.
  if (process.getuid?.() === 0) {
    try {
      createNftRoutes(layout.home).remove();
    } catch (err) {
      logger.error({ err }, 'cannot remove the kernel routes of this home');
    }
  }
}

/**
 * Certificate lifetimes from the environment, as CNPG's operator options CERTIFICATE_DURATION
 * and EXPIRING_CHECK_THRESHOLD (days): PGHERD_CERTIFICATE_DURATION and
 * PGHERD_CERTIFICATE_RENEW_BEFORE accept 90d, 12h, 30m or 45s.
 */
export function certificatePolicy(env: NodeJS.ProcessEnv): CertificatePolicy {
  const days = (name: string, fallback: number): number => {
    const text = env[name];
    if (text === undefined || text === '') return fallback;
    const ms = parseDurationMs(text);
    if (ms === undefined || ms <= 0) {
      throw new Error(
        `PGHERD_LOCAL_CERTIFICATE_POLICY: ${name}="${text}" must look like 90d, 12h, 30m or 45s`,
      );
    }
    return ms / 86_400_000;
  };
  const policy = {
    validityDays: days('PGHERD_CERTIFICATE_DURATION', DEFAULT_CERTIFICATE_POLICY.validityDays),
    renewBeforeDays: days('PGHERD_CERTIFICATE_RENEW_BEFORE', DEFAULT_CERTIFICATE_POLICY.renewBeforeDays),
  };
  if (policy.renewBeforeDays >= policy.validityDays) {
    throw new Error(
      'PGHERD_LOCAL_CERTIFICATE_POLICY: PGHERD_CERTIFICATE_RENEW_BEFORE must be shorter than PGHERD_CERTIFICATE_DURATION',
    );
  }
  return policy;
}

/** An in-memory client certificate for the control plane and its SHA-256 fingerprint. */
async function createOperatorIdentity(): Promise<{ certPem: string; keyPem: string; fingerprint: string }> {
  const now = new Date();
  const ca = await createCa({ commonName: 'pgherd-operator-ca', now, validityDays: 365 });
  const cert = await issueClientCertificate({ ca, commonName: 'pgherd-operator', now, validityDays: 365 });
  return { ...cert, fingerprint: certificateFingerprint(new X509Certificate(cert.certPem).raw) };
}
