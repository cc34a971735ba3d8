import type { Registry } from 'prom-client';
import type { Config } from '../../shared/config/types.js';
import type { Logger } from '../../shared/logger.js';
import type { LearningEngine } from '../learn/engine.js';
import type { LiveView } from '../learn/live.js';
import { tokenKeys } from './keys.js';
import { Router } from './router.js';
import { TokenSigner } from './tokens.js';

/** The router of a process: its token keys (created at first start when the config names none), its servers and arrival points. */
export function createRouter(config: Config, o: { engine: LearningEngine; live: LiveView; registry: Registry; log: Logger }): Router {
  const { keys, created } = tokenKeys(config.tokens);
  if (created && config.pops.length > 1) {
    o.log.warn({ keyFile: config.tokens.keyFile }, 'token key created for this host: copy it to every connector host of the deployment (or set tokens.key), or tokens minted at another POP will not be accepted here');
  }
  return new Router({
    engine: o.engine,
    live: o.live,
    signer: new TokenSigner(keys),
    servers: config.servers,
    connectors: config.connectors,
    learning: config.learning,
    log: o.log,
    registry: o.registry,
  });
}
