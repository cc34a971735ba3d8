/** One address an answer may list, with the POP it is in and the name of what it stands for. */
export interface Entry {
  address: string;
  pop: string;
  /** what must be usable for the address to be listed: its server, or the POP of a connector or POP address */
  key: string;
}

/** What the decision says about a resolver: POPs best first, and which keys may be used (all when absent). */
export interface Preference {
  pops: readonly string[];
  usable?: ReadonlySet<string>;
}

function rotated<T>(list: readonly T[], turn: number): T[] {
  if (list.length < 2) return [...list];
  const k = turn % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

/**
 * The order of an answer: the entries of the best POP first, then the next POP's, and so on; within a
 * POP the entries rotate with `turn`, so equals take turns from query to query. Entries outside the
 * preferred POPs, or not usable, are left out — unless that leaves nothing, when the `fallback` entries
 * (all by default) are listed, grouped by POP name and rotated the same way: an answer that may not be
 * best beats an empty one.
 * An address listed twice keeps its first place.
 */
export function permute<T extends Entry>(entries: readonly T[], pref: Preference, turn: number, fallback: readonly T[] = entries): T[] {
  const rank = new Map<string, number>();
  pref.pops.forEach((p, i) => {
    if (!rank.has(p)) rank.set(p, i);
  });
  let kept = entries.filter((e) => rank.has(e.pop) && (!pref.usable || pref.usable.has(e.key)));
  let order: string[] = [...rank.keys()];
  if (kept.length === 0) {
    kept = [...fallback];
    order = [...new Set(fallback.map((e) => e.pop))].sort();
  }
  const groups = new Map<string, T[]>();
  for (const e of kept) {
    const g = groups.get(e.pop);
    if (g) g.push(e);
    else groups.set(e.pop, [e]);
  }
  const out: T[] = [];
  const seen = new Set<string>();
  for (const p of order) {
    for (const e of rotated(groups.get(p) ?? [], turn)) {
      if (seen.has(e.address)) continue;
      seen.add(e.address);
      out.push(e);
    }
  }
  return out;
}
