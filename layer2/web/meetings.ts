import type { MeetingConfig } from '../../shared/config/types.js';

/** The characters a meeting name may have: what the config allows, so a request for anything else is no meeting. */
const NAME = /^[^\s\x00-\x1f\x7f/?#%\\]{1,128}$/;

export function validMeetingName(s: string): boolean {
  return NAME.test(s);
}

/** The meetings the appliance knows: exact names first, then the longest `prefix*` that matches. */
export class Meetings {
  readonly #exact = new Map<string, MeetingConfig>();
  readonly #prefixes: MeetingConfig[];

  constructor(list: readonly MeetingConfig[]) {
    const prefixes: MeetingConfig[] = [];
    for (const m of list) {
      if (m.name.endsWith('*')) prefixes.push({ name: m.name.slice(0, -1), customer: m.customer });
      else if (!this.#exact.has(m.name)) this.#exact.set(m.name, m);
    }
    this.#prefixes = prefixes.sort((a, b) => b.name.length - a.name.length);
  }

  /** The meeting's entry (its customer), undefined when the appliance does not know it. */
  find(name: string): { name: string; customer: string } | undefined {
    if (!validMeetingName(name)) return undefined;
    const e = this.#exact.get(name);
    if (e) return { name, customer: e.customer };
    for (const p of this.#prefixes) if (name.startsWith(p.name)) return { name, customer: p.customer };
    return undefined;
  }
}
