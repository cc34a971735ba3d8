import { applyInPlace, sameValue } from '../shared/config/live.js';
import type { Config } from '../shared/config/types.js';
import { ConfigError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { MemberSet } from './members.js';
import type { HealthProber } from './prober.js';
import type { TcpRelay } from './tcp-relay.js';
import type { UdpRelay } from './udp-relay.js';

/** What a reload of layer 1 works on: the pieces `startLayer1` built. */
export interface Layer1Parts {
  config: Config;
  members: MemberSet;
  udp: readonly UdpRelay[];
  tcp: readonly TcpRelay[];
  prober: HealthProber;
  log: Logger;
}

/**
 * A reload of layer 1 (SIGHUP): the members of its POP (connectors and workers added, removed or
 * moved), health probing and the relays' timeouts apply at once; open flows and connections keep
 * their member. What needs other sockets (the well-known address and ports, the listeners' address,
 * the control and metrics endpoints, the POP) is refused with what to do instead: the running layer 1
 * stays as it was. Returns what changed, for the log and `systemctl reload`.
 */
export function reloadLayer1(p: Layer1Parts, next: Config): string {
  const cur = p.config;
  const l1 = cur.layer1;
  const n = next.layer1;
  const needsRestart: string[] = [];
  if (!sameValue(cur.wellKnown, next.wellKnown)) needsRestart.push('wellKnown');
  if (l1.bind !== n.bind) needsRestart.push('layer1.bind');
  if (l1.pop !== n.pop) needsRestart.push('layer1.pop');
  if (!sameValue(l1.control, n.control)) needsRestart.push('layer1.control');
  if (!sameValue(l1.metrics, n.metrics)) needsRestart.push('layer1.metrics');
  if (!sameValue(l1.healthListener, n.healthListener)) needsRestart.push('layer1.healthListener');
  if (needsRestart.length > 0) {
    throw new ConfigError(next.file, needsRestart.join(', '), `unchanged for a reload of layer 1: new listeners need a restart (systemctl restart the layer-1 unit; in a pair, one member after the other)`);
  }
  if (l1.udp.sipCallLanes !== n.udp.sipCallLanes) {
    // The lane of a datagram is its Call-ID modulo the count: a new count would move the rest of the
    // calls in progress to other flows, and other workers that do not hold their transactions.
    throw new ConfigError(next.file, 'layer1.udp.sipCallLanes', `unchanged for a reload of layer 1 (${l1.udp.sipCallLanes}): calls in progress would move to other workers; restart the layer-1 unit to change it (in a pair, one member after the other)`);
  }
  const endpoints = next.connectors.filter((c) => c.pop === n.pop).flatMap((c) => c.endpoints);
  if (endpoints.length === 0) throw new ConfigError(next.file, 'layer1.pop', `a POP with at least one connector (no connector is in POP "${n.pop}")`);
  const before = new Set(p.members.list.map((m) => m.id));
  const intervalChanged = l1.health.intervalMs !== n.health.intervalMs;
  // Health probing reads its section live; the relays get their members and timeouts.
  applyInPlace(cur, next);
  const gone = p.members.update(endpoints);
  for (const u of p.udp) u.setMembers(p.members.serving(targetOf(u.name)), n.udp.idleTimeoutMs);
  for (const t of p.tcp) t.setMembers(p.members.serving(targetOf(t.name)), n.tcp.connectTimeoutMs);
  const added = p.members.list.filter((m) => !before.has(m.id)).map((m) => m.id);
  const moved = gone.filter((m) => p.members.get(m.id)).map((m) => m.id);
  const removed = gone.filter((m) => !p.members.get(m.id)).map((m) => m.id);
  if (intervalChanged || added.length > 0 || moved.length > 0) p.prober.restart();
  const parts = [`${p.members.list.length} members`];
  if (added.length) parts.push(`added ${added.join(', ')}`);
  if (moved.length) parts.push(`new address or ports: ${moved.join(', ')}`);
  if (removed.length) parts.push(`removed ${removed.join(', ')} (their open flows go on)`);
  return parts.join('; ');
}

/** The member port each listener relays to, by its name (see startLayer1's plan). */
function targetOf(listener: string): 'sipProxied' | 'h323Proxied' | 'rasProxied' {
  if (listener.startsWith('sip/')) return 'sipProxied';
  if (listener.startsWith('h323/')) return 'h323Proxied';
  return 'rasProxied';
}
