import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import type { ReplicationConfig } from '../../shared/config/types.js';
import type { Logger } from '../../shared/logger.js';
import type { ProfileStore } from '../profiles/store.js';
import { LogBudget } from '../../shared/log-budget.js';
import type { ReplicationMetrics } from './metrics.js';
import { messageId, subjectOf } from './subjects.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

/**
 * Drains the host's outbox into the stream, oldest first: a window of events is published at once
 * (in commit order on one connection, so the stream keeps that order), and the entries JetStream
 * acknowledged are removed in one transaction. An event whose acknowledgement was lost is published
 * again with the same message id: JetStream drops it as a duplicate within its window, and the
 * receivers' per-origin sequence numbers drop it after that.
 */
export class OutboxPublisher {
  readonly #store: ProfileStore;
  readonly #c: ReplicationConfig;
  readonly #m: ReplicationMetrics;
  readonly #log: Logger;
  readonly #subjects = new Map<string, string>();
  readonly #budget = new LogBudget(5, 60_000);
  #stopped = false;
  #running: Promise<void> | undefined;

  constructor(store: ProfileStore, c: ReplicationConfig, metrics: ReplicationMetrics, log: Logger) {
    this.#store = store;
    this.#c = c;
    this.#m = metrics;
    this.#log = log;
  }

  /** Publish until stopped; `ready()` false (disconnected) pauses without trying. */
  start(js: JetStreamClient, ready: () => boolean): void {
    this.#running = this.#loop(js, ready);
  }

  /** After `stop()`, for a new connection. */
  reset(): void {
    this.#stopped = false;
    this.#running = undefined;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }

  #subject(origin: string): string {
    let s = this.#subjects.get(origin);
    if (s === undefined) {
      s = subjectOf(this.#c.subjectPrefix, origin);
      this.#subjects.set(origin, s);
    }
    return s;
  }

  async #loop(js: JetStreamClient, ready: () => boolean): Promise<void> {
    let backoff = this.#c.pollMs;
    while (!this.#stopped) {
      if (!ready()) {
        await sleep(100);
        continue;
      }
      let batch: ReturnType<ProfileStore['outbox']>;
      try {
        batch = this.#store.outbox(this.#c.publishWindow);
      } catch (err) {
        this.#log.error({ err }, 'outbox cannot be read');
        await sleep(1000);
        continue;
      }
      if (batch.length === 0) {
        await sleep(this.#c.pollMs);
        continue;
      }
      const results = await Promise.allSettled(
        batch.map(({ event }) =>
          js.publish(this.#subject(event.origin), JSON.stringify(event), { msgID: messageId(event.origin, event.seq), expect: { streamName: this.#c.stream } }),
        ),
      );
      const done: string[] = [];
      let failed = 0;
      let first: unknown;
      results.forEach((r: PromiseSettledResult<PubAck>, i) => {
        if (r.status === 'fulfilled') done.push(batch[i]!.key);
        else {
          failed++;
          first ??= r.reason;
        }
      });
      try {
        await this.#store.removeOutbox(done);
        this.#m.published.inc(done.length);
      } catch (err) {
        this.#log.error({ err }, 'outbox entries cannot be removed (they will be published again, and dropped as duplicates)');
      }
      if (failed === 0) {
        backoff = this.#c.pollMs;
        continue;
      }
      this.#m.publishErrors.inc(failed);
      const b = this.#budget.take(Date.now());
      if (b.ok) {
        this.#log.warn(
          { code: 'VCP_ERR_REPL_PUBLISH', failed, published: done.length, queued: this.#store.outboxCount(), err: (first as Error)?.message, suppressedLines: b.suppressed || undefined },
          'queued events not acknowledged by JetStream; they stay queued',
        );
      }
      backoff = Math.min(5000, Math.max(100, backoff * 2));
      await sleep(backoff);
    }
  }
}
