import { createHmac, randomFillSync } from 'node:crypto';

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

/**
 * The branch of a request forwarded without state (the ACK of a 2xx): the same for every copy of
 * that request, in any worker of the deployment, so that the next hop sees a retransmission as one
 * (RFC 3261 section 16.11) and not as a new request in a dialog that already took its ACK. A MAC of
 * what identifies the incoming request, under a key of the deployment: as unguessable as a random one.
 */
export function statelessBranch(key: Buffer, req: { vias: ReadonlyArray<{ text: string }>; callId: string; cseq: number; cseqMethod: string; uri: string }): string {
  const mac = createHmac('sha256', key).update(req.vias[0]?.text ?? '').update('\n').update(req.callId).update('\n').update(`${req.cseq} ${req.cseqMethod}`).update('\n').update(req.uri);
  return `z9hG4bK${mac.digest().subarray(0, 12).toString('base64url')}`;
}
