import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Wireshark's dissector as an oracle: frames go through text2pcap (dummy Ethernet/IPv4/TCP or UDP
 * headers) and come back as tshark's JSON. Requires the tshark package (./scripts/install --test).
 */
export interface Frame {
  bytes: Buffer;
  /** With -D: 'I' or 'O' marks the direction of the frame. */
  dir?: 'I' | 'O';
}

export function hexDump(frames: Frame[]): string {
  let out = '';
  for (const f of frames) {
    for (let i = 0; i < f.bytes.length; i += 16) {
      const row = [...f.bytes.subarray(i, i + 16)].map((x) => x.toString(16).padStart(2, '0')).join(' ');
      out += `${f.dir && i === 0 ? `${f.dir} ` : f.dir ? '  ' : ''}${i.toString(16).padStart(6, '0')} ${row}\n`;
    }
  }
  return out;
}

/** Writes a pcap of `frames` into `dir`; TCP frames are from 10.0.0.1:40000 to 10.0.0.2:port unless directions are given. */
export function makePcap(dir: string, frames: Frame[], proto: 'tcp' | 'udp', port: number): string {
  const txt = join(dir, 'frames.txt');
  const pcap = join(dir, 'frames.pcap');
  writeFileSync(txt, hexDump(frames));
  const hdr = proto === 'tcp' ? ['-T', `40000,${port}`] : ['-u', `${port},${port}`];
  const dirs = frames.some((f) => f.dir) ? ['-D'] : [];
  execFileSync('text2pcap', ['-q', ...dirs, ...hdr, '-4', '10.0.0.1,10.0.0.2', txt, pcap], { stdio: ['ignore', 'ignore', 'pipe'] });
  return pcap;
}

export function tshark(args: string[]): string {
  return execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
}

export type Json = { [k: string]: unknown };

/** Every packet's `layers` object (`-T json --no-duplicate-keys`: repeated keys become arrays). */
export function dissect(pcap: string, extra: string[] = []): Json[] {
  const out = JSON.parse(tshark(['-r', pcap, '-T', 'json', '--no-duplicate-keys', ...extra])) as Array<{ _source: { layers: Json } }>;
  return out.map((p) => p._source.layers);
}

/** All values found under `key` anywhere in a dissection (arrays flattened), as strings. */
export function fieldValues(node: unknown, key: string): string[] {
  const out: string[] = [];
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) return n.forEach(walk);
    if (n === null || typeof n !== 'object') return;
    for (const [k, v] of Object.entries(n as Json)) {
      if (k === key) {
        for (const x of Array.isArray(v) ? v : [v]) if (typeof x === 'string') out.push(x);
      }
      walk(v);
    }
  };
  walk(node);
  return out;
}

/** Frame numbers that tshark marks malformed or with warning/error expert info. */
export function problems(pcap: string): string {
  return tshark(['-r', pcap, '-Y', '_ws.malformed || _ws.expert.severity >= "warning"', '-T', 'fields', '-e', 'frame.number', '-e', '_ws.expert.message']).trim();
}

export function withTempDir<T>(prefix: string, f: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), `vcp-${prefix}-`));
  try {
    return f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
