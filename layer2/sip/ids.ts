import { randomFillSync } from 'node:crypto';

/**
 * The identifiers the connector puts on the wire — Via branches, To tags, Call-ID parts — from the
 * CSPRNG, so that no answer to one request tells what the next one will carry (a forged response
 * must guess 96 bits). Drawn from a pool refilled 4 KiB at a time: one syscall per few hundred ids.
 */
const pool = Buffer.allocUnsafe(4096);
let used = pool.length;

function take(n: number): Buffer {
  if (used + n > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const b = pool.subarray(used, used + n);
  used += n;
  return b;
}

/** An RFC 3261 branch: the magic cookie and 96 random bits (base64url is made of token characters). */
export const newBranch = (): string => `z9hG4bK${take(12).toString('base64url')}`;

/** A To (or From) tag: 64 random bits. */
export const newTag = (): string => take(8).toString('hex');

/** The random part of a Call-ID this connector originates: 96 bits. */
export const newCallIdPart = (): string => take(12).toString('base64url');
