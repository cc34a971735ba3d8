import type { Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import type { Config, ConnectorConfig } from '../shared/config/types.js';
import { adminAddress } from '../shared/config/load.js';
import type { Logger } from '../shared/logger.js';
import { registerBuildInfo } from '../shared/service/build-metric.js';
import { registerExposure } from '../shared/service/exposure.js';
import { registerStoreUsage } from './profiles/usage.js';
import { startAdmin } from './admin/server.js';
import { adminToken } from './admin/token.js';
import { Geo } from './geo/geo.js';
import { LearningEngine } from './learn/engine.js';
import { LiveView } from './learn/live.js';
import { ServerProber } from './route/health-probe.js';
import { createRouter } from './route/create.js';
import type { ProfileStore } from './profiles/store.js';
import { openHostStore } from './host-store.js';
import { Replicator } from './replication/replicator.js';
import { startDns, type DnsListener } from './dns/start.js';
import { startWeb } from './web/start.js';

/**
 * What a connector host runs beside its workers, in the supervisor process: the profile store (opened
 * first, so a foreign or corrupt store stops the start with its path), the server health prober, the
 * admin API, and when configured the web listener (join page, HTTP redirect), the DNS responder and
 * (a `replication` section) the replicator to the other POPs.
 */
const REDIRECT_RETENTION_MS = 3_600_000;

export class HostServices {
  readonly store: ProfileStore;
  readonly #live: LiveView;
  readonly #prober: ServerProber;
  /** Metrics of the supervisor, served by the admin API. */
  readonly registry = new Registry();
  readonly replicator: Replicator | undefined;
  #prune: NodeJS.Timeout | undefined;
  #admin: FastifyInstance | undefined;
  #engine: LearningEngine | undefined;
  #web: Server | undefined;
  #dns: DnsListener | undefined;

  constructor(
    private readonly config: Config,
    private readonly connector: ConnectorConfig,
    private readonly log: Logger,
    /** Opened already by the caller (the first start), or here. */
    store?: ProfileStore,
  ) {
    registerBuildInfo(this.registry, 'connector');
    registerExposure(this.registry, () => [
      { role: 'admin', address: this.adminAddress, port: this.config.admin.port },
      ...(this.config.web.enabled ? [{ role: 'web', address: this.config.web.address || this.connector.address, port: this.config.web.port }] : []),
    ]);
    registerStoreUsage(this.registry, config.profiles.path);
    this.store = store ?? openHostStore(config, connector);
    this.#live = new LiveView(this.store, `${connector.name}/admin`);
    this.#prober = new ServerProber(config.servers.filter((s) => s.pop === connector.pop), this.store, log, { ...config.serverHealth, localAddress: connector.address });
    if (config.replication) {
      this.replicator = new Replicator({ config: config.replication, host: connector.name, hosts: config.connectors.map((c) => c.name), store: this.store, log, registry: this.registry });
    }
  }

  async start(): Promise<void> {
    this.replicator?.start();
    this.#live.start(500);
    await this.#prober.start();
    // Closed redirect and join-link records are kept an hour for the admin view, then removed.
    this.#prune = setInterval(() => {
      this.store.pruneRedirects(Date.now() - REDIRECT_RETENTION_MS).catch((err: unknown) => this.log.error({ err }, 'pruning redirect records failed'));
    }, 600_000);
    this.#prune.unref();
    const registry = this.registry;
    const engine = new LearningEngine({ config: this.config, store: this.store, geo: new Geo(this.config.geo), live: this.#live, log: this.log, registry, localPop: this.connector.pop });
    this.#engine = engine;
    // The engine of this process sweeps the tokens it issues (join links, HTTP redirects).
    if (this.config.web.enabled || this.config.dns.enabled) engine.start();
    if (this.config.web.enabled) {
      const router = createRouter(this.config, { engine, live: this.#live, registry, log: this.log });
      this.#web = await startWeb({ config: this.config, connector: this.connector, router, store: this.store, registry, log: this.log });
    }
    if (this.config.dns.enabled) this.#dns = await startDns({ config: this.config, connector: this.connector, engine, registry, log: this.log });
    if (this.config.admin.port === 0) return;
    const token = adminToken(this.config.admin, true);
    this.#admin = await startAdmin({ config: { ...this.config, admin: { ...this.config.admin, address: this.adminAddress } }, token, store: this.store, engine, live: this.#live, log: this.log, registry });
    this.log.info({ admin: `http://${this.adminAddress}:${this.config.admin.port}`, tokenFile: this.config.admin.token ? undefined : this.config.admin.tokenFile }, 'admin API ready');
  }

  get adminAddress(): string {
    return adminAddress(this.config, this.connector);
  }

  async stop(): Promise<void> {
    this.#prober.stop();
    if (this.#prune) clearInterval(this.#prune);
    await this.replicator?.stop();
    this.#engine?.stop();
    await Promise.all([this.#admin?.close(), this.#dns?.close(), new Promise<void>((r) => {
      if (!this.#web) return r();
      this.#web.close(() => r());
      this.#web.closeAllConnections();
    })]);
    await this.#live.stop();
    await this.store.close();
  }
}
