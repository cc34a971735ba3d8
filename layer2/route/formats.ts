import { isIP } from 'node:net';

/**
 * Every form a token travels in, written and read in one place:
 *
 *   SIP URI parameter   sip:board@192.0.2.2:25060;vcp-token=<token>        (a 302's Contact, a join link)
 *   H.323 join alias    board+<token>@192.0.2.2                             (a join link: alias @ address)
 *   HTTP query          https://ams.example.net/meet/board?vcp-token=<token> (an HTTP redirect, a join link)
 *
 * The token itself (tokens.ts) is base64url: it needs no escaping in any of them and holds no `+`,
 * so a join alias is read from its last `+`.
 */

/** The HTTP query parameter of a token. */
export const HTTP_TOKEN_PARAM = 'vcp-token';

/** Characters a SIP URI user part keeps as they are (RFC 3261 unreserved); the rest is %-escaped. */
const SIP_USER_KEEP = /[A-Za-z0-9\-_.!~*'()]/;
const TOKEN_TEXT = /^[A-Za-z0-9_-]{40,200}$/;

export function escapeSipUser(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    out += b < 0x80 && SIP_USER_KEEP.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const hostPort = (address: string, port: number, defaultPort: number): string => {
  const host = isIP(address) === 6 ? `[${address}]` : address;
  return port === defaultPort ? host : `${host}:${port}`;
};

/**
 * `sip:<user>@<address>:<port>[;transport=tcp][;<param>=<token>]` (a 302's Contact, a Request-URI
 * towards a server). `user` is already a URI user part, as it came in a Request-URI.
 */
export function sipTokenUri(o: { user: string; address: string; port: number; tcp?: boolean; param: string; token: string }): string {
  const t = o.token ? `;${o.param}=${o.token}` : '';
  return `sip:${o.user ? `${o.user}@` : ''}${hostPort(o.address, o.port, -1)}${o.tcp ? ';transport=tcp' : ''}${t}`;
}

/** A join page's SIP way in (the port left out when it is 5060): what a SIP client dials to arrive at the server its token names. */
export function sipJoinUri(meeting: string, at: { address: string; port: number }, param: string, token: string): string {
  return `sip:${escapeSipUser(meeting)}@${hostPort(at.address, at.port, 5060)}${token ? `;${param}=${token}` : ''}`;
}

/** `<meeting>+<token>`: the alias of a join page's H.323 way in. */
export function formatJoinAlias(meeting: string, token: string): string {
  return token ? `${meeting}+${token}` : meeting;
}

/** The meeting and token of a join alias, or undefined when the alias is an ordinary one. */
export function parseJoinAlias(alias: string): { meeting: string; token: string } | undefined {
  if (alias.length > 384) return undefined;
  const plus = alias.lastIndexOf('+');
  if (plus <= 0) return undefined;
  const token = alias.slice(plus + 1);
  if (!TOKEN_TEXT.test(token)) return undefined;
  return { meeting: alias.slice(0, plus), token };
}

/** What a room system dials (`alias@address`) and the `h323:` URL (RFC 3508) of the same. */
export function h323Join(meeting: string, at: { address: string; port: number }, token: string): { dial: string; url: string } {
  const alias = formatJoinAlias(meeting, token);
  const where = hostPort(at.address, at.port, 1720);
  return { dial: `${alias}@${where}`, url: `h323:${encodeURIComponent(alias)}@${where}` };
}

/** `<base>/meet/<meeting>[?vcp-token=…]` at the chosen POP's web listener ('' base: this listener). */
export function browserJoinUrl(base: string, meeting: string, token: string): string {
  return `${base}/meet/${encodeURIComponent(meeting)}${token ? `?${HTTP_TOKEN_PARAM}=${token}` : ''}`;
}

/** The token of an HTTP request's query, '' when none. */
export function httpToken(query: URLSearchParams): string {
  return query.get(HTTP_TOKEN_PARAM) ?? '';
}
