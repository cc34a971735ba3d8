import type { ClassKey } from '../identify.js';
import { describeCounter, findVerdict } from '../decide/verdict.js';
import type { ClassProfile, LearningPolicy } from '../decide/types.js';

export type WebTechnique = 'http' | 'uri';

export interface WebChoice {
  technique: WebTechnique;
  decidedBy: string;
  reason: string;
}

/**
 * How a browser is sent to the chosen POP, most specific class level first:
 *   1. an admin override of `http` or `uri` on the class wins;
 *   2. a configured technique (`web.classes`), unless a record at the same or a more specific level
 *      says the class breaks on HTTP redirects;
 *   3. the join page (`uri`) when a record says the class breaks on HTTP redirects;
 *   4. otherwise the HTTP redirect, which browsers follow.
 */
export function chooseWebTechnique(
  chain: readonly ClassKey[],
  profiles: ReadonlyArray<ClassProfile | undefined>,
  configured: Readonly<Record<string, WebTechnique>>,
  p: LearningPolicy,
): WebChoice {
  for (let i = 0; i < chain.length; i++) {
    const o = profiles[i]?.override;
    if (o && (o.technique === 'http' || o.technique === 'uri')) {
      return { technique: o.technique, decidedBy: chain[i]!.key, reason: `technique ${o.technique}: admin override on ${chain[i]!.key} by ${o.by}` };
    }
  }
  const http = findVerdict(chain, profiles, 'http', p);
  const broken = http.verdict === 'broken';
  for (let i = 0; i < chain.length; i++) {
    const t = configured[chain[i]!.key];
    if (!t) continue;
    if (t === 'http' && broken && http.at <= i) {
      return { technique: 'uri', decidedBy: http.key, reason: `technique uri: configured http for ${chain[i]!.key}, but ${http.key} breaks on HTTP redirects (${describeCounter(http.counter)})` };
    }
    return { technique: t, decidedBy: chain[i]!.key, reason: `technique ${t}: configured for ${chain[i]!.key}` };
  }
  if (broken) return { technique: 'uri', decidedBy: http.key, reason: `technique uri: ${http.key} breaks on HTTP redirects (${describeCounter(http.counter)})` };
  const known = http.verdict === 'proven' ? ` (proven for ${http.key}: ${describeCounter(http.counter)})` : '';
  return { technique: 'http', decidedBy: http.verdict === 'proven' ? http.key : 'default', reason: `technique http: browsers follow HTTP redirects${known}` };
}
