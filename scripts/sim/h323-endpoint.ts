import { randomInt } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { buildReleaseComplete, buildSetup, type EndpointKind, type Identity } from '../../layer2/h323/builder.js';
import { dialledDigits, emailId, guidToString, h323Id, newGuid, transportIp, urlId, type AliasAddress, type FacilityUUIE } from '../../layer2/h323/h225.js';
import { bodyOf, type H323Message } from '../../layer2/h323/message.js';
import { MsgType } from '../../layer2/h323/q931.js';
import { summarizeCall } from '../../layer2/h323/summary.js';
import { H323Stream } from './h323-stream.js';

/**
 * A room-system stand-in: places H.323 calls (Setup with a configurable vendor identity and
 * aliases) to host:port over TCP, waits for Connect, holds, hangs up with Release Complete. What it
 * does with a Facility callForwarded is configurable: `follow` (release, then call the
 * alternativeAddress with the alias and the same call identifier), `ignore` (keep waiting until the
 * setup timeout: a failure) or `drop` (close the connection). `runLoad` places N calls per second
 * and reports successes, failures and setup latency the way sipp does.
 */

export type ForwardBehaviour = 'follow' | 'ignore' | 'drop';
export type Outcome = 'connected' | 'released' | 'timeout' | 'refused' | 'closed' | 'dropped' | 'malformed' | 'too-many-forwards' | 'error';

export const ENDPOINT_IDENTITY: Identity = { t35CountryCode: 181, t35Extension: 0, manufacturerCode: 20560, productId: 'vcproxy endpoint simulator', versionId: '1.0' };

export interface EndpointOptions {
  host: string;
  port: number;
  localAddress?: string;
  identity?: Identity;
  kind?: EndpointKind;
  sourceAliases?: AliasAddress[];
  destinationAliases?: AliasAddress[];
  /** Digits for the Called party number IE. */
  calledNumber?: string;
  display?: string;
  onForward?: ForwardBehaviour;
  /** Time between Connect and our Release Complete (default 0). */
  holdMs?: number;
  /** From Setup to Connect, redirects included (default 5000). */
  timeoutMs?: number;
  /** Redirects followed before giving up (default 3). */
  maxForwards?: number;
  h245Tunnelling?: boolean;
}

export interface CallResult {
  ok: boolean;
  outcome: Outcome;
  callIdentifier: string;
  /** Setup sent → Connect received, including redirects, in milliseconds. */
  setupMs?: number;
  /** Addresses followed after a Facility callForwarded. */
  forwardedTo: string[];
  /** Set when a Facility callForwarded arrived and the behaviour was not `follow` (ignored: whether the call then timed out or was released). */
  forward?: 'ignored' | 'dropped';
  cause?: number;
  releaseReason?: string;
  error?: string;
}

type AttemptResult =
  | { kind: 'connected'; at: number; stream: H323Stream; callReference: number }
  | { kind: 'forward'; host: string; port: number; aliases: AliasAddress[] | undefined }
  | { kind: 'failed'; outcome: Outcome; cause?: number; reason?: string; error?: string; forward?: 'ignored' | 'dropped' };

export class H323Endpoint {
  readonly #o: EndpointOptions;
  readonly #sockets = new Set<Socket>();

  constructor(o: EndpointOptions) {
    this.#o = o;
  }

  /** Place one call; never rejects. */
  async call(overrides: Partial<EndpointOptions> = {}): Promise<CallResult> {
    const o = { ...this.#o, ...overrides };
    const guid = newGuid();
    const conferenceID = newGuid();
    const result: CallResult = { ok: false, outcome: 'error', callIdentifier: guidToString(guid), forwardedTo: [] };
    const start = performance.now();
    const deadline = start + (o.timeoutMs ?? 5000);
    let host = o.host;
    let port = o.port;
    let dest = o.destinationAliases;
    for (let hop = 0; ; hop++) {
      const callReference = randomInt(1, 0x8000);
      const setup = buildSetup({
        callReference,
        callIdentifier: guid,
        conferenceID,
        identity: o.identity ?? ENDPOINT_IDENTITY,
        ...(o.kind ? { kind: o.kind } : {}),
        ...(o.sourceAliases ? { sourceAliases: o.sourceAliases } : {}),
        ...(dest ? { destinationAliases: dest } : {}),
        ...(o.calledNumber ? { calledNumber: o.calledNumber } : {}),
        ...(o.display ? { display: o.display } : {}),
        ...(o.h245Tunnelling !== undefined ? { h245Tunnelling: o.h245Tunnelling } : {}),
      });
      const r = await this.#attempt(host, port, setup, deadline, o);
      if (r.kind === 'connected') {
        result.ok = true;
        result.outcome = 'connected';
        result.setupMs = r.at - start;
        await this.#hangUp(r.stream, r.callReference, guid, o.holdMs ?? 0);
        return result;
      }
      if (r.kind === 'failed') {
        result.outcome = r.outcome;
        if (r.cause !== undefined) result.cause = r.cause;
        if (r.reason) result.releaseReason = r.reason;
        if (r.error) result.error = r.error;
        if (r.forward) result.forward = r.forward;
        return result;
      }
      result.forwardedTo.push(`${r.host}:${r.port}`);
      if (hop + 1 > (o.maxForwards ?? 3)) {
        result.outcome = 'too-many-forwards';
        return result;
      }
      host = r.host;
      port = r.port;
      if (r.aliases?.length) dest = r.aliases;
    }
  }

  /** Destroys connections still lingering after hang-ups. */
  close(): void {
    for (const s of this.#sockets) s.destroy();
  }

  #attempt(host: string, port: number, setup: H323Message, deadline: number, o: EndpointOptions): Promise<AttemptResult> {
    return new Promise((resolve) => {
      let settled = false;
      const ref = setup.q931.callReference;
      const sock = connect({ host, port, ...(o.localAddress ? { localAddress: o.localAddress } : {}) });
      this.#sockets.add(sock);
      const done = (r: AttemptResult, keep = false): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (!keep) sock.destroy();
        resolve(r);
      };
      const timer = setTimeout(() => {
        stream.send(buildReleaseComplete({ callReference: ref, fromDestination: false, callIdentifier: setupGuid(setup), cause: 102 }));
        done({ kind: 'failed', outcome: 'timeout', ...(forwardSeen ? { forward: 'ignored' as const } : {}) });
      }, Math.max(0, deadline - performance.now()));
      let forwardSeen = false;
      const stream = new H323Stream(sock, {
        message: (m) => {
          if (m.q931.callReference !== ref || !m.q931.fromDestination) return;
          switch (m.q931.type) {
            case MsgType.Connect:
              return done({ kind: 'connected', at: performance.now(), stream, callReference: ref }, true);
            case MsgType.ReleaseComplete: {
              const s = summarizeCall(m);
              return done({
                kind: 'failed',
                outcome: 'released',
                ...(s.cause !== undefined ? { cause: s.cause } : {}),
                ...(s.releaseReason ? { reason: s.releaseReason } : {}),
                ...(forwardSeen ? { forward: 'ignored' as const } : {}),
              });
            }
            case MsgType.Facility: {
              const body = bodyOf(m);
              if (body?.choice !== 'facility') return;
              const f: FacilityUUIE = body.value;
              const to = transportIp(f.alternativeAddress);
              if (f.reason.choice !== 'callForwarded' || !to) return;
              const behaviour = o.onForward ?? 'follow';
              if (behaviour === 'ignore') {
                forwardSeen = true;
                return;
              }
              if (behaviour === 'drop') return done({ kind: 'failed', outcome: 'dropped', forward: 'dropped' });
              stream.send(buildReleaseComplete({ callReference: ref, fromDestination: false, callIdentifier: setupGuid(setup), reason: 'facilityCallDeflection' }));
              return done({ kind: 'forward', host: to.ip, port: to.port, aliases: f.alternativeAliasAddress });
            }
          }
        },
        malformed: (e) => done({ kind: 'failed', outcome: 'malformed', error: e.code }),
      });
      sock.on('connect', () => stream.send(setup));
      sock.on('error', (e: NodeJS.ErrnoException) => done({ kind: 'failed', outcome: e.code === 'ECONNREFUSED' ? 'refused' : 'error', error: e.code ?? e.message }));
      sock.on('close', () => {
        this.#sockets.delete(sock);
        done({ kind: 'failed', outcome: 'closed' });
      });
    });
  }

  /** Release Complete after the hold time, then wait for the far end to close (it takes the TIME_WAIT). */
  #hangUp(stream: H323Stream, callReference: number, guid: Buffer, holdMs: number): Promise<void> {
    const sock = stream.socket;
    return new Promise((resolve) => {
      const release = (): void => {
        stream.send(buildReleaseComplete({ callReference, fromDestination: false, callIdentifier: guid }));
        const fallback = setTimeout(() => sock.destroy(), 2000);
        fallback.unref();
        sock.once('close', () => clearTimeout(fallback));
        resolve();
      };
      if (sock.destroyed) return resolve();
      if (holdMs > 0) setTimeout(release, holdMs);
      else release();
    });
  }
}

const setupGuid = (m: H323Message): Buffer | undefined => {
  const b = bodyOf(m);
  return b?.choice === 'setup' ? b.value.callIdentifier?.guid : undefined;
};

export interface LoadOptions {
  /** Calls started per second. */
  rate: number;
  /** Calls to place in all. */
  max: number;
  /** Calls in progress at most (setup and hold). */
  concurrency: number;
  /** Called about once a second while the load runs. */
  progress?: (p: LoadReport) => void;
}

export interface LoadReport {
  attempted: number;
  succeeded: number;
  failed: number;
  active: number;
  outcomes: Record<string, number>;
  /** Socket and decoding errors of the failed calls, by code (ECONNRESET, an H.323 decoding error code…). */
  errors: Record<string, number>;
  /** Setup latency of successful calls, milliseconds. */
  setupMs: { min: number; avg: number; p50: number; p95: number; p99: number; max: number };
  elapsedMs: number;
  callsPerSecond: number;
  /** CPU time of this process during the run (user + system, all threads), milliseconds. */
  cpuMs: number;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const round = (x: number): number => Math.round(x * 100) / 100;

/** Place `max` calls at `rate` per second with at most `concurrency` in progress. */
export function runLoad(ep: H323Endpoint, o: LoadOptions): Promise<LoadReport> {
  const latencies: number[] = [];
  const outcomes: Record<string, number> = {};
  const errors: Record<string, number> = {};
  let attempted = 0;
  let finished = 0;
  let succeeded = 0;
  let active = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const report = (): LoadReport => {
    const sorted = [...latencies].sort((a, b) => a - b);
    const elapsedMs = performance.now() - t0;
    return {
      attempted,
      succeeded,
      failed: finished - succeeded,
      active,
      outcomes: { ...outcomes },
      errors: { ...errors },
      setupMs: {
        min: round(sorted[0] ?? 0),
        avg: round(sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : 0),
        p50: round(percentile(sorted, 50)),
        p95: round(percentile(sorted, 95)),
        p99: round(percentile(sorted, 99)),
        max: round(sorted[sorted.length - 1] ?? 0),
      },
      elapsedMs: Math.round(elapsedMs),
      callsPerSecond: round((finished * 1000) / Math.max(1, elapsedMs)),
      cpuMs: (() => {
        const c = process.cpuUsage(cpu0);
        return Math.round((c.user + c.system) / 1000);
      })(),
    };
  };
  return new Promise((resolve) => {
    const tick = (): void => {
      const due = Math.min(o.max, Math.floor(((performance.now() - t0) * o.rate) / 1000) + 1);
      while (attempted < due && active < o.concurrency) {
        attempted++;
        active++;
        void ep.call().then((r) => {
          active--;
          finished++;
          outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
          if (r.error) errors[r.error] = (errors[r.error] ?? 0) + 1;
          if (r.ok) {
            succeeded++;
            latencies.push(r.setupMs!);
          }
          if (finished === o.max) {
            clearInterval(timer);
            clearInterval(progress);
            resolve(report());
          }
        });
      }
    };
    const timer = setInterval(tick, 5);
    const progress = setInterval(() => o.progress?.(report()), 1000);
    tick();
  });
}

/** `8001` → dialledDigits, `h323:…`/`sip:…` → url-ID, `a@b` → email-ID, anything else → h323-ID. */
export function parseAlias(s: string): AliasAddress {
  if (/^[0-9#*,]+$/.test(s)) return dialledDigits(s);
  if (/^[a-z][a-z0-9+.-]*:/i.test(s)) return urlId(s);
  if (s.includes('@')) return emailId(s);
  return h323Id(s);
}

const USAGE = `usage: h323-endpoint HOST[:PORT] [options]
  --local ADDR             local address to call from
  --country N --extension N --manufacturer N   T.35 vendor triple (default 181/0/20560)
  --product TEXT --version TEXT                productId / versionId
  --from ALIAS ...         source aliases; --to ALIAS ... destination aliases
                           (digits → dialledDigits, scheme: → url-ID, a@b → email-ID, else h323-ID)
  --dial DIGITS            Called party number and a dialledDigits destination alias
  --display TEXT           Display IE
  --on-forward follow|ignore|drop   what to do with a Facility callForwarded (default follow)
  --hold MS                time between Connect and Release Complete (default 0)
  --timeout MS             setup timeout, redirects included (default 5000)
  -r RATE -m MAX -l LIMIT  load: RATE calls/s, MAX calls, LIMIT in progress (like sipp)
  --json                   print the result as one JSON object
Exit status 0 when every call connected.
`;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      local: { type: 'string' },
      country: { type: 'string', default: '181' },
      extension: { type: 'string', default: '0' },
      manufacturer: { type: 'string', default: '20560' },
      product: { type: 'string', default: 'vcproxy endpoint simulator' },
      version: { type: 'string', default: '1.0' },
      from: { type: 'string', multiple: true },
      to: { type: 'string', multiple: true },
      dial: { type: 'string' },
      display: { type: 'string' },
      'on-forward': { type: 'string', default: 'follow' },
      hold: { type: 'string', default: '0' },
      timeout: { type: 'string', default: '5000' },
      r: { type: 'string', short: 'r' },
      m: { type: 'string', short: 'm', default: '1' },
      l: { type: 'string', short: 'l' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || positionals.length !== 1) {
    process.stdout.write(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const target = positionals[0]!;
  const at = target.lastIndexOf(':');
  const host = at > 0 && !target.endsWith(']') ? target.slice(0, at).replace(/^\[|\]$/g, '') : target;
  const port = at > 0 && !target.endsWith(']') ? Number(target.slice(at + 1)) : 1720;
  const onForward = values['on-forward'] as ForwardBehaviour;
  if (!['follow', 'ignore', 'drop'].includes(onForward)) throw new Error(`--on-forward ${onForward}: expected follow, ignore or drop`);
  const to = (values.to ?? []).map(parseAlias);
  if (values.dial) to.unshift(dialledDigits(values.dial));
  const ep = new H323Endpoint({
    host,
    port,
    ...(values.local ? { localAddress: values.local } : {}),
    identity: { t35CountryCode: Number(values.country), t35Extension: Number(values.extension), manufacturerCode: Number(values.manufacturer), productId: values.product!, versionId: values.version! },
    sourceAliases: (values.from ?? []).map(parseAlias),
    destinationAliases: to,
    ...(values.dial ? { calledNumber: values.dial } : {}),
    ...(values.display ? { display: values.display } : {}),
    onForward,
    holdMs: Number(values.hold),
    timeoutMs: Number(values.timeout),
  });
  const max = Number(values.m);
  let ok: boolean;
  if (max <= 1 && values.r === undefined) {
    const r = await ep.call();
    ok = r.ok;
    process.stdout.write(values.json ? `${JSON.stringify(r)}\n` : `${r.ok ? 'connected' : 'failed'}: ${r.outcome}${r.setupMs !== undefined ? ` in ${r.setupMs.toFixed(1)} ms` : ''}${r.forwardedTo.length ? ` via ${r.forwardedTo.join(' → ')}` : ''} (call ${r.callIdentifier})\n`);
  } else {
    const rate = Number(values.r ?? 10);
    const limit = Number(values.l ?? Math.max(10, rate * 4));
    const report = await runLoad(ep, {
      rate,
      max,
      concurrency: limit,
      progress: values.json ? undefined : (p) => process.stdout.write(`${(p.elapsedMs / 1000).toFixed(0)} s: ${p.attempted} started, ${p.succeeded} ok, ${p.failed} failed, ${p.active} in progress\n`),
    });
    ok = report.failed === 0;
    if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else {
      const s = report.setupMs;
      process.stdout.write(
        `calls: ${report.attempted}  successful: ${report.succeeded}  failed: ${report.failed}  (${report.callsPerSecond} calls/s over ${(report.elapsedMs / 1000).toFixed(1)} s)\n` +
          `outcomes: ${Object.entries(report.outcomes).map(([k, v]) => `${k} ${v}`).join(', ')}\n` +
          (Object.keys(report.errors).length ? `errors: ${Object.entries(report.errors).map(([k, v]) => `${k} ${v}`).join(', ')}\n` : '') +
          `setup latency ms: min ${s.min}  avg ${s.avg}  p50 ${s.p50}  p95 ${s.p95}  p99 ${s.p99}  max ${s.max}\n`,
      );
    }
  }
  ep.close();
  process.exit(ok ? 0 : 1);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`h323-endpoint: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  });
}
