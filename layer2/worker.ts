import { parseArgs } from 'node:util';
import { applyInPlace } from '../shared/config/live.js';
import { exitProcess, installCrashPolicy } from '../shared/crash.js';
import type { Config, WorkerEndpoint } from '../shared/config/types.js';
import { VcpError } from '../shared/errors.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { registerBuildInfo } from '../shared/service/build-metric.js';
import { registerExposure } from '../shared/service/exposure.js';
import { Geo } from './geo/geo.js';
import { H323Connector } from './h323/connector.js';
import { Gatekeeper } from './h323/gatekeeper.js';
import { H323Metrics } from './h323/metrics.js';
import { H323Transport } from './h323/transport.js';
import { callsEnded, DRAIN_QUIET_MS, Layer1Standing } from './drain.js';
import { healthBody, startHealthServer, storeAlarms } from './health.js';
import { LearningEngine } from './learn/engine.js';
import { LiveView } from './learn/live.js';
import { createRouter } from './route/create.js';
import type { Router } from './route/router.js';
import { ProfileStore } from './profiles/store.js';
import { WorkerMetrics } from './metrics.js';
import { dropPrivileges, profilesPath } from '../shared/privileges.js';
import { AddressSet } from '../shared/net/address-set.js';
import { ConnectionLimiter } from '../shared/net/connection-limiter.js';
import { FloodGuard } from '../shared/flood-guard.js';
import { SipProxy } from './sip/proxy.js';
import { SipTransport } from './sip/transport.js';
import { acceptedConfig, serveSupervisor, type ConfigMessage } from './worker-control.js';

export interface WorkerHandle {
  endpoint: WorkerEndpoint;
  proxy: SipProxy;
  h323: H323Connector;
  gatekeeper: Gatekeeper;
  engine: LearningEngine;
  router: Router;
  store: ProfileStore;
  standing: Layer1Standing;
  /** SIP and H.323 calls through this worker, and SIP requests still awaiting their final answer. */
  activeCalls(): number;
  /** A reload: the new config's values apply at once (same endpoint; see reload.ts for what cannot). */
  reconfigure(next: Config): void;
  /** Take no new calls (layer 1 learns it from /health); resolves with the calls left when they ended or at the timeout. */
  drain(timeoutMs: number): Promise<number>;
  close(): Promise<void>;
}

/** Bind the worker's ports, then serve. Exported so tests can run a worker in-process. */
export async function startWorker(config: Config, endpoint: WorkerEndpoint, log: Logger): Promise<WorkerHandle> {
  const metrics = new WorkerMetrics({ worker: endpoint.id });
  registerBuildInfo(metrics.registry, 'worker');
  registerExposure(metrics.registry, () => [{ role: 'worker_health', address: endpoint.address, port: endpoint.health }]);
  let proxy: SipProxy | undefined;
  const guard = <A extends unknown[]>(what: string, fn: (...a: A) => void) => (...a: A): void => {
    try {
      fn(...a);
    } catch (err) {
      // A bug reached by one message must not take the other calls of this worker down.
      metrics.dropped.labels('internal_error').inc();
      log.error({ err, what }, 'internal error while handling a message');
    }
  };
  // Per-source limits and the flood guard spare the deployment's own hosts and what the operator exempts.
  const exempt = new AddressSet([...config.limits.exempt, ...config.servers.map((x) => x.address), ...config.connectors.map((c) => c.address)]);
  const trusted = new AddressSet(config.layer1.trustedSources);
  const flood = new FloodGuard({ ...config.limits.flood, exempt }, log, metrics.registry);
  const dropReasons = new Map<string, { inc(): void }>();
  const drop = (reason: string): void => {
    let c = dropReasons.get(reason);
    if (!c) dropReasons.set(reason, (c = metrics.dropped.labels(reason)));
    c.inc();
  };
  const sipOptions = {
      address: endpoint.address,
      port: endpoint.sip,
      proxiedPort: endpoint.sipProxied,
      wellKnown: { address: config.wellKnown.address, port: config.wellKnown.sip },
      maxMessageBytes: config.sip.maxMessageBytes,
      headerTimeoutMs: config.sip.headerTimeoutMs,
      idleTimeoutMs: config.sip.idleTimeoutMs,
      trusted,
      connections: new ConnectionLimiter(config.sip.maxConnections, config.sip.maxConnectionsPerSource, exempt),
      ...(flood.enabled ? { admit: (source: string) => flood.allow(source, 'sip') } : {}),
      maxUnsentBytes: config.limits.maxUnsentBytes,
      onDrop: drop,
  };
  const transport = new SipTransport(
    sipOptions,
    {
      onMessage: guard('message', (bytes, flow, datagram) => proxy!.onMessage(bytes, flow, datagram)),
      onStreamError: guard('stream', (err, flow) => proxy!.onStreamError(err, flow)),
      onPeerFailed: guard('peer', (peer, err) => proxy!.onPeerFailed(peer, err)),
    },
    log,
  );
  const store = ProfileStore.open(config.profiles.path, { origin: endpoint.id, logSize: config.profiles.logSize, readCacheMs: config.profiles.readCacheMs, outbox: config.replication !== undefined, openAt: profilesPath(config.profiles.path) });
  const live = new LiveView(store, endpoint.id);
  const engine = new LearningEngine({ config, store, geo: new Geo(config.geo), live, log, registry: metrics.registry, localPop: endpoint.pop });
  const router = createRouter(config, { engine, live, registry: metrics.registry, log });
  proxy = new SipProxy({ sip: config.sip, wellKnown: config.wellKnown, transport, router, log, metrics });
  metrics.live.transport = () => ({ ...transport.counters });
  proxy.start();
  const h = config.h323;
  const h323Metrics = new H323Metrics(metrics.registry);
  let h323: H323Connector | undefined;
  let gatekeeper: Gatekeeper | undefined;
  const h323Options = {
      address: endpoint.address,
      port: endpoint.h323,
      proxiedPort: endpoint.h323Proxied,
      rasPort: endpoint.ras,
      rasProxiedPort: endpoint.rasProxied,
      wellKnown: { address: config.wellKnown.address, h323: config.wellKnown.h323, ras: config.wellKnown.ras },
      maxMessageBytes: h.maxMessageBytes,
      headerTimeoutMs: h.headerTimeoutMs,
      idleTimeoutMs: h.idleTimeoutMs,
      trusted,
      connections: new ConnectionLimiter(h.maxConnections, h.maxConnectionsPerSource, exempt),
      ...(flood.enabled ? { admit: (source: string, protocol: 'h323' | 'ras') => flood.allow(source, protocol) } : {}),
      maxUnsentBytes: config.limits.maxUnsentBytes,
  };
  const h323Transport = new H323Transport(
    h323Options,
    {
      accept: (conn) => h323!.accept(conn),
      ras: guard('ras', (bytes, peer) => gatekeeper!.onDatagram(bytes, peer)),
    },
    h323Metrics,
    log,
  );
  h323 = new H323Connector({ h323: config.h323, transport: h323Transport, router, log, metrics: h323Metrics });
  gatekeeper = new Gatekeeper({ ras: config.h323.ras, wellKnown: config.wellKnown, connectors: config.connectors, servers: config.servers, endpoint, router, metrics: h323Metrics, log });
  try {
    await transport.start();
    await h323Transport.start();
  } catch (err) {
    proxy.stop();
    await transport.close();
    await h323Transport.close();
    await store.close();
    throw err;
  }
  gatekeeper.start();
  flood.start();
  live.start();
  engine.start();
  const started = Date.now();
  const standing = new Layer1Standing(config, endpoint);
  const health = await startHealthServer(endpoint.address, endpoint.health, (req) => ({ ...healthBody(storeAlarms(store)), worker: endpoint.id, pid: process.pid, uptimeMs: Date.now() - started, ...standing.answer(req) }), metrics.registry);
  /**
   * What keeps a worker that is being replaced: SIP requests awaiting their final answer, client TCP
   * connections (a TCP client's calls live on its connection), H.323 calls, and established SIP calls
   * over UDP while they still send through this worker. A UDP call silent here for DRAIN_QUIET_MS no
   * longer holds it: any worker routes its next in-dialog request by its Route, and a call whose BYE
   * took another way (its flow moved) would otherwise hold it until the drain timeout.
   */
  const activeCalls = (): number => {
    const udpQuiet = Date.now() - transport.lastDatagramAt >= DRAIN_QUIET_MS;
    return proxy.openTransactions + transport.inboundConnections + h323.activeCalls + (udpQuiet ? 0 : proxy.dialogCount);
  };
  const closeAll = async (): Promise<void> => {
    proxy.stop();
    h323.stop();
    gatekeeper.stop();
    flood.stop();
    engine.stop();
    await transport.close();
    await h323Transport.close();
    await new Promise<void>((r) => health.close(() => r()));
    await live.stop();
    await store.close();
  };
  let closing: Promise<void> | undefined;
  return {
    endpoint,
    proxy,
    h323,
    gatekeeper,
    engine,
    router,
    store,
    standing,
    activeCalls,
    reconfigure(next: Config) {
      applyInPlace(config, next);
      // Limits the transports read per connection or datagram.
      Object.assign(sipOptions, { maxMessageBytes: config.sip.maxMessageBytes, headerTimeoutMs: config.sip.headerTimeoutMs, idleTimeoutMs: config.sip.idleTimeoutMs });
      Object.assign(h323Options, { maxMessageBytes: config.h323.maxMessageBytes, headerTimeoutMs: config.h323.headerTimeoutMs, idleTimeoutMs: config.h323.idleTimeoutMs });
      engine.reconfigure();
      router.reconfigure();
      gatekeeper.reconfigure(config.connectors);
    },
    drain(timeoutMs: number) {
      standing.drain();
      return callsEnded(activeCalls, timeoutMs);
    },
    /** Idempotent: a second call waits for the same close. */
    close() {
      closing ??= closeAll();
      return closing;
    },
  };
}

/**
 * The config the supervisor accepted, its first message (see `ConfigMessage`): a worker started
 * unprivileged may not read the file.
 */
function configFromParent(): Promise<Config> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new VcpError('VCP_ERR_WORKER', 'no config from the supervisor within 10 s')), 10_000);
    process.once('message', (m: unknown) => {
      clearTimeout(timer);
      const msg = m as { type?: string } & Partial<ConfigMessage>;
      if (msg.type !== 'config') return reject(new VcpError('VCP_ERR_WORKER', 'the supervisor\'s first message is not the config'));
      acceptedConfig(msg).then(resolve, reject);
    });
    // A supervisor of this release sends the config unasked, at the fork (the channel keeps a
    // message until a listener takes it); one of an earlier release answers this request.
    process.send!({ type: 'want-config' });
  });
}

/** A worker started alone (tests, debugging) reads and checks the file itself. */
async function configFromFile(file: string | undefined): Promise<Config> {
  const { defaultConfigPath, loadConfigFile } = await import('../shared/config/load.js');
  return loadConfigFile(file ?? defaultConfigPath());
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' }, connector: { type: 'string' }, index: { type: 'string' }, 'config-over-ipc': { type: 'boolean' } } });
  const config = values['config-over-ipc'] ? await configFromParent() : await configFromFile(values.config);
  const connector = config.connectors.find((c) => c.name === values.connector) ?? config.connectors[0]!;
  const endpoint = connector.endpoints[Number(values.index ?? 0)];
  if (!endpoint) throw new VcpError('VCP_ERR_WORKER', `connector ${connector.name} has no worker ${values.index}`);
  const log = createLogger('worker', { worker: endpoint.id });
  installCrashPolicy(log);
  const handle = await startWorker(config, endpoint, log);
  dropPrivileges(config.runAs, log);
  log.info({ sip: endpoint.sip, sipProxied: endpoint.sipProxied, h323: endpoint.h323, h323Proxied: endpoint.h323Proxied, ras: endpoint.ras, rasProxied: endpoint.rasProxied, health: endpoint.health }, 'worker ready');
  // The supervisor may be gone already (EPIPE): the disconnect below ends this worker then.
  process.send?.({ type: 'ready', id: endpoint.id }, () => undefined);
  // When the supervisor goes, so do its workers.
  process.on('disconnect', () => exitProcess(0));
  serveSupervisor(handle, log);
  // systemd signals the whole control group and the supervisor signals its workers too: the second
  // signal finds the worker closing already and waits for the same close.
  let closing: Promise<void> | undefined;
  const stop = (): void => {
    closing ??= handle.close().then(
      () => exitProcess(0),
      (err: unknown) => {
        log.error({ err }, 'worker close failed');
        exitProcess(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    const code = (err as { code?: string }).code;
    process.stderr.write(`worker: ${err instanceof Error ? err.message : String(err)}${code ? ` [${code}]` : ''}\n`);
    exitProcess(1);
  });
}
