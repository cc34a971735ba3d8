import { isUtf8 } from 'node:buffer';
import { H323Err, h323Error } from './errors.js';

/**
 * Contents of the Q.931 information elements H.323 endpoints send (Q.931 clause 4.5), read from and
 * written to the `data` of a `Q931Ie`. Readers throw H323Error (VCP_ERR_H323_Q931) on short input.
 */

const bad = (what: string): Error => h323Error(H323Err.Q931, `${what} information element too short`);

/** Bearer capability (4.5.5). Values are the wire fields. */
export interface BearerCapability {
  /** Coding standard (0 = ITU-T). */
  coding: number;
  /** Information transfer capability: 0 speech, 8 unrestricted digital, 0x10 3.1 kHz audio, 0x18 video. */
  capability: number;
  /** 0 circuit mode, 2 packet mode. */
  transferMode: number;
  /** Information transfer rate: 0x10 64 kbit/s, 0x11 2×64, 0x13 384k, 0x15 1536k, 0x17 1920k, 0x18 multirate. */
  rate: number;
  /** Rate multiplier, present with the multirate rate. */
  multiplier?: number;
  /** User information layer 1 protocol: 2 G.711 µ-law, 3 G.711 A-law, 5 H.221/H.242. */
  layer1?: number;
}

export function decodeBearer(d: Buffer): BearerCapability {
  if (d.length < 2) throw bad('Bearer capability');
  const out: BearerCapability = { coding: (d[0]! >> 5) & 3, capability: d[0]! & 0x1f, transferMode: (d[1]! >> 5) & 3, rate: d[1]! & 0x1f };
  let i = 2;
  if (out.rate === 0x18 && i < d.length) out.multiplier = d[i++]! & 0x7f;
  while (i < d.length) {
    const layer = (d[i]! >> 5) & 3;
    if (layer === 1) out.layer1 = d[i]! & 0x1f;
    // A layer 1 octet may carry extension octets (rate adaption); skip to the next layer identifier.
    while (i < d.length && (d[i]! & 0x80) === 0) i++;
    i++;
  }
  return out;
}

export function encodeBearer(b: BearerCapability): Buffer {
  const out = [0x80 | ((b.coding & 3) << 5) | (b.capability & 0x1f), 0x80 | ((b.transferMode & 3) << 5) | (b.rate & 0x1f)];
  if (b.rate === 0x18) out.push(0x80 | ((b.multiplier ?? 1) & 0x7f));
  if (b.layer1 !== undefined) out.push(0xa0 | (b.layer1 & 0x1f));
  return Buffer.from(out);
}

/** Cause (4.5.12). */
export interface Cause {
  coding: number;
  /** 0 user, 1 private network serving the local user, ... */
  location: number;
  /** Cause value: 16 normal call clearing, 17 user busy, 31 normal unspecified, ... */
  value: number;
  diagnostics: Buffer;
}

export function decodeCause(d: Buffer): Cause {
  if (d.length < 2) throw bad('Cause');
  let i = 1;
  if ((d[0]! & 0x80) === 0) i++; // octet 3a: recommendation
  if (i >= d.length) throw bad('Cause');
  return { coding: (d[0]! >> 5) & 3, location: d[0]! & 0x0f, value: d[i]! & 0x7f, diagnostics: d.subarray(i + 1) };
}

export function encodeCause(value: number, location = 0, coding = 0): Buffer {
  return Buffer.from([0x80 | ((coding & 3) << 5) | (location & 0x0f), 0x80 | (value & 0x7f)]);
}

/** Progress indicator (4.5.23). */
export interface ProgressIndicator {
  coding: number;
  location: number;
  /** 1 not end-to-end ISDN, 2 destination not ISDN, 3 origination not ISDN, 8 in-band information available. */
  description: number;
}

export function decodeProgress(d: Buffer): ProgressIndicator {
  if (d.length < 2) throw bad('Progress indicator');
  return { coding: (d[0]! >> 5) & 3, location: d[0]! & 0x0f, description: d[1]! & 0x7f };
}

export function encodeProgress(description: number, location = 0, coding = 0): Buffer {
  return Buffer.from([0x80 | ((coding & 3) << 5) | (location & 0x0f), 0x80 | (description & 0x7f)]);
}

/** Called party number (4.5.8) and calling party number (4.5.10). */
export interface PartyNumberIe {
  /** 0 unknown, 1 international, 2 national, 3 network specific, 4 subscriber, 6 abbreviated. */
  typeOfNumber: number;
  /** 0 unknown, 1 ISDN/telephony (E.164), 9 private. */
  plan: number;
  /** Calling party only: 0 allowed, 1 restricted, 2 not available. */
  presentation?: number;
  /** Calling party only: 0 user-provided not screened, ... 3 network provided. */
  screening?: number;
  digits: string;
}

export function decodePartyNumber(d: Buffer): PartyNumberIe {
  if (d.length < 1) throw bad('Party number');
  const out: PartyNumberIe = { typeOfNumber: (d[0]! >> 4) & 7, plan: d[0]! & 0x0f, digits: '' };
  let i = 1;
  if ((d[0]! & 0x80) === 0) {
    if (d.length < 2) throw bad('Calling party number');
    out.presentation = (d[1]! >> 5) & 3;
    out.screening = d[1]! & 3;
    i = 2;
  }
  out.digits = d.toString('latin1', i);
  return out;
}

export function encodePartyNumber(p: PartyNumberIe): Buffer {
  const head = p.presentation === undefined && p.screening === undefined
    ? [0x80 | ((p.typeOfNumber & 7) << 4) | (p.plan & 0x0f)]
    : [((p.typeOfNumber & 7) << 4) | (p.plan & 0x0f), 0x80 | (((p.presentation ?? 0) & 3) << 5) | ((p.screening ?? 0) & 3)];
  return Buffer.concat([Buffer.from(head), Buffer.from(p.digits, 'latin1')]);
}

/** Display (4.5.15): IA5 text by the standard; many endpoints send UTF-8, which is read as such. */
export function decodeDisplay(d: Buffer): string {
  return isUtf8(d) ? d.toString('utf8') : d.toString('latin1');
}

export function encodeDisplay(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}
