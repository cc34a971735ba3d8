import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import { BindError } from '../shared/errors.js';
import type { ProfileStore } from './profiles/store.js';

/** Something an operator must look at while the process keeps serving; listed by `/health`. */
export interface Alarm {
  code: string;
  message: string;
  since: number;
}

/**
 * The profile store's alarm: its writes are failing (a full disk or map). Decisions continue from
 * what the store holds, but nothing is learned meanwhile, so `/health` says so while it lasts.
 */
export function storeAlarms(store: ProfileStore, now = Date.now()): Alarm[] {
  const w = store.writeHealth(now);
  if (!w.failing) return [];
  return [{ code: 'VCP_ERR_PROFILE_WRITE', message: `profile store ${store.path}: writes failing (${w.errors} so far; last: ${w.lastError})`, since: w.lastErrorAt }];
}

/** `/health` body fields: `degraded` with the alarms while there are any (still 200: the process serves). */
export function healthBody(alarms: readonly Alarm[]): { status: 'ok' | 'degraded'; alarms?: Alarm[] } {
  return alarms.length ? { status: 'degraded', alarms: [...alarms] } : { status: 'ok' };
}

/**
 * GET /health (200 while the worker serves; `status: draining` while it is being replaced, `degraded`
 * with its alarms while something needs an operator but calls go on) and GET /metrics (Prometheus
 * text) on the worker's health port.
 */
export function startHealthServer(address: string, port: number, status: (req: IncomingMessage) => Record<string, unknown>, registry: Registry): Promise<Server> {
  const srv = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'ok', ...status(req) }));
      return;
    }
    if (req.method === 'GET' && req.url === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(500);
          res.end(String(err));
        },
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":"not found"}');
  });
  srv.keepAliveTimeout = 5000;
  return new Promise((resolve, reject) => {
    srv.once('error', (err) => reject(new BindError('worker health/metrics HTTP', address, port, err)));
    srv.listen(port, address, () => {
      srv.removeAllListeners('error');
      srv.on('error', () => undefined);
      resolve(srv);
    });
  });
}
