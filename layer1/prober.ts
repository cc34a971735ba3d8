import { request } from 'node:http';
import type { Logger } from '../shared/logger.js';
import { observe, type HealthRule } from './health-state.js';
import type { Member, MemberSet } from './members.js';

/** Set by the prober on each probe (layer 2 reads it: layer2/drain.ts). */
const PROBER_HEADER = 'x-vcp-layer1';
/** Only the start of a health answer is read. */
const MAX_BODY = 4096;

export interface ProberOptions extends HealthRule {
  intervalMs: number;
  timeoutMs: number;
}

/**
 * Probes every member's `GET /health` each interval (a new connection each time, so a restarted
 * worker is seen as it is) and feeds the result into the member's health state. A probe still
 * running when the next interval comes is not doubled.
 */
export class HealthProber {
  readonly #members: MemberSet;
  readonly #o: ProberOptions;
  readonly #log: Logger;
  readonly #busy = new Set<Member>();
  readonly #name: string;
  #timer: NodeJS.Timeout | undefined;
  /** Called after a member changed between up and down. */
  onChange: (m: Member) => void = () => undefined;

  constructor(members: MemberSet, o: ProberOptions, log: Logger, name = 'l1') {
    this.#members = members;
    this.#o = o;
    this.#log = log;
    this.#name = name;
  }

  start(): void {
    this.#round();
    this.#timer = setInterval(() => this.#round(), this.#o.intervalMs);
  }

  /** A reload changed the probe interval or the members: the next round starts now. */
  restart(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.start();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #round(): void {
    for (const m of this.#members.list) {
      if (this.#busy.has(m)) continue;
      this.#busy.add(m);
      this.#probe(m, (ok, why) => {
        this.#busy.delete(m);
        if (this.#timer === undefined) return;
        this.#record(m, ok, why);
      });
    }
  }

  #probe(m: Member, done: (ok: boolean, why: string) => void): void {
    let finished = false;
    const finish = (ok: boolean, why: string): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      done(ok, why);
    };
    const req = request({
      host: m.address,
      port: m.endpoint.health,
      path: '/health',
      method: 'GET',
      agent: false,
      // The worker counts the probes of each layer-1 node: a replacement waits to be seen by all.
      headers: { [PROBER_HEADER]: this.#name },
    }, (res) => {
      const status = res.statusCode ?? 0;
      // A worker being replaced says so in its body ("status":"draining"): no new flows for it.
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (body.length < MAX_BODY) body += c;
      });
      res.on('end', () => {
        if (status === 200) this.#drainWord(m, body.includes('"status":"draining"'));
        finish(status === 200, `status ${status}`);
      });
      res.on('error', () => finish(false, 'answer cut'));
    });
    // The verdict waits for the I/O of this loop turn: when this process itself was starved of CPU,
    // the timer fires on waking although the answer already sits in the socket, and the poll phase
    // that follows the timers would have read it. Only an answer still missing then is a failure.
    const timer = setTimeout(() => {
      setImmediate(() => {
        if (finished) return;
        finish(false, `no answer within ${this.#o.timeoutMs} ms`);
        req.destroy();
      });
    }, this.#o.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => finish(false, err.code ?? err.message));
    req.end();
  }

  #drainWord(m: Member, draining: boolean): void {
    if (m.drainRequested === draining) return;
    m.drainRequested = draining;
    this.#log.info({ member: m.id }, draining ? 'member drains itself: no new flows' : 'member takes new flows again');
  }

  #record(m: Member, ok: boolean, why: string): void {
    if (!ok) m.stats.probeFailures++;
    const before = m.health;
    m.health = observe(before, ok, this.#o);
    if (m.health.up !== before.up) {
      if (m.health.up) this.#log.info({ member: m.id }, 'member up');
      else this.#log.warn({ member: m.id, why }, 'member down');
      this.onChange(m);
    }
  }
}
