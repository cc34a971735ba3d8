/**
 * A small classic-pcap writer for tests that need what text2pcap cannot make: chosen TCP sequence
 * numbers (retransmissions, reordering) and other link types. Checksums are left at zero.
 */
export interface Packet {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  proto: 'tcp' | 'udp';
  seq?: number;
  syn?: boolean;
  fin?: boolean;
  payload: Buffer;
}

const ip4 = (s: string): Buffer => Buffer.from(s.split('.').map(Number));

function ipPacket(p: Packet): Buffer {
  let l4: Buffer;
  if (p.proto === 'tcp') {
    l4 = Buffer.alloc(20);
    l4.writeUInt16BE(p.sport, 0);
    l4.writeUInt16BE(p.dport, 2);
    l4.writeUInt32BE((p.seq ?? 0) >>> 0, 4);
    l4[12] = 5 << 4;
    l4[13] = (p.syn ? 2 : 0) | (p.fin ? 1 : 0) | 0x10;
  } else {
    l4 = Buffer.alloc(8);
    l4.writeUInt16BE(p.sport, 0);
    l4.writeUInt16BE(p.dport, 2);
    l4.writeUInt16BE(8 + p.payload.length, 4);
  }
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + l4.length + p.payload.length, 2);
  ip[8] = 64;
  ip[9] = p.proto === 'tcp' ? 6 : 17;
  ip4(p.src).copy(ip, 12);
  ip4(p.dst).copy(ip, 16);
  return Buffer.concat([ip, l4, p.payload]);
}

/** linkType 1 Ethernet, 113 Linux cooked, 101 raw IP, 0 BSD loopback. */
export function pcap(packets: Packet[], linkType: 0 | 1 | 101 | 113): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(linkType, 20);
  const recs = packets.map((p, i) => {
    const ip = ipPacket(p);
    let link: Buffer;
    if (linkType === 1) {
      link = Buffer.alloc(14);
      link.writeUInt16BE(0x0800, 12);
    } else if (linkType === 113) {
      link = Buffer.alloc(16);
      link.writeUInt16BE(0x0800, 14);
    } else if (linkType === 0) {
      link = Buffer.alloc(4);
      link.writeUInt32LE(2, 0);
    } else link = Buffer.alloc(0);
    const data = Buffer.concat([link, ip]);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1700000000 + i, 0);
    rec.writeUInt32LE(data.length, 8);
    rec.writeUInt32LE(data.length, 12);
    return Buffer.concat([rec, data]);
  });
  return Buffer.concat([head, ...recs]);
}
