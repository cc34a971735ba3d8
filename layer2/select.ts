import type { ServerConfig } from '../shared/config/types.js';

/**
 * Backends to try for a call, best first: servers of this POP that speak the protocol, ordered by
 * the share of their capacity in use, then by name so that equal servers are tried in a stable order.
 * The learned decision (accessibility, latency, geo, cost) comes in at this boundary.
 */
export function selectServers(
  servers: readonly ServerConfig[],
  pop: string,
  protocol: 'sip' | 'h323',
  active: ReadonlyMap<string, number>,
): ServerConfig[] {
  const usable = servers.filter((s) => s.pop === pop && (protocol === 'sip' ? s.sipPort > 0 : s.h323Port > 0));
  const load = (s: ServerConfig): number => (active.get(s.name) ?? 0) / s.capacity;
  return usable.sort((a, b) => load(a) - load(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
