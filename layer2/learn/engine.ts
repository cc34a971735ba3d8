import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { DeploymentConfig, ServerConfig } from '../../shared/config/types.js';
import type { Logger } from '../../shared/logger.js';
import { decide } from '../decide/decide.js';
import type { Decision, NetworkId, Technique, Topology } from '../decide/types.js';
import type { GeoResult, Geo } from '../geo/geo.js';
import { classChain, type ClassKey, type ClientIdentity, type Protocol } from '../identify.js';
import type { IssuedTechnique, Op, OutcomeEntry, RedirectRecord } from '../profiles/events.js';
import type { ProfileStore } from '../profiles/store.js';
import { attributeMiss } from './attribution.js';
import type { LiveView } from './live.js';
import { NetworkIdentifier } from './network.js';
import { SourceRateLimit } from './rate-limit.js';
import { LogBudget } from '../../shared/log-budget.js';
import { buildTopology } from './topology.js';

/** What a connector knows about a new request before deciding. */
export interface RequestInfo {
  protocol: Protocol;
  /** Call-ID or H.225 call identifier, for the logs. */
  callId: string;
  identity: ClientIdentity;
  /** The client's address (from PROXY v2 when behind layer 1). */
  source: string;
  /** SIP From domain, H.323 alias domain; '' when none. */
  domain: string;
  /** The meeting dialled (Request-URI user, dialled alias). */
  meeting: string;
  /** The customer the request names (e.g. the meeting's owner), used when its network names none. */
  customer?: string;
}

/** How a token is issued: its technique, its deadline when not `learning.redirectDeadlineMs`, the other links of a join page, the arrival identifiers' digests. */
export interface IssueOptions {
  technique?: IssuedTechnique;
  deadlineMs?: number;
  peers?: string[];
  ids?: string[];
}

/** A request with everything the decision used, kept by the connector until its outcome is known. */
export interface CallContext extends RequestInfo {
  chain: ClassKey[];
  networks: NetworkId[];
  customer: string;
  geo: GeoResult;
  workType: string;
  srcHash: string;
  decision: Decision;
  at: number;
}

export interface EngineOptions {
  config: DeploymentConfig;
  store: ProfileStore;
  geo: Geo;
  live: LiveView;
  log: Logger;
  registry: Registry;
  /** The POP of the connector this engine decides for (default: the config's `pop`). */
  localPop?: string;
  /** The clock (tests); default Date.now. */
  now?: () => number;
}

/** FNV-1a of the source address: distinct failing callers are counted without keeping addresses. */
export function sourceHash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * The learning engine of one connector process: identifies the network and location of a request,
 * reads the profiles, calls the pure `decide()`, logs the decision with its reasons, and turns every
 * outcome (a carried call, a redirect followed or missed) into profile events.
 */
export class LearningEngine {
  topology: Topology;
  readonly localPop: string;
  readonly #c: DeploymentConfig;
  readonly #store: ProfileStore;
  readonly #geo: Geo;
  readonly #live: LiveView;
  readonly #log: Logger;
  #nets: NetworkIdentifier;
  #limit: SourceRateLimit;
  #suspects: SourceRateLimit;
  #servers: Map<string, ServerConfig>;
  readonly #now: () => number;
  /** Redirects this process issued: token → when a missing arrival becomes a failure, and the class. */
  readonly #pending = new Map<string, { due: number; cls: string }>();
  /** Redirects awaiting their arrival per class key: a redirect not yet proven is tried one at a time. */
  readonly #probation = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #lastAdopt = 0;
  readonly #m: {
    decisions: Counter<'technique'>;
    outcomes: Counter<'technique' | 'outcome'>;
    misses: Counter<'cause'>;
    limited: Counter;
    suspectLimited: Counter;
    pending: Gauge;
    decideSeconds: Histogram;
    writeErrors: Counter;
    storeFailing: Gauge;
    refusedOps: Counter<'kind'>;
    changes: Counter;
  };
  readonly #noticeLog = new LogBudget(10, 60_000);
  readonly #writeLog = new LogBudget(5, 60_000);
  readonly #lastTechnique = new Map<string, string>();

  constructor(o: EngineOptions) {
    this.#c = o.config;
    this.#store = o.store;
    this.#geo = o.geo;
    this.#live = o.live;
    this.#log = o.log;
    this.topology = buildTopology(o.config, o.localPop ?? o.config.pop);
    this.localPop = this.topology.localPop;
    this.#nets = new NetworkIdentifier(o.config.networks);
    this.#limit = new SourceRateLimit(o.config.learning.perSourcePerMinute);
    this.#suspects = new SourceRateLimit(o.config.serverHealth.suspectPerSourcePerMinute);
    this.#servers = new Map(o.config.servers.map((s) => [s.name, s]));
    this.#now = o.now ?? Date.now;
    const r = [o.registry];
    const pending = this.#pending;
    const store = o.store;
    let counted = 0;
    this.#m = {
      decisions: new Counter({ name: 'vcp_decisions_total', help: 'load-balancing decisions by technique', labelNames: ['technique'], registers: r }),
      outcomes: new Counter({ name: 'vcp_decision_outcomes_total', help: 'outcomes learned, by technique and outcome (success, failure, arrived, missed)', labelNames: ['technique', 'outcome'], registers: r }),
      misses: new Counter({ name: 'vcp_redirect_misses_total', help: 'redirects never followed, by attributed cause (client, network, unknown)', labelNames: ['cause'], registers: r }),
      limited: new Counter({ name: 'vcp_learning_rate_limited_total', help: 'outcomes not learned because their source address taught too much', registers: r }),
      suspectLimited: new Counter({ name: 'vcp_passive_health_limited_total', help: 'server failures not marking the server suspect because their source address failed too often', registers: r }),
      pending: new Gauge({ name: 'vcp_redirects_pending', help: 'redirects issued here awaiting their arrival', registers: r, collect(this: Gauge) { this.set(pending.size); } }),
      decideSeconds: new Histogram({ name: 'vcp_decide_seconds', help: 'time of one decision with its profile reads', buckets: [0.000005, 0.00001, 0.00002, 0.00005, 0.0001, 0.001], registers: r }),
      writeErrors: new Counter({
        name: 'vcp_profile_write_errors_total', help: 'profile store writes that failed (this process; a full disk or map, an I/O error)', registers: r,
        collect(this: Counter) {
          const n = store.writeErrors - counted;
          if (n > 0) this.inc(n);
          counted = store.writeErrors;
        },
      }),
      storeFailing: new Gauge({ name: 'vcp_profile_store_write_failing', help: '1 while the profile store\'s writes are failing (decisions go on from what it holds)', registers: r, collect(this: Gauge) { this.set(store.writeHealth().failing ? 1 : 0); } }),
      refusedOps: new Counter({ name: 'vcp_profile_screened_total', help: 'profile ops refused by the local screen (refused), sequence numbers given up as never arriving (hole-abandoned)', labelNames: ['kind'], registers: r }),
      changes: new Counter({ name: 'vcp_learning_technique_changes_total', help: 'client classes whose decided technique changed (redirect proven or broken, an override)', registers: r }),
    };
    o.store.onNotice = (n) => {
      this.#m.refusedOps.labels(n.kind).inc(n.count);
      const b = this.#noticeLog.take(Date.now());
      if (b.ok) this.#log.warn({ kind: n.kind, origin: n.origin, detail: n.detail, count: n.count, suppressedLines: b.suppressed || undefined }, n.kind === 'refused' ? 'profile ops refused by the replication screen, not written' : 'replication hole given up');
    };
  }

  /**
   * A reload: the config object this engine was given now holds the new values (see
   * shared/config/live.ts); what it derived from them is built again. The next decision uses them.
   */
  reconfigure(): void {
    this.topology = buildTopology(this.#c, this.localPop);
    this.#nets = new NetworkIdentifier(this.#c.networks);
    this.#limit = new SourceRateLimit(this.#c.learning.perSourcePerMinute);
    this.#suspects = new SourceRateLimit(this.#c.serverHealth.suspectPerSourcePerMinute);
    this.#servers = new Map(this.#c.servers.map((s) => [s.name, s]));
  }

  start(): void {
    for (const rec of this.#store.openRedirects()) if (rec.origin === this.#store.origin) this.#track(rec.token, rec.deadline + this.#c.learning.arrivalGraceMs, probationKey(rec));
    this.#timer = setInterval(() => this.sweep(this.#now()), 250);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  /** The keys of the networks a source is in whose reach is physical (its address prefix, a configured network). */
  physicalNetworks(source: string, domain: string): string[] {
    return this.#nets.identify(source, domain).ids.filter((n) => n.physical).map((n) => n.key);
  }

  /** The redirect record issued with one of these identifier digests (route/identifiers.ts). */
  redirectByDigest(digests: readonly string[]): RedirectRecord | undefined {
    return digests.length ? this.#store.redirectByDigest(digests) : undefined;
  }

  /** Identify, read profiles, decide, log. `explain`: the same without logging or counting (admin). */
  decide(info: RequestInfo, exclude: readonly string[] = [], explain = false): CallContext {
    const t0 = process.hrtime.bigint();
    const chain = classChain(info.identity);
    const net = this.#nets.identify(info.source, info.domain);
    const geo = net.bytes ? this.#geo.locate(info.source, net.bytes) : { country: '', continent: '', pop: '', source: 'unknown' as const };
    const workType = this.#workType(chain);
    const customer = net.customer || info.customer || '';
    const snap = this.#store.snapshot(chain, net.ids);
    const now = this.#now();
    const decision = decide(
      { protocol: info.protocol, client: info.identity, chain, source: info.source, networks: net.ids, geo, customer, meeting: info.meeting, workType, exclude },
      snap,
      this.topology,
      this.#live.state(now, this.#probation),
    );
    const ctx: CallContext = { ...info, chain, networks: net.ids, customer, geo, workType, srcHash: sourceHash(info.source), decision, at: now };
    if (explain) return ctx;
    this.#m.decideSeconds.observe(Number(process.hrtime.bigint() - t0) / 1e9);
    this.#m.decisions.labels(decision.technique).inc();
    // Local and proxy are one technique here; a redirect held back by probation is not a change.
    if (!decision.reasons.some((r) => r.includes('not yet proven'))) this.#noteTechnique(chain[0]!.key, decision.technique === 'local' ? 'proxy' : decision.technique, decision.decidedBy);
    // The line's fields are built only when it is written.
    if (this.#log.isLevelEnabled('info')) this.#log.info(
      {
        callId: info.callId, protocol: info.protocol, source: info.source, client: info.identity, class: chain[0]!.key,
        networks: net.ids.map((n) => n.key), geo: geo.country || geo.source, pop: decision.pop, server: decision.server,
        technique: decision.technique, decidedBy: decision.decidedBy, exclude: exclude.length ? exclude : undefined, reasons: decision.reasons,
      },
      'decision',
    );
    return ctx;
  }


  /**
   * A class whose technique changes (learning proved or broke redirect for it, an override) is
   * counted and logged once per change: `vcp_learning_technique_changes_total`, the alert
   * VcproxyLearningFlipping when it keeps changing. Bounded: the last technique of at most 10,000
   * classes is remembered.
   */
  #noteTechnique(cls: string, technique: string, decidedBy: string): void {
    const last = this.#lastTechnique.get(cls);
    if (last === technique) return;
    if (last === undefined) {
      if (this.#lastTechnique.size >= 10_000) this.#lastTechnique.clear();
      this.#lastTechnique.set(cls, technique);
      return;
    }
    this.#lastTechnique.set(cls, technique);
    this.#m.changes.inc();
    this.#log.warn({ event: 'technique_changed', class: cls, from: last, to: technique, decidedBy }, `technique of ${cls} changed from ${last} to ${technique}`);
  }

  #workType(chain: readonly ClassKey[]): string {
    for (const c of chain) {
      const w = this.#c.workTypes.classes[c.key];
      if (w) return w;
    }
    return this.#c.workTypes.default;
  }

  /** Capacity units a call of this context costs on `server`. */
  cost(ctx: CallContext, server: string): number {
    return this.#servers.get(server)?.workTypes[ctx.workType] ?? 1;
  }

  /** A proxied (or local) call ended its setup: the server answered (ok) or failed to. */
  carried(ctx: CallContext, server: string, technique: Technique, ok: boolean, ms: number, detail: string): void {
    this.#m.outcomes.labels(technique, ok ? 'success' : 'failure').inc();
    // Passive health: a server that just failed is avoided for a while. One source address marks
    // servers suspect at most `suspectPerSourcePerMinute` times, so a caller that makes calls fail on
    // purpose cannot keep servers out of the decisions.
    const at = this.#now();
    if (ok) this.#live.cleared(server);
    else if (this.#c.serverHealth.suspectMs > 0) {
      if (this.#suspects.allow(ctx.source, at)) this.#live.suspect(server, at + this.#c.serverHealth.suspectMs);
      else this.#m.suspectLimited.inc();
    }
    if (!this.#limit.allow(ctx.source, at)) {
      this.#m.limited.inc();
      return;
    }
    const ops: Op[] = [];
    // A server failure says nothing about the client class: only successes teach the class.
    if (ok) for (const c of ctx.chain) ops.push({ o: 'cls', key: c.key, t: technique, ok, ms, src: ctx.srcHash, at });
    for (const n of ctx.networks) if (n.physical) ops.push({ o: 'srv', key: n.key, server, ok, ms, at });
    ops.push(this.#logOp(ctx, technique === 'local' ? 'local' : 'proxied', technique, server, ok, ms, detail));
    this.#write(ops);
  }

  /** A round trip measured from the client's network to this POP (e.g. 2xx sent → ACK). */
  rtt(ctx: CallContext, ms: number): void {
    const at = this.#now();
    if (!(ms >= 0) || ms > 10_000 || !this.#limit.allow(ctx.source, at)) return;
    const ops: Op[] = [];
    for (const n of ctx.networks) if (n.physical) ops.push({ o: 'rtt', key: n.key, pop: this.localPop, ms, at });
    if (ops.length) this.#write(ops);
  }

  /**
   * Record a redirect issued under `token` (the record's key: the id of a minted token, route/tokens.ts)
   * with its deadline. The same bookkeeping serves the join page's links (`uri`) and HTTP redirects (`http`).
   */
  redirected(ctx: CallContext, server: string, token: string, opts: IssueOptions = {}): string {
    const technique = opts.technique ?? 'redirect';
    const now = this.#now();
    const s = this.#servers.get(server);
    const rec: RedirectRecord = {
      token, protocol: ctx.protocol, server, pop: s?.pop ?? '', chain: ctx.chain.map((c) => c.key), levels: ctx.chain.map((c) => c.level),
      nets: ctx.networks.filter((n) => n.physical).map((n) => n.key), src: ctx.srcHash, issuedAt: now,
      deadline: now + (opts.deadlineMs ?? this.#c.learning.redirectDeadlineMs), origin: this.#store.origin, state: 'open', closedAt: 0, closedPop: '',
      ...(technique !== 'redirect' ? { technique } : {}),
      ...(opts.peers?.length ? { peers: opts.peers } : {}),
      ...(opts.ids?.length ? { ids: opts.ids } : {}),
    };
    this.#track(token, rec.deadline + this.#c.learning.arrivalGraceMs, probationKey(rec));
    this.#write([{ o: 'redirect', rec }, this.#logOp(ctx, technique === 'uri' ? 'issued' : 'redirected', technique, server, true, -1, `token ${token}`)]);
    return token;
  }

  /**
   * Resolves when the profile writes issued so far are committed, so that every process of the host
   * sees them: a redirect record, before the client it names can arrive at another process.
   */
  written(): Promise<unknown> {
    return this.#store.flushed;
  }

  /**
   * A client arrived with a redirect token: the redirect is closed as a success, and the call goes to
   * the server the redirect named (from its record, or `hint` when the record has not reached this
   * host yet), then to the other servers of that POP. Undefined when neither names a known server.
   * The outcome counts for the record's technique (`fallback` while the record is not here); a join
   * link's success counts for the class of the client that used it.
   */
  arrival(token: string, arriving: RequestInfo, hint: string, fallback: IssuedTechnique = 'redirect'): CallContext | undefined {
    const rec = this.#store.redirect(token);
    const name = rec?.server || hint;
    const s = this.#servers.get(name);
    if (!s) return undefined;
    const now = this.#now();
    this.#untrack(token);
    const limited = !this.#limit.allow(arriving.source, now);
    if (limited) this.#m.limited.inc();
    const chain = classChain(arriving.identity);
    const net = this.#nets.identify(arriving.source, arriving.domain);
    let outcome = 'arrived';
    let issued: IssuedTechnique = rec?.technique ?? fallback;
    void this.#store
      .transact((view) => {
        const cur = view.redirect(token);
        if (cur && cur.state !== 'open') {
          outcome = cur.state === 'arrived' ? 'duplicate' : 'late';
          return cur.state === 'missed' ? [this.#arrivalLog(arriving, name, token, now, cur, 'arrived after its deadline', cur.technique ?? 'redirect')] : undefined;
        }
        if (cur) issued = cur.technique ?? 'redirect';
        const ops: Op[] = [{ o: 'close', token, state: 'arrived', at: now, pop: this.localPop }];
        if (!limited) {
          const keys = cur && issued !== 'uri' ? cur.chain : chain.map((c) => c.key);
          const nets = cur && issued !== 'uri' ? cur.nets : net.ids.filter((n) => n.physical).map((n) => n.key);
          const ms = cur ? now - cur.issuedAt : -1;
          const src = sourceHash(arriving.source);
          for (const key of keys) ops.push({ o: 'cls', key, t: issued, ok: true, ms, src, at: now });
          for (const key of nets) ops.push({ o: 'srv', key, server: name, ok: true, ms, at: now, direct: true });
        }
        ops.push(this.#arrivalLog(arriving, name, token, now, cur, `${FOLLOWED[issued]}${cur ? '' : ' (record not here yet)'}`, issued));
        return ops;
      })
      .then(
        () => {
          if (outcome === 'arrived') this.#m.outcomes.labels(issued, 'arrived').inc();
        },
        (err: unknown) => this.#writeFailed(err),
      );
    const others = this.#c.servers.filter((x) => x.pop === s.pop && x.name !== s.name && !this.#live.state(now).servers.get(x.name)?.drained);
    const technique: Technique = s.pop === this.localPop ? 'local' : 'proxy';
    const decision: Decision = {
      pop: s.pop, server: s.name, candidates: [s, ...others].map((x) => ({ server: x.name, pop: x.pop })), technique, decidedBy: 'arrival',
      reasons: [`arrival of ${WHAT[issued]} ${token}${rec ? ` issued by ${rec.origin}` : ''}: carried to ${s.name}, the server it named`],
    };
    this.#log.info({ callId: arriving.callId, protocol: arriving.protocol, source: arriving.source, class: chain[0]!.key, pop: s.pop, server: s.name, technique, decidedBy: 'arrival', reasons: decision.reasons }, 'decision');
    return {
      ...arriving, chain, networks: net.ids, customer: net.customer, geo: { country: '', continent: '', pop: '', source: 'unknown' }, workType: this.#workType(chain),
      srcHash: sourceHash(arriving.source), decision, at: now,
    };
  }

  /** Close the redirects whose deadline (plus grace) passed without an arrival. */
  sweep(now: number): void {
    if (now - this.#lastAdopt > 30_000) {
      this.#lastAdopt = now;
      // Records left open by a process that is gone: any process may close them, once.
      const late = now - 5 * this.#c.learning.arrivalGraceMs;
      for (const rec of this.#store.openRedirects()) if (rec.deadline < late && !this.#pending.has(rec.token)) this.#pending.set(rec.token, { due: 0, cls: '' });
    }
    for (const [token, p] of this.#pending) {
      if (p.due > now) {
        // An arrival at another process of this host (or replicated from another POP) closed it.
        if (this.#store.redirect(token)?.state === 'arrived') this.#untrack(token);
        continue;
      }
      this.#untrack(token);
      this.#missed(token, now);
    }
  }

  #track(token: string, due: number, cls: string): void {
    this.#pending.set(token, { due, cls });
    if (cls) this.#probation.set(cls, (this.#probation.get(cls) ?? 0) + 1);
  }

  #untrack(token: string): void {
    const p = this.#pending.get(token);
    if (!p) return;
    this.#pending.delete(token);
    const n = (this.#probation.get(p.cls) ?? 1) - 1;
    if (n > 0) this.#probation.set(p.cls, n);
    else this.#probation.delete(p.cls);
  }

  #missed(token: string, now: number): void {
    let cause = '';
    let technique: IssuedTechnique = 'redirect';
    void this.#store
      .transact((view) => {
        const rec = view.redirect(token);
        if (!rec || rec.state !== 'open') return undefined;
        technique = rec.technique ?? 'redirect';
        const base = { at: now, origin: this.#store.origin, protocol: rec.protocol, technique, cls: rec.chain[0] ?? '', net: rec.nets[0] ?? '', server: rec.server, ok: false, ms: -1 };
        if (technique === 'uri') {
          // A join link not used is no failure: another way in of the page was taken, or the visitor
          // did not join at all. It teaches nothing.
          cause = 'unused';
          const used = rec.peers?.find((p) => view.redirect(p)?.state === 'arrived');
          const detail = used ? `token ${token}: link ${used} of the same page was used` : `token ${token}: no link of the page was used`;
          return [{ o: 'close', token, state: 'missed', at: now, pop: this.localPop }, { o: 'log', entry: { ...base, event: 'unused', detail } }];
        }
        const popServers = this.#c.servers.filter((s) => s.pop === rec.pop).map((s) => s.name);
        const a = attributeMiss(rec, popServers, view, this.topology.learning, now, this.#c.learning.blockRetryMs);
        cause = a.cause;
        const entry: OutcomeEntry = { ...base, event: 'missed', detail: `token ${token}: ${a.cause}: ${a.detail}` };
        this.#log.warn({ token, server: rec.server, pop: rec.pop, class: rec.chain[0], networks: rec.nets, cause: a.cause, detail: a.detail }, 'redirect not followed');
        return [{ o: 'close', token, state: 'missed', at: now, pop: this.localPop }, ...a.ops, { o: 'log', entry }];
      })
      .then(
        () => {
          if (cause === 'unused') this.#m.outcomes.labels(technique, 'unused').inc();
          else if (cause) {
            this.#m.outcomes.labels(technique, 'missed').inc();
            this.#m.misses.labels(cause).inc();
          }
        },
        (err: unknown) => this.#writeFailed(err),
      );
  }

  #arrivalLog(a: RequestInfo, server: string, token: string, now: number, rec: RedirectRecord | undefined, what: string, technique: IssuedTechnique): Op {
    const entry: OutcomeEntry = {
      at: now, origin: this.#store.origin, protocol: a.protocol, event: 'arrival', technique,
      cls: (technique !== 'uri' && rec?.chain[0]) || classChain(a.identity)[0]!.key,
      net: rec?.nets[0] ?? '', server, ok: true, ms: rec ? now - rec.issuedAt : -1, detail: `token ${token}: ${what}`,
    };
    return { o: 'log', entry };
  }

  #logOp(ctx: CallContext, event: string, technique: string, server: string, ok: boolean, ms: number, detail: string): Op {
    return {
      o: 'log',
      entry: { at: this.#now(), origin: this.#store.origin, protocol: ctx.protocol, event, technique, cls: ctx.chain[0]!.key, net: ctx.networks[0]?.key ?? '', server, ok, ms, detail },
    };
  }

  #write(ops: Op[]): void {
    this.#store.record(ops).catch((err: unknown) => this.#writeFailed(err));
  }

  /** Counted by the store (metric, /health alarm); told in the log a few times a minute, not per write. */
  #writeFailed(err: unknown): void {
    const b = this.#writeLog.take(Date.now());
    if (b.ok) this.#log.error({ code: 'VCP_ERR_PROFILE_WRITE', err, errors: this.#store.writeErrors, suppressedLines: b.suppressed || undefined }, 'profile write failed; decisions go on from what the store holds');
  }
}

const WHAT: Record<IssuedTechnique, string> = { redirect: 'redirect', uri: 'join link', http: 'HTTP redirect' };
const FOLLOWED: Record<IssuedTechnique, string> = { redirect: 'redirect followed', uri: 'join link used', http: 'HTTP redirect followed' };

/** Only protocol redirects are on probation (one at a time per unproven class): the class they count for. */
function probationKey(rec: RedirectRecord): string {
  return (rec.technique ?? 'redirect') === 'redirect' ? (rec.chain[0] ?? '') : '';
}
