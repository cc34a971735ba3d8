import { changedSections, sameValue } from '../shared/config/live.js';
import type { Config, WorkerEndpoint } from '../shared/config/types.js';

/**
 * Sections a running worker cannot take at once: they decide its sockets' meaning or what it opened
 * at start (the well-known address in its Via and Record-Route, the profile store, the outbox, the
 * geo database, the user it runs as). A change replaces every worker.
 */
export const WORKER_RESTART_SECTIONS = ['wellKnown', 'profiles', 'replication', 'geo', 'runAs'] as const;

/** What a reload does to the workers of one connector. */
export interface ReloadPlan {
  /** Workers that take the new config at once (same endpoint, same code). */
  reconfigure: number[];
  /** Workers replaced one at a time: drained, stopped when their calls ended, started again. */
  replace: Array<{ index: number; why: string }>;
  /** New workers (the connector has more than before). */
  add: number[];
  /** Workers drained and stopped for good (the connector has fewer). */
  remove: number[];
  /** Top-level sections that changed. */
  changed: string[];
}

export interface RunningWorker {
  endpoint: WorkerEndpoint;
  /** The code identity the worker was started with. */
  code: string;
}

/**
 * The plan of a reload, a pure function of the running workers, the old and new configuration and the
 * code on disk now: a worker whose endpoint (address, ports) changed, whose code is not the code on
 * disk (an upgrade), or that a restart section concerns is replaced; the others are reconfigured.
 */
export function planReload(running: ReadonlyMap<number, RunningWorker>, before: Config, after: Config, connector: string, code: string): ReloadPlan {
  const changed = changedSections(before, after).filter((k) => k !== 'file');
  const restart = WORKER_RESTART_SECTIONS.filter((k) => changed.includes(k));
  const next = after.connectors.find((c) => c.name === connector)?.endpoints ?? [];
  const plan: ReloadPlan = { reconfigure: [], replace: [], add: [], remove: [], changed };
  for (const [index, w] of [...running].sort((a, b) => a[0] - b[0])) {
    const ep = next[index];
    if (!ep) plan.remove.push(index);
    else if (!sameValue(ep, w.endpoint)) plan.replace.push({ index, why: 'its address or ports changed' });
    else if (w.code !== code) plan.replace.push({ index, why: 'new code was installed' });
    else if (restart.length > 0) plan.replace.push({ index, why: `${restart.join(', ')} changed` });
    else plan.reconfigure.push(index);
  }
  for (const ep of next) if (!running.has(ep.index)) plan.add.push(ep.index);
  return plan;
}

export function describePlan(p: ReloadPlan): string {
  const parts = [
    p.changed.length ? `changed: ${p.changed.join(', ')}` : 'no configuration change',
    `${p.reconfigure.length} worker(s) reconfigured at once`,
  ];
  if (p.replace.length) parts.push(`replacing one at a time: ${p.replace.map((r) => `${r.index} (${r.why})`).join(', ')}`);
  if (p.add.length) parts.push(`adding ${p.add.join(', ')}`);
  if (p.remove.length) parts.push(`removing ${p.remove.join(', ')}`);
  return parts.join('; ');
}
