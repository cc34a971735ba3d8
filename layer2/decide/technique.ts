import type { ClassKey } from '../identify.js';
import { describeCounter, findVerdict } from './verdict.js';
import type { ClassProfile, LearningPolicy, Technique } from './types.js';

export interface TechniqueChoice {
  technique: Technique;
  decidedBy: string;
  reason: string;
}

/**
 * The signalling technique for a client class, most specific level first:
 *   1. an admin override wins;
 *   2. a configured technique, unless a record at the same or a more specific level says it breaks
 *      this class (the record wins: never a technique whose record says it breaks the class);
 *   3. redirect where it is proven for the class (learning levels: version, product, vendor);
 *   4. the configured default (proxy unless set), with the same veto;
 * and a redirect not yet proven is on probation: only `probationLimit` may await their arrival at once.
 * Proxy is the safe technique and is never vetoed. `local` vs `proxy` is settled by the POP later.
 */
export function chooseTechnique(
  chain: readonly ClassKey[],
  profiles: ReadonlyArray<ClassProfile | undefined>,
  configured: { default: Technique; classes: Readonly<Record<string, Technique>> },
  p: LearningPolicy,
  pending: ReadonlyMap<string, number> = new Map(),
): TechniqueChoice {
  const c = pick(chain, profiles, configured, p);
  // Never risk more than a few calls on a redirect not yet proven for this class: while that many
  // await their arrival, the next calls of the class are proxied.
  if (c.technique === 'redirect' && !c.proven) {
    const waiting = pending.get(chain[0]!.key) ?? 0;
    if (waiting >= p.probationLimit) {
      return { technique: 'proxy', decidedBy: c.decidedBy, reason: `technique proxy: ${c.reason.replace(/^technique redirect: /, 'redirect ')}, but not yet proven and ${waiting} redirect(s) of ${chain[0]!.key} await their arrival` };
    }
  }
  return { technique: c.technique, decidedBy: c.decidedBy, reason: c.reason };
}

function pick(
  chain: readonly ClassKey[],
  profiles: ReadonlyArray<ClassProfile | undefined>,
  configured: { default: Technique; classes: Readonly<Record<string, Technique>> },
  p: LearningPolicy,
): TechniqueChoice & { proven: boolean } {
  for (let i = 0; i < chain.length; i++) {
    const o = profiles[i]?.override;
    if (o) return { technique: o.technique, decidedBy: chain[i]!.key, reason: `technique ${o.technique}: admin override on ${chain[i]!.key} by ${o.by}`, proven: true };
  }
  const redirect = findVerdict(chain, profiles, 'redirect', p);
  const proven = redirect.verdict === 'proven';
  const veto = (t: Technique, at: number): string | undefined =>
    t === 'redirect' && redirect.verdict === 'broken' && redirect.at <= at ? `${redirect.key} breaks on redirect (${describeCounter(redirect.counter)})` : undefined;

  for (let i = 0; i < chain.length; i++) {
    const t = configured.classes[chain[i]!.key];
    if (!t) continue;
    const why = veto(t, i);
    if (why) return { technique: 'proxy', decidedBy: redirect.key, reason: `technique proxy: configured ${t} for ${chain[i]!.key}, but ${why}`, proven };
    return { technique: t, decidedBy: chain[i]!.key, reason: `technique ${t}: configured for ${chain[i]!.key}${proven ? ` and proven (${describeCounter(redirect.counter)})` : ''}`, proven };
  }
  if (redirect.verdict === 'proven') {
    return { technique: 'redirect', decidedBy: redirect.key, reason: `technique redirect: proven for ${redirect.key} (${describeCounter(redirect.counter)})`, proven };
  }
  const why = veto(configured.default, chain.length);
  if (why) return { technique: 'proxy', decidedBy: redirect.key, reason: `technique proxy: default ${configured.default}, but ${why}`, proven };
  const known = redirect.verdict === 'broken' ? ` (${redirect.key} breaks on redirect)` : '';
  return { technique: configured.default, decidedBy: 'default', reason: `technique ${configured.default}: the default for a class without a proven technique${known}`, proven };
}
