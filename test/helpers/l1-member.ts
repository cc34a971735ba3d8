import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { decodeProxyV2, type ProxyInfo } from '../../shared/proxy-v2.js';

export interface TcpArrival {
  header: ProxyInfo;
  socket: Socket;
  /** Bytes after the header, as they arrived. */
  received: Buffer[];
  ended: boolean;
}

export interface UdpArrival {
  header: ProxyInfo;
  payload: Buffer;
  from: { address: string; port: number };
}

/**
 * A stand-in for one connector worker as layer 1 sees it: `GET /health` on its health port, and on
 * its proxied port a TCP echo and a UDP echo that expect a PROXY v2 header first. Each part can be
 * stopped and started again to play a member that fails in one way or another.
 */
export class FakeMember {
  readonly tcp: TcpArrival[] = [];
  readonly udp: UdpArrival[] = [];
  /** Answer of /health while the health server runs. */
  healthStatus = 200;
  /** When the client half-closes, write this and end (after echoing everything). */
  farewell = Buffer.from('bye');
  #health: HttpServer | undefined;
  #tcp: Server | undefined;
  #udp: UdpSocket | undefined;

  constructor(
    readonly address: string,
    readonly port: number,
    readonly healthPort: number,
  ) {}

  async start(): Promise<this> {
    await Promise.all([this.startHealth(), this.startTcp(), this.startUdp()]);
    return this;
  }

  startHealth(): Promise<void> {
    const srv = createHttpServer((req, res) => {
      res.writeHead(req.url === '/health' ? this.healthStatus : 404);
      res.end();
    });
    this.#health = srv;
    return new Promise((r) => srv.listen(this.healthPort, this.address, () => r()));
  }

  stopHealth(): Promise<void> {
    const srv = this.#health;
    this.#health = undefined;
    if (!srv) return Promise.resolve();
    srv.closeAllConnections();
    return new Promise((r) => srv.close(() => r()));
  }

  startTcp(): Promise<void> {
    const srv = createServer({ allowHalfOpen: true }, (s) => this.#onConnection(s));
    this.#tcp = srv;
    return new Promise((r) => srv.listen(this.port, this.address, () => r()));
  }

  /** Stops listening; connections already accepted go on. */
  stopTcp(): Promise<void> {
    const srv = this.#tcp;
    this.#tcp = undefined;
    return new Promise((r) => (srv ? srv.close(() => r()) : r()));
  }

  startUdp(): Promise<void> {
    const s = createSocket('udp4');
    this.#udp = s;
    s.on('message', (msg, rinfo) => {
      const r = decodeProxyV2(msg);
      if (r.status !== 'ok') return;
      const payload = Buffer.from(msg.subarray(r.headerLength));
      this.udp.push({ header: r.info, payload, from: { address: rinfo.address, port: rinfo.port } });
      s.send(Buffer.concat([Buffer.from('echo:'), payload]), rinfo.port, rinfo.address);
    });
    return new Promise((r) => s.bind(this.port, this.address, () => r()));
  }

  stopUdp(): Promise<void> {
    const s = this.#udp;
    this.#udp = undefined;
    return new Promise((r) => (s ? s.close(() => r()) : r()));
  }

  #onConnection(s: Socket): void {
    let head = Buffer.alloc(0);
    s.on('error', () => s.destroy());
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const r = decodeProxyV2(head);
      if (r.status === 'incomplete') return;
      s.off('data', onData);
      if (r.status !== 'ok') {
        s.destroy();
        return;
      }
      const arrival: TcpArrival = { header: r.info, socket: s, received: [], ended: false };
      this.tcp.push(arrival);
      const rest = head.subarray(r.headerLength);
      const echo = (c: Buffer): void => {
        arrival.received.push(c);
        if (!s.write(c)) {
          s.pause();
          s.once('drain', () => s.resume());
        }
      };
      if (rest.length > 0) echo(rest);
      s.on('data', echo);
      s.on('end', () => {
        arrival.ended = true;
        s.end(this.farewell);
      });
    };
    s.on('data', onData);
  }

  async stop(): Promise<void> {
    for (const a of this.tcp) a.socket.destroy();
    await Promise.all([this.stopHealth(), this.stopTcp(), this.stopUdp()]);
  }
}
