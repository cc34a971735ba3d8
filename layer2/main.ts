import { fork, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultConfigPath, loadConfigFile } from '../shared/config/load.js';
import type { ConnectorConfig } from '../shared/config/types.js';
import { ConfigError } from '../shared/errors.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { exitProcess, installCrashPolicy } from '../shared/crash.js';
import { dropPrivileges, handOver, isRoot, PROFILES_FD, resolveIds } from '../shared/privileges.js';
import { HostServices } from './host.js';

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));

/**
 * The connector supervisor: one worker process per configured worker, each on its own ports (so a
 * transaction never straddles two processes). A worker that dies is started again with a growing
 * delay; only the calls it held are affected.
 */
export class Supervisor {
  readonly #children = new Map<string, ChildProcess>();
  #stopping = false;
  #text: string | undefined;
  /** An open handle of the profile directory, handed to every worker (set before privileges are dropped). */
  profilesDir: number | undefined;

  constructor(
    private readonly configFile: string,
    private readonly connector: ConnectorConfig,
    private readonly log: Logger,
  ) {}

  start(): Promise<void> {
    return Promise.all(this.connector.endpoints.map((ep) => this.#spawn(ep.index, 0))).then(() => undefined);
  }

  /**
   * The config text handed to each worker over IPC: a worker started after the supervisor gave up
   * root may not be able to read the file itself. Read again for every start (a changed file takes
   * effect for the worker started next); the last good text when the file cannot be read now.
   */
  #configText(): string {
    try {
      this.#text = readFileSync(this.configFile, 'utf8');
    } catch (err) {
      if (this.#text === undefined) throw new ConfigError(this.configFile, '', `cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
    }
    return this.#text!;
  }

  #spawn(index: number, restarts: number): Promise<void> {
    const id = `${this.connector.name}/${index}`;
    const text = this.#configText();
    // The profile directory travels as an open handle (fd 4): a worker started after the supervisor
    // gave up root opens the store through it, whatever the directories above allow.
    const dir = this.profilesDir;
    const child = fork(WORKER, ['--config', this.configFile, '--connector', this.connector.name, '--index', String(index), '--config-over-ipc'], {
      stdio: dir === undefined ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'inherit', 'inherit', 'ipc', dir],
      ...(dir === undefined ? {} : { env: { ...process.env, VCP_PROFILES_FD: String(PROFILES_FD) } }),
    });
    this.#children.set(id, child);
    const startedAt = Date.now();
    return new Promise((resolve) => {
      let ready = false;
      child.on('message', (m: unknown) => {
        // Asked for once its listener is in place (an IPC message sent earlier would be lost).
        if ((m as { type?: string }).type === 'want-config') child.send({ type: 'config', file: this.configFile, text });
        if ((m as { type?: string }).type === 'ready') {
          ready = true;
          resolve();
        }
      });
      // A worker that cannot receive its config (it died at once) is seen by its exit below.
      child.on('error', () => undefined);
      child.on('exit', (code, signal) => {
        if (!ready) resolve();
        if (this.#stopping) return;
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
  installCrashPolicy(log);
  const root = isRoot() && config.runAs?.user !== 'root';
  const ids = root ? resolveIds(config.runAs) : undefined;
  if (ids) {
    // Workers started after the drop run as runAs from the start: the ports they bind must not need root.
    const low = privilegedPorts(connector);
    if (low.length > 0) throw new ConfigError(file, `connectors (${connector.name}).ports`, `ports of ${unprivilegedStart()} or above for the workers, or a service started with CAP_NET_BIND_SERVICE: a worker restarted after the supervisor gave up root could not bind ${low.join(', ')}`);
  }
  const host = new HostServices(config, connector, log);
  const sup = new Supervisor(file, connector, log);
  if (ids) sup.profilesDir = openSync(config.profiles.path, 'r');
  await sup.start();
  await host.start();
  if (ids) {
    // What root created and a worker started later must open: the profile store, a log file.
    handOver([config.profiles.path, ...(process.env.VCP_LOG_FILE ? [process.env.VCP_LOG_FILE] : [])], ids);
    dropPrivileges(config.runAs, log);
  }
  log.info({ workers: sup.pids }, 'connector ready');
  const stop = (): void => {
    void Promise.all([sup.stop(), host.stop()]).then(() => exitProcess(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** The lowest port an unprivileged process may bind (net.ipv4.ip_unprivileged_port_start, 1024 by default). */
function unprivilegedStart(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim()) || 1024;
  } catch {
    return 1024;
  }
}

function privilegedPorts(c: ConnectorConfig): string[] {
  const limit = unprivilegedStart();
  const out: string[] = [];
  for (const ep of c.endpoints) {
    for (const k of ['sipProxied', 'sip', 'h323Proxied', 'h323', 'rasProxied', 'ras', 'health'] as const) if (ep[k] > 0 && ep[k] < limit) out.push(`${k} ${ep[k]} (worker ${ep.id})`);
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    const code = (err as { code?: string }).code;
    process.stderr.write(`connector: ${err instanceof Error ? err.message : String(err)}${code ? ` [${code}]` : ''}\n`);
    exitProcess(1);
  });
}
