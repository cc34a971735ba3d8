import { Counter, type Registry } from 'prom-client';
import { QType, RCode } from './wire.js';

const TYPES: Record<number, string> = { [QType.A]: 'A', [QType.AAAA]: 'AAAA', [QType.SOA]: 'SOA', [QType.NS]: 'NS', [QType.ANY]: 'ANY', [QType.AXFR]: 'AXFR', [QType.IXFR]: 'IXFR' };
const RCODES: Record<number, string> = {
  [RCode.NOERROR]: 'NOERROR', [RCode.FORMERR]: 'FORMERR', [RCode.SERVFAIL]: 'SERVFAIL', [RCode.NXDOMAIN]: 'NXDOMAIN',
  [RCode.NOTIMP]: 'NOTIMP', [RCode.REFUSED]: 'REFUSED', [RCode.BADVERS]: 'BADVERS',
};

/** Metrics of the DNS responder, in the connector host's registry (the admin API's /metrics). */
export class DnsMetrics {
  readonly #queries: Counter<'qtype' | 'rcode' | 'transport'>;
  readonly dropped: Counter<'reason' | 'transport'>;
  readonly truncated: Counter;

  constructor(registry: Registry) {
    const r = [registry];
    this.#queries = new Counter({ name: 'vcp_dns_queries_total', help: 'DNS queries answered, by query type (A, AAAA, SOA, NS, ANY, other), response code and transport', labelNames: ['qtype', 'rcode', 'transport'], registers: r });
    this.dropped = new Counter({ name: 'vcp_dns_dropped_total', help: 'DNS messages dropped without an answer, by reason (short, response, tcp_frame, tcp_limit, tcp_source_limit, tcp_unread, internal)', labelNames: ['reason', 'transport'], registers: r });
    this.truncated = new Counter({ name: 'vcp_dns_truncated_total', help: 'UDP responses sent truncated (TC=1) to stay within the size bound', registers: r });
  }

  answered(qtype: number, rcode: number, transport: string): void {
    this.#queries.labels(qtype === 0 ? 'none' : (TYPES[qtype] ?? 'other'), RCODES[rcode] ?? String(rcode), transport).inc();
  }
}
