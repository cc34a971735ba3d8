import type { ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { ReplicationConfig } from '../../shared/config/types.js';
import type { Logger } from '../../shared/logger.js';
import type { ProfileEvent } from '../profiles/events.js';
import type { ProfileStore } from '../profiles/store.js';
import { LogBudget } from '../../shared/log-budget.js';
import type { ReplicationMetrics } from './metrics.js';
import { screen, type ScreenContext } from './screen.js';
import { ensureConsumer, ensureStream } from './stream.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

export { MAX_EVENT_BYTES } from '../profiles/events.js';

export interface ApplierOptions {
  store: ProfileStore;
  config: ReplicationConfig;
  consumer: string;
  screen: ScreenContext;
  metrics: ReplicationMetrics;
  log: Logger;
  /** Called after an event of another host is committed here (benchmarks, tests). */
  onApplied?: (ev: ProfileEvent, appliedAt: number) => void;
}

/**
 * Applies every other host's events from this host's durable consumer: each message is screened
 * (size, JSON, `invalidEvent`, origin against subject and configuration), applied with
 * `applyRemote` (once per origin and sequence number, in any order) and acknowledged only after its
 * commit, so a crash between the two means a redelivery that is recognised as a duplicate. A
 * rejected message is terminated (never redelivered); a failed write is redelivered later.
 */
export class RemoteApplier {
  readonly #o: ApplierOptions;
  readonly #inflight = new Set<Promise<void>>();
  /** per origin: highest sequence number received */
  readonly #highest = new Map<string, number>();
  readonly #rejectLog = new LogBudget(20, 60_000);
  readonly #errorLog = new LogBudget(5, 60_000);
  #messages: ConsumerMessages | undefined;
  #stopped = false;
  #running: Promise<void> | undefined;

  constructor(o: ApplierOptions) {
    this.#o = o;
  }

  start(js: JetStreamClient, jsm: JetStreamManager): void {
    this.#running = this.#loop(js, jsm);
  }

  /** After `stop()`, for a new connection. */
  reset(): void {
    this.#stopped = false;
    this.#running = undefined;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#messages?.stop();
    await this.#running;
    await Promise.all(this.#inflight);
  }

  /** Per remote origin: highest sequence number received minus the highest applied without a hole. */
  gaps(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [origin, hi] of this.#highest) out.set(origin, Math.max(0, hi - this.#o.store.appliedUpTo(origin)));
    return out;
  }

  async #loop(js: JetStreamClient, jsm: JetStreamManager): Promise<void> {
    const { config: c, consumer: name, log } = this.#o;
    let backoff = 500;
    while (!this.#stopped) {
      try {
        // Both again on every (re)start: a stream or consumer deleted on the server is made anew.
        await ensureStream(jsm, c, log);
        await ensureConsumer(jsm, c, name, log);
        const consumer = await js.consumers.get(c.stream, name);
        const messages = await consumer.consume({ max_messages: c.applyWindow });
        this.#messages = messages;
        void this.#watch(messages);
        backoff = 500;
        for await (const m of messages) {
          if (this.#inflight.size >= c.applyWindow) await Promise.race(this.#inflight);
          const p = this.#handle(m).finally(() => this.#inflight.delete(p));
          this.#inflight.add(p);
        }
      } catch (err) {
        if (this.#stopped) break;
        const b = this.#errorLog.take(Date.now());
        if (b.ok) log.warn({ code: 'VCP_ERR_REPL_STREAM', err: (err as Error).message, suppressedLines: b.suppressed || undefined }, 'replication consumer interrupted; trying again');
      }
      if (this.#stopped) break;
      await sleep(backoff);
      backoff = Math.min(5000, backoff * 2);
    }
  }

  /** A consumer (or stream) that the server no longer has is created again (by the loop) instead of waiting on it. */
  async #watch(messages: ConsumerMessages): Promise<void> {
    for await (const s of messages.status()) {
      if (s.type === 'consumer_deleted' || s.type === 'stream_not_found' || (s.type === 'consumer_not_found' && s.count >= 2)) {
        this.#o.log.warn({ status: s.type }, 'replication consumer gone; creating it again');
        messages.stop();
      } else if (s.type === 'heartbeats_missed' && s.count === 2) {
        this.#o.log.warn({}, 'replication consumer missed the server\'s heartbeats');
      }
    }
  }

  async #handle(m: JsMsg): Promise<void> {
    const { store, metrics, log } = this.#o;
    const s = screen(m.subject, m.data, this.#o.screen, m.headers?.get('Nats-Msg-Id') ?? '');
    if (s.kind === 'rejected') {
      metrics.reject(s.reason);
      const b = this.#rejectLog.take(Date.now());
      if (b.ok) {
        log.warn({ code: 'VCP_ERR_REPL_REJECTED', origin: s.origin, reason: s.reason, detail: s.detail, subject: m.subject.slice(0, 200), streamSeq: m.seq, skipped: s.skip?.seq, suppressedLines: b.suppressed || undefined }, 'replicated event rejected');
      }
      if (s.skip) {
        // Its number counts as applied: a refused event leaves no hole that holds the later ones in wait.
        const { origin, seq } = s.skip;
        if (seq > (this.#highest.get(origin) ?? 0)) this.#highest.set(origin, seq);
        try {
          const r = await store.skipRemote(origin, seq);
          if (r === 'skipped') metrics.received.labels('skipped').inc();
        } catch (err) {
          metrics.applyErrors.inc();
          const e = this.#errorLog.take(Date.now());
          if (e.ok) log.error({ code: 'VCP_ERR_REPL_APPLY', origin, seq, err, suppressedLines: e.suppressed || undefined }, 'refused event not counted; it will be delivered again');
          m.nak(1000);
          return;
        }
      }
      m.term();
      return;
    }
    if (s.kind === 'own') {
      metrics.received.labels('own').inc();
      m.ack();
      return;
    }
    const ev = s.event;
    if (ev.seq > (this.#highest.get(ev.origin) ?? 0)) this.#highest.set(ev.origin, ev.seq);
    let result: 'applied' | 'duplicate';
    try {
      result = await store.applyRemote(ev);
    } catch (err) {
      metrics.applyErrors.inc();
      const b = this.#errorLog.take(Date.now());
      if (b.ok) log.error({ code: 'VCP_ERR_REPL_APPLY', origin: ev.origin, seq: ev.seq, err, suppressedLines: b.suppressed || undefined }, 'replicated event not applied; it will be delivered again');
      m.nak(1000);
      return;
    }
    metrics.received.labels(result).inc();
    if (result === 'applied') {
      const now = Date.now();
      const lag = Math.max(0, now - ev.at) / 1000;
      metrics.lag.labels(ev.origin).set(lag);
      metrics.delay.observe(lag);
      this.#o.onApplied?.(ev, now);
    }
    m.ack();
  }
}
