import type { Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Config, ConnectorConfig } from '../../shared/config/types.js';
import type { Logger } from '../../shared/logger.js';
import type { LearningEngine } from '../learn/engine.js';
import type { ProfileStore } from '../profiles/store.js';
import { WebMetrics } from './metrics.js';
import { startWebListener } from './server.js';
import { WebService, type WebServiceOptions } from './service.js';

export interface StartWebOptions {
  config: Config;
  connector: ConnectorConfig;
  engine: LearningEngine;
  store: ProfileStore;
  registry: Registry;
  log: Logger;
}

/** The sections of the config the web service reads. */
export function webSections(c: Config): Pick<WebServiceOptions, 'web' | 'meetings' | 'pops' | 'perSourcePerMinute' | 'tokenParam'> {
  return { web: c.web, meetings: c.meetings, pops: c.pops, perSourcePerMinute: c.learning.perSourcePerMinute, tokenParam: c.sip.redirectTokenParam };
}

/** The web listener of a connector host, on `web.address` (default: the connector's) and `web.port`. */
export async function startWeb(o: StartWebOptions): Promise<Server> {
  const metrics = new WebMetrics(o.registry);
  const log = o.log.child({ part: 'web' });
  const service = new WebService({ ...webSections(o.config), engine: o.engine, store: o.store, log, metrics });
  const address = o.config.web.address || o.connector.address;
  const srv = await startWebListener({ address, port: o.config.web.port, trustedProxies: o.config.web.trustedProxies, service, metrics, log });
  log.info({ web: `http://${address}:${o.config.web.port}`, meetings: o.config.meetings.length }, 'web listener ready');
  return srv;
}
