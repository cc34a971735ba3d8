import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Config } from '../../shared/config/types.js';
import { BindError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { Technique } from '../decide/types.js';
import type { ClientIdentity } from '../identify.js';
import type { LearningEngine } from '../learn/engine.js';
import type { LiveView } from '../learn/live.js';
import type { ProfileStore } from '../profiles/store.js';
import { healthBody, storeAlarms } from '../health.js';
import { identifySip } from '../sip/user-agent.js';

export interface AdminOptions {
  config: Config;
  token: string;
  store: ProfileStore;
  engine: LearningEngine;
  live: LiveView;
  log: Logger;
  /** The host's registry (the web listener, the DNS responder and the replication count there too); a new one when absent. */
  registry?: Registry;
}

const TECHNIQUES: Technique[] = ['proxy', 'redirect', 'local', 'uri', 'http'];
const Name = { type: 'string', minLength: 1, maxLength: 256 } as const;

/**
 * The admin API of a connector host (loopback by default, bearer token on every route but /health and
 * /metrics): profiles (list, show, override, reset), the decision explained for a described request,
 * server drain, topology and live state, the outcome log and open redirects.
 */
export async function startAdmin(o: AdminOptions): Promise<FastifyInstance> {
  const { config, store, engine, live } = o;
  const app = Fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });
  const registry = o.registry ?? new Registry();
  registry.setDefaultLabels({ connector: o.log.bindings().connector ?? '' });
  const requests = new Counter({ name: 'vcp_admin_requests_total', help: 'admin API requests by route and status', labelNames: ['route', 'status'], registers: [registry] });
  new Gauge({
    name: 'vcp_profiles', help: 'profiles in the store by kind', labelNames: ['kind'], registers: [registry],
    collect(this: Gauge<'kind'>) {
      this.labels('class').set(store.count('class'));
      this.labels('network').set(store.count('net'));
      this.labels('redirect').set(store.count('redirect'));
    },
  });
  const expected = Buffer.from(o.token);

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?')[0];
    if (path === '/health' || path === '/metrics') return;
    const h = req.headers.authorization ?? '';
    const given = Buffer.from(h.startsWith('Bearer ') ? h.slice(7) : '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      reply.header('www-authenticate', 'Bearer realm="vcproxy admin"');
      await reply.code(401).send({ error: 'unauthorized', message: 'a valid bearer token is required (Authorization: Bearer <token>)' });
    }
  });
  app.addHook('onResponse', async (req, reply) => {
    requests.labels(req.routeOptions.url ?? 'unknown', String(reply.statusCode)).inc();
  });
  app.setErrorHandler(async (err: Error & { statusCode?: number; validation?: unknown; code?: string }, _req, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) o.log.error({ err }, 'admin API error');
    await reply.code(status).send({ error: status === 400 ? 'bad request' : 'error', code: err.code, message: err.message });
  });
  app.setNotFoundHandler(async (req, reply) => reply.code(404).send({ error: 'not found', message: `no route ${req.method} ${req.url.split('?')[0]}` }));

  app.get('/health', async () => healthBody(storeAlarms(store)));
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));

  // ---- profiles -------------------------------------------------------------------------------
  const listQuery = { type: 'object', additionalProperties: false, properties: { prefix: { type: 'string', maxLength: 256 }, limit: { type: 'string', pattern: '^[0-9]{1,6}$' } } } as const;
  for (const [route, kind] of [['classes', 'class'], ['networks', 'net']] as const) {
    app.get<{ Querystring: { prefix?: string; limit?: string } }>(`/profiles/${route}`, { schema: { querystring: listQuery } }, async (req) => ({
      profiles: store.list(kind, req.query.prefix ?? '', Number(req.query.limit ?? 100)),
    }));
    app.get<{ Params: { key: string } }>(`/profiles/${route}/:key`, async (req, reply) => {
      const p = kind === 'class' ? store.classProfile(req.params.key) : store.networkProfile(req.params.key);
      if (!p) return reply.code(404).send({ error: 'not found', message: `no ${kind === 'class' ? 'class' : 'network'} profile ${req.params.key}` });
      return p;
    });
    app.post<{ Params: { key: string }; Body: { by?: string } }>(
      `/profiles/${route}/:key/reset`,
      { schema: { body: { type: ['object', 'null'], additionalProperties: false, properties: { by: Name } } } },
      async (req) => {
        await store.record([{ o: 'reset', kind, key: req.params.key, at: Date.now(), by: req.body?.by ?? 'admin' }]);
        o.log.warn({ kind, key: req.params.key }, 'profile reset by the admin API');
        return { reset: req.params.key };
      },
    );
    app.delete<{ Params: { key: string } }>(`/profiles/${route}/:key/override`, async (req) => {
      const at = Date.now();
      await store.record([kind === 'class' ? { o: 'override', kind, key: req.params.key, technique: null, at, by: 'admin' } : { o: 'override', kind, key: req.params.key, allow: null, at, by: 'admin' }]);
      return kind === 'class' ? store.classProfile(req.params.key) ?? {} : store.networkProfile(req.params.key) ?? {};
    });
  }
  app.put<{ Params: { key: string }; Body: { technique: Technique; by?: string } }>(
    '/profiles/classes/:key/override',
    { schema: { body: { type: 'object', required: ['technique'], additionalProperties: false, properties: { technique: { type: 'string', enum: TECHNIQUES }, by: Name } } } },
    async (req) => {
      await store.record([{ o: 'override', kind: 'class', key: req.params.key, technique: req.body.technique, at: Date.now(), by: req.body.by ?? 'admin' }]);
      o.log.warn({ key: req.params.key, technique: req.body.technique }, 'class technique overridden by the admin API');
      return store.classProfile(req.params.key);
    },
  );
  const names = new Set([...config.pops.map((p) => p.name), ...config.servers.map((s) => s.name)]);
  app.put<{ Params: { key: string }; Body: { allow: string[]; by?: string } }>(
    '/profiles/networks/:key/override',
    { schema: { body: { type: 'object', required: ['allow'], additionalProperties: false, properties: { allow: { type: 'array', minItems: 1, maxItems: 64, items: Name }, by: Name } } } },
    async (req, reply) => {
      const unknown = req.body.allow.filter((n) => !names.has(n));
      if (unknown.length) return reply.code(400).send({ error: 'bad request', message: `body/allow names no POP or server: ${unknown.join(', ')}` });
      await store.record([{ o: 'override', kind: 'net', key: req.params.key, allow: req.body.allow, at: Date.now(), by: req.body.by ?? 'admin' }]);
      return store.networkProfile(req.params.key);
    },
  );

  // ---- the decision, explained ------------------------------------------------------------------
  app.post<{ Body: { protocol?: 'sip' | 'h323'; userAgent?: string; vendor?: string; product?: string; version?: string; source: string; domain?: string; meeting?: string } }>(
    '/explain',
    {
      schema: {
        body: {
          type: 'object', required: ['source'], additionalProperties: false,
          properties: {
            protocol: { type: 'string', enum: ['sip', 'h323'] }, userAgent: { type: 'string', maxLength: 512 }, vendor: { type: 'string', maxLength: 128 },
            product: { type: 'string', maxLength: 128 }, version: { type: 'string', maxLength: 128 }, source: { type: 'string', format: 'ipv4' },
            domain: { type: 'string', maxLength: 253 }, meeting: { type: 'string', maxLength: 256 },
          },
        },
      },
    },
    async (req) => {
      const b = req.body;
      const protocol = b.protocol ?? 'sip';
      const identity: ClientIdentity = b.userAgent !== undefined && protocol === 'sip'
        ? identifySip(b.userAgent)
        : { protocol, vendor: b.vendor ?? '', product: b.product ?? '', version: b.version ?? '' };
      const ctx = engine.decide({ protocol, callId: 'explain', identity, source: b.source, domain: b.domain ?? '', meeting: b.meeting ?? '' }, [], true);
      return {
        client: identity, class: ctx.chain.map((c) => c.key), networks: ctx.networks.map((n) => n.key), customer: ctx.customer, geo: ctx.geo, workType: ctx.workType,
        decision: ctx.decision,
      };
    },
  );

  // ---- servers, topology, live state --------------------------------------------------------------
  const serverView = () => {
    const now = Date.now();
    const state = live.state(now).servers;
    return config.servers.map((s) => {
      const st = state.get(s.name);
      const h = live.health().get(s.name);
      return {
        name: s.name, pop: s.pop, address: s.address, sipPort: s.sipPort, h323Port: s.h323Port, capacity: s.capacity, workTypes: s.workTypes,
        units: st?.units ?? 0, up: st?.up ?? true, drained: st?.drained ?? false, health: h ?? null,
      };
    });
  };
  app.get('/servers', async () => ({ servers: serverView() }));
  for (const action of ['drain', 'undrain'] as const) {
    app.post<{ Params: { name: string } }>(`/servers/:name/${action}`, async (req, reply) => {
      const s = config.servers.find((x) => x.name === req.params.name);
      if (!s) return reply.code(404).send({ error: 'not found', message: `no server named ${req.params.name}` });
      if (action === 'drain') await store.putLocal(`drain/${s.name}`, { drained: true, at: Date.now(), by: 'admin' });
      else await store.removeLocal(`drain/${s.name}`);
      live.refresh();
      o.log.warn({ server: s.name, action }, `server ${action}ed by the admin API`);
      return { server: s.name, drained: action === 'drain' };
    });
  }
  app.get('/topology', async () => ({
    pop: config.pop, pops: config.pops, servers: config.servers.map(({ builtin: _b, ...s }) => s), networks: config.networks, customers: config.customers,
    geo: { database: config.geo.database || 'embedded DB-IP country lite (CC BY 4.0)', rules: config.geo.rules, overrides: config.geo.overrides },
    techniques: config.techniques, learning: config.learning,
  }));
  app.get('/live', async () => ({ servers: serverView(), writers: live.loads() }));
  app.get<{ Querystring: { limit?: string } }>('/outcomes', { schema: { querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'string', pattern: '^[0-9]{1,6}$' } } } } }, async (req) => ({
    outcomes: store.outcomes(Number(req.query.limit ?? 100)),
  }));
  app.get('/redirects', async () => ({ open: store.openRedirects(1000) }));

  try {
    await app.listen({ host: config.admin.address, port: config.admin.port });
  } catch (err) {
    throw new BindError('admin API', config.admin.address, config.admin.port, err);
  }
  return app;
}
