import type { MeetingConfig, PopConfig, ServerConfig, WebConfig } from '../../shared/config/types.js';
import type { Logger } from '../../shared/logger.js';
import type { ClientIdentity } from '../identify.js';
import type { CallContext, RequestInfo } from '../learn/engine.js';
import { SourceRateLimit } from '../learn/rate-limit.js';
import type { ProfileStore } from '../profiles/store.js';
import { browserJoinUrl, h323Join, httpToken, sipJoinUri } from '../route/formats.js';
import type { Router, Wire } from '../route/router.js';
import { identifyBrowser } from './browser.js';
import { WebError } from './errors.js';
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

const UNKNOWN = (protocol: 'sip' | 'h323'): ClientIdentity => ({ protocol, vendor: '', product: '', version: '' });
const NAMES: Record<Way['kind'], string> = { web: 'browser', sip: 'SIP', h323: 'H.323' };

export interface WebServiceOptions {
  web: WebConfig;
  meetings: readonly MeetingConfig[];
  pops: readonly PopConfig[];
  /** Tokens one source may be issued a minute (at least 10). */
  perSourcePerMinute: number;
  /** The SIP URI parameter of a token. */
  tokenParam: string;
  router: Router;
  store: ProfileStore;
  log: Logger;
  metrics: WebMetrics;
}

/**
 * The join page (URI technique) and the HTTP redirect, on top of the router: each way in is decided
 * like a call of that client type from the requester's address, and carries a token (route/tokens.ts)
 * whose use at the named server (SIP or H.323 connector, or the POP's web listener) is an arrival.
 */
export class WebService {
  readonly #o: WebServiceOptions;
  readonly #router: Router;
  readonly #log: Logger;
  readonly #m: WebMetrics;
  readonly #meetings: Meetings;
  readonly #popWeb: Map<string, string>;
  /** Tokens are records in the store: one source gets only so many a minute (its pages then carry none). */
  readonly #limit: SourceRateLimit;

  constructor(o: WebServiceOptions) {
    this.#o = o;
    this.#router = o.router;
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
      const ctx = this.#router.decide(this.#info(identity, meeting, r), true);
      const server = this.#router.candidates(ctx.decision, kind)[0];
      if (!server) {
        view.missing.push({ kind, why: `No server can take ${NAMES[kind]} calls for this meeting now.` });
        this.#logDecision(ctx, 'uri', '', '', [`no ${NAMES[kind]} way in: no server available`]);
        continue;
      }
      chosen.push({ kind, ctx, server });
    }
    // Each link knows the others of its page (when one is used, the others close as unused).
    const ids = chosen.length > 0 && this.#mayIssue(r.source) ? chosen.map(() => this.#router.newId()) : [];
    const tokens = chosen.map(({ ctx, server }, i) => {
      const id = ids[i];
      if (!id) return { token: '', id: '' };
      return this.#router.issue(ctx, server.name, { technique: 'uri', deadlineMs: this.#o.web.linkDeadlineMs, id, peers: ids.filter((x) => x !== id) });
    });
    chosen.forEach(({ kind, ctx, server }, i) => {
      const { token, id } = tokens[i]!;
      view.ways.push(this.#way(kind, meeting.name, server, token, id));
      const extra = [`${NAMES[kind]} way in: server ${server.name}${server.name === ctx.decision.server ? '' : ` (the first candidate with a ${NAMES[kind]} port)`}${token ? `, token ${id}` : ', no token (source over its limit)'}`];
      if (why && kind === 'web') extra.unshift(why);
      this.#logDecision(ctx, 'uri', server.name, server.pop, extra);
    });
    return { status: 200, body: joinPage(view) };
  }

  #way(kind: Wire, meeting: string, server: ServerConfig, token: string, id: string): Way {
    if (kind === 'web') {
      const href = browserJoinUrl(this.#popWeb.get(server.pop) ?? '', meeting, token);
      return { kind, server: server.name, pop: server.pop, href, text: href };
    }
    // A connector of the server's POP, which sees the arrival (a POP without one: the server itself, no arrival seen).
    const at = this.#router.target(server, kind, id || '0');
    if (kind === 'sip') {
      const uri = sipJoinUri(meeting, at, this.#o.tokenParam, token);
      return { kind, server: server.name, pop: server.pop, href: uri, text: uri };
    }
    const h = h323Join(meeting, at, token);
    return { kind, server: server.name, pop: server.pop, href: h.url, text: h.dial };
  }

  /**
   * GET /meet/<meeting>: a browser with a valid token has arrived at its POP and gets the meeting on
   * the server the token names; otherwise it is decided: served here when the POP is this one, sent
   * by a 302 to the chosen POP's web address, or given the join page when its class breaks on HTTP
   * redirects. A token that does not verify (forged, expired, another browser's) is ignored.
   */
  meet(name: string, query: URLSearchParams, r: Requester): WebResult {
    const meeting = this.#meeting(name);
    const identity = identifyBrowser(r.userAgent);
    const info = this.#info(identity, meeting, r);
    const token = httpToken(query);
    const arrived = token ? this.#router.arrival({ ...info, token, redirectable: false }, 'web') : undefined;
    if (arrived) {
      this.#m.decisions.labels('arrival').inc();
      return { status: 200, body: meetingPage({ meeting: meeting.name, server: arrived.decision.server, pop: arrived.decision.pop }) };
    }
    const ctx = this.#router.decide(info, true);
    const d = ctx.decision;
    if (!d.server) {
      this.#logDecision(ctx, 'http', '', '', []);
      throw new WebError('VCP_ERR_WEB_NO_SERVER', 503, 'No server can take this meeting now. Please try again in a moment.');
    }
    if (d.pop === this.#router.localPop) {
      this.#logDecision(ctx, 'local', d.server, d.pop, ['served here: the chosen POP is this one']);
      return { status: 200, body: meetingPage({ meeting: meeting.name, server: d.server, pop: d.pop }) };
    }
    const choice = chooseWebTechnique(ctx.chain, this.#o.store.snapshot(ctx.chain, []).classes, this.#o.web.classes, this.#router.learningPolicy);
    const base = this.#popWeb.get(d.pop) ?? '';
    if (choice.technique === 'uri' || !base) {
      return this.join(name, r, choice.technique === 'uri' ? choice.reason : `technique uri: POP ${d.pop} has no web address (pops[].web)`);
    }
    const t = this.#mayIssue(r.source) ? this.#router.issue(ctx, d.server, { technique: 'http' }) : { token: '', id: '' };
    const location = browserJoinUrl(base, meeting.name, t.token);
    this.#logDecision(ctx, 'http', d.server, d.pop, [choice.reason, t.token ? `token ${t.id}` : 'no token (source over its limit)']);
    return { status: 302, location, body: movedPage(location) };
  }
}
