import type { H } from './headers.js';
import type { NameAddr, Via } from './values.js';

/** One header field as it stands in the message; `start..end` covers its line(s) with the line end. */
export interface SipHeader {
  id: H;
  name: string;
  value: string;
  start: number;
  end: number;
}

export interface SipMessageBase {
  /** The message bytes: start line, headers and body (a view, never a copy). */
  raw: Buffer;
  /** Offset just past the start line's line end. */
  startLineEnd: number;
  /** Offset of the empty line that ends the header block. */
  headersEnd: number;
  body: Buffer;
  headers: SipHeader[];
  callId: string;
  cseq: number;
  cseqMethod: string;
  from: NameAddr;
  to: NameAddr;
  vias: Via[];
  /** -1 when absent. */
  maxForwards: number;
  /** -1 when absent. */
  contentLength: number;
}

export interface SipRequest extends SipMessageBase {
  kind: 'request';
  method: string;
  uri: string;
}

export interface SipResponse extends SipMessageBase {
  kind: 'response';
  status: number;
  reason: string;
}

export type SipMessage = SipRequest | SipResponse;

export function findHeader(msg: SipMessageBase, id: H): SipHeader | undefined {
  for (const h of msg.headers) if (h.id === id) return h;
  return undefined;
}

export function headerValues(msg: SipMessageBase, id: H): string[] {
  const out: string[] = [];
  for (const h of msg.headers) if (h.id === id) out.push(h.value);
  return out;
}
