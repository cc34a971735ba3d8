import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { BindError } from '../shared/errors.js';
import { badRequest, ControlRequestError, notFound, unauthorized, wrongMethod } from './errors.js';

/** A member as the control API shows it. */
export interface MemberView {
  id: string;
  connector: string;
  address: string;
  up: boolean;
  draining: boolean;
  /** Relayed TCP connections open to the member. */
  connections: number;
  /** UDP flows held towards the member. */
  flows: number;
  ports: { sipProxied: number; h323Proxied: number; rasProxied: number; health: number };
}

/** What the HTTP endpoints ask of layer 1. */
export interface ControlApi {
  /** 200 while layer 1 serves (listening, at least one member up); 503 otherwise, with the reason. */
  health(): { serving: boolean; reason: string; membersUp: number; members: number };
  members(): MemberView[];
  /** Sets or clears drain; throws UnknownMemberError for an unknown id. */
  drain(id: string, draining: boolean): MemberView;
  metrics(): Promise<{ contentType: string; text: string }>;
}

export interface Endpoints {
  control: boolean;
  metrics: boolean;
  /** GET /health. */
  health: boolean;
  /** Bearer token required by the control paths (not /health, /metrics); undefined = none. */
  token?: string | undefined;
  /** The probe listener: GET /health answered `ok` or `unavailable`, nothing else, no detail. */
  minimal?: boolean;
}

const DRAIN = /^\/members\/(.+)\/(drain|undrain)$/;

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) return void res.destroy();
  if (err instanceof ControlRequestError) return send(res, err.status, { error: { code: err.code, message: err.message } });
  send(res, 500, { error: { code: 'VCP_ERR_L1_INTERNAL', message: err instanceof Error ? err.message : String(err) } });
}

/**
 * Layer 1's HTTP endpoints: control (`GET /health`, `GET /members`, `POST /members/<id>/drain` and
 * `/undrain`; the id may be written as `c1/0` or `c1%2F0`; with a token, every path but /health and
 * /metrics needs `Authorization: Bearer <token>`), metrics (`GET /metrics`) and the minimal health
 * listener for probes from other hosts. One server serves control and metrics when they share an
 * address and port. Errors answer JSON `{error: {code, message}}`.
 */
export function startHttp(role: string, address: string, port: number, which: Endpoints, api: ControlApi): Promise<Server> {
  const expected = which.token !== undefined ? Buffer.from(which.token) : undefined;
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0]!;
    const method = req.method ?? 'GET';
    if (which.minimal) {
      // For probes from other hosts: one bit of information, nothing else served.
      const ok = path === '/health' && (method === 'GET' || method === 'HEAD');
      const serving = ok && api.health().serving;
      const body = !ok ? '' : serving ? 'ok\n' : 'unavailable\n';
      res.writeHead(!ok ? (path === '/health' ? 405 : 404) : serving ? 200 : 503, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
      res.end(method === 'HEAD' ? undefined : body);
      return;
    }
    if (which.metrics && path === '/metrics') {
      if (method !== 'GET') throw wrongMethod('GET');
      api.metrics().then(
        (m) => {
          res.writeHead(200, { 'content-type': m.contentType });
          res.end(m.text);
        },
        (err: unknown) => sendError(res, err),
      );
      return;
    }
    if (which.health && path === '/health' && !which.control) {
      const h = api.health();
      return send(res, h.serving ? 200 : 503, { status: h.serving ? 'ok' : 'unavailable' });
    }
    if (!which.control) throw notFound(path);
    if (path === '/health') {
      const h = api.health();
      return send(res, h.serving ? 200 : 503, { status: h.serving ? 'ok' : 'unavailable', reason: h.reason, membersUp: h.membersUp, members: h.members });
    }
    if (expected !== undefined) {
      const h = req.headers.authorization ?? '';
      const given = Buffer.from(h.startsWith('Bearer ') ? h.slice(7) : '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        res.setHeader('www-authenticate', 'Bearer realm="vcproxy layer 1"');
        throw unauthorized();
      }
    }
    if (path === '/members') {
      if (method !== 'GET') throw wrongMethod('GET');
      return send(res, 200, api.members());
    }
    const m = DRAIN.exec(path);
    if (!m) throw notFound(path);
    if (method !== 'POST') throw wrongMethod(`POST to ${m[2]}`);
    let id: string;
    try {
      id = decodeURIComponent(m[1]!);
    } catch {
      throw badRequest('malformed member id in the path');
    }
    send(res, 200, api.drain(id, m[2] === 'drain'));
  };
  const srv = createServer((req, res) => {
    // Bodies are not used; drain them so keep-alive clients are not stuck.
    req.resume();
    try {
      handle(req, res);
    } catch (err) {
      sendError(res, err);
    }
  });
  srv.keepAliveTimeout = 5000;
  return new Promise((resolve, reject) => {
    srv.once('error', (err) => reject(new BindError(role, address, port, err)));
    srv.listen(port, address, () => {
      srv.removeAllListeners('error');
      srv.on('error', () => undefined);
      resolve(srv);
    });
  });
}
