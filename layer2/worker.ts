import { parseArgs } from 'node:util';
import { loadConfigFile, defaultConfigPath, parseConfig } from '../shared/config/load.js';
import { applyIdentity, identityFromEnv } from '../shared/config/identity.js';
import { exitProcess, installCrashPolicy } from '../shared/crash.js';
import type { Config, WorkerEndpoint } from '../shared/config/types.js';
import { VcpError } from '../shared/errors.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { Geo } from './geo/geo.js';
import { H323Connector } from './h323/connector.js';
import { Gatekeeper } from './h323/gatekeeper.js';
import { H323Metrics } from './h323/metrics.js';
import { H323Transport } from './h323/transport.js';
import { healthBody, startHealthServer, storeAlarms } from './health.js';
import { LearningEngine } from './learn/engine.js';
import { LiveView } from './learn/live.js';
import { ProfileStore } from './profiles/store.js';
import { WorkerMetrics } from './metrics.js';
import { dropPrivileges, profilesPath } from '../shared/privileges.js';
import { AddressSet } from '../shared/net/address-set.js';
import { ConnectionLimiter } from '../shared/net/connection-limiter.js';
import { FloodGuard } from '../shared/flood-guard.js';
import { SipProxy } from './sip/proxy.js';
import { SipTransport } from './sip/transport.js';

export interface WorkerHandle {
  endpoint: WorkerEndpoint;
  proxy: SipProxy;
  h323: H323Connector;
  gatekeeper: Gatekeeper;
  engine: LearningEngine;
  store: ProfileStore;
  close(): Promise<void>;
}

/** Bind the worker's ports, then serve. Exported so tests can run a worker in-process. */
export async function startWorker(config: Config, endpoint: WorkerEndpoint, log: Logger): Promise<WorkerHandle> {
  const metrics = new WorkerMetrics({ worker: endpoint.id });
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
  const transport = new SipTransport(
    {
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
    },
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
  proxy = new SipProxy({ sip: config.sip, wellKnown: config.wellKnown, workerId: endpoint.id, transport, log, metrics, engine, live });
  proxy.start();
  const h = config.h323;
  const h323Metrics = new H323Metrics(metrics.registry);
  let h323: H323Connector | undefined;
  let gatekeeper: Gatekeeper | undefined;
  const h323Transport = new H323Transport(
    {
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
    },
    {
      accept: (conn) => h323!.accept(conn),
      ras: guard('ras', (bytes, peer) => gatekeeper!.onDatagram(bytes, peer)),
    },
    h323Metrics,
    log,
  );
  h323 = new H323Connector({ h323: config.h323, transport: h323Transport, log, metrics: h323Metrics, engine, live });
  gatekeeper = new Gatekeeper({ ras: config.h323.ras, wellKnown: config.wellKnown, connectors: config.connectors, servers: config.servers, endpoint, engine, metrics: h323Metrics, log });
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
  const health = await startHealthServer(endpoint.address, endpoint.health, () => ({ ...healthBody(storeAlarms(store)), worker: endpoint.id, uptimeMs: Date.now() - started }), metrics.registry);
  return {
    endpoint,
    proxy,
    h323,
    gatekeeper,
    engine,
    store,
    async close() {
      proxy!.stop();
      h323!.stop();
      gatekeeper!.stop();
      flood.stop();
      engine.stop();
      await transport.close();
      await h323Transport.close();
      await new Promise<void>((r) => health.close(() => r()));
      await live.stop();
      await store.close();
    },
  };
}

/** The config the supervisor sends as the first IPC message (a worker started unprivileged may not read the file). */
function configFromParent(): Promise<Config> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new VcpError('VCP_ERR_WORKER', 'no config from the supervisor within 10 s')), 10_000);
    process.once('message', (m: unknown) => {
      clearTimeout(timer);
      const msg = m as { type?: string; file?: string; text?: string };
      if (msg.type !== 'config' || typeof msg.text !== 'string' || typeof msg.file !== 'string') return reject(new VcpError('VCP_ERR_WORKER', 'the supervisor\'s first message is not the config'));
      try {
        resolve(applyIdentity(parseConfig(msg.text, msg.file), identityFromEnv()));
      } catch (err) {
        reject(err);
      }
    });
    process.send!({ type: 'want-config' });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' }, connector: { type: 'string' }, index: { type: 'string' }, 'config-over-ipc': { type: 'boolean' } } });
  const file = values.config ?? defaultConfigPath();
  const config = values['config-over-ipc'] ? await configFromParent() : loadConfigFile(file);
  const connector = config.connectors.find((c) => c.name === values.connector) ?? config.connectors[0]!;
  const endpoint = connector.endpoints[Number(values.index ?? 0)];
  if (!endpoint) throw new VcpError('VCP_ERR_WORKER', `connector ${connector.name} has no worker ${values.index}`);
  const log = createLogger('worker', { worker: endpoint.id });
  installCrashPolicy(log);
  const handle = await startWorker(config, endpoint, log);
  dropPrivileges(config.runAs, log);
  log.info({ sip: endpoint.sip, sipProxied: endpoint.sipProxied, h323: endpoint.h323, h323Proxied: endpoint.h323Proxied, ras: endpoint.ras, rasProxied: endpoint.rasProxied, health: endpoint.health }, 'worker ready');
  process.send?.({ type: 'ready', id: endpoint.id });
  // When the supervisor goes, so do its workers.
  process.on('disconnect', () => exitProcess(0));
  const stop = (): void => {
    void handle.close().then(() => exitProcess(0));
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
