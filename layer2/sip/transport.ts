import { type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Server, type Socket } from 'node:net';
import type { Logger } from '../../shared/logger.js';
import { bindUdp, closeUdp, listenTcp } from '../../shared/net/listen.js';
import { decodeProxyV2 } from '../../shared/proxy-v2.js';
import type { AddressSet } from '../../shared/net/address-set.js';
import { writeBounded } from '../../shared/net/backpressure.js';
import type { ConnectionLimiter } from '../../shared/net/connection-limiter.js';
import { SipParseError } from './errors.js';
import { SipStreamFramer } from './framer.js';

export type Transport = 'udp' | 'tcp';

export interface Peer {
  transport: Transport;
  address: string;
  port: number;
}

/**
 * A path to one peer: a UDP address (direct, or through a layer-1 flow socket) or a TCP connection.
 * `remote*` is the real peer (the client address from PROXY v2 when proxied); `local*` is the address
 * the peer dialled, which our Via and Record-Route must name so that it comes back the same way.
 */
export interface Flow {
  readonly transport: Transport;
  readonly proxied: boolean;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** Names this flow in a flow token: stable while the peer keeps its address. */
  readonly key: string;
  send(buf: Buffer): void;
  isOpen(): boolean;
}

export interface TransportHandlers {
  /** One SIP message (UDP: a whole datagram, which may hold trailing bytes; TCP: exactly one message). */
  onMessage(bytes: Buffer, flow: Flow, datagram: boolean): void;
  /** A TCP stream error that loses the message in progress (too large...): the connection is closed. */
  onStreamError(err: SipParseError, flow: Flow, partial: Buffer): void;
  /** A connection we opened towards `peer` failed or closed before it could carry our bytes. */
  onPeerFailed(peer: Peer, err: Error): void;
}

export interface TransportOptions {
  address: string;
  /** Plain SIP port (UDP and TCP): direct clients and backends. */
  port: number;
  /** SIP port behind layer 1: every datagram and connection starts with a PROXY v2 header. 0 = none. */
  proxiedPort: number;
  /** The well-known address and SIP port layer 1 holds (what proxied clients dialled). */
  wellKnown: { address: string; port: number };
  maxMessageBytes: number;
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  /** Where PROXY v2 is accepted from (layer 1's addresses): anything else on the proxied port is dropped. */
  trusted?: AddressSet;
  /** Client TCP connections, against a global and a per-source cap (by the real client address). */
  connections?: ConnectionLimiter;
  /** Requests per source: false = the source is being ignored. */
  admit?: (source: string) => boolean;
  /** A TCP peer that leaves more than this unread is disconnected. */
  maxUnsentBytes?: number;
  /** Something was dropped or refused: proxy_untrusted, flood, tcp_limit, tcp_source_limit, unread. */
  onDrop?: (reason: string) => void;
}

/** A request (not a response, not a keep-alive): what the flood guard counts. Starts with a method token, not `SIP/`. */
function isRequest(b: Buffer): boolean {
  const c = b[0];
  return c !== undefined && c >= 0x41 && c <= 0x5a && !(c === 0x53 && b[1] === 0x49 && b[2] === 0x50 && b[3] === 0x2f);
}

export interface TransportCounters {
  udpIn: number;
  udpOut: number;
  tcpConnections: number;
  proxyHeaderErrors: number;
  /** Datagrams and connections on the proxied port from an address that is not layer 1's. */
  proxyUntrusted: number;
  headerTimeouts: number;
  pongs: number;
  /** Connections closed because their peer left more than `maxUnsentBytes` unread. */
  unread: number;
}

const PONG = Buffer.from('\r\n');

const flowKey = (t: Transport, a: string, p: number): string => `${t === 'udp' ? 'u' : 't'}_${a.replace(/:/g, '-')}_${p}`;

class UdpFlow implements Flow {
  readonly transport = 'udp' as const;
  lastSeen = Date.now();
  constructor(
    readonly proxied: boolean,
    readonly remoteAddress: string,
    readonly remotePort: number,
    readonly localAddress: string,
    readonly localPort: number,
    readonly key: string,
    private readonly socket: UdpSocket,
    /** Where datagrams go: the client itself, or the layer-1 flow socket that stands for it. */
    private readonly toAddress: string,
    private readonly toPort: number,
    private readonly counters: TransportCounters,
    /** Shared with the transport: once it closed, its UDP sockets take no more sends. */
    private readonly closed: { value: boolean },
  ) {}
  send(buf: Buffer): void {
    if (this.closed.value) return;
    this.counters.udpOut++;
    this.socket.send(buf, this.toPort, this.toAddress);
  }
  isOpen(): boolean {
    return !this.closed.value;
  }
}

class TcpFlow implements Flow {
  readonly transport = 'tcp' as const;
  constructor(
    readonly proxied: boolean,
    public remoteAddress: string,
    public remotePort: number,
    readonly localAddress: string,
    readonly localPort: number,
    public key: string,
    readonly socket: Socket,
    private readonly maxUnsent: number,
    private readonly onUnread: () => void,
  ) {}
  send(buf: Buffer): void {
    // A peer that does not read what it is sent is disconnected before its backlog grows without bound.
    if (!this.socket.destroyed && !writeBounded(this.socket, buf, this.maxUnsent)) this.onUnread();
  }
  isOpen(): boolean {
    return !this.socket.destroyed && this.socket.writable;
  }
}

/** The SIP sockets of one worker: plain UDP/TCP, PROXY-v2 UDP/TCP from layer 1, and connections we open. */
export class SipTransport {
  readonly counters: TransportCounters = { udpIn: 0, udpOut: 0, tcpConnections: 0, proxyHeaderErrors: 0, proxyUntrusted: 0, headerTimeouts: 0, pongs: 0, unread: 0 };
  readonly #o: TransportOptions;
  readonly #h: TransportHandlers;
  readonly #log: Logger;
  #udp: UdpSocket | undefined;
  #udpProxied: UdpSocket | undefined;
  #tcp: Server | undefined;
  #tcpProxied: Server | undefined;
  readonly #udpFlows = new Map<string, UdpFlow>();
  /** Client flows by key, for requests that a backend sends towards a client. */
  readonly #byKey = new Map<string, Flow>();
  readonly #outbound = new Map<string, TcpFlow>();
  readonly #sockets = new Set<Socket>();
  /** Connections clients opened (directly or through layer 1), not ours towards backends. */
  readonly #inbound = new Set<Socket>();
  #lastDatagram = 0;
  #sweeper: NodeJS.Timeout | undefined;
  readonly #maxUnsent: number;
  readonly #unread = (): void => {
    this.counters.unread++;
    this.#o.onDrop?.('unread');
  };
  /** Set by close(): a UDP socket sent to or closed after that would throw ERR_SOCKET_DGRAM_NOT_RUNNING. */
  readonly #closed = { value: false };
  #closing: Promise<void> | undefined;

  constructor(o: TransportOptions, h: TransportHandlers, log: Logger) {
    this.#o = o;
    this.#h = h;
    this.#log = log;
    this.#maxUnsent = o.maxUnsentBytes ?? 1 << 20;
  }

  get address(): string {
    return this.#o.address;
  }

  /** TCP connections from clients open now. */
  get inboundConnections(): number {
    return this.#inbound.size;
  }

  /** When the last UDP datagram arrived (0: none yet). */
  get lastDatagramAt(): number {
    return this.#lastDatagram;
  }
  get port(): number {
    return this.#o.port;
  }

  async start(): Promise<void> {
    const o = this.#o;
    this.#udp = await bindUdp(o.address, o.port, 'SIP UDP', 4 << 20, (msg, rinfo) => this.#onPlainDatagram(msg, rinfo));
    this.#tcp = await listenTcp(o.address, o.port, 'SIP TCP', (s) => this.#onConnection(s, false));
    if (o.proxiedPort) {
      this.#udpProxied = await bindUdp(o.address, o.proxiedPort, 'SIP UDP from layer 1', 4 << 20, (msg, rinfo) => this.#onProxiedDatagram(msg, rinfo));
      this.#tcpProxied = await listenTcp(o.address, o.proxiedPort, 'SIP TCP from layer 1', (s) => this.#onConnection(s, true));
    }
    this.#sweeper = setInterval(() => this.#sweep(), Math.min(10000, o.idleTimeoutMs)).unref();
  }

  /** Closes every socket; safe to call again (a second stop signal), and sends after it are dropped. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed.value = true;
    if (this.#sweeper) clearInterval(this.#sweeper);
    for (const s of this.#sockets) s.destroy();
    const closeServer = (s: Server | undefined): Promise<void> => new Promise((r) => (s ? s.close(() => r()) : r()));
    closeUdp(this.#udp);
    closeUdp(this.#udpProxied);
    await Promise.all([closeServer(this.#tcp), closeServer(this.#tcpProxied)]);
  }

  /** A client flow by its key (from a flow token), if it is still there. */
  flowByKey(key: string): Flow | undefined {
    const f = this.#byKey.get(key);
    return f && f.isOpen() ? f : undefined;
  }

  /** Send to a peer by address: UDP from the plain socket, TCP over a kept connection (opened on demand). */
  sendTo(peer: Peer, buf: Buffer): void {
    if (this.#closed.value) return;
    if (peer.transport === 'udp') {
      this.counters.udpOut++;
      this.#udp?.send(buf, peer.port, peer.address);
      return;
    }
    const k = `${peer.address}|${peer.port}`;
    let f = this.#outbound.get(k);
    if (!f || !f.isOpen()) {
      f = this.#openTcp(peer, k);
    }
    f.send(buf);
  }

  #openTcp(peer: Peer, k: string): TcpFlow {
    const socket = connect({ host: peer.address, port: peer.port, localAddress: this.#o.address });
    const flow = new TcpFlow(false, peer.address, peer.port, this.#o.address, this.#o.port, flowKey('tcp', peer.address, peer.port), socket, this.#maxUnsent, this.#unread);
    this.#outbound.set(k, flow);
    let connected = false;
    socket.once('connect', () => (connected = true));
    socket.on('error', (err) => {
      if (!connected) this.#h.onPeerFailed(peer, err);
    });
    socket.on('close', () => {
      if (this.#outbound.get(k) === flow) this.#outbound.delete(k);
    });
    this.#stream(socket, flow);
    return flow;
  }

  #onPlainDatagram(msg: Buffer, rinfo: RemoteInfo): void {
    this.counters.udpIn++;
    if (msg.length === 0) return;
    if (this.#o.admit && isRequest(msg) && !this.#o.admit(rinfo.address)) return;
    const k = `${rinfo.address}|${rinfo.port}`;
    let f = this.#udpFlows.get(k);
    if (!f) {
      const key = flowKey('udp', rinfo.address, rinfo.port);
      f = new UdpFlow(false, rinfo.address, rinfo.port, this.#o.address, this.#o.port, key, this.#udp!, rinfo.address, rinfo.port, this.counters, this.#closed);
      this.#udpFlows.set(k, f);
      this.#byKey.set(key, f);
    }
    f.lastSeen = Date.now();
    this.#lastDatagram = f.lastSeen;
    this.#h.onMessage(msg, f, true);
  }

  #onProxiedDatagram(msg: Buffer, rinfo: RemoteInfo): void {
    this.counters.udpIn++;
    if (this.#o.trusted && !this.#o.trusted.has(rinfo.address)) {
      // Only layer 1 may say who the client is: from anyone else a PROXY header is a forgery.
      this.counters.proxyUntrusted++;
      this.#o.onDrop?.('proxy_untrusted');
      return;
    }
    let r;
    try {
      r = decodeProxyV2(msg);
    } catch (err) {
      this.counters.proxyHeaderErrors++;
      this.#log.debug({ err, from: `${rinfo.address}:${rinfo.port}` }, 'datagram without a valid PROXY v2 header dropped');
      return;
    }
    if (r.status !== 'ok' || r.info.command !== 'proxy') {
      this.counters.proxyHeaderErrors++;
      return;
    }
    const payload = msg.subarray(r.headerLength);
    if (payload.length === 0) return;
    const info = r.info;
    if (this.#o.admit && isRequest(payload) && !this.#o.admit(info.srcAddress)) return;
    const k = `${rinfo.address}|${rinfo.port}|${info.srcAddress}|${info.srcPort}`;
    let f = this.#udpFlows.get(k);
    if (!f) {
      const key = flowKey('udp', info.srcAddress, info.srcPort);
      f = new UdpFlow(true, info.srcAddress, info.srcPort, this.#o.wellKnown.address, this.#o.wellKnown.port, key, this.#udpProxied!, rinfo.address, rinfo.port, this.counters, this.#closed);
      this.#udpFlows.set(k, f);
      this.#byKey.set(key, f);
    }
    f.lastSeen = Date.now();
    this.#lastDatagram = f.lastSeen;
    this.#h.onMessage(payload, f, true);
  }

  /** Counts a client connection against the caps (by its real address); false when it must close. */
  #admitConnection(socket: Socket, address: string): boolean {
    const limiter = this.#o.connections;
    if (!limiter) return true;
    const a = limiter.take(address);
    if (a !== 'ok') {
      this.#o.onDrop?.(a === 'full' ? 'tcp_limit' : 'tcp_source_limit');
      socket.destroy();
      return false;
    }
    socket.once('close', () => limiter.release(address));
    return true;
  }

  #onConnection(socket: Socket, proxied: boolean): void {
    this.counters.tcpConnections++;
    this.#inbound.add(socket);
    socket.once('close', () => this.#inbound.delete(socket));
    const remoteAddress = socket.remoteAddress ?? '';
    const remotePort = socket.remotePort ?? 0;
    socket.on('error', () => socket.destroy());
    if (proxied && this.#o.trusted && !this.#o.trusted.has(remoteAddress)) {
      this.counters.proxyUntrusted++;
      this.#o.onDrop?.('proxy_untrusted');
      socket.destroy();
      return;
    }
    const local = proxied ? this.#o.wellKnown : { address: this.#o.address, port: this.#o.port };
    const flow = new TcpFlow(proxied, remoteAddress, remotePort, local.address, local.port, flowKey('tcp', remoteAddress, remotePort), socket, this.#maxUnsent, this.#unread);
    if (!proxied) {
      if (!this.#admitConnection(socket, remoteAddress)) return;
      this.#byKey.set(flow.key, flow);
      this.#stream(socket, flow);
      return;
    }
    // The PROXY v2 header comes first; until it has arrived whole nothing else is read.
    let head: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      this.counters.headerTimeouts++;
      socket.destroy();
    }, this.#o.headerTimeoutMs);
    const onData = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      let r;
      try {
        r = decodeProxyV2(head);
      } catch {
        r = undefined;
      }
      if (r?.status === 'incomplete' && head.length < 536) return;
      socket.off('data', onData);
      clearTimeout(timer);
      if (!r || r.status !== 'ok') {
        this.counters.proxyHeaderErrors++;
        socket.destroy();
        return;
      }
      if (r.info.command === 'proxy') {
        flow.remoteAddress = r.info.srcAddress;
        flow.remotePort = r.info.srcPort;
        flow.key = flowKey('tcp', r.info.srcAddress, r.info.srcPort);
      }
      if (!this.#admitConnection(socket, flow.remoteAddress)) return;
      this.#byKey.set(flow.key, flow);
      this.#stream(socket, flow, head.subarray(r.headerLength));
    };
    socket.on('data', onData);
  }

  /** Frame SIP messages on a stream, with a header timeout against slow senders and an idle timeout. */
  #stream(socket: Socket, flow: TcpFlow, first?: Buffer): void {
    this.#sockets.add(socket);
    const framer = new SipStreamFramer(this.#o.maxMessageBytes);
    let headerTimer: NodeJS.Timeout | undefined;
    socket.setNoDelay(true);
    socket.setTimeout(this.#o.idleTimeoutMs, () => socket.destroy());
    socket.on('close', () => {
      this.#sockets.delete(socket);
      if (headerTimer) clearTimeout(headerTimer);
      if (this.#byKey.get(flow.key) === flow) this.#byKey.delete(flow.key);
    });
    const feed = (chunk: Buffer): void => {
      framer.push(chunk);
      try {
        for (let item = framer.next(); item; item = framer.next()) {
          if (item.kind === 'ping') {
            this.counters.pongs++;
            flow.send(PONG);
          } else if (this.#o.admit && isRequest(item.bytes) && !this.#o.admit(flow.remoteAddress)) {
            // A flooding source's connection goes: its requests would only be dropped one by one.
            socket.destroy();
            return;
          } else this.#h.onMessage(item.bytes, flow, false);
          if (socket.destroyed) return;
        }
      } catch (err) {
        if (err instanceof SipParseError) this.#h.onStreamError(err, flow, chunk);
        socket.destroy();
        return;
      }
      if (framer.pending > 0) {
        headerTimer ??= setTimeout(() => {
          this.counters.headerTimeouts++;
          socket.destroy();
        }, this.#o.headerTimeoutMs);
      } else if (headerTimer) {
        clearTimeout(headerTimer);
        headerTimer = undefined;
      }
    };
    socket.on('data', feed);
    if (first && first.length > 0) feed(first);
  }

  #sweep(): void {
    const old = Date.now() - this.#o.idleTimeoutMs;
    for (const [k, f] of this.#udpFlows) {
      if (f.lastSeen < old) {
        this.#udpFlows.delete(k);
        if (this.#byKey.get(f.key) === f) this.#byKey.delete(f.key);
      }
    }
  }
}
