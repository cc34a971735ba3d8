import { connect, createServer, type Server, type Socket } from 'node:net';
import { BindError } from '../shared/errors.js';
import type { ConnectionLimiter } from '../shared/net/connection-limiter.js';
import type { Logger } from '../shared/logger.js';
import { encodeProxyV2 } from '../shared/proxy-v2.js';
import type { Member, TargetPort } from './members.js';
import { clientHash, rank } from './pick.js';

export interface TcpRelayOptions {
  /** Names the listener in logs, errors and metrics (`sip/tcp`, `h323/tcp`). */
  name: string;
  address: string;
  port: number;
  target: TargetPort;
  connectTimeoutMs: number;
}

export interface TcpRelayStats {
  /** Connections refused because `tcp.maxConnections` were open. */
  refusedFull: number;
  /** Connections refused because their source address held `tcp.maxConnectionsPerSource`. */
  refusedSource: number;
  /** Connections closed because no member was eligible, or every eligible member refused. */
  noMember: number;
}

const eligible = (m: Member): boolean => m.eligible;

/**
 * A TCP listener on the well-known address. Connections count against `tcp.maxConnections` (every
 * listener together) and `tcp.maxConnectionsPerSource`; one over either is reset at once. Each
 * connection is held paused while a member is picked
 * and connected (refused or timed out: the next member in hash order), then gets a PROXY v2 header and
 * is piped both ways with backpressure and half-close. Bytes the client sent early wait in the paused
 * socket and go first.
 */
export class TcpRelay {
  readonly stats: TcpRelayStats = { refusedFull: 0, refusedSource: 0, noMember: 0 };
  readonly #o: TcpRelayOptions;
  #members: readonly Member[];
  readonly #budget: ConnectionLimiter;
  readonly #log: Logger;
  readonly #clients = new Set<Socket>();
  readonly #upstreams = new Set<Socket>();
  #server: Server | undefined;

  /** A reload: new connections pick among these; open ones keep their member. */
  setMembers(members: readonly Member[], connectTimeoutMs: number): void {
    this.#members = members;
    this.#o.connectTimeoutMs = connectTimeoutMs;
  }

  constructor(o: TcpRelayOptions, members: readonly Member[], budget: ConnectionLimiter, log: Logger) {
    this.#o = o;
    this.#members = members;
    this.#budget = budget;
    this.#log = log;
  }

  get name(): string {
    return this.#o.name;
  }

  start(): Promise<void> {
    const o = this.#o;
    return new Promise((resolve, reject) => {
      const srv = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (s) => this.#onConnection(s));
      srv.once('error', (err) => reject(new BindError(`layer 1 ${o.name}`, o.address, o.port, err)));
      srv.listen({ port: o.port, host: o.address, backlog: 4096 }, () => {
        srv.removeAllListeners('error');
        srv.on('error', (err) => this.#log.warn({ err, listener: o.name }, 'listener error'));
        this.#server = srv;
        resolve();
      });
    });
  }

  #onConnection(client: Socket): void {
    const address = client.remoteAddress;
    const port = client.remotePort;
    if (address === undefined || port === undefined) {
      client.destroy();
      return;
    }
    const admitted = this.#budget.take(address);
    if (admitted !== 'ok') {
      if (admitted === 'full') this.stats.refusedFull++;
      else this.stats.refusedSource++;
      client.resetAndDestroy();
      return;
    }
    this.#clients.add(client);
    client.once('close', () => {
      this.#budget.release(address);
      this.#clients.delete(client);
    });
    client.on('error', () => client.destroy());
    const order = rank(this.#members, clientHash(address, port), eligible);
    this.#connect(client, order, 0);
  }

  #connect(client: Socket, order: Member[], i: number): void {
    if (client.destroyed) return;
    const m = order[i];
    if (m === undefined) {
      this.stats.noMember++;
      this.#log.debug({ listener: this.#o.name, client: `${client.remoteAddress}:${client.remotePort}`, tried: order.map((x) => x.id) }, 'no member took the connection');
      client.destroy();
      return;
    }
    const up = connect({ host: m.address, port: m.port(this.#o.target), allowHalfOpen: true, noDelay: true });
    this.#upstreams.add(up);
    up.once('close', () => this.#upstreams.delete(up));
    const timer = setTimeout(() => up.destroy(new Error(`no connection within ${this.#o.connectTimeoutMs} ms`)), this.#o.connectTimeoutMs);
    const failed = (err: Error): void => {
      clearTimeout(timer);
      m.stats.connectErrors++;
      this.#log.debug({ listener: this.#o.name, member: m.id, err: err.message }, 'member refused the connection, trying the next');
      up.destroy();
      this.#connect(client, order, i + 1);
    };
    up.once('error', failed);
    up.once('connect', () => {
      clearTimeout(timer);
      up.off('error', failed);
      this.#splice(client, up, m);
    });
  }

  #splice(client: Socket, up: Socket, m: Member): void {
    if (client.destroyed) {
      up.destroy();
      return;
    }
    const s = m.stats;
    s.tcpTotal++;
    s.tcpActive++;
    let open = 2;
    const closed = (): void => {
      if (--open === 0) s.tcpActive--;
    };
    up.write(encodeProxyV2({ transport: 'tcp', srcAddress: client.remoteAddress!, srcPort: client.remotePort!, dstAddress: client.localAddress!, dstPort: client.localPort! }));
    client.on('data', (c: Buffer) => (s.bytesIn += c.length));
    up.on('data', (c: Buffer) => (s.bytesOut += c.length));
    up.on('error', () => up.destroy());
    // A side that closed without finishing both directions (reset, error) takes the other with it.
    const follow = (a: Socket, b: Socket) => (): void => {
      closed();
      if (!(a.readableEnded && a.writableFinished)) b.destroy();
    };
    client.once('close', follow(client, up));
    up.once('close', follow(up, client));
    up.pipe(client);
    client.pipe(up);
  }

  /** Client connections open on this listener. */
  get connections(): number {
    return this.#clients.size;
  }

  /** Stops accepting; open connections continue. */
  stopAccepting(): void {
    this.#server?.close();
  }

  close(): void {
    this.#server?.close();
    for (const s of this.#clients) s.destroy();
    for (const s of this.#upstreams) s.destroy();
  }
}
