import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { buildAlerting, buildCallProceeding, buildConnect, buildReleaseFor, setupOf, type Identity } from '../../layer2/h323/builder.js';
import { H323Error } from '../../layer2/h323/errors.js';
import { callIdentifierOf, guidToString, transportAddress } from '../../layer2/h323/h225.js';
import { bodyOf, type H323Message } from '../../layer2/h323/message.js';
import { MsgType } from '../../layer2/h323/q931.js';
import {
  buildAcf,
  buildDcf,
  buildGcf,
  buildLcf,
  buildRcf,
  buildUcf,
  decodeRas,
  encodeRas,
  RAS_ABBREVIATIONS,
  type AlternateGatekeeper,
  type RasMessage,
} from '../../layer2/h323/ras.js';
import { BindError } from '../../shared/errors.js';
import { dropPrivileges, runAsOf } from '../../shared/privileges.js';
import { exitProcess } from '../../shared/crash.js';
import { createLogger, type Logger } from '../../shared/logger.js';
import { H323Stream } from './h323-stream.js';

/**
 * An H.323 MCU stand-in: answers Setup with Call Proceeding, Alerting and Connect, ends the call on
 * the caller's Release Complete (or sends one itself after `holdMs`), counts calls and records the
 * call identifiers that arrive, so that a test can see a forwarded call arrive with its token.
 * Optionally answers RAS (GRQ→GCF, RRQ→RCF, URQ→UCF, ARQ→ACF, DRQ→DCF, LRQ→LCF) on UDP.
 */

export const MCU_IDENTITY: Identity = { t35CountryCode: 9, t35Extension: 0, manufacturerCode: 61, productId: 'vcproxy MCU simulator', versionId: '1' };

export interface McuOptions {
  address: string;
  /** Call signalling port (TCP); 0 picks a free one. */
  port: number;
  /** RAS port (UDP); RAS is not answered when unset. */
  rasPort?: number;
  identity?: Identity;
  /** 'connect' answers calls; 'reject' answers Setup with Release Complete (destinationRejection). */
  answer?: 'connect' | 'reject';
  alertingDelayMs?: number;
  connectDelayMs?: number;
  /** When > 0 the MCU hangs up with Release Complete this long after Connect. */
  holdMs?: number;
  gatekeeperIdentifier?: string;
  /** Alternate gatekeepers put into GCF and RCF. */
  alternates?: AlternateGatekeeper[];
  log?: Logger;
}

export interface McuStats {
  setups: number;
  connected: number;
  rejected: number;
  /** Calls the caller released. */
  released: number;
  /** Calls the MCU hung up. */
  hungUp: number;
  malformed: number;
  active: number;
  /** Call identifier (8-4-4-4-12 hex) → Setups that carried it. */
  callIdentifiers: Map<string, number>;
  ras: Record<string, number>;
  rasMalformed: number;
}

interface Call {
  setup: H323Message;
  timers: NodeJS.Timeout[];
}

export class H323Mcu {
  readonly stats: McuStats = { setups: 0, connected: 0, rejected: 0, released: 0, hungUp: 0, malformed: 0, active: 0, callIdentifiers: new Map(), ras: {}, rasMalformed: 0 };
  readonly #o: McuOptions;
  #tcp: Server | undefined;
  #udp: UdpSocket | undefined;
  readonly #sockets = new Set<Socket>();
  readonly #waiters: Array<{ guid: string; resolve: () => void }> = [];
  #endpointSeq = 0;

  constructor(o: McuOptions) {
    this.#o = o;
  }

  /** The bound call signalling port. */
  get port(): number {
    return (this.#tcp?.address() as AddressInfo | null)?.port ?? this.#o.port;
  }

  get rasPort(): number | undefined {
    return this.#udp ? this.#udp.address().port : undefined;
  }

  async start(): Promise<void> {
    const { address, port } = this.#o;
    this.#tcp = await new Promise<Server>((resolve, reject) => {
      const srv = createServer({ noDelay: true }, (s) => this.#accept(s));
      srv.once('error', (e) => reject(new BindError('MCU simulator H.225 TCP', address, port, e)));
      srv.listen({ host: address, port, backlog: 4096 }, () => {
        srv.removeAllListeners('error');
        resolve(srv);
      });
    });
    if (this.#o.rasPort !== undefined) {
      const rasPort = this.#o.rasPort;
      this.#udp = await new Promise<UdpSocket>((resolve, reject) => {
        const s = createSocket(address.includes(':') ? 'udp6' : 'udp4');
        s.once('error', (e) => reject(new BindError('MCU simulator RAS UDP', address, rasPort, e)));
        s.bind(rasPort, address, () => {
          s.removeAllListeners('error');
          s.on('error', () => undefined);
          resolve(s);
        });
        s.on('message', (b, r) => this.#ras(b, (out) => s.send(out, r.port, r.address)));
      });
    }
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    this.#udp?.close();
    await new Promise<void>((r) => (this.#tcp ? this.#tcp.close(() => r()) : r()));
  }

  arrivals(callIdentifier: string): number {
    return this.stats.callIdentifiers.get(callIdentifier) ?? 0;
  }

  /** Resolves when a Setup with this call identifier has arrived (at once if one already has). */
  waitForCall(callIdentifier: string): Promise<void> {
    if (this.arrivals(callIdentifier) > 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ guid: callIdentifier, resolve }));
  }

  #accept(sock: Socket): void {
    this.#sockets.add(sock);
    const calls = new Map<number, Call>();
    const finish = (ref: number): void => {
      const c = calls.get(ref);
      if (!c) return;
      for (const t of c.timers) clearTimeout(t);
      calls.delete(ref);
      this.stats.active--;
      if (calls.size === 0) sock.end();
    };
    const stream = new H323Stream(sock, {
      message: (m) => this.#message(stream, m, calls, finish),
      malformed: (e: H323Error) => {
        this.stats.malformed++;
        this.#o.log?.warn({ code: e.code, err: e.message, remote: sock.remoteAddress }, 'malformed H.225 message');
        for (const [ref, c] of calls) {
          stream.send(buildReleaseFor(c.setup, 'undefinedReason', 31));
          finish(ref);
        }
        sock.destroy();
      },
    });
    sock.on('error', () => sock.destroy());
    sock.on('close', () => {
      this.#sockets.delete(sock);
      for (const ref of [...calls.keys()]) finish(ref);
    });
  }

  #message(stream: H323Stream, m: H323Message, calls: Map<number, Call>, finish: (ref: number) => void): void {
    const ref = m.q931.callReference;
    if (m.q931.type === MsgType.Setup && !m.q931.fromDestination) {
      if (calls.has(ref)) return;
      this.stats.setups++;
      const guid = callIdentifierOf(bodyOf(m));
      if (guid) {
        const key = guidToString(guid);
        this.stats.callIdentifiers.set(key, (this.stats.callIdentifiers.get(key) ?? 0) + 1);
        for (let i = this.#waiters.length - 1; i >= 0; i--) {
          if (this.#waiters[i]!.guid === key) this.#waiters.splice(i, 1)[0]!.resolve();
        }
      }
      if (this.#o.answer === 'reject' || !setupOf(m)) {
        this.stats.rejected++;
        stream.send(buildReleaseFor(m, 'destinationRejection', 21));
        if (calls.size === 0) stream.socket.end();
        return;
      }
      const call: Call = { setup: m, timers: [] };
      calls.set(ref, call);
      this.stats.active++;
      const answer = { identity: this.#o.identity ?? MCU_IDENTITY, kind: 'mcu' as const };
      stream.send(buildCallProceeding(m, answer));
      const later = (ms: number, f: () => void): void => {
        if (ms > 0) call.timers.push(setTimeout(f, ms));
        else f();
      };
      later(this.#o.alertingDelayMs ?? 0, () => {
        stream.send(buildAlerting(m, answer));
        later(this.#o.connectDelayMs ?? 0, () => {
          stream.send(buildConnect(m, answer));
          this.stats.connected++;
          const hold = this.#o.holdMs ?? 0;
          if (hold > 0) {
            call.timers.push(
              setTimeout(() => {
                this.stats.hungUp++;
                stream.send(buildReleaseFor(m, undefined, 16));
                finish(ref);
              }, hold),
            );
          }
        });
      });
      return;
    }
    if (m.q931.type === MsgType.ReleaseComplete && calls.has(ref)) {
      this.stats.released++;
      finish(ref);
    }
  }

  #ras(b: Buffer, reply: (out: Buffer) => void): void {
    let m: RasMessage;
    try {
      m = decodeRas(b);
    } catch (e) {
      if (!(e instanceof H323Error)) throw e;
      this.stats.rasMalformed++;
      this.#o.log?.warn({ code: e.code, err: e.message }, 'malformed RAS datagram dropped');
      return;
    }
    const name = RAS_ABBREVIATIONS[m.choice] ?? m.choice;
    this.stats.ras[name] = (this.stats.ras[name] ?? 0) + 1;
    const self = transportAddress(this.#o.address, this.port);
    const rasSelf = transportAddress(this.#o.address, this.rasPort ?? 1719);
    const gk = this.#o.gatekeeperIdentifier;
    const alternates = this.#o.alternates;
    let out: RasMessage | undefined;
    switch (m.choice) {
      case 'gatekeeperRequest':
        out = buildGcf(m, { rasAddress: rasSelf, ...(gk ? { gatekeeperIdentifier: gk } : {}), ...(alternates ? { alternates } : {}) });
        break;
      case 'registrationRequest':
        out = buildRcf(m, { endpointIdentifier: `EP-${++this.#endpointSeq}`, callSignalAddress: [self], ...(gk ? { gatekeeperIdentifier: gk } : {}), ...(alternates ? { alternates } : {}) });
        break;
      case 'unregistrationRequest':
        out = buildUcf(m);
        break;
      case 'admissionRequest':
        out = buildAcf(m, { destCallSignalAddress: self });
        break;
      case 'disengageRequest':
        out = buildDcf(m);
        break;
      case 'locationRequest':
        out = buildLcf(m, { callSignalAddress: self, rasAddress: rasSelf });
        break;
    }
    if (out) reply(encodeRas(out));
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      address: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '1720' },
      'ras-port': { type: 'string' },
      hold: { type: 'string', default: '0' },
      'alerting-delay': { type: 'string', default: '0' },
      'connect-delay': { type: 'string', default: '0' },
      reject: { type: 'boolean', default: false },
      'gk-id': { type: 'string' },
      alternate: { type: 'string', multiple: true },
      'run-as': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'usage: h323-mcu [--address A] [--port 1720] [--ras-port 1719] [--hold MS] [--alerting-delay MS] [--connect-delay MS]\n' +
        '                [--reject] [--gk-id ID] [--alternate IP:PORT ...] [--run-as USER:GROUP]\n' +
        'Answers H.323 calls (Call Proceeding, Alerting, Connect); prints its counters as one JSON line on SIGTERM/SIGINT.\n',
    );
    return;
  }
  const log = createLogger('h323-mcu');
  const alternates = (values.alternate ?? []).map((a, i): AlternateGatekeeper => {
    const at = a.lastIndexOf(':');
    return { ip: a.slice(0, at), port: Number(a.slice(at + 1)), priority: i };
  });
  const mcu = new H323Mcu({
    address: values.address!,
    port: Number(values.port),
    ...(values['ras-port'] !== undefined ? { rasPort: Number(values['ras-port']) } : {}),
    holdMs: Number(values.hold),
    alertingDelayMs: Number(values['alerting-delay']),
    connectDelayMs: Number(values['connect-delay']),
    answer: values.reject ? 'reject' : 'connect',
    ...(values['gk-id'] ? { gatekeeperIdentifier: values['gk-id'] } : {}),
    ...(alternates.length ? { alternates } : {}),
    log,
  });
  await mcu.start();
  // Started by the launcher (as root): unprivileged once its ports are bound.
  if (values['run-as']) dropPrivileges(runAsOf(values['run-as']), log);
  log.info({ address: values.address, port: mcu.port, rasPort: mcu.rasPort }, 'H.323 MCU simulator ready');
  const stop = (): void => {
    const { callIdentifiers, ...rest } = mcu.stats;
    process.stdout.write(`${JSON.stringify({ ...rest, distinctCallIdentifiers: callIdentifiers.size })}\n`);
    void mcu.close().then(() => exitProcess(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`h323-mcu: ${err instanceof Error ? err.message : String(err)}\n`);
    exitProcess(1);
  });
}
