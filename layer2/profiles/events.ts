import type { Technique } from '../decide/types.js';
import type { ClassLevel, Protocol } from '../identify.js';

/**
 * What the learning writes, as operations that commute: counters add, block times and RTT means
 * merge, overrides and resets are last-writer-wins by time. A batch of operations from one writer
 * (its origin) with that writer's sequence number is an event: replicas apply every origin's events
 * once each, in any order, and converge.
 */
export type Op =
  /** an outcome of a technique for a class key */
  | { o: 'cls'; key: string; t: Technique; ok: boolean; ms: number; src: string; at: number }
  /** an outcome of a server for a network key; `direct`: the client itself reached it (a redirect followed) */
  | { o: 'srv'; key: string; server: string; ok: boolean; ms: number; at: number; direct?: boolean }
  /** a round-trip time measured from a network to a POP */
  | { o: 'rtt'; key: string; pop: string; ms: number; at: number }
  /** the server is not reachable from the network until `until` */
  | { o: 'block'; key: string; server: string; until: number; at: number }
  /** admin: set (or clear) a class's technique or a network's allowed POPs/servers */
  | { o: 'override'; kind: 'class'; key: string; technique: Technique | null; at: number; by: string }
  | { o: 'override'; kind: 'net'; key: string; allow: string[] | null; at: number; by: string }
  /** admin: forget what was learned for a key */
  | { o: 'reset'; kind: 'class' | 'net'; key: string; at: number; by: string }
  /** a redirect was issued: its token awaits the arrival */
  | { o: 'redirect'; rec: RedirectRecord }
  /** the redirect's fate: the client arrived, or the deadline passed */
  | { o: 'close'; token: string; state: 'arrived' | 'missed'; at: number; pop: string }
  /** one line of the bounded outcome log */
  | { o: 'log'; entry: OutcomeEntry };

export interface RedirectRecord {
  token: string;
  protocol: Protocol;
  server: string;
  pop: string;
  /** class keys of the client, most specific first, and their levels */
  chain: string[];
  levels: ClassLevel[];
  /** physical network keys of the client */
  nets: string[];
  /** hash of the client's address */
  src: string;
  issuedAt: number;
  deadline: number;
  origin: string;
  state: 'open' | 'arrived' | 'missed';
  closedAt: number;
  closedPop: string;
  /** The technique that issued the token: a protocol redirect (when absent), a join link (uri) or an HTTP redirect. */
  technique?: IssuedTechnique;
  /** uri: the tokens of the other links of the same join page. */
  peers?: string[];
  /** Digests of the identifiers a client following the redirect keeps, each with its network (route/identifiers.ts). */
  ids?: string[];
}

/** Techniques whose outcome is seen where the client arrives with a token. */
export type IssuedTechnique = 'redirect' | 'uri' | 'http';

export interface OutcomeEntry {
  at: number;
  origin: string;
  protocol: string;
  /** what happened: proxied, local, redirected, arrival, missed, failover... */
  event: string;
  technique: string;
  cls: string;
  net: string;
  server: string;
  ok: boolean;
  ms: number;
  detail: string;
}

export interface ProfileEvent {
  origin: string;
  seq: number;
  at: number;
  ops: Op[];
}

const TECHNIQUES = new Set(['proxy', 'redirect', 'local', 'uri', 'http']);
const ISSUED = new Set(['redirect', 'uri', 'http']);
const PROTOCOLS = new Set(['sip', 'h323', 'web']);
const LEVELS = new Set(['version', 'product', 'vendor', 'protocol', 'default']);
const isStr = (v: unknown, max = 512): v is string => typeof v === 'string' && v.length <= max;
const isKey = (v: unknown): v is string => isStr(v, 512) && v.length > 0;
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isTime = (v: unknown): v is number => isNum(v) && v >= 0;
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isStrArr = (v: unknown, max = 64): v is string[] => Array.isArray(v) && v.length <= max && v.every((x) => isStr(x));

/** Why an op from elsewhere cannot be applied, or undefined when it is well formed. */
export function invalidOp(op: unknown): string | undefined {
  if (op === null || typeof op !== 'object') return 'op is not an object';
  const o = op as Record<string, unknown>;
  switch (o.o) {
    case 'cls':
      if (!isKey(o.key) || !TECHNIQUES.has(o.t as string) || !isBool(o.ok) || !isNum(o.ms) || !isStr(o.src, 64) || !isTime(o.at)) return 'bad cls op';
      return undefined;
    case 'srv':
      if (!isKey(o.key) || !isKey(o.server) || !isBool(o.ok) || !isNum(o.ms) || !isTime(o.at) || (o.direct !== undefined && !isBool(o.direct))) return 'bad srv op';
      return undefined;
    case 'rtt':
      if (!isKey(o.key) || !isKey(o.pop) || !isNum(o.ms) || o.ms < 0 || !isTime(o.at)) return 'bad rtt op';
      return undefined;
    case 'block':
      if (!isKey(o.key) || !isKey(o.server) || !isTime(o.until) || !isTime(o.at)) return 'bad block op';
      return undefined;
    case 'override':
      if (!isKey(o.key) || !isTime(o.at) || !isStr(o.by, 128)) return 'bad override op';
      if (o.kind === 'class' && (o.technique === null || TECHNIQUES.has(o.technique as string))) return undefined;
      if (o.kind === 'net' && (o.allow === null || isStrArr(o.allow))) return undefined;
      return 'bad override op';
    case 'reset':
      if (!isKey(o.key) || (o.kind !== 'class' && o.kind !== 'net') || !isTime(o.at) || !isStr(o.by, 128)) return 'bad reset op';
      return undefined;
    case 'redirect': {
      const r = o.rec as Record<string, unknown> | null;
      if (!r || typeof r !== 'object' || !isKey(r.token) || !isKey(r.server) || !isStr(r.pop) || !isStrArr(r.chain, 8) || !isStrArr(r.levels, 8) || !isStrArr(r.nets, 8)) return 'bad redirect op';
      if ((r.levels as string[]).length !== (r.chain as string[]).length || !(r.levels as string[]).every((l) => LEVELS.has(l))) return 'bad redirect op';
      if (!isTime(r.issuedAt) || !isTime(r.deadline) || !isStr(r.origin) || !isStr(r.src, 64) || !PROTOCOLS.has(r.protocol as string)) return 'bad redirect op';
      if ((r.technique !== undefined && !ISSUED.has(r.technique as string)) || (r.peers !== undefined && !isStrArr(r.peers, 8))) return 'bad redirect op';
      if (r.ids !== undefined && !(isStrArr(r.ids, 8) && (r.ids as string[]).every((d) => /^[0-9a-f]{32}$/.test(d)))) return 'bad redirect op';
      return undefined;
    }
    case 'close':
      if (!isKey(o.token) || (o.state !== 'arrived' && o.state !== 'missed') || !isTime(o.at) || !isStr(o.pop)) return 'bad close op';
      return undefined;
    case 'log': {
      const e = o.entry as Record<string, unknown> | null;
      if (!e || typeof e !== 'object' || !isTime(e.at) || !isStr(e.event, 64) || !isStr(e.detail, 1024) || !isBool(e.ok)) return 'bad log op';
      return undefined;
    }
    default:
      return `unknown op ${String(o.o).slice(0, 32)}`;
  }
}

/** Largest event accepted from the stream, as JSON (NATS's own default payload limit). */
export const MAX_EVENT_BYTES = 1024 * 1024;
/** Most ops one event may carry. */
export const MAX_EVENT_OPS = 256;

/**
 * The local side of the replication screen: the ops of an event about to be committed here that
 * `invalidEvent` would accept elsewhere, and why each other one was refused. What this host writes
 * and queues for the other POPs is thus never rejected there.
 */
export function screenOps(ops: readonly Op[]): { ok: Op[]; refused: string[] } {
  const ok: Op[] = [];
  const refused: string[] = [];
  for (const op of ops) {
    const why = ok.length >= MAX_EVENT_OPS ? `more than ${MAX_EVENT_OPS} ops in one event` : invalidOp(op);
    if (why) refused.push(why);
    else ok.push(op);
  }
  return { ok, refused };
}

/** Why an event from elsewhere cannot be applied, or undefined. */
export function invalidEvent(ev: unknown): string | undefined {
  if (ev === null || typeof ev !== 'object') return 'event is not an object';
  const e = ev as Record<string, unknown>;
  if (!isKey(e.origin) || e.origin.length > 128) return 'bad origin';
  if (!Number.isSafeInteger(e.seq) || (e.seq as number) < 1) return 'bad sequence number';
  if (!isTime(e.at)) return 'bad time';
  if (!Array.isArray(e.ops) || e.ops.length === 0 || e.ops.length > MAX_EVENT_OPS) return 'bad op list';
  for (const op of e.ops) {
    const why = invalidOp(op);
    if (why) return why;
  }
  return undefined;
}
