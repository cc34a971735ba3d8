import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The metrics of one connector worker, exposed on its health port at /metrics. */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly messagesIn: Counter<'kind'>;
  readonly rejected: Counter<'status'>;
  readonly dropped: Counter<'reason'>;
  readonly calls: Counter<'technique' | 'outcome'>;
  readonly failovers: Counter;
  readonly timeouts: Counter<'method'>;
  readonly setupSeconds: Histogram;
  readonly transactions: Gauge;
  readonly dialogs: Gauge;
  readonly requestsIn;
  readonly responsesIn;
  /** Read when /metrics is scraped. */
  readonly live = { transactions: (): number => 0, dialogs: (): number => 0 };

  constructor(labels: Record<string, string>) {
    this.registry.setDefaultLabels(labels);
    const r = [this.registry];
    this.messagesIn = new Counter({ name: 'vcp_sip_messages_in_total', help: 'SIP messages received', labelNames: ['kind'], registers: r });
    this.rejected = new Counter({ name: 'vcp_sip_rejected_total', help: 'requests refused with a 4xx/5xx because they were malformed or unsupported', labelNames: ['status'], registers: r });
    this.dropped = new Counter({ name: 'vcp_sip_dropped_total', help: 'messages dropped without an answer', labelNames: ['reason'], registers: r });
    this.calls = new Counter({ name: 'vcp_sip_calls_total', help: 'INVITE outcomes by technique', labelNames: ['technique', 'outcome'], registers: r });
    this.failovers = new Counter({ name: 'vcp_sip_backend_failovers_total', help: 'requests moved to the next backend after a failure', registers: r });
    this.timeouts = new Counter({ name: 'vcp_sip_client_timeouts_total', help: 'requests whose next hop never answered (no candidate left, or along a dialog)', labelNames: ['method'], registers: r });
    this.setupSeconds = new Histogram({ name: 'vcp_sip_setup_seconds', help: 'INVITE to final response', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: r });
    const live = this.live;
    this.transactions = new Gauge({ name: 'vcp_sip_transactions', help: 'live transactions', registers: r, collect(this: Gauge) { this.set(live.transactions()); } });
    this.dialogs = new Gauge({ name: 'vcp_sip_dialogs', help: 'established calls through this worker', registers: r, collect(this: Gauge) { this.set(live.dialogs()); } });
    this.requestsIn = this.messagesIn.labels('request');
    this.responsesIn = this.messagesIn.labels('response');
  }
}
