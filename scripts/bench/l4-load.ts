import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { decodeProxyV2 } from '../../shared/proxy-v2.js';
import { sleep } from './lab.js';

/**
 * Load for an L4 proxy (layer 1, HAProxy, nginx): the backend (run in a process of its own) and the
 * three loads the client side drives, all measured at the client, so every proxy is measured alike.
 * The backend takes a PROXY v2 header when one comes (layer 1 and HAProxy with send-proxy-v2 send it;
 * nginx cannot over UDP) and then, per TCP connection, echoes (first payload byte `E`) or counts what
 * it got and answers the count when the client finishes (any other first byte).
 */

export interface Target {
  address: string;
  port: number;
}

/** The backend: `/health` on `health`, UDP echo and TCP echo/sink on `port`. Resolves once listening. */
export function backend(address: string, port: number, health: number): Promise<void> {
  createHttpServer((_req, res) => res.end('ok')).listen(health, address);
  const u = createSocket({ type: 'udp4', recvBufferSize: 8 << 20, sendBufferSize: 8 << 20 });
  u.on('message', (msg, r) => {
    const d = decodeProxyV2(msg);
    u.send(d.status === 'ok' ? msg.subarray(d.headerLength) : msg, r.port, r.address);
  });
  u.bind(port, address);
  const srv = createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
    let head: Buffer | undefined = Buffer.alloc(0);
    let echo = false;
    let n = 0;
    s.on('error', () => s.destroy());
    s.on('data', (c: Buffer) => {
      if (head !== undefined) {
        head = head.length ? Buffer.concat([head, c]) : c;
        const d = decodeProxyV2(head);
        if (d.status === 'incomplete') return;
        c = head.subarray(d.status === 'ok' ? d.headerLength : 0);
        head = undefined;
        if (c.length === 0) return void (head = Buffer.alloc(0));
        echo = c[0] === 0x45;
      }
      if (echo) s.write(c);
      else n += c.length;
    });
    s.on('end', () => {
      if (!echo) s.write(`${n}\n`);
      s.end();
    });
  });
  return new Promise((resolve) => srv.listen({ port, host: address, backlog: 4096 }, () => resolve()));
}

/** Echo round trips over `flows` client sockets with `window` datagrams in flight each; returns datagrams/s relayed (both ways). */
export async function udpLoad(target: Target, client: string, seconds: number, flows = 8, window = 32, size = 600): Promise<number> {
  const payload = Buffer.alloc(size, 0x41);
  const socks: UdpSocket[] = [];
  let replies = 0;
  let running = true;
  for (let i = 0; i < flows; i++) {
    const s = createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
    await new Promise<void>((r) => s.bind(0, client, () => r()));
    s.connect(target.port, target.address);
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.on('message', () => {
      replies++;
      if (running) s.send(payload);
    });
    socks.push(s);
  }
  // Keep the window filled even when datagrams are lost under overload.
  const refill = setInterval(() => {
    for (const s of socks) for (let i = 0; i < window / 4; i++) s.send(payload);
  }, 100);
  for (const s of socks) for (let i = 0; i < window; i++) s.send(payload);
  await sleep(500);
  const start = replies;
  const t0 = process.hrtime.bigint();
  await sleep(seconds * 1000);
  const n = replies - start;
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  running = false;
  clearInterval(refill);
  await sleep(200);
  for (const s of socks) s.close();
  return (2 * n) / dt;
}

/**
 * Connections per second: `concurrency` loops each connecting, sending 64 bytes, waiting for their
 * echo and closing, for `seconds`. A connection that fails counts as failed, not done. The client
 * socket is not bound to an address first: bind() picks a port without the 4-tuple and gets slow
 * with thousands of connections in TIME_WAIT, where connect() reuses them.
 */
export async function connLoad(target: Target, seconds: number, concurrency = 32): Promise<{ perSecond: number; failed: number }> {
  const payload = Buffer.alloc(64, 0x45);
  let done = 0;
  let failed = 0;
  let running = true;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const s: Socket = connect({ host: target.address, port: target.port, noDelay: true });
      let got = 0;
      const timer = setTimeout(() => s.destroy(new Error('timeout')), 5000);
      s.once('connect', () => s.write(payload));
      s.on('data', (c: Buffer) => {
        got += c.length;
        if (got < payload.length) return;
        clearTimeout(timer);
        done++;
        s.end();
        s.once('close', () => resolve());
      });
      s.on('error', () => {
        clearTimeout(timer);
        failed++;
        s.destroy();
        resolve();
      });
    });
  const loop = async (): Promise<void> => {
    while (running) await one();
  };
  const t0 = process.hrtime.bigint();
  const loops = Array.from({ length: concurrency }, loop);
  await sleep(seconds * 1000);
  running = false;
  const n = done;
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  await Promise.all(loops);
  return { perSecond: n / dt, failed };
}

/** `streams` TCP connections each writing `mb` MiB as fast as backpressure allows; MB/s of what the backend counted. */
export async function tcpLoad(target: Target, client: string, mb: number, streams = 4): Promise<number> {
  const total = mb << 20;
  const chunk = Buffer.alloc(64 << 10, 0x42);
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const s = connect({ host: target.address, port: target.port, localAddress: client, allowHalfOpen: true });
      let answer = '';
      s.on('error', reject);
      s.on('data', (c: Buffer) => (answer += c.toString()));
      s.on('end', () => {
        if (Number(answer.trim()) !== total) reject(new Error(`the backend counted ${answer.trim() || 'nothing'}, ${total} bytes were sent`));
        else resolve();
        s.end();
      });
      let sent = 0;
      const pump = (): void => {
        while (sent < total) {
          sent += chunk.length;
          if (!s.write(chunk)) return void s.once('drain', pump);
        }
        s.end();
      };
      s.once('connect', pump);
    });
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: streams }, one));
  const dt = Number(process.hrtime.bigint() - t0) / 1e9;
  return (streams * mb) / dt;
}
