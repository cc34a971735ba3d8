import { isIP } from 'node:net';
import { formatJoinAlias } from './join-alias.js';

/** Characters a SIP URI user part keeps as they are (RFC 3261 unreserved); the rest is %-escaped. */
const SIP_USER_KEEP = /[A-Za-z0-9\-_.!~*'()]/;

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

export interface Target {
  address: string;
  port: number;
  token: string;
  server: string;
}

/** `sip:<meeting>@<connector>;vcp-token=…;vcp-srv=…`: what a SIP client dials to arrive at the named server. */
export function sipJoinUri(meeting: string, t: Target, tokenParam: string): string {
  const tok = t.token ? `;${tokenParam}=${t.token};vcp-srv=${t.server}` : `;vcp-srv=${t.server}`;
  return `sip:${escapeSipUser(meeting)}@${hostPort(t.address, t.port, 5060)}${tok}`;
}

/** What a room system dials (`alias@address`) and the `h323:` URL (RFC 3508) of the same. */
export function h323Join(meeting: string, t: Target): { dial: string; url: string } {
  const alias = t.token ? formatJoinAlias({ meeting, token: t.token, server: t.server }) : meeting;
  const at = hostPort(t.address, t.port, 1720);
  return { dial: `${alias}@${at}`, url: `h323:${encodeURIComponent(alias)}@${at}` };
}

/** `<base>/meet/<meeting>?vcp-token=…&vcp-srv=…` at the chosen POP's web listener ('' base: this listener). */
export function browserJoinUrl(base: string, meeting: string, token: string, server: string): string {
  const q = token ? `?vcp-token=${token}&vcp-srv=${encodeURIComponent(server)}` : `?vcp-srv=${encodeURIComponent(server)}`;
  return `${base}/meet/${encodeURIComponent(meeting)}${q}`;
}
