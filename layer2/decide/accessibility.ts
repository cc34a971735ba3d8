import type { DecisionRequest, LiveState, ProfileSnapshot, ServerTopo, Topology } from './types.js';

export interface Accessible {
  servers: ServerTopo[];
  reasons: string[];
}

/**
 * (A) The servers this request may use: up and not drained, supporting the work type, in POPs the
 * network can reach (micro POPs only for their networks), allowed by the customer's regions, by the
 * static or admin accessible sets of the network, and not learned to be blocked from it.
 */
export function accessibleServers(req: DecisionRequest, snap: ProfileSnapshot, topo: Topology, live: LiveState): Accessible {
  const pops = topo.popByName;
  const reasons: string[] = [];
  const removed = { down: 0, drained: 0, work: 0, micro: 0, region: 0, static: 0, learned: 0, tried: 0, suspect: 0 };
  const suspects: ServerTopo[] = [];
  const names = new Set<string>();
  for (const n of req.networks) if (n.name) names.add(n.name);
  const policy = req.customer ? topo.customers[req.customer] : undefined;
  const regions = policy && policy.regions.length > 0 ? new Set(policy.regions) : undefined;
  const staticSets: Array<{ from: string; names: ReadonlySet<string> }> = [];
  for (const n of req.networks) {
    const cfg = n.name ? topo.networks[n.name] : undefined;
    if (cfg && cfg.accessible.length > 0) staticSets.push({ from: `network ${cfg.name} (config)`, names: new Set(cfg.accessible) });
  }
  snap.networks.forEach((p) => {
    if (p?.allow) staticSets.push({ from: `${p.key} (admin)`, names: new Set(p.allow.names) });
  });

  const out: ServerTopo[] = [];
  for (const s of topo.servers) {
    if (req.exclude.includes(s.name)) {
      removed.tried++;
      continue;
    }
    const l = live.servers.get(s.name);
    if (l && !l.up) {
      removed.down++;
      continue;
    }
    if (l?.drained) {
      removed.drained++;
      continue;
    }
    if (s.workTypes[req.workType] === undefined) {
      removed.work++;
      continue;
    }
    const pop = pops.get(s.pop);
    if (pop?.kind === 'micro' && !pop.reachableFrom.some((n) => names.has(n))) {
      removed.micro++;
      continue;
    }
    if (regions && !regions.has(pop?.region ?? '')) {
      removed.region++;
      continue;
    }
    if (staticSets.some((st) => !st.names.has(s.name) && !st.names.has(s.pop))) {
      removed.static++;
      continue;
    }
    if (blocked(s.name, req, snap, live.now)) {
      removed.learned++;
      continue;
    }
    if (l?.suspectUntil !== undefined && l.suspectUntil > live.now) {
      suspects.push(s);
      continue;
    }
    out.push(s);
  }
  // Recently failing servers are avoided while others can take the call, and tried when none can.
  let lastResort = false;
  if (out.length === 0 && suspects.length > 0) {
    out.push(...suspects);
    lastResort = true;
  } else removed.suspect = suspects.length;
  const parts: string[] = [];
  if (removed.tried) parts.push(`${removed.tried} already tried`);
  if (removed.down) parts.push(`${removed.down} down`);
  if (removed.drained) parts.push(`${removed.drained} drained`);
  if (removed.suspect) parts.push(`${removed.suspect} failing lately`);
  if (removed.work) parts.push(`${removed.work} without work type ${req.workType}`);
  if (removed.micro) parts.push(`${removed.micro} in micro POPs of other networks`);
  if (removed.region) parts.push(`${removed.region} outside the regions of customer ${req.customer}`);
  if (removed.static) parts.push(`${removed.static} outside the accessible set of ${staticSets.map((s) => s.from).join(' and ')}`);
  if (removed.learned) parts.push(`${removed.learned} learned blocked from ${req.networks.filter((n) => n.physical).map((n) => n.key).join(', ')}`);
  reasons.push(`accessible: ${out.length} of ${topo.servers.length} servers${parts.length ? ` (${parts.join('; ')})` : ''}${lastResort ? ', all of them failing lately: tried anyway' : ''}`);
  return { servers: out, reasons };
}

function blocked(server: string, req: DecisionRequest, snap: ProfileSnapshot, now: number): boolean {
  for (let i = 0; i < req.networks.length; i++) {
    if (!req.networks[i]!.physical) continue;
    const r = snap.networks[i]?.servers[server];
    if (r && r.blockedUntil > now) return true;
  }
  return false;
}
