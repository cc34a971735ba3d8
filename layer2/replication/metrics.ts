import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { RejectReason } from './screen.js';

/** What the metrics read when scraped. */
export interface ReplicationProbe {
  outboxCount(): number;
  /** `at` of the oldest queued event, undefined when none is queued */
  outboxOldestAt(): number | undefined;
  /** per remote origin: highest sequence number received minus the highest applied without a hole */
  gaps(): Map<string, number>;
  connected(): boolean;
}

/** The replicator's metrics, in the connector supervisor's registry (admin API `/metrics`). */
export class ReplicationMetrics {
  readonly published: Counter;
  readonly publishErrors: Counter;
  readonly received: Counter<'result'>;
  readonly rejected: Counter<'reason'>;
  readonly applyErrors: Counter;
  readonly lag: Gauge<'origin'>;
  readonly delay: Histogram;

  constructor(registry: Registry, probe: ReplicationProbe) {
    const r = [registry];
    this.published = new Counter({ name: 'vcp_replication_published_total', help: 'local events acknowledged by JetStream (and removed from the outbox)', registers: r });
    this.publishErrors = new Counter({ name: 'vcp_replication_publish_errors_total', help: 'publications of queued events that were not acknowledged (retried)', registers: r });
    this.received = new Counter({ name: 'vcp_replication_received_total', help: 'events received from the stream: applied, duplicate (seen before), own (this host\'s), skipped (refused by the screen, its number counted)', labelNames: ['result'], registers: r });
    this.rejected = new Counter({ name: 'vcp_replication_rejected_total', help: 'events from the stream refused by validation, by reason', labelNames: ['reason'], registers: r });
    this.applyErrors = new Counter({ name: 'vcp_replication_apply_errors_total', help: 'events that could not be written to the local store (redelivered later)', registers: r });
    this.lag = new Gauge({ name: 'vcp_replication_lag_seconds', help: 'per origin: time from the last applied event\'s creation at its origin to its application here', labelNames: ['origin'], registers: r });
    this.delay = new Histogram({
      name: 'vcp_replication_delay_seconds', help: 'time from an event\'s creation at its origin to its application here',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 30, 300], registers: r,
    });
    new Gauge({
      name: 'vcp_replication_seq_gap', help: 'per origin: events received out of order or missing below the highest received (0 when caught up with what arrived)', labelNames: ['origin'], registers: r,
      collect(this: Gauge<'origin'>) {
        for (const [origin, gap] of probe.gaps()) this.labels(origin).set(gap);
      },
    });
    new Gauge({ name: 'vcp_replication_outbox_events', help: 'local events queued for publication', registers: r, collect(this: Gauge) { this.set(probe.outboxCount()); } });
    new Gauge({
      name: 'vcp_replication_outbox_oldest_seconds', help: 'age of the oldest queued local event (0 when none)', registers: r,
      collect(this: Gauge) {
        const at = probe.outboxOldestAt();
        this.set(at === undefined ? 0 : Math.max(0, (Date.now() - at) / 1000));
      },
    });
    new Gauge({ name: 'vcp_replication_connected', help: '1 while connected to a NATS server', registers: r, collect(this: Gauge) { this.set(probe.connected() ? 1 : 0); } });
  }

  reject(reason: RejectReason): void {
    this.rejected.labels(reason).inc();
  }
}
