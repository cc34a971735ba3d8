import { VcpError } from '../../shared/errors.js';

/** A capture file that cannot be read as pcap or pcapng. */
export class PcapError extends VcpError {
  constructor(message: string) {
    super('VCP_ERR_PCAP_FORMAT', message);
  }
}

export interface PcapRecord {
  /** 1-based, as Wireshark numbers frames. */
  frame: number;
  /** Seconds since the epoch. */
  time: number;
  linkType: number;
  data: Buffer;
}

/** Records of a capture file: classic pcap or pcapng, told apart by the magic number. */
export function* readCapture(buf: Buffer): Generator<PcapRecord> {
  if (buf.length >= 4 && buf.readUInt32LE(0) === 0x0a0d0d0a) yield* readPcapng(buf);
  else yield* readPcap(buf);
}

/**
 * Records of a classic pcap file: either byte order, microsecond or nanosecond timestamps. A
 * record cut short by the end of the file ends the walk with a PcapError.
 */
export function* readPcap(buf: Buffer): Generator<PcapRecord> {
  if (buf.length < 24) throw new PcapError(`${buf.length} octets: too short for a pcap header`);
  const magic = buf.readUInt32LE(0);
  let le: boolean;
  let nano: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) {
    le = true;
    nano = magic === 0xa1b23c4d;
  } else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) {
    le = false;
    nano = magic === 0x4d3cb2a1;
  } else {
    throw new PcapError(`magic 0x${magic.toString(16)} is neither pcap nor pcapng`);
  }
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linkType = u32(20) & 0x0fffffff;
  let off = 24;
  for (let frame = 1; off < buf.length; frame++) {
    if (off + 16 > buf.length) throw new PcapError(`frame ${frame}: record header cut short`);
    const sec = u32(off);
    const frac = u32(off + 4);
    const incl = u32(off + 8);
    if (off + 16 + incl > buf.length) throw new PcapError(`frame ${frame}: ${incl} octets announced, ${buf.length - off - 16} left`);
    yield { frame, time: sec + frac / (nano ? 1e9 : 1e6), linkType, data: buf.subarray(off + 16, off + 16 + incl) };
    off += 16 + incl;
  }
}

interface Iface {
  linkType: number;
  snapLen: number;
  /** Seconds per timestamp unit. */
  unit: number;
}

/** Records of a pcapng file (what Wireshark and dumpcap save by default): EPB, SPB and the old PB. */
export function* readPcapng(buf: Buffer): Generator<PcapRecord> {
  let le = true;
  let ifaces: Iface[] = [];
  let frame = 0;
  for (let off = 0; off < buf.length; ) {
    if (off + 12 > buf.length) throw new PcapError(`block at ${off} cut short`);
    const type = buf.readUInt32LE(off);
    if (type === 0x0a0d0d0a) {
      const bom = buf.readUInt32LE(off + 8);
      if (bom === 0x1a2b3c4d) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else throw new PcapError(`section at ${off}: byte-order magic 0x${bom.toString(16)}`);
      ifaces = [];
    }
    const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
    const u16 = (o: number): number => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
    const len = u32(off + 4);
    if (len < 12 || len % 4 || off + len > buf.length) throw new PcapError(`block at ${off}: length ${len}`);
    const body = off + 8;
    const end = off + len - 4;
    const kind = type === 0x0a0d0d0a ? 0x0a0d0d0a : u32(off);
    if (kind === 1) {
      const iface: Iface = { linkType: u16(body), snapLen: u32(body + 4), unit: 1e-6 };
      for (let o = body + 8; o + 4 <= end; ) {
        const code = u16(o);
        const olen = u16(o + 2);
        if (code === 0) break;
        if (code === 9 && olen >= 1) {
          const r = buf[o + 4]!;
          iface.unit = r & 0x80 ? 2 ** -(r & 0x7f) : 10 ** -r;
        }
        o += 4 + ((olen + 3) & ~3);
      }
      ifaces.push(iface);
    } else if (kind === 6 || kind === 2) {
      const id = kind === 6 ? u32(body) : u16(body);
      const iface = ifaces[id];
      if (!iface) throw new PcapError(`packet block at ${off} names interface ${id}, which is not described`);
      const ts = u32(body + 4) * 2 ** 32 + u32(body + 8);
      const cap = u32(body + 12);
      if (body + 20 + cap > end) throw new PcapError(`packet block at ${off}: ${cap} octets do not fit`);
      yield { frame: ++frame, time: ts * iface.unit, linkType: iface.linkType, data: buf.subarray(body + 20, body + 20 + cap) };
    } else if (kind === 3) {
      const iface = ifaces[0];
      if (!iface) throw new PcapError(`simple packet block at ${off} before any interface`);
      const cap = Math.min(u32(body), iface.snapLen || Infinity, end - body - 4);
      yield { frame: ++frame, time: 0, linkType: iface.linkType, data: buf.subarray(body + 4, body + 4 + cap) };
    }
    off += len;
  }
}
