import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import type { Logger } from '../../shared/logger.js';
import type { AddressSet } from '../../shared/net/address-set.js';
import { writeBounded } from '../../shared/net/backpressure.js';
import { ChunkQueue } from '../../shared/net/chunk-queue.js';
import { ConnectionLimiter } from '../../shared/net/connection-limiter.js';
import { BindError } from '../../shared/errors.js';
import { DnsTcpError } from './errors.js';
import type { DnsMetrics } from './metrics.js';
import type { Outcome, Responder, Transport } from './responder.js';

export interface DnsListenerOptions {
  address: string;
  port: number;
  responder: Responder;
  metrics: DnsMetrics;
  log: Logger;
  tcpIdleMs: number;
  maxTcpConnections: number;
  /** Connections one source address may hold (those of `exempt` only count towards the total). */
  maxTcpConnectionsPerSource?: number;
  exempt?: AddressSet;
  /** A client that leaves more than this many bytes of answers unread is disconnected. */
  maxUnsentBytes?: number;
}

export interface DnsListener {
  udp: Socket;
  tcp: Server;
  close(): Promise<void>;
}

/**
 * The DNS responder on UDP and TCP (RFC 1035 4.2.2: each message behind a 2-octet length; several
 * queries may follow on one connection and are answered in order). A query that throws inside the
 * responder is dropped and counted; nothing reaches the socket handlers' callers.
 */
export async function startDnsListener(o: DnsListenerOptions): Promise<DnsListener> {
  const answer = (query: Buffer, source: string, transport: Transport): Buffer | undefined => {
    let out: Outcome;
    try {
      out = o.responder.respond(query, source, transport);
    } catch (err) {
      o.metrics.dropped.labels('internal', transport).inc();
      o.log.error({ err, source, transport }, 'DNS query failed inside the responder');
      return undefined;
    }
    if ('dropped' in out) {
      o.metrics.dropped.labels(out.dropped, transport).inc();
      o.log.debug({ source, transport, code: 'VCP_ERR_DNS_MALFORMED', reason: out.error }, 'DNS message dropped');
      return undefined;
    }
    o.metrics.answered(out.qtype, out.rcode, transport);
    if (out.truncated) o.metrics.truncated.inc();
    if (out.error) o.log.debug({ source, transport, code: 'VCP_ERR_DNS_MALFORMED', reason: out.error }, 'DNS query malformed: FORMERR');
    return out.response;
  };

  const udp = createSocket({ type: isIP(o.address) === 6 ? 'udp6' : 'udp4' });
  udp.on('message', (msg, rinfo) => {
    const res = answer(msg, rinfo.address, 'udp');
    if (res) udp.send(res, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', (err) => reject(new BindError('DNS responder (UDP)', o.address, o.port, err)));
    udp.bind(o.port, o.address, () => {
      udp.removeAllListeners('error');
      udp.on('error', (err) => o.log.warn({ err }, 'DNS UDP socket error'));
      resolve();
    });
  });

  const conns = new Set<TcpSocket>();
  const limiter = new ConnectionLimiter(o.maxTcpConnections, o.maxTcpConnectionsPerSource ?? o.maxTcpConnections, o.exempt);
  const maxUnsent = o.maxUnsentBytes ?? 1 << 20;
  const tcp = createServer((sock) => {
    const source = sock.remoteAddress ?? '';
    const admitted = limiter.take(source);
    if (admitted !== 'ok') {
      const limit = admitted === 'full' ? `more than ${o.maxTcpConnections} connections` : `more than ${o.maxTcpConnectionsPerSource} connections from ${source}`;
      o.metrics.dropped.labels(admitted === 'full' ? 'tcp_limit' : 'tcp_source_limit', 'tcp').inc();
      o.log.debug({ source, err: new DnsTcpError(limit) }, 'DNS TCP connection refused');
      sock.destroy();
      return;
    }
    conns.add(sock);
    sock.setTimeout(o.tcpIdleMs, () => sock.destroy());
    sock.on('close', () => {
      conns.delete(sock);
      limiter.release(source);
    });
    sock.on('error', () => undefined);
    // Chunks are kept as they arrive: a query sent one octet per segment costs no rescans or copies.
    const pending = new ChunkQueue();
    sock.on('data', (chunk: Buffer) => {
      pending.push(chunk);
      while (pending.length >= 2) {
        const len = (pending.byteAt(0) << 8) | pending.byteAt(1);
        if (len === 0) {
          o.metrics.dropped.labels('tcp_frame', 'tcp').inc();
          o.log.debug({ source: sock.remoteAddress, err: new DnsTcpError('a message of length 0') }, 'DNS TCP connection closed');
          sock.destroy();
          return;
        }
        if (pending.length - 2 < len) break;
        pending.skip(2);
        const res = answer(pending.take(len), sock.remoteAddress ?? '', 'tcp');
        if (res) {
          const framed = Buffer.allocUnsafe(2 + res.length);
          framed.writeUInt16BE(res.length, 0);
          res.copy(framed, 2);
          // A client that asks and never reads is disconnected before its answers pile up.
          if (!writeBounded(sock, framed, maxUnsent)) {
            o.metrics.dropped.labels('tcp_unread', 'tcp').inc();
            return;
          }
        }
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', (err) => reject(new BindError('DNS responder (TCP)', o.address, o.port, err)));
    tcp.listen(o.port, o.address, () => {
      tcp.removeAllListeners('error');
      tcp.on('error', (err) => o.log.warn({ err }, 'DNS TCP listener error'));
      resolve();
    });
  }).catch((err: unknown) => {
    udp.close();
    throw err;
  });

  return {
    udp,
    tcp,
    close: async () => {
      for (const c of conns) c.destroy();
      await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
    },
  };
}
