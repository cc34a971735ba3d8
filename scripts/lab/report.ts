import type { Figure } from './scenarios.js';

/** One row per measured scenario: the figures, the mechanism's timings, the calls, the result. */
export function table(figures: Figure[]): string {
  const rows = [['round', 'scenario', 'back after', 'gap', 'failed probes', 'calls (done/lost)', 'lost: failed node', 'lost: survivors', 'mechanism', 'result']];
  const ms = (v: number | null): string => (v === null ? '—' : `${v} ms`);
  for (const f of figures) {
    const mech = Object.entries(f.detail)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => `${k}=${v}`)
      .concat(f.proberStallMs > 100 ? [`proberStallMs=${f.proberStallMs}`] : [])
      .join(' ');
    rows.push([
      String(f.round),
      f.scenario,
      ms(f.recoveryMs),
      ms(f.gapMs),
      String(f.failedProbes),
      f.calls ? `${f.calls.calls} (${f.calls.completed}/${f.calls.lost})` : '—',
      f.calls ? String(f.calls.lostOnFailed) : '—',
      f.calls ? String(f.calls.lostOnSurvivors) : '—',
      mech,
      f.missed.length === 0 ? 'ok' : `${f.disturbed ? 'DISTURBED' : 'MISSED'}: ${f.missed.join('; ')}`,
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/** min / median / max of a list of numbers; null when it is empty. */
export function spread(values: readonly number[]): { min: number; median: number; max: number; n: number } | null {
  if (values.length === 0) return null;
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 === 1 ? v[mid]! : Math.round((v[mid - 1]! + v[mid]!) / 2);
  return { min: v[0]!, median, max: v[v.length - 1]!, n: v.length };
}

const range = (values: Array<number | null | undefined>, unit = ' ms'): string => {
  const s = spread(values.filter((x): x is number => typeof x === 'number'));
  return s === null ? '—' : `${s.min} / ${s.median} / ${s.max}${unit}`;
};

/**
 * Per scenario over every round that counts (a DISTURBED row was measured again): min / median / max
 * of the recovery, the gap and the mechanism's own timing, the calls lost, and how many rounds met
 * every target.
 */
export function summary(figures: readonly Figure[]): string {
  const judged = figures.filter((f) => !f.disturbed);
  const scenarios = [...new Set(judged.map((f) => f.scenario))];
  const rows = [['scenario', 'rounds ok', 'back after (min / median / max)', 'gap', 'mechanism', 'lost: failed node', 'lost: survivors', 'failback: calls cut']];
  for (const name of scenarios) {
    const fs = judged.filter((f) => f.scenario === name);
    const mech = fs.map((f) => f.detail.vrrpMasterMs ?? f.detail.routerMovedMs ?? f.detail.movedAfterRestartMs ?? f.detail.movedAfterTakeoverMs);
    const mechName = ['vrrpMasterMs', 'routerMovedMs', 'movedAfterRestartMs', 'movedAfterTakeoverMs'].find((k) => fs.some((f) => typeof f.detail[k] === 'number'));
    rows.push([
      name,
      `${fs.filter((f) => f.missed.length === 0).length}/${fs.length}`,
      range(fs.map((f) => f.recoveryMs)),
      range(fs.map((f) => f.gapMs)),
      mechName ? `${mechName} ${range(mech.map((x) => (typeof x === 'number' ? x : null)))}` : '—',
      range(fs.map((f) => f.calls?.lostOnFailed), ''),
      range(fs.map((f) => f.calls?.lostOnSurvivors), ''),
      name === 'failback' ? range(fs.map((f) => (typeof f.detail.callsCutByRouteChange === 'number' ? f.detail.callsCutByRouteChange : null)), '') : '—',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
