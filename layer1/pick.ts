/**
 * Member picking by rendezvous (highest random weight) hashing. Every member gets a score for a
 * client key; the highest score wins, and the others follow in score order for fall-through. The
 * score depends only on the member's id and the client's address and port (no random seed, no
 * process state), so both members of a layer-1 pair pick the same connector for the same flow, and
 * a member leaving or joining moves only the flows it loses or wins.
 *
 * Hashing is murmur3 (32-bit) over UTF-16 code units: cheap, allocation-free, and well mixed.
 */

/** A member as the picker sees it: its id and the hash of that id (`memberSeed(id)`), computed once. */
export interface Candidate {
  readonly id: string;
  readonly seed: number;
}

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));

function mixK(k: number): number {
  k = Math.imul(k, C1);
  k = rotl(k, 15);
  return Math.imul(k, C2);
}

function mixH(h: number, k: number): number {
  h ^= mixK(k);
  h = rotl(h, 13);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** murmur3's finalizer: every input bit moves every output bit. */
export function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** murmur3_x86_32 of a string, two code units per 32-bit block. */
export function hashString(s: string, seed = 0): number {
  let h = seed | 0;
  const n = s.length;
  let i = 0;
  for (; i + 1 < n; i += 2) h = mixH(h, s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16));
  if (i < n) h ^= mixK(s.charCodeAt(i));
  h ^= n * 2;
  return fmix(h);
}

/** The stable seed of a member, from its id (`connector/index`). */
export const memberSeed = (id: string): number => hashString(id, 0x9747b28c);

/** The hash of a client: its address text and port. */
export function clientHash(address: string, port: number): number {
  let h = hashString(address);
  h = mixH(h, port);
  h ^= 4;
  return fmix(h);
}

/** The score of one member for one client: a murmur3 round over both hashes. */
export function score(seed: number, client: number): number {
  let h = seed | 0;
  h = mixH(h, client);
  h ^= 4;
  return fmix(h);
}

/** Higher score first; equal scores (rare) by id so that every process agrees. */
function before(a: Candidate, sa: number, b: Candidate, sb: number): boolean {
  return sa > sb || (sa === sb && a.id < b.id);
}

/**
 * The accepted candidate with the highest score, or undefined when none is accepted. No allocation:
 * this runs once per new flow or connection.
 */
export function pick<T extends Candidate>(candidates: readonly T[], client: number, accept: (c: T) => boolean): T | undefined {
  let best: T | undefined;
  let bestScore = -1;
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i]!;
    if (!accept(c)) continue;
    const s = score(c.seed, client);
    if (best === undefined || before(c, s, best, bestScore)) {
      best = c;
      bestScore = s;
    }
  }
  return best;
}

/** The accepted candidates in hash order (best first): the order a caller falls through on failure. */
export function rank<T extends Candidate>(candidates: readonly T[], client: number, accept: (c: T) => boolean): T[] {
  const scored: Array<{ c: T; s: number }> = [];
  for (const c of candidates) if (accept(c)) scored.push({ c, s: score(c.seed, client) });
  scored.sort((a, b) => (before(a.c, a.s, b.c, b.s) ? -1 : 1));
  return scored.map((x) => x.c);
}

/**
 * The member of one lane of a client's flows (`sip-lane.ts`): the accepted members in the client's
 * hash order, taken in turn, so that the lanes of one client are shared evenly over them (16 lanes
 * over 2 members: 8 each). Lane 0 is the client's first choice, the member it has without lanes.
 * A pure function of the ids, the client and the lane: both hosts of a pair agree.
 */
export function pickLane<T extends Candidate>(candidates: readonly T[], client: number, lane: number, accept: (c: T) => boolean): T | undefined {
  if (lane === 0) return pick(candidates, client, accept);
  const order = rank(candidates, client, accept);
  return order.length === 0 ? undefined : order[lane % order.length];
}
