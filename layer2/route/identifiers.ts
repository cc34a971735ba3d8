import { createHash } from 'node:crypto';

/**
 * What a client that follows a redirect keeps of the request it was redirected on, so that its
 * arrival is recognised even when it drops the token: RFC 3261 8.1.3.4 keeps Call-ID and the From
 * tag on a request sent to a 3xx's Contact; an H.323 endpoint following a Facility callForwarded
 * keeps callIdentifier and conferenceID. Each identifier counts only from the network the redirect
 * was issued to, so guessing one from elsewhere matches nothing.
 *
 * A redirect record stores the digests (never the identifiers themselves); the store indexes them.
 */

/** The identifiers of a SIP request (dialog-forming: Call-ID and From tag together). */
export function sipIdentifiers(callId: string, fromTag: string): string[] {
  return callId && fromTag ? [`sip\n${callId}\n${fromTag}`] : [];
}

/** The identifiers of an H.323 Setup: callIdentifier and conferenceID (canonical GUID text). */
export function h323Identifiers(callIdentifier: string, conferenceId: string): string[] {
  const out: string[] = [];
  if (callIdentifier) out.push(`h323-call\n${callIdentifier}`);
  if (conferenceId) out.push(`h323-conf\n${conferenceId}`);
  return out;
}

/** At most this many digests per record: identifiers × networks. */
export const MAX_ARRIVAL_IDS = 8;

/** Digests of each identifier from each network, 128 bits each (32 hex digits). */
export function arrivalDigests(identifiers: readonly string[], networks: readonly string[]): string[] {
  const out: string[] = [];
  for (const id of identifiers) {
    for (const net of networks) {
      if (out.length >= MAX_ARRIVAL_IDS) return out;
      out.push(createHash('sha256').update(id).update('\0').update(net).digest('hex').slice(0, 32));
    }
  }
  return out;
}
