import type { Config } from '../../shared/config/types.js';
import type { ProbeResult } from './prober.js';
import type { CallRecord } from './sipp.js';

/** What the prober saw around a fault at `faultAt` (all times in ms since the epoch). */
export interface Outage {
  /** Fault → the answer to the first probe sent after the fault that succeeded; null: never within the run. */
  recoveryMs: number | null;
  /** Last success answered before the fault → first success after it (both answer times). */
  gapMs: number | null;
  failedProbes: number;
  /** The probe that ended the outage, for where it went. */
  firstOk: ProbeResult | undefined;
  /**
   * The longest time the prober itself sent nothing, from just before the fault to the recovery: on
   * a starved machine it stalls, and then the outage it reports is partly its own.
   */
  proberStallMs: number;
}

/** Largest interval between consecutive probe sends from the last one before `from` up to `to`. */
export function proberStall(probes: readonly ProbeResult[], from: number, to: number): number {
  const all = probes.map((p) => p.sentAt).sort((a, b) => a - b);
  const sends = all.filter((at) => at > from && at <= to);
  let worst = 0;
  let prev = all.filter((at) => at <= from).pop() ?? from;
  for (const at of [...sends, to]) {
    worst = Math.max(worst, at - prev);
    prev = at;
  }
  return worst;
}

/** `via` narrows what counts as recovered (answered by the other POP, say). */
/**
 * `effectiveAt`: when the fault action had completed (a link set down, a process killed); a probe
 * sent before that may still have been served by the failing node and does not count as recovery.
 */
export function outage(probes: readonly ProbeResult[], faultAt: number, via: (p: ProbeResult) => boolean = () => true, effectiveAt = faultAt): Outage {
  const sorted = [...probes].sort((a, b) => a.sentAt - b.sentAt);
  // The last success the caller saw before the fault: answered before it.
  const before = sorted.filter((p) => p.ok && p.doneAt <= faultAt).sort((a, b) => a.doneAt - b.doneAt).pop();
  const firstOk = sorted.find((p) => p.ok && p.sentAt >= effectiveAt && via(p));
  const failedProbes = sorted.filter((p) => !p.ok && p.sentAt >= (before?.sentAt ?? faultAt) && (!firstOk || p.sentAt < firstOk.sentAt)).length;
  const last = sorted[sorted.length - 1]?.sentAt ?? faultAt;
  return {
    recoveryMs: firstOk ? firstOk.doneAt - faultAt : null,
    gapMs: firstOk && before ? firstOk.doneAt - before.doneAt : null,
    failedProbes,
    firstOk,
    proberStallMs: proberStall(sorted, faultAt, firstOk?.sentAt ?? last),
  };
}

/** Probes that failed in [from, to): a blip when nothing should have happened. */
export const failedBetween = (probes: readonly ProbeResult[], from: number, to: number): number => probes.filter((p) => !p.ok && p.sentAt >= from && p.sentAt < to).length;

export interface Losses {
  calls: number;
  completed: number;
  lost: number;
  /** Lost calls a failed node held (by the connector in their Record-Route). */
  lostOnFailed: number;
  /** Lost calls held by nodes that did not fail, plus calls that no connector ever saw. */
  lostOnSurvivors: number;
  /** Lost calls no connector logged: lost before layer 2. */
  neverAnswered: number;
  byConnector: Record<string, number>;
}

/** host:port of a connector worker's plain SIP port → connector name. */
export function connectorNames(config: Config): Map<string, string> {
  const m = new Map<string, string>();
  for (const c of config.connectors) for (const ep of c.endpoints) m.set(`${ep.address}:${ep.sip}`, c.name);
  return m;
}

/**
 * Call-ID → connector, from the connectors' own logs (one "decision" line per call, with the
 * worker): places a call that never got an answer, so never showed its Record-Route.
 */
export function connectorsFromLogs(lines: Iterable<string>): Map<string, string> {
  const seen = new Map<string, string>();
  for (const line of lines) {
    if (!line.includes('"msg":"decision"')) continue;
    try {
      const e = JSON.parse(line) as { callId?: string; worker?: string };
      if (e.callId && e.worker) seen.set(e.callId, e.worker.split('/')[0]!);
    } catch {
      // a line cut by a kill
    }
  }
  return seen;
}

export function losses(calls: readonly CallRecord[], names: ReadonlyMap<string, string>, failed: ReadonlySet<string>, seen: ReadonlyMap<string, string> = new Map()): Losses {
  const out: Losses = { calls: calls.length, completed: 0, lost: 0, lostOnFailed: 0, lostOnSurvivors: 0, neverAnswered: 0, byConnector: {} };
  for (const c of calls) {
    if (c.completed) {
      out.completed++;
      continue;
    }
    out.lost++;
    const name = c.connector ? (names.get(c.connector) ?? c.connector) : seen.get(c.callId);
    if (!name) {
      out.neverAnswered++;
      out.lostOnSurvivors++;
      continue;
    }
    out.byConnector[name] = (out.byConnector[name] ?? 0) + 1;
    if (failed.has(name)) out.lostOnFailed++;
    else out.lostOnSurvivors++;
  }
  return out;
}
