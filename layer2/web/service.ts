import { randomBytes } from 'node:crypto';
import type { MeetingConfig, PopConfig, ServerConfig, WebConfig } from '../../shared/config/types.js';
import type { Logger } from '../../shared/logger.js';
import type { CallContext, LearningEngine, RequestInfo } from '../learn/engine.js';
import { SourceRateLimit } from '../learn/rate-limit.js';
import type { ClientIdentity } from '../identify.js';
import type { ProfileStore } from '../profiles/store.js';
import { identifyBrowser } from './browser.js';
import { WebError } from './errors.js';
import { browserJoinUrl, h323Join, sipJoinUri } from './links.js';
import { Meetings } from './meetings.js';
import type { WebMetrics } from './metrics.js';
import { joinPage, meetingPage, movedPage, type JoinView, type Way } from './pages.js';
import { chooseWebTechnique } from './technique.js';

export type WebResult = { status: 200; body: string } | { status: 302; location: string; body: string };

/** Who asks: the client's address (X-Forwarded-For already weighed), its User-Agent, a request id for the logs. */
export interface Requester {
  source: string;
  userAgent: string | undefined;
  id: string;
}

const TOKEN = /^[0-9a-f]{16}$/;
const UNKNOWN = (protocol: 'sip' | 'h323'): ClientIdentity => ({ protocol, vendor: '', product: '', version: '' });
const PORT_OK: Record<Way['kind'], (s: ServerConfig) => boolean> = { web: () => true, sip: (s) => s.sipPort > 0, h323: (s) => s.h323Port > 0 };
const NAMES: Record<Way['kind'], string> = { web: 'browser', sip: 'SIP', h323: 'H.323' };

export interface WebServiceOptions {
  web: WebConfig;
  meetings: readonly MeetingConfig[];
  pops: readonly PopConfig[];
  /** Tokens one source may be issued a minute (at least 10). */
  perSourcePerMinute: number;
  /** The SIP URI parameter of a token. */
  tokenParam: string;
  engine: LearningEngine;
  store: ProfileStore;
  log: Logger;
  metrics: WebMetrics;
}

/**
 * The join page (URI technique) and the HTTP redirect, on top of the learning engine: each way in is
 * decided like a call of that client type from the requester's address, and carries a token whose
 * use at the named server (SIP or H.323 connector, or the POP's web listener) closes it as an arrival.
 */
export class WebService {
  readonly #c: { web: WebConfig; tokenParam: string };
  readonly #engine: LearningEngine;
  readonly #store: ProfileStore;
  readonly #log: Logger;
  readonly #m: WebMetrics;
  readonly #meetings: Meetings;
  readonly #popWeb: Map<string, string>;
  /** Tokens are records in the store: one source gets only so many a minute (its pages then carry none). */
  readonly #limit: SourceRateLimit;

  constructor(o: WebServiceOptions) {
    this.#c = { web: o.web, tokenParam: o.tokenParam };
    this.#engine = o.engine;
    this.#store = o.store;
    this.#log = o.log;
    this.#m = o.metrics;
    this.#meetings = new Meetings(o.meetings);
    this.#popWeb = new Map(o.pops.map((p) => [p.name, p.web]));
    this.#limit = new SourceRateLimit(Math.max(10, o.perSourcePerMinute));
  }

  #meeting(name: string): { name: string; customer: string } {
    const m = this.#meetings.find(name);
    if (!m) throw new WebError('VCP_ERR_WEB_UNKNOWN_MEETING', 404, 'There is no meeting of this name.');
    return m;
  }

  #info(identity: ClientIdentity, meeting: { name: string; customer: string }, r: Requester): RequestInfo {
    return { protocol: identity.protocol, callId: r.id, identity, source: r.source, domain: '', meeting: meeting.name, ...(meeting.customer ? { customer: meeting.customer } : {}) };
  }

  #mayIssue(source: string): boolean {
    if (this.#limit.allow(source, Date.now())) return true;
    this.#m.limited.inc();
    return false;
  }

  #logDecision(ctx: CallContext, technique: string, server: string, pop: string, extra: string[]): void {
    this.#log.info(
      {
        callId: ctx.callId, protocol: ctx.protocol, source: ctx.source, client: ctx.identity, class: ctx.chain[0]!.key, networks: ctx.networks.map((n) => n.key),
        geo: ctx.geo.country || ctx.geo.source, meeting: ctx.meeting, pop, server, technique,
        // The signalling technique decide() names does not apply to a web way in: the web's own reason replaces it.
        reasons: [...ctx.decision.reasons.filter((r) => !r.startsWith('technique ')), ...extra],
      },
      'decision',
    );
    this.#m.decisions.labels(technique).inc();
  }

  /** GET /join/<meeting>: one way in per client type, each naming the server decided for it. */
  join(name: string, r: Requester, why = ''): WebResult {
    const meeting = this.#meeting(name);
    const kinds: Array<[Way['kind'], ClientIdentity]> = [['web', identifyBrowser(r.userAgent)], ['sip', UNKNOWN('sip')], ['h323', UNKNOWN('h323')]];
    const view: JoinView = { meeting: meeting.name, ways: [], missing: [] };
    const chosen: Array<{ kind: Way['kind']; ctx: CallContext; server: ServerConfig }> = [];
    for (const [kind, identity] of kinds) {
      const ctx = this.#engine.decide(this.#info(identity, meeting, r), [], true);
      const server = ctx.decision.candidates.map((c) => this.#engine.server(c.server)).find((s): s is ServerConfig => s !== undefined && PORT_OK[kind](s));
      if (!server) {
        view.missing.push({ kind, why: `No server can take ${NAMES[kind]} calls for this meeting now.` });
        this.#logDecision(ctx, 'uri', '', '', [`no ${NAMES[kind]} way in: no server available`]);
        continue;
      }
      chosen.push({ kind, ctx, server });
    }
    const issue = chosen.length > 0 && this.#mayIssue(r.source);
    const tokens = chosen.map(() => (issue ? randomBytes(8).toString('hex') : ''));
    chosen.forEach(({ kind, ctx, server }, i) => {
      const token = tokens[i]!;
      if (token) this.#engine.redirected(ctx, server.name, token, { technique: 'uri', deadlineMs: this.#c.web.linkDeadlineMs, peers: tokens.filter((t) => t !== token) });
      view.ways.push(this.#way(kind, meeting.name, server, token));
      const extra = [`${NAMES[kind]} way in: server ${server.name}${server.name === ctx.decision.server ? '' : ` (the first candidate with a ${NAMES[kind]} port)`}${token ? `, token ${token}` : ', no token (source over its limit)'}`];
      if (why && kind === 'web') extra.unshift(why);
      this.#logDecision(ctx, 'uri', server.name, server.pop, extra);
    });
    return { status: 200, body: joinPage(view) };
  }

  #way(kind: Way['kind'], meeting: string, server: ServerConfig, token: string): Way {
    if (kind === 'web') {
      const href = browserJoinUrl(this.#popWeb.get(server.pop) ?? '', meeting, token, server.name);
      return { kind, server: server.name, pop: server.pop, href, text: href };
    }
    const at = this.#engine.arrivalPoint(server.name, token || randomBytes(4).toString('hex'));
    if (kind === 'sip') {
      const uri = sipJoinUri(meeting, { address: at?.address ?? server.address, port: at?.sipPort ?? server.sipPort, token, server: server.name }, this.#c.tokenParam);
      return { kind, server: server.name, pop: server.pop, href: uri, text: uri };
    }
    // A POP whose connectors take no H.323 calls: the room system dials the server itself (no arrival seen).
    const via = at && at.h323Port > 0 ? { address: at.address, port: at.h323Port } : { address: server.address, port: server.h323Port };
    const h = h323Join(meeting, { ...via, token, server: server.name });
    return { kind, server: server.name, pop: server.pop, href: h.url, text: h.dial };
  }

  /**
   * GET /meet/<meeting>: a browser with a token (or a named server) has arrived at its POP and gets
   * the meeting; otherwise it is decided: served here when the POP is this one, sent by a 302 to the
   * chosen POP's web address, or given the join page when its class breaks on HTTP redirects.
   */
  meet(name: string, query: URLSearchParams, r: Requester): WebResult {
    const meeting = this.#meeting(name);
    const identity = identifyBrowser(r.userAgent);
    const info = this.#info(identity, meeting, r);
    const token = query.get('vcp-token') ?? '';
    const named = query.get('vcp-srv') ?? '';
    if (TOKEN.test(token) || this.#engine.server(named)) {
      // Never decided again once a POP was chosen: a browser sent here stays here (no redirect loops).
      const arrived = TOKEN.test(token) ? this.#engine.arrival(token, info, named, 'http') : undefined;
      const server = arrived ? this.#engine.server(arrived.decision.server) : this.#engine.server(named);
      if (server) {
        this.#m.decisions.labels('arrival').inc();
        if (!arrived) this.#log.info({ callId: r.id, protocol: 'web', source: r.source, meeting: meeting.name, pop: server.pop, server: server.name, technique: 'arrival', reasons: [`vcp-srv names ${server.name}: served without a new decision`] }, 'decision');
        return { status: 200, body: meetingPage({ meeting: meeting.name, server: server.name, pop: server.pop }) };
      }
    }
    const ctx = this.#engine.decide(info, [], true);
    const d = ctx.decision;
    if (!d.server) {
      this.#logDecision(ctx, 'http', '', '', []);
      throw new WebError('VCP_ERR_WEB_NO_SERVER', 503, 'No server can take this meeting now. Please try again in a moment.');
    }
    if (d.pop === this.#engine.localPop) {
      this.#logDecision(ctx, 'local', d.server, d.pop, ['served here: the chosen POP is this one']);
      return { status: 200, body: meetingPage({ meeting: meeting.name, server: d.server, pop: d.pop }) };
    }
    const choice = chooseWebTechnique(ctx.chain, this.#store.snapshot(ctx.chain, []).classes, this.#c.web.classes, this.#engine.topology.learning);
    const base = this.#popWeb.get(d.pop) ?? '';
    if (choice.technique === 'uri' || !base) {
      return this.join(name, r, choice.technique === 'uri' ? choice.reason : `technique uri: POP ${d.pop} has no web address (pops[].web)`);
    }
    const tok = this.#mayIssue(r.source) ? this.#engine.redirected(ctx, d.server, undefined, { technique: 'http' }) : '';
    const location = browserJoinUrl(base, meeting.name, tok, d.server);
    this.#logDecision(ctx, 'http', d.server, d.pop, [choice.reason, tok ? `token ${tok}` : 'no token (source over its limit)']);
    return { status: 302, location, body: movedPage(location) };
  }

}
