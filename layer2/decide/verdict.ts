import type { ClassLevel } from '../identify.js';
import type { ClassProfile, Counter, LearningPolicy, Technique } from './types.js';

export type Verdict = 'proven' | 'broken' | 'unknown';

/**
 * What one record says about a technique: broken once failures outnumber successes after
 * `breakAfter` failures reported by at least `minSources` distinct callers (one caller cannot flip a
 * class on its own); proven after `provenAfter` successes with a success ratio of at least `provenRatio`.
 */
export function verdictOf(c: Counter | undefined, sources: readonly string[] | undefined, p: LearningPolicy): Verdict {
  if (!c) return 'unknown';
  if (c.f >= p.breakAfter && (sources?.length ?? 0) >= p.minSources && c.f > c.s) return 'broken';
  if (c.s >= p.provenAfter && c.s >= p.provenRatio * (c.s + c.f)) return 'proven';
  return 'unknown';
}

/** Levels whose learned records speak for the class. Protocol and default levels only aggregate. */
export const LEARNING_LEVELS: ReadonlySet<ClassLevel> = new Set<ClassLevel>(['version', 'product', 'vendor']);

export interface FoundVerdict {
  verdict: Verdict;
  /** Index in the chain of the level that gave the verdict (chain.length when none). */
  at: number;
  key: string;
  counter: Counter | undefined;
}

/** The most specific learning level with a verdict on `technique`. */
export function findVerdict(
  chain: ReadonlyArray<{ level: ClassLevel; key: string }>,
  profiles: ReadonlyArray<ClassProfile | undefined>,
  technique: Technique,
  p: LearningPolicy,
): FoundVerdict {
  for (let i = 0; i < chain.length; i++) {
    if (!LEARNING_LEVELS.has(chain[i]!.level)) continue;
    const prof = profiles[i];
    if (!prof) continue;
    const c = prof.t[technique];
    const v = verdictOf(c, prof.fs[technique], p);
    if (v !== 'unknown') return { verdict: v, at: i, key: chain[i]!.key, counter: c };
  }
  return { verdict: 'unknown', at: chain.length, key: '', counter: undefined };
}

export function describeCounter(c: Counter | undefined): string {
  if (!c) return 'no record';
  return `${c.s} ok / ${c.f} failed`;
}
