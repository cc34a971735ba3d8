import { setupOf } from './builder.js';
import { aliasToText, transportAddress, type AliasAddress } from './h225.js';
import { bodyOf, encodeH323, type H323Message } from './message.js';
import { decodeCause } from './q931-ie.js';
import { findIe, Ie, Q931_PD } from './q931.js';

/**
 * What the connector changes in the messages it relays, and what it reads from them. Everything
 * else — H.245 addresses, tunnelled H.245, fastStart, tokens, unknown extensions — goes end to end
 * as it came.
 */

/**
 * The Setup as a server receives it: `destCallSignalAddress` names that server (some Polycom
 * devices fail a Setup without it, and a caller that dialled the well-known address named ours).
 */
export function setupForServer(m: H323Message, address: string, port: number): Buffer {
  const s = setupOf(m)!;
  const before = s.destCallSignalAddress;
  s.destCallSignalAddress = transportAddress(address, port);
  try {
    return encodeH323(m);
  } finally {
    if (before === undefined) delete s.destCallSignalAddress;
    else s.destCallSignalAddress = before;
  }
}

/**
 * A server's Facility that names an `alternativeAddress` (forwarded, route to MC or gatekeeper)
 * would send the caller past the connector, to an address its network may not reach: the address
 * becomes the connector's own (as the caller dialled it), the aliases stay, so the caller's next
 * Setup comes through the connector and is decided again. Undefined when nothing needs to change.
 */
export function facilityForCaller(m: H323Message, own: { address: string; port: number }): Buffer | undefined {
  const b = bodyOf(m);
  if (b?.choice !== 'facility' || b.value.alternativeAddress === undefined) return undefined;
  b.value.alternativeAddress = transportAddress(own.address, own.port);
  return encodeH323(m);
}

/** Call reference and type read from a Q.931 header, for messages whose body does not decode. */
export function peekHeader(b: Buffer): { crv: number; fromDestination: boolean; type: number } | undefined {
  if (b.length < 3 || b[0] !== Q931_PD) return undefined;
  const len = b[1]!;
  if (len > 2 || b.length < 3 + len) return undefined;
  let crv = 0;
  let flag = false;
  if (len > 0) {
    flag = (b[2]! & 0x80) !== 0;
    crv = b[2]! & 0x7f;
    if (len === 2) crv = (crv << 8) | b[3]!;
  }
  return { crv, fromDestination: flag, type: b[2 + len]! };
}

/** Q.931 causes that mean "this server cannot take the call now" (SIP's 503): the next server is tried. */
const RESOURCE_CAUSES: ReadonlySet<number> = new Set([34, 38, 41, 42, 44, 47]);
const RESOURCE_REASONS: ReadonlySet<string> = new Set(['noBandwidth', 'gatekeeperResources', 'gatewayResources', 'adaptiveBusy']);

/** The Q.931 cause of a message (Release Complete), if it has a readable one. */
export function causeOf(m: H323Message): number | undefined {
  const ie = findIe(m.q931, Ie.Cause);
  if (!ie) return undefined;
  try {
    return decodeCause(ie.data).value;
  } catch {
    return undefined;
  }
}

export function releaseReasonOf(m: H323Message): string | undefined {
  const b = bodyOf(m);
  return b?.choice === 'releaseComplete' ? b.value.reason?.choice : undefined;
}

/** A Release Complete that says the server lacks resources (cause or H.225 reason). */
export function isResourceRelease(m: H323Message): boolean {
  const cause = causeOf(m);
  if (cause !== undefined && RESOURCE_CAUSES.has(cause)) return true;
  const reason = releaseReasonOf(m);
  return reason !== undefined && RESOURCE_REASONS.has(reason);
}

/** The domain of the first email-ID or URL alias (`room@example.com`, `h323:room@example.com`), else ''. */
export function aliasDomain(aliases: readonly AliasAddress[] | undefined): string {
  for (const a of aliases ?? []) {
    if (a.choice !== 'email-ID' && a.choice !== 'url-ID') continue;
    const v = String(a.value);
    const at = v.lastIndexOf('@');
    if (at < 0) continue;
    let host = v.slice(at + 1);
    const end = host.search(/[:;/?>]/);
    if (end >= 0) host = host.slice(0, end);
    if (host) return host.toLowerCase();
  }
  return '';
}

/** The meeting an alias names: digits as they are, the user part of a URL or email alias, an H.323-ID's text. */
export function meetingOf(alias: AliasAddress | undefined): string {
  if (!alias) return '';
  const t = aliasToText(alias);
  if (alias.choice === 'url-ID' || alias.choice === 'email-ID') {
    const v = t.value.replace(/^[a-z][a-z0-9+.-]*:/i, '');
    const at = v.lastIndexOf('@');
    return at >= 0 ? v.slice(0, at) : v;
  }
  return t.value;
}
