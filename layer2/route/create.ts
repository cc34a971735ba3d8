import type { Registry } from 'prom-client';
import type { Config } from '../../shared/config/types.js';
import type { Logger } from '../../shared/logger.js';
import type { LearningEngine } from '../learn/engine.js';
import type { LiveView } from '../learn/live.js';
import { Router } from './router.js';

/** The router of a process, on the sections of the config it reads. */
export function createRouter(config: Config, o: { engine: LearningEngine; live: LiveView; registry: Registry; log: Logger }): Router {
  return new Router({
    engine: o.engine,
    live: o.live,
    tokens: config.tokens,
    servers: config.servers,
    connectors: config.connectors,
    learning: config.learning,
    log: o.log,
    registry: o.registry,
  });
}
