/**
 * The cross-POP decision of one POP edge: what to announce now. Pure: every input is plain data
 * gathered by the watch (health probes, BIRD's table, the state file), so it is tested by table.
 */
export type Announce = 'none' | 'active' | 'backup';

/** The upstream's preferred route for the well-known prefix when it is another POP's. */
export interface Carrier {
  /** The POP whose AS originates the route ("AS n" when no POP of the topology has that AS). */
  pop: string;
  /** True when the origin AS is repeated: a backup announcement that yields on its own. */
  backup: boolean;
}

export interface PolicyInput {
  isPrimary: boolean;
  anycast: boolean;
  failback: 'automatic' | 'manual';
  /** The local tiers pass the watch's health verdict (after fall/rise). */
  healthy: boolean;
  /** The operator's standing order from `ip-takeover takeover|release`, until `resume`. */
  override: 'takeover' | 'release' | undefined;
  /** Another POP's route as the upstream sends it to us; undefined when none is visible. */
  carrier: Carrier | undefined;
  /** An upstream session has been up long enough for its routes to be complete. */
  sessionsReady: boolean;
  /** What this POP announces now. */
  current: Announce;
  /** This POP carried the address at some time before (kept in the state file). */
  carriedBefore: boolean;
  /**
   * A layer-1 member answers ARP for the address on the edge interface; undefined: not checked. The
   * watch checks it only before it starts announcing, so that a POP whose pair holds nothing (no
   * VRRP master yet, or keepalived down on both members while layer 1 answers) never draws traffic.
   */
  held?: boolean | undefined;
}

export interface PolicyDecision {
  announce: Announce;
  reason: string;
}

export function decide(i: PolicyInput): PolicyDecision {
  const d = decideAnnounce(i);
  if (i.current === 'none' && d.announce !== 'none' && i.held === false) {
    return { announce: 'none', reason: `would announce (${d.reason}), but no layer-1 member holds the address yet (no ARP answer on the edge interface)` };
  }
  return d;
}

function decideAnnounce(i: PolicyInput): PolicyDecision {
  if (i.override === 'release') return { announce: 'none', reason: 'released by the operator (ip-takeover release; resume hands back to the watch)' };
  if (!i.healthy) return { announce: 'none', reason: 'the local tiers are unhealthy' };
  if (i.override === 'takeover') return { announce: 'active', reason: 'taken over by the operator (ip-takeover takeover)' };
  const other = i.carrier;
  if (i.isPrimary) {
    if (i.current === 'active') return { announce: 'active', reason: 'primary POP, healthy' };
    if (i.failback === 'manual' && i.carriedBefore && !i.sessionsReady) {
      return { announce: 'none', reason: 'failback is manual and this POP carried the address before: waiting for an upstream session to learn whether another POP carries it now' };
    }
    if (i.failback === 'manual' && other && i.carriedBefore) {
      return { announce: 'none', reason: `failback is manual: POP ${other.pop} carries the address since this POP lost it; ip-takeover takeover moves it back` };
    }
    if (!i.anycast && other && !other.backup) {
      return { announce: 'none', reason: `POP ${other.pop} carries the address by an operator's takeover and anycast is off; it must release first` };
    }
    return { announce: 'active', reason: other ? `primary POP, healthy: POP ${other.pop} holds a backup announcement and ${i.anycast ? 'stays behind as standby' : 'withdraws it when it sees ours'}` : 'primary POP, healthy' };
  }
  if (i.anycast) return { announce: 'backup', reason: 'secondary POP with anycast: standby announcement with a prepended AS path' };
  if (!i.sessionsReady) return { announce: 'none', reason: 'waiting for an upstream session to settle before judging who carries the address' };
  if (other) return { announce: 'none', reason: `POP ${other.pop} carries the address and anycast is off` };
  return { announce: 'backup', reason: 'no other POP carries the address: announcing (AS path prepended, so a returning primary wins)' };
}
