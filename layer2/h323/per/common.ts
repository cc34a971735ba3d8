import type { AsnType } from './types.js';

/** Shared by the PER decoder and encoder (X.691 clause numbers refer to the 07/2002 edition). */

export const K16 = 16384;
export const K64 = 65536;

export const resolve = (t: AsnType): AsnType => (t.kind === 'lazy' ? t.resolve() : t);

/** Octets needed to hold `v` as an unsigned number (at least one). */
export function octetsFor(v: number): number {
  let n = 1;
  while (v >= 2 ** (8 * n)) n++;
  return n;
}
