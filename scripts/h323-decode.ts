import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decodeH323 } from '../layer2/h323/message.js';
import { decodeRas } from '../layer2/h323/ras.js';
import { summarizeCall, summarizeRas } from '../layer2/h323/summary.js';
import { TpktFramer } from '../layer2/h323/tpkt.js';
import { ipOf, tcpOf, udpOf } from './pcap/packet.js';
import { PcapError, readCapture } from './pcap/reader.js';
import { TcpDirection } from './pcap/tcp-stream.js';
import { VcpError } from '../shared/errors.js';

/**
 * For operators: what does this device send? Reads a capture file (classic pcap or pcapng;
 * Ethernet, Linux cooked, raw IP or loopback; TCP reassembled per direction) or the hex of one TPKT/Q.931
 * message or RAS datagram, and prints every Q.931/H.225.0 and RAS message as one JSON line.
 * A message that does not decode becomes a JSON line with its error code; nothing stops the walk.
 *
 *   npm run h323-decode -- capture.pcap [--tcp-port 1720] [--udp-port 1719,1718]
 *   npm run h323-decode -- --hex 0300001c08020001...
 *   npm run h323-decode -- --ras 0e000001...
 */

type Line = Record<string, unknown>;
const print = (l: Line): void => {
  process.stdout.write(`${JSON.stringify(l)}\n`);
};

/** Typed errors become a line; anything else is a bug in the decoders and is not hidden. */
function errorLine(e: unknown): Line {
  if (!(e instanceof VcpError)) throw e;
  return { error: e.code, message: e.message };
}

function callLine(bytes: Buffer, where: Line): Line {
  try {
    return { ...where, proto: 'h225', ...summarizeCall(decodeH323(bytes)) };
  } catch (e) {
    return { ...where, proto: 'h225', ...errorLine(e) };
  }
}

function rasLine(bytes: Buffer, where: Line): Line {
  try {
    return { ...where, proto: 'ras', ...summarizeRas(decodeRas(bytes)) };
  } catch (e) {
    return { ...where, proto: 'ras', ...errorLine(e) };
  }
}

/** TPKT messages in `bytes` (or one bare Q.931 message). */
export function decodeHex(bytes: Buffer, out: (l: Line) => void): void {
  if (bytes[0] !== 3 && bytes[0] !== 0) {
    out(callLine(bytes, {}));
    return;
  }
  const f = new TpktFramer();
  f.push(bytes);
  try {
    for (let it = f.next(); it; it = f.next()) out(it.kind === 'keepalive' ? { proto: 'tpkt', keepalive: true } : callLine(it.bytes, {}));
  } catch (e) {
    out({ proto: 'tpkt', ...errorLine(e) });
    return;
  }
  if (f.pending) out({ proto: 'tpkt', error: 'VCP_ERR_H323_TPKT', message: `${f.pending} octet(s) after the last whole TPKT` });
}

interface Direction {
  tcp: TcpDirection;
  framer: TpktFramer;
}

/** Every H.323 message in a pcap or pcapng capture. */
export function decodePcap(file: Buffer, tcpPorts: Set<number>, udpPorts: Set<number>, out: (l: Line) => void): void {
  const flows = new Map<string, Direction>();
  try {
    for (const rec of readCapture(file)) {
      const ip = ipOf(rec.linkType, rec.data);
      if (!ip || ip.fragment) continue;
      const base = { frame: rec.frame, time: new Date(rec.time * 1000).toISOString() };
      if (ip.protocol === 17) {
        const u = udpOf(ip.payload);
        if (!u || !(udpPorts.has(u.srcPort) || udpPorts.has(u.dstPort)) || !u.payload.length) continue;
        out(rasLine(u.payload, { ...base, src: `${ip.src}:${u.srcPort}`, dst: `${ip.dst}:${u.dstPort}` }));
        continue;
      }
      if (ip.protocol !== 6) continue;
      const seg = tcpOf(ip.payload);
      if (!seg || !(tcpPorts.has(seg.srcPort) || tcpPorts.has(seg.dstPort))) continue;
      const where = { ...base, src: `${ip.src}:${seg.srcPort}`, dst: `${ip.dst}:${seg.dstPort}` };
      const key = `${where.src}>${where.dst}`;
      let dir = flows.get(key);
      if (!dir || seg.syn) {
        dir = { tcp: new TcpDirection(), framer: new TpktFramer() };
        flows.set(key, dir);
      }
      const { data, gap } = dir.tcp.push(seg);
      if (gap) {
        out({ ...where, proto: 'tcp', error: 'VCP_ERR_PCAP_GAP', message: 'bytes missing from the TCP stream; framing restarts here' });
        dir.framer = new TpktFramer();
      }
      for (const chunk of data) {
        dir.framer.push(chunk);
        try {
          for (let it = dir.framer.next(); it; it = dir.framer.next()) {
            out(it.kind === 'keepalive' ? { ...where, proto: 'tpkt', keepalive: true } : callLine(it.bytes, where));
          }
        } catch (e) {
          // The stream cannot be framed any more; start again with the next segment.
          out({ ...where, proto: 'tpkt', ...errorLine(e) });
          dir.framer = new TpktFramer();
          break;
        }
      }
      if (seg.fin || seg.rst) flows.delete(key);
    }
  } catch (e) {
    if (!(e instanceof PcapError)) throw e;
    out(errorLine(e));
    process.exitCode = 1;
  }
}

const ports = (s: string): Set<number> => new Set(s.split(',').map(Number).filter((n) => n > 0 && n < 65536));

function hexArg(s: string): Buffer {
  const h = s.replace(/[\s:]/g, '');
  if (!/^([0-9a-fA-F]{2})+$/.test(h)) throw new Error('--hex/--ras take hex digits (spaces and colons allowed)');
  return Buffer.from(h, 'hex');
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      hex: { type: 'string' },
      ras: { type: 'string' },
      'tcp-port': { type: 'string', default: '1720' },
      'udp-port': { type: 'string', default: '1719,1718' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || (!values.hex && !values.ras && positionals.length !== 1)) {
    (values.help ? process.stdout : process.stderr).write(
      'usage: h323-decode FILE.pcap|FILE.pcapng [--tcp-port 1720[,…]] [--udp-port 1719,1718]\n' +
        '       h323-decode --hex HEX    one or more TPKT messages, or one Q.931 message\n' +
        '       h323-decode --ras HEX    one RAS datagram\n' +
        'Prints one JSON line per message; undecodable ones carry "error" with a VCP_ERR_ code.\n',
    );
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  if (values.hex) return decodeHex(hexArg(values.hex), print);
  if (values.ras) return print(rasLine(hexArg(values.ras), {}));
  let file: Buffer;
  try {
    file = readFileSync(positionals[0]!);
  } catch (e) {
    print({ error: 'VCP_ERR_PCAP_FORMAT', message: `cannot read ${positionals[0]}: ${(e as NodeJS.ErrnoException).code ?? String(e)}` });
    process.exitCode = 1;
    return;
  }
  decodePcap(file, ports(values['tcp-port']!), ports(values['udp-port']!), print);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    main();
  } catch (e) {
    process.stderr.write(`h323-decode: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 2;
  }
}
