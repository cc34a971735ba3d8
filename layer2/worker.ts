import { parseArgs } from 'node:util';
import { loadConfigFile, defaultConfigPath } from '../shared/config/load.js';
import type { Config, WorkerEndpoint } from '../shared/config/types.js';
import { VcpError } from '../shared/errors.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { Geo } from './geo/geo.js';
import { startHealthServer } from './health.js';
import { LearningEngine } from './learn/engine.js';
import { LiveView } from './learn/live.js';
import { ProfileStore } from './profiles/store.js';
import { WorkerMetrics } from './metrics.js';
import { dropPrivileges } from './privileges.js';
import { SipProxy } from './sip/proxy.js';
import { SipTransport } from './sip/transport.js';

export interface WorkerHandle {
  endpoint: WorkerEndpoint;
  proxy: SipProxy;
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
  const transport = new SipTransport(
    {
      address: endpoint.address,
      port: endpoint.sip,
      proxiedPort: endpoint.sipProxied,
      wellKnown: { address: config.wellKnown.address, port: config.wellKnown.sip },
      maxMessageBytes: config.sip.maxMessageBytes,
      headerTimeoutMs: config.sip.headerTimeoutMs,
      idleTimeoutMs: config.sip.idleTimeoutMs,
    },
    {
      onMessage: guard('message', (bytes, flow, datagram) => proxy!.onMessage(bytes, flow, datagram)),
      onStreamError: guard('stream', (err, flow) => proxy!.onStreamError(err, flow)),
      onPeerFailed: guard('peer', (peer, err) => proxy!.onPeerFailed(peer, err)),
    },
    log,
  );
  const store = ProfileStore.open(config.profiles.path, { origin: endpoint.id, logSize: config.profiles.logSize });
  const live = new LiveView(store, endpoint.id);
  const engine = new LearningEngine({ config, store, geo: new Geo(config.geo), live, log, registry: metrics.registry });
  proxy = new SipProxy({ config, workerId: endpoint.id, transport, log, metrics, engine, live });
  proxy.start();
  try {
    await transport.start();
  } catch (err) {
    proxy.stop();
    await store.close();
    throw err;
  }
  live.start();
  engine.start();
  const started = Date.now();
  const health = await startHealthServer(endpoint.address, endpoint.health, () => ({ worker: endpoint.id, uptimeMs: Date.now() - started }), metrics.registry);
  return {
    endpoint,
    proxy,
    engine,
    store,
    async close() {
      proxy!.stop();
      engine.stop();
      await transport.close();
      await new Promise<void>((r) => health.close(() => r()));
      await live.stop();
      await store.close();
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' }, connector: { type: 'string' }, index: { type: 'string' } } });
  const file = values.config ?? defaultConfigPath();
  const config = loadConfigFile(file);
  const connector = config.connectors.find((c) => c.name === values.connector) ?? config.connectors[0]!;
  const endpoint = connector.endpoints[Number(values.index ?? 0)];
  if (!endpoint) throw new VcpError('VCP_ERR_WORKER', `connector ${connector.name} has no worker ${values.index}`);
  const log = createLogger('worker', { worker: endpoint.id });
  const handle = await startWorker(config, endpoint, log);
  dropPrivileges(config.runAs, log);
  log.info({ sip: endpoint.sip, sipProxied: endpoint.sipProxied, health: endpoint.health }, 'worker ready');
  process.send?.({ type: 'ready', id: endpoint.id });
  // When the supervisor goes, so do its workers.
  process.on('disconnect', () => process.exit(0));
  const stop = (): void => {
    void handle.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`worker: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
