import { parseConfig } from '../shared/config/load.js';
import { applyIdentity, identityFromEnv } from '../shared/config/identity.js';
import { sameValue } from '../shared/config/live.js';
import type { Logger } from '../shared/logger.js';
import type { TokensConfig } from '../shared/config/types.js';
import type { WorkerHandle } from './worker.js';

/**
 * The messages between the supervisor and a worker over IPC (the worker's side). Every request is
 * answered from this worker's event loop, so that a stalled loop shows as silence.
 *   ping                         → pong (the supervisor's heartbeat)
 *   reconfigure {file, text, tokens?} → reconfigured {ok, error?}: the config applies at once (the
 *                                token keys as the supervisor read them)
 *   drain {timeoutMs}            → drained {left}: no new calls; answered when its calls ended
 *   await-seen {timeoutMs}       → seen {ok}: every layer-1 node of the POP has seen it healthy
 */
export type SupervisorMessage =
  | { type: 'ping' }
  | { type: 'reconfigure'; file: string; text: string; tokens?: TokensConfig }
  | { type: 'drain'; timeoutMs: number }
  | { type: 'await-seen'; timeoutMs: number };

export type WorkerMessage =
  | { type: 'ready'; id: string }
  | { type: 'pong' }
  | { type: 'reconfigured'; ok: boolean; error?: string }
  | { type: 'drained'; left: number }
  | { type: 'seen'; ok: boolean };

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
      case 'reconfigure': {
        try {
          const parsed = applyIdentity(parseConfig(m.text, m.file), identityFromEnv());
          const next = m.tokens ? { ...parsed, tokens: m.tokens } : parsed;
          const ep = next.connectors.find((c) => c.name === handle.endpoint.connector)?.endpoints[handle.endpoint.index];
          if (!ep || !sameValue(ep, handle.endpoint)) throw new Error(`worker ${handle.endpoint.id}: its endpoint changed or is gone; it must be replaced, not reconfigured`);
          handle.reconfigure(next);
          log.info({ config: m.file }, 'configuration applied');
          send({ type: 'reconfigured', ok: true });
        } catch (err) {
          log.error({ err }, 'configuration not applied');
          send({ type: 'reconfigured', ok: false, error: err instanceof Error ? err.message : String(err) });
        }
        return;
      }
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
