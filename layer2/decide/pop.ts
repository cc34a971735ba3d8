import type { DecisionRequest, ProfileSnapshot, ServerTopo, Topology } from './types.js';

export interface PopRanking {
  /** POP names, best first. */
  order: string[];
  reason: string;
}

/**
 * (B) POPs in preference order: the customer's micro POP for this meeting; else by the latency
 * measured from the client's network (POPs within `rttToleranceMs` of the best count as equal and
 * geo breaks the tie); else the geo rule's POP; then the local POP; then the rest by name.
 */
export function rankPops(req: DecisionRequest, snap: ProfileSnapshot, topo: Topology, accessible: readonly ServerTopo[]): PopRanking {
  const candidates = [...new Set(accessible.map((s) => s.pop))].sort();
  if (candidates.length === 0) return { order: [], reason: 'no POP: nothing accessible' };
  const has = (p: string): boolean => candidates.includes(p);
  const rest = (first: string[]): string[] => [...first, ...candidates.filter((p) => !first.includes(p))];
  const tail = (first: string[]): string[] => {
    const base = [...first];
    if (has(req.geo.pop) && !base.includes(req.geo.pop)) base.push(req.geo.pop);
    if (has(topo.localPop) && !base.includes(topo.localPop)) base.push(topo.localPop);
    return rest(base);
  };

  const policy = req.customer ? topo.customers[req.customer] : undefined;
  if (policy?.microPop && req.meeting && meetingMatches(req.meeting, policy.microPop.meetings) && has(policy.microPop.pop)) {
    return { order: tail([policy.microPop.pop]), reason: `POP ${policy.microPop.pop}: micro POP of customer ${policy.name} for meeting ${req.meeting}` };
  }

  // Latency: the first network identifier (most specific) that has measurements.
  for (let i = 0; i < req.networks.length; i++) {
    const prof = snap.networks[i];
    if (!prof || !req.networks[i]!.physical) continue;
    const known = candidates.filter((p) => prof.pops[p] && prof.pops[p]!.n > 0).map((p) => ({ pop: p, rtt: prof.pops[p]!.rtt }));
    if (known.length === 0) continue;
    known.sort((a, b) => a.rtt - b.rtt || a.pop.localeCompare(b.pop));
    const best = known[0]!.rtt;
    const near = known.filter((k) => k.rtt <= best + topo.learning.rttToleranceMs).map((k) => k.pop);
    const pick = near.includes(req.geo.pop) ? req.geo.pop : near.includes(topo.localPop) ? topo.localPop : near[0]!;
    const ordered = [pick, ...known.map((k) => k.pop).filter((p) => p !== pick)];
    const rtt = known.find((k) => k.pop === pick)!.rtt;
    const why = near.length > 1 ? ` (within ${topo.learning.rttToleranceMs} ms of the best of ${near.join(', ')})` : '';
    return { order: tail(ordered), reason: `POP ${pick}: measured RTT ${Math.round(rtt)} ms from ${prof.key}${why}, ${known.length} of ${candidates.length} POPs measured` };
  }

  if (has(req.geo.pop)) {
    const where = [req.geo.country, req.geo.continent].filter(Boolean).join('/') || 'unknown location';
    return { order: tail([req.geo.pop]), reason: `POP ${req.geo.pop}: geo ${where} (no latency known yet)` };
  }
  if (has(topo.localPop)) {
    const why = req.geo.pop ? `geo POP ${req.geo.pop} not accessible` : 'no geo rule matched';
    return { order: tail([topo.localPop]), reason: `POP ${topo.localPop}: the local POP (${why}, no latency known)` };
  }
  return { order: tail([]), reason: `POP ${candidates[0]}: first accessible POP (local POP ${topo.localPop} not accessible)` };
}

/** Exact meeting names, or `prefix*`. */
export function meetingMatches(meeting: string, patterns: readonly string[]): boolean {
  for (const p of patterns) {
    if (p.endsWith('*') ? meeting.startsWith(p.slice(0, -1)) : meeting === p) return true;
  }
  return false;
}
