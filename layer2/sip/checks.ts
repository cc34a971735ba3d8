import { REASONS } from './builder.js';
import { H } from './headers.js';
import type { SipRequest } from './message.js';
import { parseSipUri, requestUriScheme } from './uri.js';
import { splitList } from './values.js';

/**
 * Why a well-formed request is refused before it goes anywhere (RFC 3261 16.3, and the verdicts of
 * the RFC 4475 torture tests): a Request-URI scheme the proxy does not take, a URI it cannot read or
 * that carries headers, a Proxy-Require it does not support. Undefined: it may go on.
 */
export function requestRefusal(req: SipRequest): { status: number; reason: string; headers?: string[] } | undefined {
  const scheme = requestUriScheme(req.uri);
  if (scheme !== 'sip' && scheme !== 'sips' && scheme !== 'tel') return { status: 416, reason: REASONS[416]! };
  if (scheme !== 'tel') {
    try {
      if (parseSipUri(req.uri).headers) return { status: 400, reason: 'Headers not allowed in the Request-URI' };
    } catch {
      return { status: 400, reason: 'Bad Request-URI' };
    }
  }
  const opts = req.headers.filter((h) => h.id === H.ProxyRequire).flatMap((h) => splitList(h.value)).filter(Boolean);
  if (opts.length > 0) return { status: 420, reason: REASONS[420]!, headers: [`Unsupported: ${opts.join(', ')}`] };
  return undefined;
}
