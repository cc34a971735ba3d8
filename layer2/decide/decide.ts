import { accessibleServers } from './accessibility.js';
import { rankPops } from './pop.js';
import { describeServer, rankServers, type RankedServer } from './server.js';
import { chooseTechnique } from './technique.js';
import type { Decision, DecisionRequest, LiveState, ProfileSnapshot, ServerChoice, Topology } from './types.js';

/**
 * The load-balancing decision, a pure function of plain data (no clock, no I/O):
 *   (A) accessibility: network profiles ∩ customer policy ∩ health → servers the client may use;
 *   (B) the POP: micro POP policy, else measured latency, else geo, else local;
 *   (C) the server in that POP: free capacity for the work type, network performance, cost;
 *   then the technique from the client's class profile (proxy becomes `local` when the POP is ours).
 * Every step adds a reason, so a decision can be logged and explained as it was made.
 */
export function decide(req: DecisionRequest, snap: ProfileSnapshot, topo: Topology, live: LiveState): Decision {
  const acc = accessibleServers(req, snap, topo, live);
  const reasons = acc.reasons;
  const pops = rankPops(req, snap, topo, acc.servers);
  reasons.push(pops.reason);

  const candidates: ServerChoice[] = [];
  let first: RankedServer | undefined;
  let firstOf = 0;
  const full: string[] = [];
  for (const pop of pops.order) {
    const ranked = rankServers(req, snap, live, acc.servers.filter((s) => s.pop === pop));
    if (ranked.length === 0) {
      full.push(pop);
      continue;
    }
    if (!first) {
      first = ranked[0];
      firstOf = ranked.length;
    }
    for (const r of ranked) candidates.push({ server: r.server.name, pop });
  }
  const tech = chooseTechnique(req.chain, snap.classes, topo.techniques, topo.learning, live.pending);
  if (!first) {
    reasons.push(full.length ? `no server with free capacity for ${req.workType} in ${full.join(', ')}` : 'no server to use');
    reasons.push(tech.reason);
    return { pop: '', server: '', candidates, technique: tech.technique, decidedBy: tech.decidedBy, reasons };
  }
  const pop = first.server.pop;
  if (full.length > 0 && full[0] === pops.order[0]) reasons.push(`POP ${full.join(', ')} full for ${req.workType}: overflow to ${pop}`);
  reasons.push(describeServer(first, firstOf));
  let technique = tech.technique;
  let why = tech.reason;
  if (technique === 'proxy' && pop === topo.localPop) {
    technique = 'local';
    why += '; handled locally (the server is in this POP)';
  }
  reasons.push(why);
  return { pop, server: first.server.name, candidates, technique, decidedBy: tech.decidedBy, reasons };
}
