import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultConfigPath, loadConfigFile } from '../shared/config/load.js';
import type { ConnectorConfig } from '../shared/config/types.js';
import { ConfigError } from '../shared/errors.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { childEnv, ServiceNotifier } from '../shared/service/notify.js';
import { HostServices } from './host.js';

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));

/** How often the supervisor asks each worker's event loop for an answer over IPC. */
const HEARTBEAT_MS = 1000;
/** A worker that answered none of the heartbeats for this long has a stalled loop: it is killed and started again. */
const WORKER_STALL_MS = 10_000;

/** The supervisor's side of a worker's heartbeat: a ping each second, the answer timed. */
class Heartbeat {
  #timer: NodeJS.Timeout | undefined;
  #last = Date.now();

  constructor(
    private readonly child: ChildProcess,
    private readonly stalled: () => void,
  ) {}

  start(): void {
    this.#last = Date.now();
    this.#timer = setInterval(() => {
      if (Date.now() - this.#last > WORKER_STALL_MS) {
        this.stop();
        this.stalled();
        return;
      }
      if (this.child.connected) this.child.send({ type: 'ping' }, () => undefined);
    }, HEARTBEAT_MS);
    this.#timer.unref();
  }

  answered(): void {
    this.#last = Date.now();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * The connector supervisor: one worker process per configured worker, each on its own ports (so a
 * transaction never straddles two processes). A worker that dies is started again with a growing
 * delay; only the calls it held are affected.
 */
export class Supervisor {
  readonly #children = new Map<string, ChildProcess>();
  #stopping = false;

  constructor(
    private readonly configFile: string,
    private readonly connector: ConnectorConfig,
    private readonly log: Logger,
  ) {}

  start(): Promise<void> {
    return Promise.all(this.connector.endpoints.map((ep) => this.#spawn(ep.index, 0))).then(() => undefined);
  }

  #spawn(index: number, restarts: number): Promise<void> {
    const id = `${this.connector.name}/${index}`;
    const child = fork(WORKER, ['--config', this.configFile, '--connector', this.connector.name, '--index', String(index)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: childEnv(),
    });
    this.#children.set(id, child);
    const startedAt = Date.now();
    return new Promise((resolve) => {
      let ready = false;
      const heartbeat = new Heartbeat(child, () => {
        this.log.error({ worker: id, pid: child.pid, silentMs: WORKER_STALL_MS }, 'worker event loop stalled: killing it');
        child.kill('SIGKILL');
      });
      child.on('message', (m: unknown) => {
        const type = (m as { type?: string }).type;
        if (type === 'pong') heartbeat.answered();
        else if (type === 'ready') {
          ready = true;
          heartbeat.start();
          resolve();
        }
      });
      child.on('exit', (code, signal) => {
        heartbeat.stop();
        if (!ready) resolve();
        if (this.#stopping) {
          if (code === 0) this.log.info({ worker: id, pid: child.pid }, 'worker stopped');
          else this.log.error({ worker: id, pid: child.pid, code, signal }, 'worker did not stop cleanly');
          return;
        }
        const stable = Date.now() - startedAt > 10_000;
        const n = stable ? 0 : restarts + 1;
        const delay = Math.min(5000, n === 0 ? 100 : 100 * 2 ** n);
        this.log.warn({ worker: id, pid: child.pid, code, signal, restartInMs: delay }, 'worker exited, restarting');
        setTimeout(() => {
          if (!this.#stopping) void this.#spawn(index, n);
        }, delay);
      });
    });
  }

  get pids(): Record<string, number | undefined> {
    return Object.fromEntries([...this.#children].map(([k, c]) => [k, c.pid]));
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(
      [...this.#children.values()].map(
        (c) =>
          new Promise<void>((r) => {
            if (c.exitCode !== null || c.signalCode !== null) return r();
            c.once('exit', () => r());
            c.kill('SIGTERM');
            setTimeout(() => c.kill('SIGKILL'), 3000).unref();
          }),
      ),
    );
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' }, connector: { type: 'string' } } });
  const file = values.config ?? defaultConfigPath();
  const config = loadConfigFile(file);
  const name = values.connector ?? process.env.VCP_CONNECTOR;
  const connector = name ? config.connectors.find((c) => c.name === name) : config.connectors.find((c) => c.pop === config.pop);
  if (!connector) throw new ConfigError(file, 'connectors', `a connector named ${name ?? `in POP ${config.pop}`}`);
  const log = createLogger('connector', { connector: connector.name });
  const host = new HostServices(config, connector, log);
  const sup = new Supervisor(file, connector, log);
  await sup.start();
  await host.start();
  log.info({ workers: sup.pids }, 'connector ready');
  const notifier = new ServiceNotifier(log);
  void notifier.ready(`serving: connector ${connector.name}, ${connector.endpoints.length} workers`);
  notifier.startWatchdog();
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    notifier.stopWatchdog();
    void notifier.stopping('stopping');
    void Promise.all([sup.stop(), host.stop()]).then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`connector: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
