import { createHmac, randomBytes } from 'node:crypto';
import { Counter, type Registry } from 'prom-client';
import type { ConnectorConfig, LearningConfig, ServerConfig, TokensConfig, WorkerEndpoint } from '../../shared/config/types.js';
import type { Logger } from '../../shared/logger.js';
import type { Decision, LearningPolicy, Technique } from '../decide/types.js';
import { classChain } from '../identify.js';
import type { CallContext, LearningEngine, RequestInfo } from '../learn/engine.js';
import type { LiveView } from '../learn/live.js';
import type { IssuedTechnique } from '../profiles/events.js';
import { RoutedCall, type CallSink } from './call.js';
import { arrivalDigests } from './identifiers.js';
import { tokenKeys } from './keys.js';
import { TokenSigner } from './tokens.js';

/** Which port a server needs to take the call: SIP, H.225, or none (a browser). */
export type Wire = 'sip' | 'h323' | 'web';

/** A new call (or page) as a connector presents it to the router. */
export interface RouteRequest extends RequestInfo {
  /** A token the request carries (SIP URI parameter, H.323 join alias, HTTP query); '' or absent: none. */
  token?: string;
  /** What a client following a redirect keeps (identifiers.ts); checked only from the network the redirect went to. */
  identifiers?: readonly string[];
  /** Whether the request can be answered with a redirect (a SIP INVITE; an H.323 Setup with a call identifier). */
  redirectable: boolean;
}

/** Where a redirected client is sent. */
export interface RedirectTarget {
  address: string;
  port: number;
  /** true: a connector of the server's POP, which sees the arrival; false: the server itself (its POP has no connector port for this wire). */
  viaConnector: boolean;
}

export type Routing =
  | { action: 'carry'; call: RoutedCall }
  | { action: 'redirect'; ctx: CallContext; server: ServerConfig; token: string; id: string; to: RedirectTarget }
  | { action: 'refuse'; ctx: CallContext };

export interface IssueOptions {
  technique: IssuedTechnique;
  /** The record's key (`newId()`), when the caller needs it before issuing (a join page's links name each other). */
  id?: string;
  /** Default: `learning.redirectDeadlineMs`. */
  deadlineMs?: number;
  /** uri: the ids of the other links of the same page. */
  peers?: string[];
  /** Identifiers the client keeps when it follows (identifiers.ts). */
  identifiers?: readonly string[];
}

export interface RouterOptions {
  engine: LearningEngine;
  live: LiveView;
  /** The sections the router reads; a reload changes them in place, and `reconfigure()` rebuilds what it derived. */
  tokens: TokensConfig;
  servers: readonly ServerConfig[];
  connectors: readonly ConnectorConfig[];
  learning: Pick<LearningConfig, 'redirectDeadlineMs' | 'arrivalGraceMs'>;
  log: Logger;
  registry: Registry;
  now?: () => number;
}

/** How long a redirect waits for its record to be committed before it goes anyway. */
const RECORD_WAIT_MS = 1000;

const portOf: Record<Wire, (s: ServerConfig) => number> = { sip: (s) => s.sipPort, h323: (s) => s.h323Port, web: () => 1 };
const endpointPort: Record<Wire, (e: WorkerEndpoint) => number> = { sip: (e) => e.sip, h323: (e) => e.h323, web: () => 0 };

/**
 * The protocol-neutral call router (the router of Envoy's router/cluster split; the cluster is the
 * configured servers with their health and load). For every new call of every protocol it
 *
 *   1. recognises an arrival: a valid token (tokens.ts), or the identifiers a client following a
 *      redirect keeps, from the network the redirect went to — the call goes to the server it names;
 *   2. otherwise decides (the learning engine around the pure decide()), keeps the candidates that
 *      take this protocol, and never redirects to the deciding POP: a server of this POP is handled
 *      locally whatever the technique;
 *   3. issues redirects: a token minted for the server, class and deadline, a record with the
 *      identifiers' digests, and the target — a connector of that POP;
 *
 * and carries the call's outcomes (call.ts) to the learning and the live load. The SIP proxy, the
 * H.323 connector, the gatekeeper and the web service keep only their wire state.
 */
export class Router {
  readonly #engine: LearningEngine;
  readonly #o: RouterOptions;
  #signer!: TokenSigner;
  #derived = new Map<string, Buffer[]>();
  #keys: Buffer[] = [];
  #servers = new Map<string, ServerConfig>();
  #arrivals = new Map<string, WorkerEndpoint[]>();
  readonly #learning: RouterOptions['learning'];
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #sink: CallSink;
  readonly #m: { refused: Counter<'reason'>; arrivals: Counter<'match'>; local: Counter };

  constructor(o: RouterOptions) {
    this.#engine = o.engine;
    this.#o = o;
    this.#learning = o.learning;
    this.#log = o.log;
    this.#now = o.now ?? Date.now;
    const engine = o.engine;
    const live = o.live;
    this.#sink = {
      carried: (ctx, server, technique, ok, ms, detail) => engine.carried(ctx, server, technique, ok, ms, detail),
      cost: (ctx, server) => engine.cost(ctx, server),
      rtt: (ctx, ms) => engine.rtt(ctx, ms),
      add: (server, units) => live.add(server, units),
    };
    const r = [o.registry];
    this.#m = {
      refused: new Counter({ name: 'vcp_route_tokens_refused_total', help: 'tokens not accepted (the call was decided normally), by reason', labelNames: ['reason'], registers: r }),
      arrivals: new Counter({ name: 'vcp_route_arrivals_total', help: 'arrivals recognised, by what matched them (token, identifiers)', labelNames: ['match'], registers: r }),
      local: new Counter({ name: 'vcp_route_redirects_kept_local_total', help: 'redirect decisions whose server is in this POP, handled locally instead', registers: r }),
    };
    this.reconfigure();
  }

  /**
   * Build what the router derives from its sections: the servers by name, the workers of each POP
   * (where redirected clients arrive), the token keys. At start, and after a reload changed them.
   */
  reconfigure(): void {
    this.#servers = new Map(this.#o.servers.map((s) => [s.name, s]));
    const arrivals = new Map<string, WorkerEndpoint[]>();
    for (const c of this.#o.connectors) arrivals.set(c.pop, [...(arrivals.get(c.pop) ?? []), ...c.endpoints]);
    this.#arrivals = arrivals;
    // The keys are read again only when their section changed: a worker that gave up root after
    // start may not read the key file, and it needs to only when the key changed.
    const seen = JSON.stringify(this.#o.tokens);
    if (seen === this.#tokensSeen) return;
    const { keys, created } = tokenKeys(this.#o.tokens);
    if (created && arrivals.size > 1) {
      this.#log.warn({ keyFile: this.#o.tokens.keyFile }, 'token key created for this host: copy it to every connector host of the deployment (or set tokens.key), or tokens minted at another POP will not be accepted here');
    }
    this.#signer = new TokenSigner(keys);
    this.#derived = new Map();
    this.#keys = keys.map((k) => k.secret);
    this.#tokensSeen = seen;
  }

  #tokensSeen = '';

  /**
   * Keys for another MAC of the deployment (e.g. the SIP flow token), derived from the token keys:
   * every worker of the deployment, also one that replaced another, verifies what any made; the
   * current key first, then the previous one of a rotation.
   */
  derivedKeys(purpose: string): Buffer[] {
    let k = this.#derived.get(purpose);
    if (!k) {
      k = this.#keys.map((key) => createHmac('sha256', key).update(`vcproxy ${purpose}`).digest());
      this.#derived.set(purpose, k);
    }
    return k;
  }

  get localPop(): string {
    return this.#engine.localPop;
  }

  server(name: string): ServerConfig | undefined {
    return this.#servers.get(name);
  }

  /** The configured server at this address and SIP port, if any (where a SIP request may be forwarded). */
  sipServerAt(address: string, port: number): ServerConfig | undefined {
    for (const s of this.#servers.values()) if (s.sipPort > 0 && s.address === address && s.sipPort === (port || 5060)) return s;
    return undefined;
  }

  /** Whether an address is one of a configured server's (a request from there comes from the deployment). */
  isServerAddress(address: string): boolean {
    for (const s of this.#servers.values()) if (s.address === address) return true;
    return false;
  }

  /** The decision's candidates that take this protocol, in failover order. */
  candidates(d: Decision, wire: Wire): ServerConfig[] {
    const out: ServerConfig[] = [];
    for (const c of d.candidates) {
      const s = this.#servers.get(c.server);
      if (s && portOf[wire](s) > 0) out.push(s);
    }
    return out;
  }

  /** A decision without a call (explain mode: nothing logged or counted), e.g. for a join page or a RAS answer. */
  decide(info: RequestInfo, explain = false): CallContext {
    return this.#engine.decide(info, [], explain);
  }

  /** Route a new call: an arrival, or a decision carried, redirected or refused. */
  route(req: RouteRequest, wire: Wire): Routing {
    const arrived = this.arrival(req, wire);
    if (arrived) return { action: 'carry', call: this.carry(arrived, wire)! };
    const ctx = this.#engine.decide(req);
    const d = ctx.decision;
    const candidates = this.candidates(d, wire);
    if (candidates.length === 0) return { action: 'refuse', ctx };
    const first = candidates[0]!;
    const here = first.pop === this.localPop;
    if (d.technique === 'redirect' && req.redirectable && !here) {
      const { token, id } = this.issue(ctx, first.name, { technique: 'redirect', ...(req.identifiers ? { identifiers: req.identifiers } : {}) });
      return { action: 'redirect', ctx, server: first, token, id, to: this.#target(first, wire, id) };
    }
    // A redirect never sends a client back to the POP that decided: a server of this POP is carried here.
    if (d.technique === 'redirect' && here) this.#m.local.inc();
    const technique: Technique = here ? 'local' : 'proxy';
    return { action: 'carry', call: new RoutedCall(this.#sink, this.#now, ctx, technique, candidates) };
  }

  /** A call decided elsewhere (an arrival) carried to the decision's candidates that take this protocol. */
  carry(ctx: CallContext, wire: Wire): RoutedCall | undefined {
    const candidates = this.candidates(ctx.decision, wire);
    return candidates.length > 0 ? new RoutedCall(this.#sink, this.#now, ctx, ctx.decision.technique, candidates) : undefined;
  }

  /**
   * An arrival: a token that verifies (its server known, its class the client's), or identifiers kept
   * from a redirect issued to this network that is still within its deadline. Anything else is no
   * arrival, writes nothing and teaches nothing: the call is decided normally.
   */
  arrival(req: RouteRequest, wire: Wire): CallContext | undefined {
    const now = this.#now();
    if (req.token) {
      const v = this.#signer.verify(req.token, now, classChain(req.identity).map((c) => c.key));
      const server = v.ok ? this.#servers.get(v.claims.server) : undefined;
      if (v.ok && server && portOf[wire](server) > 0) {
        const ctx = this.#engine.arrival(v.claims.id, req, server.name, v.claims.technique);
        if (ctx) {
          this.#m.arrivals.labels('token').inc();
          return ctx;
        }
      }
      const reason = v.ok ? 'unknown_server' : v.why;
      this.#m.refused.labels(reason).inc();
      this.#log.info({ callId: req.callId, source: req.source, reason }, 'token not accepted: decided normally');
    }
    if (req.identifiers && req.identifiers.length > 0) {
      const nets = this.#engine.physicalNetworks(req.source, req.domain);
      const rec = this.#engine.redirectByDigest(arrivalDigests(req.identifiers, nets));
      if (rec && now <= rec.deadline + this.#learning.arrivalGraceMs) {
        const server = this.#servers.get(rec.server);
        if (server && portOf[wire](server) > 0) {
          const ctx = this.#engine.arrival(rec.token, req, server.name, rec.technique ?? 'redirect');
          if (ctx) {
            this.#m.arrivals.labels('identifiers').inc();
            return ctx;
          }
        }
      }
    }
    return undefined;
  }

  /**
   * Issue a token for `server`: minted (server, class, expiry), recorded with its deadline (and the
   * digests of the identifiers the client keeps). A join link's class is the client type's protocol
   * (any client of that type may use it); otherwise the client's most specific class.
   */
  issue(ctx: CallContext, server: string, o: IssueOptions): { token: string; id: string } {
    const now = this.#now();
    const deadlineMs = o.deadlineMs ?? this.#learning.redirectDeadlineMs;
    const cls = o.technique === 'uri' ? (ctx.chain.find((c) => c.level === 'protocol') ?? ctx.chain[0]!).key : ctx.chain[0]!.key;
    const { token, id } = this.#signer.mint({ server, cls, expires: now + deadlineMs + this.#learning.arrivalGraceMs, technique: o.technique, ...(o.id ? { id: o.id } : {}) });
    const ids = o.identifiers ? arrivalDigests(o.identifiers, ctx.networks.filter((n) => n.physical).map((n) => n.key)) : [];
    this.#engine.redirected(ctx, server, id, { technique: o.technique, deadlineMs, ...(o.peers?.length ? { peers: o.peers } : {}), ...(ids.length ? { ids } : {}) });
    return { token, id };
  }

  /** A new token id (16 hex digits from the CSPRNG). */
  newId(): string {
    return randomBytes(8).toString('hex');
  }

  /** What the learning needs to call a technique proven or broken (the web's own technique choice). */
  get learningPolicy(): LearningPolicy {
    return this.#engine.topology.learning;
  }

  /** Resolves once the records issued so far are committed (visible to every process of the host). */
  written(): Promise<unknown> {
    return this.#engine.written();
  }

  /**
   * Run `fn` once the redirect just issued is committed, so that the process the client arrives at
   * (another worker of the host, or the connector of another POP on the same host) finds its record
   * and identifiers; at most `capMs` later whatever happens.
   */
  afterIssued(fn: () => void, capMs = RECORD_WAIT_MS): void {
    let done = false;
    const go = (): void => {
      if (done) return;
      done = true;
      clearTimeout(cap);
      try {
        fn();
      } catch (err) {
        this.#log.error({ err }, 'internal error after a redirect was issued');
      }
    };
    const cap = setTimeout(go, capMs);
    this.#engine.written().then(go, go);
  }

  /** Where a client sent to `server` goes for this protocol: a connector of its POP (picked by the token id), else the server. */
  target(server: ServerConfig, wire: Wire, id: string): RedirectTarget {
    return this.#target(server, wire, id);
  }

  #target(server: ServerConfig, wire: Wire, id: string): RedirectTarget {
    const eps = (this.#arrivals.get(server.pop) ?? []).filter((e) => endpointPort[wire](e) > 0);
    if (eps.length === 0) return { address: server.address, port: portOf[wire](server), viaConnector: false };
    const ep = eps[(parseInt(id.slice(0, 8), 16) || 0) % eps.length]!;
    return { address: ep.address, port: endpointPort[wire](ep), viaConnector: true };
  }

}
