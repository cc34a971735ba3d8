import { type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Server, type Socket } from 'node:net';
import type { Logger } from '../../shared/logger.js';
import { bindUdp, closeUdp, listenTcp } from '../../shared/net/listen.js';
import { decodeProxyV2 } from '../../shared/proxy-v2.js';
import type { AddressSet } from '../../shared/net/address-set.js';
import { writeBounded } from '../../shared/net/backpressure.js';
import type { ConnectionLimiter } from '../../shared/net/connection-limiter.js';
import { H323Err, H323Error, h323Error } from './errors.js';
import type { H323Metrics } from './metrics.js';
import { TpktFramer, tpkt } from './tpkt.js';

/** What one H.225.0 connection reports: whole Q.931 messages, a broken stream, its end. */
export interface StreamSink {
  /** Outbound connections: the TCP connection is up. */
  opened?(): void;
  /** One TPKT payload (a Q.931 message), a view of the received bytes. */
  message(payload: Buffer): void;
  /** The stream cannot be framed any more (bad TPKT, over the size limit, too slow): it is destroyed after this. */
  broken(err: H323Error): void;
  /** The socket is gone; `err` when it failed (refused, reset, connect timeout). */
  closed(err: Error | undefined): void;
  /** No byte for `idleTimeoutMs`: return true to close the connection. */
  idle?(): boolean;
}

/**
 * One TCP connection carrying TPKT-framed Q.931 messages. `remote*` is the real peer (the client
 * from PROXY v2 behind layer 1); `local*` is the address the peer dialled (the well-known address
 * behind layer 1), which is what the connector names when it points an endpoint back at itself.
 */
export class SignalConnection {
  readonly socket: Socket;
  readonly proxied: boolean;
  readonly outbound: boolean;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  #sink: StreamSink | undefined;
  readonly #framer: TpktFramer;
  readonly #headerTimeoutMs: number;
  #slow: NodeJS.Timeout | undefined;
  #broken = false;
  #failure: Error | undefined;

  readonly #maxUnsent: number;
  readonly #admit: ((source: string) => boolean) | undefined;
  readonly #onUnread: (() => void) | undefined;

  constructor(
    socket: Socket,
    o: {
      proxied: boolean;
      outbound: boolean;
      maxMessageBytes: number;
      headerTimeoutMs: number;
      local: { address: string; port: number };
      /** A peer leaving more than this unread is disconnected. */
      maxUnsentBytes?: number;
      /** Per message from a caller: false = its source is being ignored (the connection closes). */
      admit?: (source: string) => boolean;
      onUnread?: () => void;
    },
  ) {
    this.socket = socket;
    this.proxied = o.proxied;
    this.outbound = o.outbound;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.localAddress = o.local.address;
    this.localPort = o.local.port;
    this.#framer = new TpktFramer(o.maxMessageBytes);
    this.#headerTimeoutMs = o.headerTimeoutMs;
    this.#maxUnsent = o.maxUnsentBytes ?? 1 << 20;
    this.#admit = o.outbound ? undefined : o.admit;
    this.#onUnread = o.onUnread;
  }

  get peer(): string {
    return `${this.remoteAddress}:${this.remotePort}`;
  }

  isOpen(): boolean {
    return !this.socket.destroyed && this.socket.writable;
  }

  /** Send one Q.931 message (TPKT added). */
  send(payload: Buffer): void {
    // A peer that does not read is disconnected before what waits for it grows without bound.
    if (this.isOpen() && !writeBounded(this.socket, tpkt(payload), this.#maxUnsent)) this.#onUnread?.();
  }

  /** Close after what was written has gone out. */
  end(): void {
    if (!this.socket.destroyed) this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Start reading into `sink`; `first` holds bytes that came with the PROXY v2 header. */
  attach(sink: StreamSink, first?: Buffer): void {
    this.#sink = sink;
    const s = this.socket;
    // A call holds its connections for hours without a byte: TCP keep-alive finds a peer that vanished.
    s.setKeepAlive(true, KEEPALIVE_MS);
    s.on('data', (chunk: Buffer) => this.#feed(chunk));
    s.on('close', () => {
      if (this.#slow) clearTimeout(this.#slow);
      sink.closed(this.#failure);
    });
    if (first && first.length > 0) this.#feed(first);
  }

  /** Remembered so that `closed` can say why (the socket's own error event comes before close). */
  failed(err: Error): void {
    this.#failure ??= err;
  }

  #feed(chunk: Buffer): void {
    if (this.#broken) return;
    const f = this.#framer;
    f.push(chunk);
    try {
      for (let it = f.next(); it; it = f.next()) {
        if (it.kind === 'message') {
          if (this.#admit && !this.#admit(this.remoteAddress)) {
            // A flooding source: its connection goes (its calls with it).
            this.socket.destroy();
            return;
          }
          this.#sink!.message(it.bytes);
        }
        if (this.#broken || this.socket.destroyed) return;
      }
    } catch (err) {
      if (!(err instanceof H323Error)) throw err;
      this.#break(err);
      return;
    }
    // A message begun and not finished in time ties up only this connection, and not for long.
    if (f.pending > 0) this.#slow ??= setTimeout(() => this.#break(h323Error(H323Err.SlowSender, `a message begun ${this.#headerTimeoutMs} ms ago is still not complete`)), this.#headerTimeoutMs);
    else if (this.#slow) {
      clearTimeout(this.#slow);
      this.#slow = undefined;
    }
  }

  #break(err: H323Error): void {
    if (this.#broken) return;
    this.#broken = true;
    if (this.#slow) clearTimeout(this.#slow);
    this.#sink!.broken(err);
    // What the sink wrote (Release Complete) goes out before the connection closes.
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }
}

/** Where a RAS datagram came from and how to answer it. */
export interface RasPeer {
  /** The endpoint (from PROXY v2 behind layer 1). */
  remoteAddress: string;
  remotePort: number;
  /** The address the endpoint sent to: the well-known RAS address behind layer 1. */
  localAddress: string;
  localPort: number;
  proxied: boolean;
  /** Replies go to the datagram's source (behind layer 1: its flow socket, which adds nothing). */
  reply(datagram: Buffer): void;
}

export interface H323TransportOptions {
  address: string;
  /** Plain H.225 TCP port (direct callers, arrivals of redirected calls); 0 = none. */
  port: number;
  /** H.225 TCP port behind layer 1: every connection starts with a PROXY v2 header. 0 = none. */
  proxiedPort: number;
  /** Plain RAS UDP port; 0 = none. */
  rasPort: number;
  /** RAS UDP port behind layer 1: a PROXY v2 header on every datagram. 0 = none. */
  rasProxiedPort: number;
  /** What proxied callers dialled when their PROXY header does not say (a LOCAL command). */
  wellKnown: { address: string; h323: number; ras: number };
  maxMessageBytes: number;
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  /** Where PROXY v2 is accepted from (layer 1's addresses): anything else on a proxied port is dropped. */
  trusted?: AddressSet;
  /** Caller connections, against a global and a per-source cap (by the real caller address). */
  connections?: ConnectionLimiter;
  /** Requests per source (`h323` call signalling, `ras`): false = the source is being ignored. */
  admit?: (source: string, protocol: 'h323' | 'ras') => boolean;
  maxUnsentBytes?: number;
}

export interface H323TransportHandlers {
  /** A caller's connection is ready (its PROXY header read): return where its messages go. */
  accept(conn: SignalConnection): StreamSink;
  ras(datagram: Buffer, peer: RasPeer): void;
}

/** Idle time before TCP keep-alive probes start on a call's connections. */
const KEEPALIVE_MS = 60_000;

/** Longest PROXY v2 header accepted (HAProxy's recommended receive size). */
const PROXY_HEADER_MAX = 536;

/** The H.323 sockets of one worker: H.225 TCP (plain and from layer 1), RAS UDP (plain and from layer 1), connections to servers. */
export class H323Transport {
  readonly #o: H323TransportOptions;
  readonly #h: H323TransportHandlers;
  readonly #m: H323Metrics;
  readonly #log: Logger;
  readonly #servers: Server[] = [];
  readonly #udp: UdpSocket[] = [];
  readonly #sockets = new Set<Socket>();
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(o: H323TransportOptions, h: H323TransportHandlers, metrics: H323Metrics, log: Logger) {
    this.#o = o;
    this.#h = h;
    this.#m = metrics;
    this.#log = log;
  }

  get address(): string {
    return this.#o.address;
  }

  /** Connections open now (callers and servers). */
  get openSockets(): number {
    return this.#sockets.size;
  }

  async start(): Promise<void> {
    const o = this.#o;
    if (o.port) this.#servers.push(await listenTcp(o.address, o.port, 'H.225 TCP', (s) => this.#accepted(s, false)));
    if (o.proxiedPort) this.#servers.push(await listenTcp(o.address, o.proxiedPort, 'H.225 TCP from layer 1', (s) => this.#accepted(s, true)));
    if (o.rasPort) this.#udp.push(await bindUdp(o.address, o.rasPort, 'RAS UDP', 1 << 20, (m, r, s) => this.#plainRas(m, r, s)));
    if (o.rasProxiedPort) this.#udp.push(await bindUdp(o.address, o.rasProxiedPort, 'RAS UDP from layer 1', 1 << 20, (m, r, s) => this.#proxiedRas(m, r, s)));
  }

  /** Closes every socket; safe to call again (a second stop signal), and RAS replies after it are dropped. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    for (const s of this.#sockets) s.destroy();
    for (const u of this.#udp) closeUdp(u);
    await Promise.all(this.#servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }

  /** Open a connection to a server; `sink.opened` when it is up, `sink.closed(err)` when it fails. */
  connect(address: string, port: number, sink: StreamSink, timeoutMs: number): SignalConnection {
    // No local address: binding before connect makes the kernel scan for a free port, slow with many in TIME_WAIT.
    const socket = connect({ host: address, port, noDelay: true });
    const conn = new SignalConnection(socket, { proxied: false, outbound: true, maxMessageBytes: this.#o.maxMessageBytes, headerTimeoutMs: this.#o.headerTimeoutMs, local: { address: this.#o.address, port: 0 }, maxUnsentBytes: this.#o.maxUnsentBytes, onUnread: () => this.#m.dropped.labels('unread').inc() });
    conn.remoteAddress = address;
    conn.remotePort = port;
    this.#sockets.add(socket);
    const timer = setTimeout(() => {
      conn.failed(new Error(`no TCP connection within ${timeoutMs} ms`));
      socket.destroy();
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      sink.opened?.();
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      conn.failed(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      this.#sockets.delete(socket);
    });
    conn.attach(sink);
    return conn;
  }

  /** Counts a caller's connection against the caps (by its real address); false when it must close. */
  #admitConnection(socket: Socket, address: string): boolean {
    const limiter = this.#o.connections;
    if (!limiter) return true;
    const a = limiter.take(address);
    if (a !== 'ok') {
      this.#m.dropped.labels(a === 'full' ? 'tcp_limit' : 'tcp_source_limit').inc();
      socket.destroy();
      return false;
    }
    socket.once('close', () => limiter.release(address));
    return true;
  }

  #accepted(socket: Socket, proxied: boolean): void {
    const o = this.#o;
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    if (proxied && o.trusted && !o.trusted.has(socket.remoteAddress ?? '')) {
      // Only layer 1 may say who the caller is: from anyone else a PROXY header is a forgery.
      this.#m.dropped.labels('proxy_untrusted').inc();
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const local = proxied ? { address: o.wellKnown.address, port: o.wellKnown.h323 } : { address: o.address, port: o.port };
    const admit = o.admit;
    const conn = new SignalConnection(socket, {
      proxied, outbound: false, maxMessageBytes: o.maxMessageBytes, headerTimeoutMs: o.headerTimeoutMs, local, maxUnsentBytes: o.maxUnsentBytes,
      ...(admit ? { admit: (source: string) => admit(source, 'h323') } : {}),
      onUnread: () => this.#m.dropped.labels('unread').inc(),
    });
    if (!proxied && !this.#admitConnection(socket, conn.remoteAddress)) return;
    const ready = (first?: Buffer): void => {
      const sink = this.#h.accept(conn);
      socket.setTimeout(o.idleTimeoutMs, () => {
        if (sink.idle?.() ?? true) socket.destroy();
      });
      conn.attach(sink, first);
    };
    if (!proxied) return ready();
    // The PROXY v2 header comes first; nothing else is read until it has arrived whole.
    let head: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      this.#m.dropped.labels('proxy_header_timeout').inc();
      socket.destroy();
    }, o.headerTimeoutMs);
    const onData = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      let r;
      try {
        r = decodeProxyV2(head);
      } catch {
        r = undefined;
      }
      if (r?.status === 'incomplete' && head.length < PROXY_HEADER_MAX) return;
      socket.off('data', onData);
      clearTimeout(timer);
      if (!r || r.status !== 'ok') {
        this.#m.dropped.labels('proxy_header').inc();
        this.#log.debug({ from: `${conn.remoteAddress}:${conn.remotePort}` }, 'H.225 connection without a valid PROXY v2 header closed');
        socket.destroy();
        return;
      }
      if (r.info.command === 'proxy') {
        conn.remoteAddress = r.info.srcAddress;
        conn.remotePort = r.info.srcPort;
        conn.localAddress = r.info.dstAddress;
        conn.localPort = r.info.dstPort;
      }
      if (!this.#admitConnection(socket, conn.remoteAddress)) return;
      ready(head.subarray(r.headerLength));
    };
    socket.on('data', onData);
  }

  #reply(sock: UdpSocket, b: Buffer, to: RemoteInfo): void {
    if (!this.#closed) sock.send(b, to.port, to.address);
  }

  #plainRas(msg: Buffer, rinfo: RemoteInfo, sock: UdpSocket): void {
    const o = this.#o;
    if (o.admit && !o.admit(rinfo.address, 'ras')) {
      this.#m.rasDropped.labels('flood').inc();
      return;
    }
    this.#h.ras(msg, {
      remoteAddress: rinfo.address,
      remotePort: rinfo.port,
      localAddress: o.address,
      localPort: o.rasPort,
      proxied: false,
      reply: (b) => this.#reply(sock, b, rinfo),
    });
  }

  #proxiedRas(msg: Buffer, rinfo: RemoteInfo, sock: UdpSocket): void {
    const o = this.#o;
    if (o.trusted && !o.trusted.has(rinfo.address)) {
      this.#m.rasDropped.labels('proxy_untrusted').inc();
      return;
    }
    let r;
    try {
      r = decodeProxyV2(msg);
    } catch {
      r = undefined;
    }
    if (!r || r.status !== 'ok' || r.info.command !== 'proxy') {
      this.#m.rasDropped.labels('proxy_header').inc();
      return;
    }
    const info = r.info;
    if (o.admit && !o.admit(info.srcAddress, 'ras')) {
      this.#m.rasDropped.labels('flood').inc();
      return;
    }
    this.#h.ras(msg.subarray(r.headerLength), {
      remoteAddress: info.srcAddress,
      remotePort: info.srcPort,
      localAddress: info.dstAddress || this.#o.wellKnown.address,
      localPort: info.dstPort || this.#o.wellKnown.ras,
      proxied: true,
      reply: (b) => this.#reply(sock, b, rinfo),
    });
  }
}
