import type { Flow, Peer, Transport } from './transport.js';
import { formatHostPort, parseSipUri } from './uri.js';
import { parseNameAddr } from './values.js';

/**
 * Where a request that is not decided goes (in-dialog, pre-routed, an ACK for a 2xx), as a pure
 * function of the request and what the worker knows. The connector is not a relay: a request is
 * forwarded only
 *
 *   (a) to a configured server of the deployment (its address and SIP port; `maddr` is never followed),
 *   (b) back along a dialog this connector created: its own Record-Route, whose flow token (a MAC
 *       only this worker can make) names the client flow — and only for a request from a server, or
 *   (c) to the client flow of a dialog it proxied, for a request from that dialog's server;
 *
 * anything else is refused: 403, or 481 for a dialog it does not know, 416/400 for a target it cannot
 * read. Loose routing (RFC 3261 16.4): the Route entries naming this connector at the top are removed —
 * one, or the pair its Record-Route made.
 */

/** The addresses that are this worker: its plain SIP port, and the well-known address layer 1 holds. */
export interface Local {
  plain: { address: string; port: number };
  wellKnown: { address: string; port: number };
}

export interface RoutingFacts {
  local: Local;
  /** The flow key a flow token names, when this worker made the token. */
  openFlowToken(token: string): string | undefined;
  /** The configured server at this address and SIP port (where and how it takes SIP). */
  serverAt(address: string, port: number): Peer | undefined;
  /** The request comes from the address of a configured server. */
  fromServer: boolean;
  /** The dialog of this Call-ID that this worker proxied: its server, and the client's flow. */
  dialog: { server: Peer; clientFlow: string } | undefined;
}

export type Hop =
  | { kind: 'flow'; key: string; drop: number }
  | { kind: 'server'; peer: Peer; drop: number }
  | { kind: 'refuse'; status: 400 | 403 | 416 | 481; reason: string; why: string };

/** The URI inside a Route value `<uri>;params`. */
export function uriOf(route: string): string {
  try {
    return parseNameAddr(route, 'Route').uri;
  } catch {
    return route;
  }
}

/** Whether a URI (or a Route value) names this worker. */
export function isOurs(uriOrRoute: string, local: Local): boolean {
  try {
    const u = parseSipUri(uriOf(uriOrRoute));
    const port = u.port || 5060;
    return (u.host === local.wellKnown.address && port === local.wellKnown.port) || (u.host === local.plain.address && port === local.plain.port);
  } catch {
    return false;
  }
}

/** Whether a (top) Via names this worker: a response to one of its requests. */
export function viaIsOurs(via: { host: string; port: number }, local: Local): boolean {
  const port = via.port || 5060;
  return (via.host === local.plain.address && port === local.plain.port) || (via.host === local.wellKnown.address && port === local.wellKnown.port);
}

/** How many Route values at the top name us: 0, 1, or the pair our Record-Route made. */
export function leadingOurs(routes: readonly string[], local: Local): number {
  if (routes.length === 0 || !isOurs(routes[0]!, local)) return 0;
  return routes.length > 1 && isOurs(routes[1]!, local) ? 2 : 1;
}

function routeParam(route: string, name: string): string {
  try {
    return parseSipUri(uriOf(route)).params.get(name) ?? '';
  } catch {
    return '';
  }
}

export function nextHop(req: { uri: string; routes: readonly string[] }, f: RoutingFacts): Hop {
  const drop = leadingOurs(req.routes, f.local);
  const flowToken = drop > 0 ? routeParam(req.routes[0]!, 'vcf') : '';
  if (flowToken) {
    // (b) Our back-facing Record-Route: towards the client, for a server's request only.
    if (!f.fromServer) return { kind: 'refuse', status: 403, reason: 'Forbidden (flow route from outside the deployment)', why: 'flow_not_from_server' };
    const key = f.openFlowToken(flowToken);
    if (key === undefined) return { kind: 'refuse', status: 403, reason: 'Forbidden (flow token not valid)', why: 'bad_flow_token' };
    return { kind: 'flow', key, drop };
  }
  const next = req.routes[drop];
  const target = next !== undefined ? uriOf(next) : req.uri;
  if (next === undefined && isOurs(target, f.local)) {
    // A client that ignores Record-Route sends in-dialog requests to the address it dialled: the
    // dialog this worker proxied says where they go.
    if (!f.dialog) return { kind: 'refuse', status: 481, reason: 'Call/Transaction Does Not Exist', why: 'no_dialog' };
    return f.fromServer ? { kind: 'flow', key: f.dialog.clientFlow, drop } : { kind: 'server', peer: f.dialog.server, drop };
  }
  let host: string;
  let port: number;
  try {
    const u = parseSipUri(target);
    host = u.host;
    port = u.port || 5060;
  } catch (err) {
    const scheme = /^([a-z]+):/i.exec(target)?.[1]?.toLowerCase();
    if (scheme && scheme !== 'sip' && scheme !== 'sips') return { kind: 'refuse', status: 416, reason: 'Unsupported URI Scheme', why: 'scheme' };
    return { kind: 'refuse', status: 400, reason: next !== undefined ? 'Bad Route' : 'Bad Request-URI', why: 'bad_target' };
  }
  // (a) A configured server, by its address and port (never maddr).
  const peer = f.serverAt(host, port);
  if (peer) return { kind: 'server', peer, drop };
  if (f.dialog) {
    // (c) The dialog's client, for its server (a server that ignores Record-Route); the dialog's server
    // for anyone else (its Contact names another address of the same server).
    return f.fromServer ? { kind: 'flow', key: f.dialog.clientFlow, drop } : { kind: 'server', peer: f.dialog.server, drop };
  }
  return { kind: 'refuse', status: 403, reason: `Forbidden (${formatHostPort(host, port)} is not a destination of this deployment)`, why: 'not_relayed' };
}

/**
 * The two Record-Route entries of a request carried to a server: the first names the plain port the
 * server reaches us by and carries the client's flow token; the second names the address the client
 * dialled.
 */
export function recordRoute(local: Local, serverTransport: Transport, flow: Pick<Flow, 'localAddress' | 'localPort' | 'transport'>, flowToken: string): string[] {
  const back = `<sip:${formatHostPort(local.plain.address, local.plain.port)};transport=${serverTransport};lr;vcf=${flowToken}>`;
  const front = `<sip:${formatHostPort(flow.localAddress, flow.localPort)};transport=${flow.transport};lr>`;
  return [`Record-Route: ${back}`, `Record-Route: ${front}`];
}
