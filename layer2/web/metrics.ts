import { Counter, type Registry } from 'prom-client';

/** Metrics of the web listener, in the connector host's registry (the admin API's /metrics). */
export class WebMetrics {
  readonly requests: Counter<'route' | 'status'>;
  readonly decisions: Counter<'technique'>;
  readonly limited: Counter;

  constructor(registry: Registry) {
    const r = [registry];
    this.requests = new Counter({ name: 'vcp_web_requests_total', help: 'web listener requests by route (join, meet, health, other) and status', labelNames: ['route', 'status'], registers: r });
    this.decisions = new Counter({
      name: 'vcp_web_decisions_total',
      help: 'web decisions by technique: uri (a join page way), http (a 302 to another POP), local (served here), arrival (a token or a named server at its POP)',
      labelNames: ['technique'],
      registers: r,
    });
    this.limited = new Counter({ name: 'vcp_web_tokens_limited_total', help: 'pages and redirects given without tokens because their source asked too often', registers: r });
  }
}
