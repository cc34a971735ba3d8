import { isIPv4 } from 'node:net';
import { VcpError } from './errors.js';
import { v6Bytes, v6Text } from './net/prefix.js';

/** PROXY protocol v2 (HAProxy's proxy-protocol.txt, section 2.2): a binary header with the client's addresses. */
export const PROXY_V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

export class ProxyV2Error extends VcpError {
  constructor(message: string) {
    super('VCP_ERR_PROXY_V2', message);
  }
}

export interface ProxyInfo {
  command: 'proxy' | 'local';
  transport: 'tcp' | 'udp' | 'unspec';
  srcAddress: string;
  srcPort: number;
  dstAddress: string;
  dstPort: number;
  tlvs?: Buffer;
}

export type ProxyDecodeResult = { status: 'ok'; info: ProxyInfo; headerLength: number } | { status: 'incomplete' } | { status: 'absent' };

const enum Fam {
  /** AF_INET (0x1_) or AF_INET6 (0x2_) with STREAM (0x_1) or DGRAM (0x_2). */
  Tcp4 = 0x11,
  Udp4 = 0x12,
  Tcp6 = 0x21,
  Udp6 = 0x22,
}

export function encodeProxyV2(info: { transport: 'tcp' | 'udp'; srcAddress: string; srcPort: number; dstAddress: string; dstPort: number }): Buffer {
  const v4 = isIPv4(info.srcAddress) && isIPv4(info.dstAddress);
  const addrLen = v4 ? 12 : 36;
  const b = Buffer.allocUnsafe(16 + addrLen);
  PROXY_V2_SIGNATURE.copy(b, 0);
  b[12] = 0x21; // version 2, command PROXY
  b[13] = v4 ? (info.transport === 'tcp' ? Fam.Tcp4 : Fam.Udp4) : info.transport === 'tcp' ? Fam.Tcp6 : Fam.Udp6;
  b.writeUInt16BE(addrLen, 14);
  if (v4) {
    writeV4(b, 16, info.srcAddress);
    writeV4(b, 20, info.dstAddress);
    b.writeUInt16BE(info.srcPort, 24);
    b.writeUInt16BE(info.dstPort, 26);
  } else {
    b.set(v6Bytes(info.srcAddress)!, 16);
    b.set(v6Bytes(info.dstAddress)!, 32);
    b.writeUInt16BE(info.srcPort, 48);
    b.writeUInt16BE(info.dstPort, 50);
  }
  return b;
}

export function decodeProxyV2(buf: Buffer): ProxyDecodeResult {
  const n = Math.min(buf.length, 12);
  for (let i = 0; i < n; i++) if (buf[i] !== PROXY_V2_SIGNATURE[i]) return { status: 'absent' };
  if (buf.length < 16) return { status: 'incomplete' };
  const vc = buf[12]!;
  if (vc >> 4 !== 2) throw new ProxyV2Error(`unsupported PROXY protocol version ${vc >> 4}`);
  const cmd = vc & 0x0f;
  if (cmd > 1) throw new ProxyV2Error(`unknown PROXY command ${cmd}`);
  const len = buf.readUInt16BE(14);
  if (buf.length < 16 + len) return { status: 'incomplete' };
  const fam = buf[13]!;
  const headerLength = 16 + len;
  if (cmd === 0) return { status: 'ok', headerLength, info: { command: 'local', transport: 'unspec', srcAddress: '', srcPort: 0, dstAddress: '', dstPort: 0 } };
  const af = fam >> 4;
  const proto = fam & 0x0f;
  if (proto !== 1 && proto !== 2) throw new ProxyV2Error(`unsupported PROXY transport ${proto}`);
  const transport = proto === 1 ? 'tcp' : 'udp';
  if (af === 1) {
    if (len < 12) throw new ProxyV2Error('PROXY header too short for IPv4 addresses');
    return {
      status: 'ok', headerLength,
      info: { command: 'proxy', transport, srcAddress: readV4(buf, 16), dstAddress: readV4(buf, 20), srcPort: buf.readUInt16BE(24), dstPort: buf.readUInt16BE(26), ...(len > 12 ? { tlvs: buf.subarray(28, headerLength) } : {}) },
    };
  }
  if (af === 2) {
    if (len < 36) throw new ProxyV2Error('PROXY header too short for IPv6 addresses');
    return {
      status: 'ok', headerLength,
      info: { command: 'proxy', transport, srcAddress: v6Text(buf, 16), dstAddress: v6Text(buf, 32), srcPort: buf.readUInt16BE(48), dstPort: buf.readUInt16BE(50), ...(len > 36 ? { tlvs: buf.subarray(52, headerLength) } : {}) },
    };
  }
  throw new ProxyV2Error(`unsupported PROXY address family ${af}`);
}

function writeV4(b: Buffer, off: number, a: string): void {
  let part = 0;
  let o = off;
  for (let i = 0; i < a.length; i++) {
    const c = a.charCodeAt(i);
    if (c === 46) {
      b[o++] = part;
      part = 0;
    } else part = part * 10 + (c - 48);
  }
  b[o] = part;
}

const readV4 = (b: Buffer, off: number): string => `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
