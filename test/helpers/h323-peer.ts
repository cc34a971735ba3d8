import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { H323Message } from '../../layer2/h323/message.js';
import { decodeRas, encodeRas, type RasMessage } from '../../layer2/h323/ras.js';
import { H323Stream } from '../../scripts/sim/h323-stream.js';
import { remaining, within } from './procs.js';

/** Scripted H.225 peers for tests: a caller connection and a server that answers as told. */

export type Predicate = (m: H323Message) => boolean;

/** Polls `find` until it finds something, at most until the file's deadline or `timeoutMs` (scaled). */
async function until<T>(find: () => T | undefined, timeoutMs: number | undefined, what: string): Promise<T> {
  const end = Date.now() + (timeoutMs === undefined ? remaining() : Math.min(remaining(), within(timeoutMs)));
  for (;;) {
    const x = find();
    if (x !== undefined) return x;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** One TCP connection speaking TPKT/Q.931; every message received is kept. */
export class H323Conn {
  readonly received: H323Message[] = [];
  readonly stream: H323Stream;
  closed = false;
  malformed = 0;

  constructor(readonly socket: Socket, onMessage?: (m: H323Message, c: H323Conn) => void) {
    this.stream = new H323Stream(socket, {
      message: (m) => {
        this.received.push(m);
        onMessage?.(m, this);
      },
      malformed: () => this.malformed++,
    });
    socket.on('error', () => undefined);
    socket.on('close', () => (this.closed = true));
  }

  static open(host: string, port: number, localAddress: string, first?: Buffer): Promise<H323Conn> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port, localAddress });
      s.once('error', reject);
      s.once('connect', () => {
        if (first) s.write(first);
        resolve(new H323Conn(s));
      });
    });
  }

  send(m: H323Message): void {
    this.stream.send(m);
  }

  write(b: Buffer): void {
    this.socket.write(b);
  }

  wait(p: Predicate, what: string, timeoutMs?: number): Promise<H323Message> {
    return until(() => this.received.find(p), timeoutMs, what);
  }

  waitClosed(timeoutMs?: number): Promise<true> {
    return until(() => (this.closed ? true : undefined), timeoutMs, 'the connection to close');
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A server whose connections run `script` on every message. */
export class H323ScriptedServer {
  readonly conns: H323Conn[] = [];
  #srv: Server | undefined;

  constructor(readonly script: (m: H323Message, c: H323Conn) => void) {}

  async listen(address: string, port: number): Promise<this> {
    this.#srv = createServer((s) => this.conns.push(new H323Conn(s, this.script)));
    await new Promise<void>((r) => this.#srv!.listen(port, address, r));
    return this;
  }

  get port(): number {
    return (this.#srv!.address() as AddressInfo).port;
  }

  all(): H323Message[] {
    return this.conns.flatMap((c) => c.received);
  }

  wait(p: Predicate, what: string, timeoutMs?: number): Promise<H323Message> {
    return until(() => this.all().find(p), timeoutMs, what);
  }

  close(): Promise<void> {
    for (const c of this.conns) c.close();
    return new Promise((r) => (this.#srv ? this.#srv.close(() => r()) : r()));
  }
}

/** A RAS endpoint socket: sends requests, keeps the decoded replies. */
export class RasClient {
  readonly replies: RasMessage[] = [];
  readonly raw: Buffer[] = [];

  private constructor(readonly socket: UdpSocket) {
    socket.on('message', (b) => {
      this.raw.push(b);
      this.replies.push(decodeRas(b));
    });
  }

  static async open(address: string): Promise<RasClient> {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, address, () => r()));
    return new RasClient(s);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(m: RasMessage | Buffer, port: number, address: string): void {
    this.socket.send(Buffer.isBuffer(m) ? m : encodeRas(m), port, address);
  }

  /** The reply to request number `seq`. */
  reply(seq: number, timeoutMs?: number): Promise<RasMessage> {
    return until(() => this.replies.find((r) => (r.value as { requestSeqNum?: number } | null)?.requestSeqNum === seq), timeoutMs, `the RAS reply to ${seq}`);
  }

  close(): void {
    this.socket.close();
  }
}
