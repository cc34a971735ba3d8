import { createSocket, type Socket } from 'node:dgram';
import { parseSipMessage } from '../../layer2/sip/parser.js';
import type { SipMessage, SipRequest } from '../../layer2/sip/message.js';
import { remaining, within } from './procs.js';

/**
 * A scripted SIP endpoint on UDP for tests: sends raw text, collects every message it receives,
 * and can answer requests through a handler.
 */
export class SipPeer {
  readonly received: SipMessage[] = [];
  readonly #sock: Socket;
  #closed = false;
  #waiters: Array<{ pred: (m: SipMessage) => boolean; resolve: (m: SipMessage) => void }> = [];
  onRequest: ((req: SipRequest, reply: (text: string) => void) => void) | undefined;

  private constructor(
    readonly address: string,
    readonly port: number,
    sock: Socket,
  ) {
    this.#sock = sock;
    sock.on('message', (buf, rinfo) => {
      let m: SipMessage;
      try {
        m = parseSipMessage(buf, true);
      } catch {
        return;
      }
      this.received.push(m);
      if (m.kind === 'request' && this.onRequest) this.onRequest(m, (text) => this.#closed || this.#sock.send(Buffer.from(text), rinfo.port, rinfo.address));
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.pred(m)) return true;
        w.resolve(m);
        return false;
      });
    });
  }

  static async open(address: string, port = 0): Promise<SipPeer> {
    // A large receive buffer: a test sends bursts, and a busy machine reads them late.
    const sock = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
    await new Promise<void>((r) => sock.bind(port, address, () => r()));
    return new SipPeer(address, sock.address().port, sock);
  }

  send(text: string, port: number, address: string): void {
    if (this.#closed) return;
    this.#sock.send(Buffer.from(text.replace(/\r?\n/g, '\r\n')), port, address);
  }

  /** The first message (already received or coming) that matches; a rejection at the file's deadline, or after `ms` (scaled). */
  wait(pred: (m: SipMessage) => boolean, ms?: number, what = 'a SIP message'): Promise<SipMessage> {
    const seen = this.received.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms === undefined ? remaining() : Math.min(remaining(), within(ms)));
      this.#waiters.push({ pred, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sock.close();
  }
}

export const isStatus = (status: number, method?: string) => (m: SipMessage): boolean =>
  m.kind === 'response' && m.status === status && (!method || m.cseqMethod === method);
export const isRequest = (method: string) => (m: SipMessage): boolean => m.kind === 'request' && m.method === method;

/** A response to `req` in plain text, for scripted backends. */
export function answer(req: SipRequest, status: number, reason: string, extra: string[] = [], toTag = 'be1'): string {
  const lines = [`SIP/2.0 ${status} ${reason}`];
  for (const h of req.headers) {
    const name = h.name.toLowerCase();
    if (['via', 'v', 'from', 'f', 'call-id', 'i', 'cseq'].includes(name)) lines.push(`${h.name}: ${h.value}`);
    if (name === 'to' || name === 't') lines.push(`To: ${h.value}${h.value.includes('tag=') || status === 100 ? '' : `;tag=${toTag}`}`);
    if (name === 'record-route') lines.push(`Record-Route: ${h.value}`);
  }
  lines.push(...extra, 'Content-Length: 0', '', '');
  return lines.join('\r\n');
}

let seq = 0;
/** An INVITE (or other request) from `from` to the connector at `to`. */
export function request(method: string, from: SipPeer, to: { address: string; port: number }, o: { callId?: string; branch?: string; maxForwards?: number; ua?: string; extra?: string[]; uri?: string; toTag?: string; cseq?: number } = {}): string {
  const n = ++seq;
  return [
    `${method} ${o.uri ?? `sip:room@${to.address}:${to.port}`} SIP/2.0`,
    `Via: SIP/2.0/UDP ${from.address}:${from.port};branch=${o.branch ?? `z9hG4bK-t${n}`}`,
    `Max-Forwards: ${o.maxForwards ?? 70}`,
    `From: <sip:caller@${from.address}>;tag=f${n}`,
    `To: <sip:room@${to.address}>${o.toTag ? `;tag=${o.toTag}` : ''}`,
    `Call-ID: ${o.callId ?? `call-${n}@test`}`,
    `CSeq: ${o.cseq ?? 1} ${method}`,
    `Contact: <sip:caller@${from.address}:${from.port}>`,
    ...(o.ua ? [`User-Agent: ${o.ua}`] : []),
    ...(o.extra ?? []),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}
