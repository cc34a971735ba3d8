/** Link, IP, TCP and UDP headers of captured frames: just enough to find H.323 traffic. */

export const enum LinkType {
  Null = 0,
  Ethernet = 1,
  Raw = 101,
  Loop = 108,
  LinuxSll = 113,
  Ipv4 = 228,
  Ipv6 = 229,
  LinuxSll2 = 276,
}

export interface IpPacket {
  src: string;
  dst: string;
  /** 6 TCP, 17 UDP. */
  protocol: number;
  payload: Buffer;
  /** A fragment of a larger datagram (not reassembled). */
  fragment: boolean;
}

export interface TcpSegment {
  srcPort: number;
  dstPort: number;
  seq: number;
  syn: boolean;
  fin: boolean;
  rst: boolean;
  payload: Buffer;
}

export interface UdpDatagram {
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

/** The IP packet inside a frame of the given link type, or undefined (not IP, unknown link type, short). */
export function ipOf(linkType: number, d: Buffer): IpPacket | undefined {
  switch (linkType) {
    case LinkType.Ethernet: {
      let off = 12;
      let type = d.length >= 14 ? d.readUInt16BE(12) : 0;
      while ((type === 0x8100 || type === 0x88a8) && d.length >= off + 6) {
        off += 4;
        type = d.readUInt16BE(off);
      }
      return byEtherType(type, d.subarray(off + 2));
    }
    case LinkType.LinuxSll:
      return d.length >= 16 ? byEtherType(d.readUInt16BE(14), d.subarray(16)) : undefined;
    case LinkType.LinuxSll2:
      return d.length >= 20 ? byEtherType(d.readUInt16BE(0), d.subarray(20)) : undefined;
    case LinkType.Raw:
    case LinkType.Ipv4:
    case LinkType.Ipv6:
      return ip(d);
    case LinkType.Null:
    case LinkType.Loop:
      return d.length >= 4 ? ip(d.subarray(4)) : undefined;
    default:
      return undefined;
  }
}

function byEtherType(type: number, d: Buffer): IpPacket | undefined {
  return type === 0x0800 || type === 0x86dd ? ip(d) : undefined;
}

function ip(d: Buffer): IpPacket | undefined {
  if (d.length < 1) return undefined;
  const v = d[0]! >> 4;
  if (v === 4) {
    const ihl = (d[0]! & 0x0f) * 4;
    if (ihl < 20 || d.length < ihl) return undefined;
    const total = Math.min(d.readUInt16BE(2), d.length);
    const frag = d.readUInt16BE(6);
    return {
      src: [...d.subarray(12, 16)].join('.'),
      dst: [...d.subarray(16, 20)].join('.'),
      protocol: d[9]!,
      payload: d.subarray(ihl, Math.max(ihl, total)),
      fragment: (frag & 0x2000) !== 0 || (frag & 0x1fff) !== 0,
    };
  }
  if (v === 6) {
    if (d.length < 40) return undefined;
    const len = Math.min(40 + d.readUInt16BE(4), d.length);
    const hex = (o: number): string => [0, 2, 4, 6, 8, 10, 12, 14].map((i) => d.readUInt16BE(o + i).toString(16)).join(':');
    // Extension headers are not followed: H.323 over IPv6 with them is not decoded.
    return { src: `[${hex(8)}]`, dst: `[${hex(24)}]`, protocol: d[6]!, payload: d.subarray(40, len), fragment: d[6] === 44 };
  }
  return undefined;
}

export function tcpOf(d: Buffer): TcpSegment | undefined {
  if (d.length < 20) return undefined;
  const hl = (d[12]! >> 4) * 4;
  if (hl < 20 || d.length < hl) return undefined;
  const flags = d[13]!;
  return { srcPort: d.readUInt16BE(0), dstPort: d.readUInt16BE(2), seq: d.readUInt32BE(4), syn: (flags & 2) !== 0, fin: (flags & 1) !== 0, rst: (flags & 4) !== 0, payload: d.subarray(hl) };
}

export function udpOf(d: Buffer): UdpDatagram | undefined {
  if (d.length < 8) return undefined;
  const len = Math.min(Math.max(8, d.readUInt16BE(4)), d.length);
  return { srcPort: d.readUInt16BE(0), dstPort: d.readUInt16BE(2), payload: d.subarray(8, len) };
}
