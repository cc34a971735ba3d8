import type { DecisionRequest, LiveState, ProfileSnapshot, ServerTopo } from './types.js';

export interface RankedServer {
  server: ServerTopo;
  cost: number;
  free: number;
  /** failures seen from this network (the most specific network with a record) */
  failures: number;
  successes: number;
}

/**
 * (C) Servers of one POP that can take the work, best first: servers this network has failed with
 * go last; then the most free capacity after this call (as a share of the server), then the cheaper
 * for this work type, then by name. A server without room for the call's cost is left out.
 */
export function rankServers(req: DecisionRequest, snap: ProfileSnapshot, live: LiveState, servers: readonly ServerTopo[]): RankedServer[] {
  const out: RankedServer[] = [];
  for (const s of servers) {
    const cost = s.workTypes[req.workType] ?? 1;
    const units = live.servers.get(s.name)?.units ?? 0;
    const free = s.capacity - units - cost;
    if (free < 0) continue;
    let failures = 0;
    let successes = 0;
    for (let i = 0; i < req.networks.length; i++) {
      const r = snap.networks[i]?.servers[s.name];
      if (r && req.networks[i]!.physical) {
        failures = r.f;
        successes = r.s;
        break;
      }
    }
    out.push({ server: s, cost, free, failures, successes });
  }
  const bad = (r: RankedServer): number => (r.failures > r.successes ? 1 : 0);
  out.sort(
    (a, b) =>
      bad(a) - bad(b) ||
      b.free / b.server.capacity - a.free / a.server.capacity ||
      a.cost - b.cost ||
      (a.server.name < b.server.name ? -1 : a.server.name > b.server.name ? 1 : 0),
  );
  return out;
}

export function describeServer(r: RankedServer, of: number): string {
  const perf = r.failures + r.successes > 0 ? `, ${r.successes} ok / ${r.failures} failed from this network` : '';
  return `server ${r.server.name}: ${r.free + r.cost} of ${r.server.capacity} units free, costs ${r.cost}${perf} (best of ${of})`;
}
