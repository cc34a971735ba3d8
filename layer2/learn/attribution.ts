import { findVerdict } from '../decide/verdict.js';
import type { LearningPolicy } from '../decide/types.js';
import type { StoreView } from '../profiles/store.js';
import type { Op, RedirectRecord } from '../profiles/events.js';

export type MissCause = 'network' | 'client' | 'unknown';

export interface Attribution {
  cause: MissCause;
  ops: Op[];
  detail: string;
}

/**
 * Whose fault a redirect the client never followed is:
 *   - the class has proven it follows redirects, and this network never reached that POP: the
 *     network cannot reach it (a firewall) — the POP's servers leave the network's set for a while;
 *   - this network has reached that server before: the client class cannot take the redirect;
 *   - nothing known yet: both are suspected — the class counts a failure (it flips only on several
 *     callers' word) and the network avoids the POP for a while. Either mistake is a safe one: a
 *     class proxied that could have been redirected, or a network sent to another POP.
 * The technique is the record's (redirect, http); a join link (uri) not used is no miss at all (the
 * engine closes it as unused).
 */
export function attributeMiss(rec: RedirectRecord, popServers: readonly string[], view: StoreView, p: LearningPolicy, now: number, blockMs: number): Attribution {
  const chain = rec.chain.map((key, i) => ({ key, level: rec.levels[i]! }));
  const profiles = rec.chain.map((k) => view.classProfile(k));
  const technique = rec.technique ?? 'redirect';
  const verdict = findVerdict(chain, profiles, technique, p);
  // Only a client that followed a redirect there proves the network reaches a POP: a proxied call
  // shows that the connector reaches the server, not that the client does.
  let reached = false;
  for (const n of rec.nets) {
    const servers = view.networkProfile(n)?.servers;
    for (const s of popServers) if ((servers?.[s]?.tr ?? 0) > 0) reached = true;
  }
  const classOps = (): Op[] => rec.chain.map((key) => ({ o: 'cls', key, t: technique, ok: false, ms: -1, src: rec.src, at: now }) as Op);
  const netOps = (block: boolean): Op[] => {
    const ops: Op[] = [];
    for (const key of rec.nets) {
      ops.push({ o: 'srv', key, server: rec.server, ok: false, ms: -1, at: now });
      if (block) for (const s of popServers) ops.push({ o: 'block', key, server: s, until: now + blockMs, at: now });
    }
    return ops;
  };
  if (verdict.verdict === 'proven' && !reached) {
    return { cause: 'network', ops: netOps(true), detail: `${verdict.key} follows redirects, so ${rec.nets.join(', ') || 'the network'} cannot reach POP ${rec.pop}: blocked for ${Math.round(blockMs / 1000)} s` };
  }
  if (reached) {
    return { cause: 'client', ops: [...classOps(), ...netOps(false)], detail: `clients of the network reached POP ${rec.pop} before: the client class did not follow the redirect` };
  }
  return { cause: 'unknown', ops: [...classOps(), ...netOps(true)], detail: `nothing known yet: counted against the class and POP ${rec.pop} avoided from ${rec.nets.join(', ') || 'the network'} for ${Math.round(blockMs / 1000)} s` };
}
