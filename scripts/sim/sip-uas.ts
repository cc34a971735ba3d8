import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { buildResponse } from '../../layer2/sip/builder.js';
import { SipStreamFramer } from '../../layer2/sip/framer.js';
import { H } from '../../layer2/sip/headers.js';
import type { SipRequest } from '../../layer2/sip/message.js';
import { parseSipMessage } from '../../layer2/sip/parser.js';
import { formatHostPort, parseSipUri } from '../../layer2/sip/uri.js';
import { BindError } from '../../shared/errors.js';
import { dropPrivileges, runAsOf } from '../../shared/privileges.js';
import { exitProcess } from '../../shared/crash.js';
import { createLogger, type Logger } from '../../shared/logger.js';

/**
 * The built-in backend: a small SIP UAS that answers INVITE with 200 and an SDP answer, BYE and
 * everything else with 200, on UDP and TCP. It counts arrivals that carry a redirect token so that
 * tests (and operators) can see a redirect being followed.
 */
export interface UasStats {
  invites: number;
  answered: number;
  byes: number;
  acks: number;
  other: number;
  tokens: Map<string, number>;
}

export interface UasOptions {
  address: string;
  port: number;
  tokenParam?: string;
  log?: Logger;
}

/** Answers kept for repeated INVITEs (a bound: the built-in backend answers anyone who reaches it). */
const MAX_ANSWERED = 100_000;

interface Answered {
  bytes: Buffer;
  send: (b: Buffer) => void;
  timer: NodeJS.Timeout | undefined;
  interval: number;
  expires: number;
}

export class SipUas {
  readonly stats: UasStats = { invites: 0, answered: 0, byes: 0, acks: 0, other: 0, tokens: new Map() };
  readonly #o: UasOptions;
  #udp: UdpSocket | undefined;
  #tcp: Server | undefined;
  readonly #sockets = new Set<Socket>();
  /**
   * 2xx to INVITE by Call-ID and CSeq: resent over UDP until the ACK comes (RFC 3261 13.3.1.4), and kept 32 s
   * so that the INVITE coming again (a proxy's retransmission that crossed the answer) gets the same
   * answer, not a second one (RFC 6026's Accepted state). At most MAX_ANSWERED at once.
   */
  readonly #pending = new Map<string, Answered>();
  readonly #tag = randomBytes(4).toString('hex');
  #seq = 0;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(o: UasOptions) {
    this.#o = o;
  }

  async start(): Promise<void> {
    const { address, port } = this.#o;
    this.#udp = await new Promise<UdpSocket>((resolve, reject) => {
      const s = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
      s.once('error', (e) => reject(new BindError('built-in backend SIP UDP', address, port, e)));
      s.bind(port, address, () => {
        s.removeAllListeners('error');
        s.on('error', () => undefined);
        resolve(s);
      });
      s.on('message', (m, r) => this.#handle(m, true, (b) => s.send(b, r.port, r.address)));
    });
    this.#tcp = await new Promise<Server>((resolve, reject) => {
      const srv = createServer({ noDelay: true }, (sock) => this.#accept(sock));
      srv.once('error', (e) => reject(new BindError('built-in backend SIP TCP', address, port, e)));
      srv.listen(port, address, () => {
        srv.removeAllListeners('error');
        resolve(srv);
      });
    });
    this.#sweeper = setInterval(() => {
      const now = Date.now();
      for (const [k, a] of this.#pending) if (a.expires < now) this.#settle(k);
    }, 1000).unref();
  }

  async close(): Promise<void> {
    if (this.#sweeper) clearInterval(this.#sweeper);
    for (const k of [...this.#pending.keys()]) this.#settle(k);
    for (const s of this.#sockets) s.destroy();
    this.#udp?.close();
    await new Promise<void>((r) => (this.#tcp ? this.#tcp.close(() => r()) : r()));
  }

  #accept(sock: Socket): void {
    this.#sockets.add(sock);
    const framer = new SipStreamFramer(65536);
    sock.on('error', () => sock.destroy());
    sock.on('close', () => this.#sockets.delete(sock));
    sock.on('data', (chunk: Buffer) => {
      framer.push(chunk);
      try {
        for (let it = framer.next(); it; it = framer.next()) {
          if (it.kind === 'ping') sock.write('\r\n');
          else this.#handle(it.bytes, false, (b) => sock.write(b));
        }
      } catch {
        sock.destroy();
      }
    });
  }

  #handle(bytes: Buffer, udp: boolean, send: (b: Buffer) => void): void {
    let msg;
    try {
      msg = parseSipMessage(bytes, udp);
    } catch {
      return;
    }
    if (msg.kind !== 'request') return;
    const req = msg;
    switch (req.method) {
      case 'INVITE':
        return this.#invite(req, udp, send);
      case 'ACK':
        this.stats.acks++;
        this.#acked(`${req.callId} ${req.cseq}`);
        return;
      case 'BYE':
        this.stats.byes++;
        send(buildResponse(req, 200, 'OK', { toTag: this.#tag }));
        return;
      case 'CANCEL':
        send(buildResponse(req, 200, 'OK', { toTag: this.#tag }));
        return;
      default:
        this.stats.other++;
        send(buildResponse(req, 200, 'OK', { toTag: this.#tag }));
    }
  }

  #invite(req: SipRequest, udp: boolean, send: (b: Buffer) => void): void {
    const key = `${req.callId} ${req.cseq}`;
    const again = this.#pending.get(key);
    if (again) {
      send(again.bytes);
      return;
    }
    this.stats.invites++;
    try {
      const token = parseSipUri(req.uri).params.get(this.#o.tokenParam ?? 'vcp-token');
      if (token) this.stats.tokens.set(token, (this.stats.tokens.get(token) ?? 0) + 1);
    } catch {
      // not a sip: URI; no token to count
    }
    const contact = `Contact: <sip:mcu@${formatHostPort(this.#o.address, this.#o.port)}${udp ? '' : ';transport=tcp'}>`;
    const rr = req.headers.filter((h) => h.id === H.RecordRoute).map((h) => `Record-Route: ${h.value}`);
    const sdp = Buffer.from(
      `v=0\r\no=vcp-backend ${++this.#seq} 1 IN IP4 ${this.#o.address}\r\ns=-\r\nc=IN IP4 ${this.#o.address}\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n`,
    );
    const ok = buildResponse(req, 200, 'OK', { toTag: this.#tag, headers: [...rr, contact], body: sdp });
    send(ok);
    this.stats.answered++;
    if (this.#pending.size >= MAX_ANSWERED) return;
    const a: Answered = { bytes: ok, send, timer: undefined, interval: 500, expires: Date.now() + 32_000 };
    this.#pending.set(key, a);
    if (udp) {
      const resend = (): void => {
        a.timer = setTimeout(() => {
          if (this.#pending.get(key) !== a || a.timer === undefined) return;
          a.send(a.bytes);
          a.interval = Math.min(a.interval * 2, 4000);
          resend();
        }, a.interval);
      };
      resend();
    }
  }

  /** The ACK came: no more resending; the answer stays until it expires. */
  #acked(callId: string): void {
    const a = this.#pending.get(callId);
    if (a?.timer) clearTimeout(a.timer);
    if (a) a.timer = undefined;
  }

  #settle(callId: string): void {
    const a = this.#pending.get(callId);
    if (!a) return;
    if (a.timer) clearTimeout(a.timer);
    this.#pending.delete(callId);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { address: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '5090' }, 'run-as': { type: 'string' } } });
  const log = createLogger('backend');
  const uas = new SipUas({ address: values.address!, port: Number(values.port), log });
  await uas.start();
  // Started by the launcher (as root): unprivileged once its ports are bound.
  if (values['run-as']) dropPrivileges(runAsOf(values['run-as']), log);
  log.info({ address: values.address, port: Number(values.port) }, 'built-in backend ready');
  const stop = (): void => {
    log.info({ invites: uas.stats.invites, byes: uas.stats.byes, redirectArrivals: uas.stats.tokens.size }, 'built-in backend stopping');
    void uas.close().then(() => exitProcess(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`backend: ${err instanceof Error ? err.message : String(err)}\n`);
    exitProcess(1);
  });
}
