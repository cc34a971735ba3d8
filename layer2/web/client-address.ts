import { isIP } from 'node:net';
import { addressBytes, longestMatch, type Prefix } from '../../shared/net/prefix.js';

/** `::ffff:192.0.2.1` → `192.0.2.1`: the form the decision and the profiles use. */
export function plainAddress(a: string): string {
  return a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

function trusted(address: string, proxies: readonly Prefix[]): boolean {
  const b = addressBytes(address);
  return b !== undefined && longestMatch(proxies, b) >= 0;
}

/**
 * The requester's address: the peer's, unless the peer is a trusted reverse proxy; then the
 * X-Forwarded-For list is read from the right (the entry the trusted proxy itself added), skipping
 * further trusted proxies, and the first address that is not one is the client. A malformed entry
 * stops the walk at the last address believed. Entries left of the client are the client's own
 * word and are never believed.
 */
export function clientAddress(peer: string, forwardedFor: string | string[] | undefined, proxies: readonly Prefix[]): string {
  let client = plainAddress(peer);
  if (proxies.length === 0 || forwardedFor === undefined || !trusted(client, proxies)) return client;
  const list = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).slice(0, 4096).split(',');
  for (let i = list.length - 1; i >= 0; i--) {
    const a = plainAddress(list[i]!.trim());
    if (isIP(a) === 0) break;
    client = a;
    if (!trusted(a, proxies)) break;
  }
  return client;
}
