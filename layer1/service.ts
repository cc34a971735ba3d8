import type { Server } from 'node:http';
import type { Config } from '../shared/config/types.js';
import { ConfigError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { startHttp, type ControlApi, type MemberView } from './control.js';
import { UnknownMemberError } from './errors.js';
import { Layer1Metrics, type ListenerView } from './metrics.js';
import { MemberSet, type Member, type TargetPort } from './members.js';
import { HealthProber } from './prober.js';
import { reloadLayer1 } from './reload.js';
import { registerExposure } from '../shared/service/exposure.js';
import { TcpRelay } from './tcp-relay.js';
import { AddressSet } from '../shared/net/address-set.js';
import { ConnectionLimiter } from '../shared/net/connection-limiter.js';
import { FloodGuard } from '../shared/flood-guard.js';
import { controlToken } from './token.js';
import { UdpRelay } from './udp-relay.js';

export interface Layer1 {
  readonly members: MemberSet;
  readonly udp: readonly UdpRelay[];
  readonly tcp: readonly TcpRelay[];
  readonly metrics: Layer1Metrics;
  drain(id: string, draining: boolean): MemberView;
  view(m: Member): MemberView;
  /** Stops taking new flows, lets the current ones go on for up to `graceMs` (until quiet), then closes. */
  shutdown(graceMs: number): Promise<void>;
  /** Closes everything at once. */
  close(): Promise<void>;
  /** A reload (SIGHUP): see reload.ts. Returns what changed; throws a ConfigError when refused. */
  reload(next: Config): string;
}

interface ListenerPlan {
  name: string;
  proto: 'udp' | 'tcp';
  port: number;
  target: TargetPort;
}

const WILDCARD = new Set(['0.0.0.0', '::']);
/** A UDP flow that carried nothing for this long counts as finished during shutdown. */
const QUIET_MS = 250;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Layer 1 of one host: the members of its POP (every worker of every connector there), their health
 * probes, the relays on the well-known address, and the control and metrics endpoints.
 *
 * Probes, connections and flows towards members leave from the host's own address (the kernel picks
 * it by route), never from the well-known address: the standby of a pair binds that address without
 * holding it, and answers sent to it would reach the active host instead.
 */
export async function startLayer1(config: Config, log: Logger): Promise<Layer1> {
  const l1 = config.layer1;
  const endpoints = config.connectors.filter((c) => c.pop === l1.pop).flatMap((c) => c.endpoints);
  if (endpoints.length === 0) throw new ConfigError(config.file, 'layer1.pop', `a POP with at least one connector (no connector is in POP "${l1.pop}")`);
  const members = new MemberSet(endpoints);
  const wk = config.wellKnown;
  // Clients dialled the well-known address; when listening on a wildcard, that is what they reached.
  const dialledAddress = WILDCARD.has(l1.bind) ? wk.address : l1.bind;

  const plan: ListenerPlan[] = [
    { name: 'sip/udp', proto: 'udp', port: wk.sip, target: 'sipProxied' },
    { name: 'sip/tcp', proto: 'tcp', port: wk.sip, target: 'sipProxied' },
    { name: 'h323/tcp', proto: 'tcp', port: wk.h323, target: 'h323Proxied' },
    { name: 'ras/udp', proto: 'udp', port: wk.ras, target: 'rasProxied' },
  ];
  const exempt = new AddressSet([...config.limits.exempt, ...config.servers.map((s) => s.address), ...config.connectors.map((c) => c.address)]);
  const budget = new ConnectionLimiter(l1.tcp.maxConnections, l1.tcp.maxConnectionsPerSource, exempt);
  const udp: UdpRelay[] = [];
  const tcp: TcpRelay[] = [];
  const listeners = (): ListenerView[] => [...udp.map((u) => ({ name: u.name, udp: u.stats })), ...tcp.map((t) => ({ name: t.name, tcp: t.stats }))];
  const metrics = new Layer1Metrics(l1.name, members, listeners);
  // Datagrams are counted per source at the entrance, where each costs a lookup: a flood is dropped
  // here before any worker spends time on it (the workers guard their own ports too).
  const flood = new FloodGuard({ ...config.limits.flood, exempt }, log, metrics.registry);
  for (const p of plan) {
    const serving = members.serving(p.target);
    if (serving.length === 0) {
      log.info({ listener: p.name, port: p.port }, `no member has a ${p.target} port: listener not opened`);
      continue;
    }
    if (p.proto === 'udp') {
      udp.push(new UdpRelay({ name: p.name, address: l1.bind, port: p.port, target: p.target, dialled: { address: dialledAddress, port: p.port }, maxFlows: l1.udp.maxFlows, maxFlowsPerSource: l1.udp.maxFlowsPerSource, exempt, idleTimeoutMs: l1.udp.idleTimeoutMs, lanes: p.target === 'sipProxied' ? l1.udp.sipCallLanes : 1, ...(flood.enabled ? { flood } : {}) }, serving, log));
    } else {
      tcp.push(new TcpRelay({ name: p.name, address: l1.bind, port: p.port, target: p.target, connectTimeoutMs: l1.tcp.connectTimeoutMs }, serving, budget, log));
    }
  }

  const prober = new HealthProber(members, l1.health, log, l1.name);
  registerExposure(metrics.registry, () => [
    { role: 'l1_control', address: l1.control.address, port: l1.control.port },
    { role: 'l1_metrics', address: l1.metrics.address, port: l1.metrics.port },
    { role: 'l1_health', address: l1.healthListener.address, port: l1.healthListener.port },
  ]);
  let stopping = false;
  let listening = false;

  const view = (m: Member): MemberView => ({
    id: m.id,
    connector: m.endpoint.connector,
    address: m.address,
    up: m.up,
    draining: m.draining || m.drainRequested,
    connections: m.stats.tcpActive,
    flows: m.stats.udpFlowsActive,
    ports: { sipProxied: m.endpoint.sipProxied, h323Proxied: m.endpoint.h323Proxied, rasProxied: m.endpoint.rasProxied, health: m.endpoint.health },
  });
  const drain = (id: string, draining: boolean): MemberView => {
    const m = members.get(id);
    if (!m) throw new UnknownMemberError(id, members.list.map((x) => x.id));
    if (m.draining !== draining) log.info({ member: id }, draining ? 'member drained: no new flows' : 'member undrained');
    m.draining = draining;
    return view(m);
  };
  const api: ControlApi = {
    health: () => {
      const up = members.upCount;
      const serving = listening && !stopping && up > 0;
      const reason = stopping ? 'stopping' : !listening ? 'starting' : up === 0 ? 'no member is up' : 'serving';
      return { serving, reason, membersUp: up, members: members.list.length };
    },
    members: () => members.list.map(view),
    drain,
    metrics: async () => ({ contentType: metrics.registry.contentType, text: await metrics.registry.metrics() }),
  };

  const servers: Server[] = [];
  const closeHttp = (): void => {
    for (const s of servers) {
      s.close();
      s.closeAllConnections();
    }
  };
  const closeAll = (): void => {
    stopping = true;
    prober.stop();
    flood.stop();
    for (const u of udp) u.close();
    for (const t of tcp) t.close();
    closeHttp();
  };

  try {
    const c = l1.control;
    const m = l1.metrics;
    const h = l1.healthListener;
    // Read before anything listens: a missing or short token file stops the start.
    const token = c.port !== 0 ? controlToken(c, config.file) : undefined;
    for (const r of [...udp, ...tcp]) await r.start();
    const shared = c.port !== 0 && c.port === m.port && c.address === m.address;
    if (c.port !== 0) servers.push(await startHttp(shared ? 'layer 1 control and metrics HTTP' : 'layer 1 control HTTP', c.address, c.port, { control: true, metrics: shared, health: true, token }, api));
    if (m.port !== 0 && !shared) servers.push(await startHttp('layer 1 metrics HTTP', m.address, m.port, { control: false, metrics: true, health: false }, api));
    if (h.port !== 0) servers.push(await startHttp('layer 1 health HTTP', h.address, h.port, { control: false, metrics: false, health: true, minimal: true }, api));
  } catch (err) {
    closeAll();
    throw err;
  }
  listening = true;
  prober.start();
  flood.start();

  return {
    members,
    udp,
    tcp,
    metrics,
    drain,
    view,
    async shutdown(graceMs: number) {
      stopping = true;
      for (const u of udp) u.stopAccepting();
      for (const t of tcp) t.stopAccepting();
      const until = Date.now() + graceMs;
      while (Date.now() < until) {
        const now = Date.now();
        const busy = tcp.some((t) => t.connections > 0) || udp.some((u) => !u.quietSince(now - QUIET_MS));
        if (!busy) break;
        await sleep(50);
      }
      closeAll();
    },
    async close() {
      closeAll();
    },
    reload(next: Config) {
      return reloadLayer1({ config, members, udp, tcp, prober, log }, next);
    },
  };
}
