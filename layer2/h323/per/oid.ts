import { H323Err, perError } from '../errors.js';

/** Dotted form of BER object identifier contents (X.690 8.19), as PER carries them behind a length. */
export function oidToString(b: Buffer): string {
  const arcs: number[] = [];
  let v = 0;
  let started = false;
  for (let i = 0; i < b.length; i++) {
    const x = b[i]!;
    if (!started && x === 0x80) throw perError(H323Err.PerConstraint, 'object identifier arc with a leading 0x80');
    started = true;
    v = v * 128 + (x & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER) throw perError(H323Err.PerConstraint, 'object identifier arc too large');
    if ((x & 0x80) === 0) {
      arcs.push(v);
      v = 0;
      started = false;
    }
  }
  if (started) throw perError(H323Err.PerConstraint, 'object identifier ends inside an arc');
  const first = arcs[0]!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

export function oidToBytes(s: string): Buffer {
  const arcs = s.split('.').map((x) => (/^\d+$/.test(x) ? Number(x) : NaN));
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a)) || arcs[0]! > 2 || (arcs[0]! < 2 && arcs[1]! > 39)) {
    throw perError(H323Err.PerEncode, `'${s}' is not an object identifier`);
  }
  const out: number[] = [];
  const put = (v: number): void => {
    const tmp = [v % 128];
    for (v = Math.floor(v / 128); v > 0; v = Math.floor(v / 128)) tmp.push((v % 128) | 0x80);
    out.push(...tmp.reverse());
  };
  put(arcs[0]! * 40 + arcs[1]!);
  for (let i = 2; i < arcs.length; i++) put(arcs[i]!);
  return Buffer.from(out);
}
