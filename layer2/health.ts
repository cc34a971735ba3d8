import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import { BindError } from '../shared/errors.js';

/** GET /health (200 while the worker serves; `status: draining` while it is being replaced) and GET /metrics (Prometheus text) on the worker's health port. */
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
