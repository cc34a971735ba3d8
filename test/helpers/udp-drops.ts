import { readFileSync } from 'node:fs';

/**
 * Datagrams the kernel dropped at the UDP sockets bound to `address:port` in this network namespace
 * because their receive buffer was full: the `drops` column of /proc/net/udp (IPv4 only). A flood
 * faster than the process reads it loses datagrams there, before the process sees them; a test that
 * accounts for every datagram it sent counts these apart from what the process itself dropped.
 */
export function udpSocketDrops(address: string, port: number): number {
  const octets = address.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) throw new Error(`not an IPv4 address: ${address}`);
  // The kernel prints the address as the 32-bit number in host order (little-endian here).
  const hex = (n: number, width: number): string => n.toString(16).toUpperCase().padStart(width, '0');
  const local = `${octets.reverse().map((o) => hex(o, 2)).join('')}:${hex(port, 4)}`;
  let drops = 0;
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols[1] === local) drops += Number(cols[cols.length - 1]);
  }
  return drops;
}
