import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import type { Config, ConnectorConfig } from '../shared/config/types.js';
import type { Logger } from '../shared/logger.js';
import { startAdmin } from './admin/server.js';
import { adminToken } from './admin/token.js';
import { Geo } from './geo/geo.js';
import { LearningEngine } from './learn/engine.js';
import { LiveView } from './learn/live.js';
import { ServerProber } from './learn/prober.js';
import { ProfileStore } from './profiles/store.js';

/**
 * What a connector host runs beside its workers, in the supervisor process: the profile store (opened
 * first, so a foreign or corrupt store stops the start with its path), the server health prober and the
 * admin API.
 */
export class HostServices {
  readonly store: ProfileStore;
  readonly #live: LiveView;
  readonly #prober: ServerProber;
  #admin: FastifyInstance | undefined;

  constructor(
    private readonly config: Config,
    private readonly connector: ConnectorConfig,
    private readonly log: Logger,
  ) {
    this.store = ProfileStore.open(config.profiles.path, { origin: `${connector.name}/admin`, logSize: config.profiles.logSize });
    this.#live = new LiveView(this.store, `${connector.name}/admin`);
    this.#prober = new ServerProber(config.servers.filter((s) => s.pop === connector.pop), this.store, log, { ...config.serverHealth, localAddress: connector.address });
  }

  async start(): Promise<void> {
    this.#live.start(500);
    await this.#prober.start();
    if (this.config.admin.port === 0) return;
    const engine = new LearningEngine({ config: this.config, store: this.store, geo: new Geo(this.config.geo), live: this.#live, log: this.log, registry: new Registry(), localPop: this.connector.pop });
    const token = adminToken(this.config.admin, true);
    this.#admin = await startAdmin({ config: { ...this.config, admin: { ...this.config.admin, address: this.adminAddress } }, token, store: this.store, engine, live: this.#live, log: this.log });
    this.log.info({ admin: `http://${this.adminAddress}:${this.config.admin.port}`, tokenFile: this.config.admin.token ? undefined : this.config.admin.tokenFile }, 'admin API ready');
  }

  get adminAddress(): string {
    return this.config.admin.address || this.connector.address;
  }

  async stop(): Promise<void> {
    this.#prober.stop();
    await this.#admin?.close();
    await this.#live.stop();
    await this.store.close();
  }
}
