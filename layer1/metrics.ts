import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { registerBuildInfo } from '../shared/service/build-metric.js';
import type { MemberSet, MemberStats } from './members.js';
import type { TcpRelayStats } from './tcp-relay.js';
import type { UdpRelayStats } from './udp-relay.js';

export interface ListenerView {
  name: string;
  udp?: UdpRelayStats;
  tcp?: TcpRelayStats;
}

/**
 * Layer 1's Prometheus metrics. The relays count in plain fields on their hot paths; these metrics
 * read the fields when scraped (counters advance by the difference since the last scrape).
 */
export class Layer1Metrics {
  readonly registry = new Registry();

  constructor(layer1: string, members: MemberSet, listeners: () => readonly ListenerView[]) {
    this.registry.setDefaultLabels({ layer1 });
    registerBuildInfo(this.registry, 'layer1');
    collectDefaultMetrics({ register: this.registry, prefix: 'vcp_l1_' });
    const r = [this.registry];

    const memberGauge = (name: string, help: string, read: (id: string) => number): void => {
      new Gauge({
        name, help, labelNames: ['member'], registers: r,
        collect(this: Gauge<'member'>) {
          // Members a reload removed disappear from the next scrape.
          this.reset();
          for (const m of members.list) this.set({ member: m.id }, read(m.id));
        },
      });
    };
    const memberCounter = (name: string, help: string, field: keyof MemberStats): void => {
      const last = new Map<string, number>();
      new Counter({
        name, help, labelNames: ['member'], registers: r,
        collect(this: Counter<'member'>) {
          for (const m of members.list) {
            const v = m.stats[field];
            const d = v - (last.get(m.id) ?? 0);
            this.inc({ member: m.id }, d > 0 ? d : 0);
            last.set(m.id, v);
          }
        },
      });
    };
    const listenerCounter = <K extends 'udp' | 'tcp'>(name: string, help: string, kind: K, field: keyof NonNullable<ListenerView[K]>): void => {
      const last = new Map<string, number>();
      new Counter({
        name, help, labelNames: ['listener'], registers: r,
        collect(this: Counter<'listener'>) {
          for (const l of listeners()) {
            const stats = l[kind];
            if (stats === undefined) continue;
            const v = (stats as unknown as Record<string, number>)[field as string] ?? 0;
            const d = v - (last.get(l.name) ?? 0);
            this.inc({ listener: l.name }, d > 0 ? d : 0);
            last.set(l.name, v);
          }
        },
      });
    };

    const byId = (id: string) => members.get(id)!;
    memberGauge('vcp_l1_member_up', '1 while the member passes its health probes', (id) => (byId(id).up ? 1 : 0));
    memberGauge('vcp_l1_member_draining', '1 while the member is drained (no new flows or connections): by an operator, or by its own word while it is being replaced', (id) => (byId(id).draining || byId(id).drainRequested ? 1 : 0));
    memberGauge('vcp_l1_tcp_connections_active', 'relayed TCP connections open to the member', (id) => byId(id).stats.tcpActive);
    memberGauge('vcp_l1_udp_flows_active', 'UDP flows held towards the member', (id) => byId(id).stats.udpFlowsActive);
    memberCounter('vcp_l1_tcp_connections_total', 'TCP connections relayed to the member', 'tcpTotal');
    memberCounter('vcp_l1_udp_flows_created_total', 'UDP flows opened towards the member', 'udpFlowsCreated');
    memberCounter('vcp_l1_bytes_in_total', 'payload bytes from clients relayed to the member (TCP and UDP, without PROXY headers)', 'bytesIn');
    memberCounter('vcp_l1_bytes_out_total', 'payload bytes from the member relayed to clients', 'bytesOut');
    memberCounter('vcp_l1_datagrams_in_total', 'UDP datagrams from clients relayed to the member', 'datagramsIn');
    memberCounter('vcp_l1_datagrams_out_total', 'UDP datagrams from the member relayed to clients', 'datagramsOut');
    memberCounter('vcp_l1_connect_errors_total', 'TCP connects refused or timed out, and ICMP errors on UDP flows, by member', 'connectErrors');
    memberCounter('vcp_l1_health_probe_failures_total', 'failed health probes of the member', 'probeFailures');
    listenerCounter('vcp_l1_udp_table_full_drops_total', 'datagrams dropped because the flow table was full (udp.maxFlows)', 'udp', 'tableFull');
    listenerCounter('vcp_l1_udp_no_member_drops_total', 'datagrams dropped because no member was eligible', 'udp', 'noMember');
    listenerCounter('vcp_l1_udp_repicks_total', 'UDP flows moved to another member because theirs went down or refused', 'udp', 'repicks');
    listenerCounter('vcp_l1_udp_source_full_drops_total', 'datagrams dropped because their source address held udp.maxFlowsPerSource flows', 'udp', 'sourceFull');
    listenerCounter('vcp_l1_tcp_refused_total', 'connections refused because tcp.maxConnections were open', 'tcp', 'refusedFull');
    listenerCounter('vcp_l1_tcp_source_refused_total', 'connections refused because their source address held tcp.maxConnectionsPerSource', 'tcp', 'refusedSource');
    listenerCounter('vcp_l1_tcp_no_member_total', 'connections closed because no member was eligible or every member refused', 'tcp', 'noMember');
  }
}
