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
  readonly notRelayed: Counter<'why'>;
  readonly limited: Counter<'scope'>;
  readonly requestsIn;
  readonly responsesIn;
  /** Read when /metrics is scraped. */
  readonly live = { transactions: (): number => 0, dialogs: (): number => 0, unacked: (): number => 0, transport: (): Readonly<Record<string, number>> => ({}) };

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
    new Counter({ name: 'vcp_sip_calls_unacked_total', help: 'answered calls ended because the client\'s ACK never came within 64·T1 (the answer was lost, or the client gave up): their capacity is given back', registers: r, collect(this: Counter) { this.reset(); this.inc(live.unacked()); } });
    this.notRelayed = new Counter({ name: 'vcp_sip_not_relayed_total', help: 'requests not forwarded because their destination is outside the deployment, by why', labelNames: ['why'], registers: r });
    this.limited = new Counter({ name: 'vcp_sip_transaction_limit_total', help: 'requests answered 503 because the transaction table was full, for the source or globally', labelNames: ['scope'], registers: r });
    // The SIP transport counts in plain fields; these read them when scraped.
    const transport = (name: string, help: string, key: string): void => {
      new Counter({ name, help, registers: r, collect(this: Counter) { this.reset(); this.inc(live.transport()[key] ?? 0); } });
    };
    transport('vcp_sip_udp_datagrams_in_total', 'SIP datagrams received (plain and from layer 1)', 'udpIn');
    transport('vcp_sip_udp_datagrams_out_total', 'SIP datagrams sent', 'udpOut');
    transport('vcp_sip_tcp_connections_total', 'SIP TCP connections accepted', 'tcpConnections');
    transport('vcp_sip_proxy_header_errors_total', 'datagrams and connections from layer 1 dropped for a malformed PROXY v2 header', 'proxyHeaderErrors');
    transport('vcp_sip_header_timeouts_total', 'TCP connections closed because a message (or the PROXY v2 header) did not complete in time', 'headerTimeouts');
    transport('vcp_sip_keepalive_pongs_total', 'RFC 5626 keep-alive pings answered', 'pongs');
    this.requestsIn = this.messagesIn.labels('request');
    this.responsesIn = this.messagesIn.labels('response');
  }
}
