import { isIPv4, isIPv6 } from 'node:net';

/** An address prefix: 4 or 16 bytes and the number of leading bits that count. */
export interface Prefix {
  text: string;
  v6: boolean;
  bytes: Uint8Array;
  bits: number;
}

/** Address text → 16 bytes: IPv6 as it is, IPv4 as `::ffff:a.b.c.d`; undefined when not an address. */
export function v6Bytes(address: string): Uint8Array | undefined {
  if (isIPv6(address)) return v6(address);
  if (!isIPv4(address)) return undefined;
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(v4(address), 12);
  return out;
}

/**
 * 16 bytes at `off` → RFC 5952 text: lower-case groups, the longest run of two or more zero groups as
 * `::`, IPv4-mapped addresses as `::ffff:a.b.c.d` (as Node's sockets name them).
 */
export function v6Text(b: Uint8Array, off = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best === 0 && bestLen === 5 && g[5] === 0xffff) return `::ffff:${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  return best < 0 ? hex(g) : `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** Address text → bytes (IPv4-mapped IPv6 addresses become IPv4), or undefined. */
export function addressBytes(address: string): Uint8Array | undefined {
  if (isIPv4(address)) return v4(address);
  if (!isIPv6(address)) return undefined;
  const b = v6(address);
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return b.slice(12);
  return b;
}

/** `198.51.100.0/24`, `2001:db8::/32` (host bits must be zero), or a bare address (a /32 or /128). */
export function parsePrefix(text: string): Prefix | undefined {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const v6addr = isIPv6(addr);
  if (!v6addr && !isIPv4(addr)) return undefined;
  const bytes = v6addr ? v6(addr) : v4(addr);
  const max = bytes.length * 8;
  let bits = max;
  if (slash >= 0) {
    const b = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(b)) return undefined;
    bits = Number(b);
    if (bits > max) return undefined;
  }
  for (let i = bits; i < max; i++) if (bytes[i >> 3]! & (0x80 >> (i & 7))) return undefined;
  return { text, v6: v6addr, bytes, bits };
}

export function contains(p: Prefix, addr: Uint8Array): boolean {
  if (addr.length !== p.bytes.length) return false;
  const whole = p.bits >> 3;
  for (let i = 0; i < whole; i++) if (addr[i] !== p.bytes[i]) return false;
  const rest = p.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (addr[whole]! & mask) === p.bytes[whole];
}

/** Longest-prefix match over a small list: the index of the most specific prefix holding `addr`, or -1. */
export function longestMatch(prefixes: readonly Prefix[], addr: Uint8Array): number {
  let best = -1;
  for (let i = 0; i < prefixes.length; i++) {
    const p = prefixes[i]!;
    if ((best < 0 || p.bits > prefixes[best]!.bits) && contains(p, addr)) best = i;
  }
  return best;
}

/** The profile key of the address's network by prefix: `p4:a.b.c.0/24` or `p6:x:y:z::/48`. */
export function networkKeyOf(addr: Uint8Array): string {
  if (addr.length === 4) return `p4:${addr[0]}.${addr[1]}.${addr[2]}.0/24`;
  const g = (i: number): string => ((addr[i]! << 8) | addr[i + 1]!).toString(16);
  return `p6:${g(0)}:${g(2)}:${g(4)}::/48`;
}

/** Private, loopback, link-local, CGNAT and documentation ranges: no geo location applies. */
const RESERVED = ['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24', '192.0.2.0/24', '192.168.0.0/16', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '224.0.0.0/3', '::/128', '::1/128', 'fc00::/7', 'fe80::/10', '2001:db8::/32', 'ff00::/8'].map((p) => parsePrefix(p)!);

export function isReserved(addr: Uint8Array): boolean {
  return longestMatch(RESERVED, addr) >= 0;
}

function v4(a: string): Uint8Array {
  const out = new Uint8Array(4);
  let part = 0;
  let k = 0;
  for (let i = 0; i < a.length; i++) {
    const c = a.charCodeAt(i);
    if (c === 46) {
      out[k++] = part;
      part = 0;
    } else part = part * 10 + (c - 48);
  }
  out[k] = part;
  return out;
}

function v6(a: string): Uint8Array {
  const out = new Uint8Array(16);
  let text = a;
  const pct = text.indexOf('%');
  if (pct >= 0) text = text.slice(0, pct);
  let tail: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) >= 0) {
    tail = v4(text.slice(lastColon + 1));
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const dbl = text.indexOf('::');
  const head = (dbl >= 0 ? text.slice(0, dbl) : text).split(':').filter((x) => x !== '');
  const rest = dbl >= 0 ? text.slice(dbl + 2).split(':').filter((x) => x !== '') : [];
  const groups = [...head, ...new Array<string>(8 - head.length - rest.length).fill('0'), ...rest];
  for (let i = 0; i < 8; i++) {
    const v = parseInt(groups[i] ?? '0', 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  }
  if (tail) out.set(tail, 12);
  return out;
}
