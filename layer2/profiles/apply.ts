import type { ClassProfile, Counter, NetworkProfile, ServerRecord } from '../decide/types.js';
import type { Op, RedirectRecord } from './events.js';

/** Distinct failing sources kept per technique: enough to tell "several callers" from "one". */
const MAX_SOURCES = 8;
/** RTT means stop growing their sample count here, so that new samples keep moving them. */
const RTT_WINDOW = 100;

export const emptyCounter = (): Counter => ({ a: 0, s: 0, f: 0, l: 0, n: 0, ts: 0, tf: 0 });
export const emptyClass = (key: string): ClassProfile => ({ key, t: {}, fs: {}, ovAt: 0, resetAt: 0 });
export const emptyNetwork = (key: string): NetworkProfile => ({ key, servers: {}, pops: {}, ovAt: 0, resetAt: 0 });

/**
 * Copies deep enough that the op can change the copy and leave `prev` as it was (it may sit in a
 * read cache): the maps and the records inside them are new, their numbers and strings shared.
 */
function copyClass(p: ClassProfile): ClassProfile {
  const t: ClassProfile['t'] = {};
  for (const k in p.t) t[k as keyof typeof t] = { ...p.t[k as keyof typeof t]! };
  const fs: ClassProfile['fs'] = {};
  for (const k in p.fs) fs[k as keyof typeof fs] = [...p.fs[k as keyof typeof fs]!];
  return { ...p, t, fs };
}

function copyNetwork(p: NetworkProfile): NetworkProfile {
  const servers: NetworkProfile['servers'] = {};
  for (const k in p.servers) servers[k] = { ...p.servers[k]! };
  const pops: NetworkProfile['pops'] = {};
  for (const k in p.pops) pops[k] = { ...p.pops[k]! };
  return { ...p, servers, pops, ...(p.allow ? { allow: { ...p.allow, names: [...p.allow.names] } } : {}) };
}

function count(c: Counter, ok: boolean, ms: number, at: number): void {
  c.a++;
  if (ok) {
    c.s++;
    if (at > c.ts) c.ts = at;
  } else {
    c.f++;
    if (at > c.tf) c.tf = at;
  }
  if (ms >= 0) {
    c.l += ms;
    c.n++;
  }
}

/** Apply one class op to a copy of the profile; undefined when the op does not concern it. */
export function applyClassOp(prev: ClassProfile | undefined, op: Op): ClassProfile | undefined {
  const p: ClassProfile = prev ? copyClass(prev) : emptyClass((op as { key: string }).key);
  switch (op.o) {
    case 'cls': {
      if (op.at < p.resetAt) return prev;
      const c = (p.t[op.t] ??= emptyCounter());
      count(c, op.ok, op.ms, op.at);
      if (!op.ok && op.src) {
        const list = (p.fs[op.t] ??= []);
        if (!list.includes(op.src)) {
          list.push(op.src);
          if (list.length > MAX_SOURCES) list.shift();
        }
      }
      return p;
    }
    case 'override':
      if (op.kind !== 'class' || op.at < p.ovAt) return prev;
      p.ovAt = op.at;
      if (op.technique === null) delete p.override;
      else p.override = { technique: op.technique, at: op.at, by: op.by };
      return p;
    case 'reset':
      if (op.kind !== 'class' || op.at <= p.resetAt) return prev;
      p.t = {};
      p.fs = {};
      p.resetAt = op.at;
      return p;
    default:
      return undefined;
  }
}

export function applyNetworkOp(prev: NetworkProfile | undefined, op: Op): NetworkProfile | undefined {
  const p: NetworkProfile = prev ? copyNetwork(prev) : emptyNetwork((op as { key: string }).key);
  const server = (name: string): ServerRecord => (p.servers[name] ??= { ...emptyCounter(), blockedUntil: 0, tr: 0 });
  switch (op.o) {
    case 'srv':
      if (op.at < p.resetAt) return prev;
      const s = server(op.server);
      count(s, op.ok, op.ms, op.at);
      if (op.ok && op.direct && op.at > (s.tr ?? 0)) s.tr = op.at;
      return p;
    case 'rtt': {
      if (op.at < p.resetAt) return prev;
      const r = (p.pops[op.pop] ??= { rtt: 0, n: 0 });
      const n = Math.min(r.n, RTT_WINDOW - 1);
      r.rtt = (r.rtt * n + op.ms) / (n + 1);
      r.n++;
      return p;
    }
    case 'block': {
      if (op.at < p.resetAt) return prev;
      const s = server(op.server);
      if (op.until <= s.blockedUntil) return prev;
      s.blockedUntil = op.until;
      return p;
    }
    case 'override':
      if (op.kind !== 'net' || op.at < p.ovAt) return prev;
      p.ovAt = op.at;
      if (op.allow === null) delete p.allow;
      else p.allow = { names: op.allow, at: op.at, by: op.by };
      return p;
    case 'reset':
      if (op.kind !== 'net' || op.at <= p.resetAt) return prev;
      p.servers = {};
      p.pops = {};
      p.resetAt = op.at;
      return p;
    default:
      return undefined;
  }
}

/** A redirect record after an op; the first close wins (an arrival after a miss is logged, not recounted). */
export function applyRedirectOp(prev: RedirectRecord | undefined, op: Op): RedirectRecord | undefined {
  if (op.o === 'redirect') {
    if (prev && prev.state !== 'open') return { ...op.rec, state: prev.state, closedAt: prev.closedAt, closedPop: prev.closedPop };
    return prev ?? { ...op.rec };
  }
  if (op.o === 'close') {
    if (prev && prev.state !== 'open') return prev;
    const base: RedirectRecord = prev ?? {
      token: op.token, protocol: 'sip', server: '', pop: '', chain: [], levels: [], nets: [], src: '', issuedAt: 0, deadline: 0, origin: '', state: 'open', closedAt: 0, closedPop: '',
    };
    return { ...base, state: op.state, closedAt: op.at, closedPop: op.pop };
  }
  return undefined;
}
