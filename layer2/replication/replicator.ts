import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { Registry } from 'prom-client';
import type { ReplicationConfig } from '../../shared/config/types.js';
import type { Logger } from '../../shared/logger.js';
import type { ProfileEvent } from '../profiles/events.js';
import type { ProfileStore } from '../profiles/store.js';
import { MAX_EVENT_BYTES, RemoteApplier } from './applier.js';
import { LogBudget } from '../../shared/log-budget.js';
import { ReplicationMetrics } from './metrics.js';
import { OutboxPublisher } from './publisher.js';
import { ensureStream } from './stream.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

export interface ReplicatorOptions {
  config: ReplicationConfig;
  /** this host's connector name: its processes' origins are `<host>/...` */
  host: string;
  /** every connector of the configuration: the origins accepted from the stream */
  hosts: readonly string[];
  store: ProfileStore;
  log: Logger;
  registry: Registry;
  onApplied?: (ev: ProfileEvent, appliedAt: number) => void;
}

/**
 * One per connector host, in the supervisor: publishes the host's outbox to the JetStream stream
 * and applies every other host's events from the host's durable consumer. It never blocks the
 * connector: it connects in the background, and while no NATS server is reachable the POP keeps
 * deciding from its replica and its events wait in the outbox.
 *
 *   start ─► connect (retried for ever) ─► stream and consumer exist ─► publisher + applier
 *                 ▲  disconnect: publisher pauses, the client reconnects, consume resumes  │
 *                 └────────────────────────────────────────────────────────────────────────┘
 */
export class Replicator {
  readonly metrics: ReplicationMetrics;
  readonly #o: ReplicatorOptions;
  readonly #servers: string[];
  readonly #publisher: OutboxPublisher;
  readonly #applier: RemoteApplier;
  readonly #log: Logger;
  #nc: NatsConnection | undefined;
  #connected = false;
  #stopped = false;
  #running: Promise<void> | undefined;

  constructor(o: ReplicatorOptions) {
    this.#o = o;
    const h = o.config.hosts[o.host];
    if (!h) throw new Error(`replication: no host entry for connector ${o.host}`);
    this.#servers = h.servers;
    this.#log = o.log.child({ component: 'replication', consumer: h.consumer });
    this.metrics = new ReplicationMetrics(o.registry, {
      outboxCount: () => o.store.outboxCount(),
      outboxOldestAt: () => o.store.outbox(1)[0]?.event.at,
      gaps: () => this.#applier.gaps(),
      connected: () => this.#connected,
    });
    this.#publisher = new OutboxPublisher(o.store, o.config, this.metrics, this.#log);
    this.#applier = new RemoteApplier({
      store: o.store, config: o.config, consumer: h.consumer, metrics: this.metrics, log: this.#log, onApplied: o.onApplied,
      screen: { subjectPrefix: o.config.subjectPrefix, ownHost: o.host, knownHosts: new Set(o.hosts), maxBytes: MAX_EVENT_BYTES },
    });
  }

  get connected(): boolean {
    return this.#connected;
  }

  start(): void {
    this.#running = this.#run().catch((err: unknown) => this.#log.error({ err }, 'replication stopped by an unexpected error'));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all([this.#publisher.stop(), this.#applier.stop()]);
    const nc = this.#nc;
    if (!nc) return; // a connection attempt under way closes itself when it ends
    await nc.close().catch(() => undefined);
    await this.#running;
  }

  /**
   * Connect, set up, run. The first connection is retried here (every `reconnect.waitMs`), later
   * losses by the client's own reconnection; a connection that closes for good (attempts exhausted)
   * is made again.
   */
  async #run(): Promise<void> {
    const budget = new LogBudget(5, 60_000);
    while (!this.#stopped) {
      try {
        await this.#session(budget);
      } catch (err) {
        const b = budget.take(Date.now());
        if (b.ok) this.#log.warn({ servers: this.#servers, err: (err as Error).message, suppressedLines: b.suppressed || undefined }, 'replication connection failed; trying again');
      }
      this.#connected = false;
      if (!this.#stopped) await sleep(this.#o.config.reconnect.waitMs);
    }
  }

  async #session(budget: LogBudget): Promise<void> {
    const c = this.#o.config;
    const nc = await connect({
      servers: this.#servers,
      name: `vcproxy ${this.#o.host}`,
      // Only the configured servers: a POP cut off from the others must not wander to theirs.
      ignoreClusterUpdates: true,
      noRandomize: true,
      maxReconnectAttempts: c.reconnect.maxAttempts,
      reconnectTimeWait: c.reconnect.waitMs,
      reconnectJitter: c.reconnect.jitterMs,
      timeout: c.connectTimeoutMs,
      pingInterval: c.pingIntervalMs,
      maxPingOut: 2,
      ...(c.auth && 'token' in c.auth ? { token: c.auth.token } : c.auth ? { user: c.auth.user, pass: c.auth.password } : {}),
    });
    if (this.#stopped) {
      await nc.close();
      return;
    }
    this.#nc = nc;
    this.#connected = true;
    this.#log.info({ server: nc.getServer(), queued: this.#o.store.outboxCount() }, 'replication connected');
    void this.#watch(nc);
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    let backoff = 500;
    while (!this.#stopped && !nc.isClosed()) {
      try {
        await ensureStream(jsm, c, this.#log);
        break;
      } catch (err) {
        const b = budget.take(Date.now());
        if (b.ok) this.#log.warn({ code: 'VCP_ERR_REPL_STREAM', stream: c.stream, err: (err as Error).message, suppressedLines: b.suppressed || undefined }, 'replication stream not available; trying again');
        await sleep(backoff);
        backoff = Math.min(5000, backoff * 2);
      }
    }
    if (!this.#stopped && !nc.isClosed()) {
      const js = jetstream(nc, { checkAPI: false });
      this.#publisher.start(js, () => this.#connected);
      this.#applier.start(js, jsm);
    }
    const err = await nc.closed();
    if (this.#stopped) return;
    await Promise.all([this.#publisher.stop(), this.#applier.stop()]);
    this.#publisher.reset();
    this.#applier.reset();
    if (err) throw err;
    throw new Error('connection closed');
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.#connected = false;
        this.#log.warn({ server: s.server, queued: this.#o.store.outboxCount() }, 'replication disconnected; events stay queued');
      } else if (s.type === 'reconnect') {
        this.#connected = true;
        this.#log.info({ server: s.server, queued: this.#o.store.outboxCount() }, 'replication reconnected');
      } else if (s.type === 'close') {
        this.#connected = false;
      }
    }
  }
}
