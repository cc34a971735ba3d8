import type { Socket } from 'node:net';

/**
 * Write to a peer that must read what it is sent: when its unsent bytes (ours, waiting in the
 * socket because the peer does not read) would pass `maxUnsent`, the connection is destroyed
 * instead and false returned. A client that never reads thus costs at most `maxUnsent` of memory.
 */
export function writeBounded(socket: Socket, data: Buffer | string, maxUnsent: number): boolean {
  if (socket.destroyed) return false;
  const n = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  if (socket.writableLength + n > maxUnsent) {
    socket.destroy();
    return false;
  }
  socket.write(data);
  return true;
}
