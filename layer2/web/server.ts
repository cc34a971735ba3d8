import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../../shared/logger.js';
import { BindError } from '../../shared/errors.js';
import { parsePrefix, type Prefix } from '../../shared/net/prefix.js';
import { clientAddress } from './client-address.js';
import { WebError } from './errors.js';
import type { WebMetrics } from './metrics.js';
import { errorPage } from './pages.js';
import type { WebResult, WebService } from './service.js';

/** Longest request target read; longer ones get 414 (a meeting name is at most 128 characters). */
const MAX_URL = 2048;

/** Every page: no caching (links carry tokens), no referrer (tokens stay out of other sites' logs), no scripts. */
const HEADERS: Record<string, string> = {
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

export interface WebListenerOptions {
  address: string;
  port: number;
  trustedProxies: readonly string[];
  service: WebService;
  metrics: WebMetrics;
  log: Logger;
}

type Route = 'join' | 'meet' | 'health' | 'other';

/** The meeting named by `/join/<name>` or `/meet/<name>` (one %-decoded path segment). */
function meetingOf(path: string, prefix: string): string {
  const seg = path.slice(prefix.length);
  if (seg.length === 0 || seg.includes('/')) throw new WebError('VCP_ERR_WEB_NOT_FOUND', 404, 'There is no page at this address.');
  try {
    return decodeURIComponent(seg);
  } catch {
    throw new WebError('VCP_ERR_WEB_BAD_REQUEST', 400, 'The address holds a malformed %-escape.');
  }
}

/**
 * The web listener of a connector host: `GET /join/<meeting>` (the join page), `GET /meet/<meeting>`
 * (the HTTP redirect, and where redirected browsers arrive), `GET /health`. Only GET and HEAD; every
 * failure is a page with its status and code, never a dropped connection.
 */
export async function startWebListener(o: WebListenerOptions): Promise<Server> {
  const proxies: Prefix[] = o.trustedProxies.map((p) => parsePrefix(p)!);
  let seq = 0;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    let route: Route = 'other';
    let status = 500;
    const send = (code: number, body: string, extra: Record<string, string> = {}): void => {
      status = code;
      res.writeHead(code, { ...HEADERS, 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body), ...extra });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    try {
      if (url.length > MAX_URL) throw new WebError('VCP_ERR_WEB_URI_TOO_LONG', 414, 'The address is too long.');
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      route = path.startsWith('/join/') ? 'join' : path.startsWith('/meet/') ? 'meet' : path === '/health' ? 'health' : 'other';
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        throw new WebError('VCP_ERR_WEB_METHOD', 405, `${String(req.method).slice(0, 16)} is not served here; use GET.`);
      }
      if (route === 'health') {
        status = 200;
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : '{"status":"ok"}');
        return;
      }
      if (route === 'other') throw new WebError('VCP_ERR_WEB_NOT_FOUND', 404, 'There is no page at this address.');
      const requester = {
        source: clientAddress(req.socket.remoteAddress ?? '', req.headers['x-forwarded-for'], proxies),
        userAgent: req.headers['user-agent'],
        id: `web-${process.pid}-${++seq}`,
      };
      const meeting = meetingOf(path, route === 'join' ? '/join/' : '/meet/');
      const out: WebResult = route === 'join'
        ? o.service.join(meeting, requester)
        : o.service.meet(meeting, new URLSearchParams(q < 0 ? '' : url.slice(q + 1)), requester);
      if (out.status === 302) send(302, out.body, { location: out.location });
      else send(200, out.body);
    } catch (err) {
      if (err instanceof WebError) {
        send(err.status, errorPage(err.status, titleOf(err.status), err.message, err.code));
      } else {
        o.log.error({ err, url: url.slice(0, 256) }, 'web request failed');
        send(500, errorPage(500, 'Something went wrong', 'The page could not be made. Please try again.', 'VCP_ERR_WEB_INTERNAL'));
      }
    } finally {
      o.metrics.requests.labels(route, String(status)).inc();
    }
  };

  const srv = createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 10_000, headersTimeout: 5_000 }, (req, res) => {
    req.resume();
    handle(req, res);
  });
  srv.keepAliveTimeout = 5000;
  srv.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  return new Promise((resolve, reject) => {
    srv.once('error', (err) => reject(new BindError('web listener', o.address, o.port, err)));
    srv.listen(o.port, o.address, () => {
      srv.removeAllListeners('error');
      srv.on('error', (err) => o.log.error({ err }, 'web listener error'));
      resolve(srv);
    });
  });
}

function titleOf(status: number): string {
  switch (status) {
    case 400: return 'Bad request';
    case 404: return 'Not found';
    case 405: return 'Method not allowed';
    case 414: return 'Address too long';
    case 503: return 'No server available';
    default: return 'Error';
  }
}
