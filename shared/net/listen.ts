import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { createServer, isIP, type Server, type Socket } from 'node:net';
import { BindError } from '../errors.js';

/**
 * A TCP listener for a protocol port: resolves once listening; a bind failure is a BindError naming
 * address, port and role; later server errors are ignored (each connection handles its own).
 */
export function listenTcp(address: string, port: number, role: string, onConnection: (s: Socket) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer({ allowHalfOpen: false, noDelay: true }, onConnection);
    srv.once('error', (err) => reject(new BindError(role, address, port, err)));
    srv.listen({ port, host: address, backlog: 4096 }, () => {
      srv.removeAllListeners('error');
      srv.on('error', () => undefined);
      resolve(srv);
    });
  });
}

/**
 * The address lookup of UDP sockets that send to addresses: an IP literal (what peers and clients
 * are) is used at once, so that a datagram is sent in the call that sends it, without dns.lookup and
 * a deferred tick per datagram; a name still goes through dns.lookup.
 */
export function literalLookup(address: string, options: LookupOneOptions | number, cb: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  const f = isIP(address);
  if (f !== 0) return cb(null, address, f);
  // dgram passes the family as a number (the types say options).
  const family = typeof options === 'number' ? options : (options.family as number | undefined) ?? 0;
  dnsLookup(address, { family }, cb);
}

/** A UDP socket for a protocol port, with the given kernel buffer sizes; errors as `listenTcp`. */
export function bindUdp(address: string, port: number, role: string, bufferBytes: number, onMessage: (m: Buffer, r: RemoteInfo, s: UdpSocket) => void): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const s = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4', recvBufferSize: bufferBytes, sendBufferSize: bufferBytes, lookup: literalLookup });
    s.once('error', (err) => reject(new BindError(role, address, port, err)));
    s.bind(port, address, () => {
      s.removeAllListeners('error');
      s.on('error', () => undefined);
      s.on('message', (m, r) => onMessage(m, r, s));
      resolve(s);
    });
  });
}

/** Close a UDP socket that may be closed already (a second stop signal): never throws for that. */
export function closeUdp(s: UdpSocket | undefined): void {
  try {
    s?.close();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_SOCKET_DGRAM_NOT_RUNNING') throw err;
  }
}
