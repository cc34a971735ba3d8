import type { TechniqueName } from '../shared/config/schema.js';
import type { ClassKey } from './identify.js';

export interface TechniqueChoice {
  technique: TechniqueName;
  /** The class key whose setting decided, or 'default'. */
  decidedBy: string;
  reason: string;
}

export interface TechniquePolicy {
  default: TechniqueName;
  classes: Record<string, TechniqueName>;
}

/**
 * The technique for a client class: the most specific configured level of its chain wins, else the
 * configured default (proxy unless set otherwise). The learning engine replaces this boundary.
 */
export function chooseTechnique(chain: readonly ClassKey[], policy: TechniquePolicy): TechniqueChoice {
  for (const c of chain) {
    const t = policy.classes[c.key];
    if (t) return { technique: t, decidedBy: c.key, reason: `configured ${t} for class ${c.key} (${c.level})` };
  }
  return { technique: policy.default, decidedBy: 'default', reason: `no class setting; default ${policy.default}` };
}
