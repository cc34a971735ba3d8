import { sameValue } from '../shared/config/live.js';
import type { Config, TokensConfig } from '../shared/config/types.js';
import { VcpError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { WorkerHandle } from './worker.js';

/**
 * The messages between the supervisor and a worker over IPC (the worker's side). Every request is
 * answered from this worker's event loop, so that a stalled loop shows as silence.
 *   config {config, file, text, tokens}  (sent unasked at the fork; the worker's first message)
 *   ping                         → pong (the supervisor's heartbeat)
 *   reconfigure {config, file, text, tokens} → reconfigured {ok, error?}: the config applies at once
 *   drain {timeoutMs}            → drained {left}: no new calls; answered when its calls ended
 *   await-seen {timeoutMs}       → seen {ok}: every layer-1 node of the POP has seen it healthy
 */
export type SupervisorMessage =
  | ({ type: 'config' } & ConfigMessage)
  | { type: 'ping' }
  | ({ type: 'reconfigure' } & ConfigMessage)
  | { type: 'drain'; timeoutMs: number }
  | { type: 'await-seen'; timeoutMs: number };

export type WorkerMessage =
  | { type: 'ready'; id: string }
  | { type: 'pong' }
  | { type: 'reconfigured'; ok: boolean; error?: string }
  | { type: 'drained'; left: number }
  | { type: 'seen'; ok: boolean };

/**
 * A config the supervisor accepted: resolved for this node with the token keys it read while root
 * (`config`, structured-cloned by the channel's advanced serialization), so that a worker neither
 * reads files (it may have given up the right to) nor loads the YAML parser and the schema validator
 * again; and the file's text with those keys (`tokens`), which is what a supervisor or a worker of an
 * earlier release sends or reads (during an upgrade or a downgrade, the running supervisor starts
 * workers of the code on disk).
 */
export interface ConfigMessage {
  config?: Config;
  file: string;
  text: string;
  tokens?: TokensConfig;
}

/** The config a `config` or `reconfigure` message carries (checked again from its text when it carries no resolved config). */
export async function acceptedConfig(m: Partial<ConfigMessage>): Promise<Config> {
  if (typeof m.config === 'object' && m.config !== null && Array.isArray(m.config.connectors)) return m.config;
  if (typeof m.text !== 'string' || typeof m.file !== 'string') throw new VcpError('VCP_ERR_WORKER', 'the supervisor\'s message carries no config');
  const [{ parseConfig }, { applyIdentity, identityFromEnv }] = await Promise.all([import('../shared/config/load.js'), import('../shared/config/identity.js')]);
  const parsed = applyIdentity(parseConfig(m.text, m.file), identityFromEnv());
  return m.tokens ? { ...parsed, tokens: m.tokens } : parsed;
}

const send = (m: WorkerMessage): void => {
  process.send?.(m, () => undefined);
};

export function serveSupervisor(handle: WorkerHandle, log: Logger): void {
  process.on('message', (raw: unknown) => {
    const m = raw as SupervisorMessage;
    switch (m?.type) {
      case 'ping':
        send({ type: 'pong' });
        return;
      case 'reconfigure':
        void acceptedConfig(m).then((next) => {
          const ep = next.connectors.find((c) => c.name === handle.endpoint.connector)?.endpoints[handle.endpoint.index];
          if (!ep || !sameValue(ep, handle.endpoint)) throw new Error(`worker ${handle.endpoint.id}: its endpoint changed or is gone; it must be replaced, not reconfigured`);
          handle.reconfigure(next);
          log.info({ config: next.file }, 'configuration applied');
          send({ type: 'reconfigured', ok: true });
        }).catch((err: unknown) => {
          log.error({ err }, 'configuration not applied');
          send({ type: 'reconfigured', ok: false, error: err instanceof Error ? err.message : String(err) });
        });
        return;
      case 'drain':
        log.info({ timeoutMs: m.timeoutMs, calls: handle.activeCalls() }, 'draining: no new calls, exiting when the calls in progress have ended');
        void handle.drain(m.timeoutMs).then((left) => {
          if (left > 0) log.warn({ left }, 'drain timeout: calls still in progress');
          send({ type: 'drained', left });
        });
        return;
      case 'await-seen':
        void handle.standing.whenSeen(m.timeoutMs).then((ok) => send({ type: 'seen', ok }));
        return;
      default:
    }
  });
}
