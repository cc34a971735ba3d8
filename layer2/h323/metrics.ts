import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Read when /metrics is scraped. */
export interface H323Live {
  calls: () => number;
  connections: () => number;
  registrations: () => number;
}

/** The H.323 metrics of one connector worker, in the worker's registry (its health port serves /metrics). */
export class H323Metrics {
  readonly messagesIn: Counter<'type'>;
  readonly calls: Counter<'technique' | 'outcome'>;
  readonly setupSeconds: Histogram;
  readonly ends: Counter<'reason'>;
  readonly rejected: Counter<'reason'>;
  readonly dropped: Counter<'reason'>;
  readonly failovers: Counter;
  readonly ras: Counter<'type'>;
  readonly rasDropped: Counter<'reason'>;
  readonly rasRefused: Counter<'reason'>;
  readonly live: H323Live = { calls: () => 0, connections: () => 0, registrations: () => 0 };
  /** Hot-path children, resolved once. */
  readonly setupsIn;

  constructor(registry: Registry) {
    const r = [registry];
    const live = this.live;
    this.messagesIn = new Counter({ name: 'vcp_h323_messages_in_total', help: 'H.225 call signalling messages received from callers, by Q.931 type', labelNames: ['type'], registers: r });
    this.calls = new Counter({
      name: 'vcp_h323_calls_total',
      help: 'H.323 call setups by technique and outcome (connected, rejected, redirected, failed, abandoned, malformed)',
      labelNames: ['technique', 'outcome'],
      registers: r,
    });
    this.setupSeconds = new Histogram({ name: 'vcp_h323_setup_seconds', help: 'Setup received to Connect relayed (or Facility sent, or the call refused)', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: r });
    this.ends = new Counter({
      name: 'vcp_h323_call_ends_total',
      help: 'H.323 calls ended, by reason (caller, server, caller_lost, server_lost, malformed, timeout, no_server, forwarded, shutdown)',
      labelNames: ['reason'],
      registers: r,
    });
    this.rejected = new Counter({ name: 'vcp_h323_rejected_total', help: 'Setups answered with Release Complete by the connector itself, by reason', labelNames: ['reason'], registers: r });
    this.dropped = new Counter({ name: 'vcp_h323_dropped_total', help: 'call signalling input dropped or connections closed without a call to release, by reason', labelNames: ['reason'], registers: r });
    this.failovers = new Counter({ name: 'vcp_h323_backend_failovers_total', help: 'H.323 calls moved to the next server after a refusal, a timeout or a resource release', registers: r });
    this.ras = new Counter({ name: 'vcp_h323_ras_messages_total', help: 'RAS messages received, by type (GRQ, RRQ, ...)', labelNames: ['type'], registers: r });
    this.rasDropped = new Counter({ name: 'vcp_h323_ras_dropped_total', help: 'RAS datagrams dropped without an answer, by reason (malformed, too_large, proxy_header, proxy_untrusted, not_neighbour, flood, unsupported)', labelNames: ['reason'], registers: r });
    this.rasRefused = new Counter({ name: 'vcp_h323_ras_refused_total', help: 'RAS requests refused (RRJ, URJ), by reason (duplicate_alias, not_registrant, too_many_aliases, source_full, table_full)', labelNames: ['reason'], registers: r });
    new Gauge({ name: 'vcp_h323_calls', help: 'H.323 calls in progress through this worker (setting up or established)', registers: r, collect(this: Gauge) { this.set(live.calls()); } });
    new Gauge({ name: 'vcp_h323_connections', help: 'H.225 connections from callers open on this worker', registers: r, collect(this: Gauge) { this.set(live.connections()); } });
    new Gauge({ name: 'vcp_h323_registrations', help: 'endpoints registered with this worker over RAS', registers: r, collect(this: Gauge) { this.set(live.registrations()); } });
    this.setupsIn = this.messagesIn.labels('Setup');
  }
}
