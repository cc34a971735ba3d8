import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { openSync, readFileSync } from 'node:fs';
import { applyIdentity, identityFromEnv } from '../shared/config/identity.js';
import { defaultConfigPath, parseConfig } from '../shared/config/load.js';
import type { Config, ConnectorConfig, TokensConfig, WorkerEndpoint } from '../shared/config/types.js';
import { ConfigError } from '../shared/errors.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { exitProcess, installCrashPolicy } from '../shared/crash.js';
import { dropPrivileges, handOver, isRoot, PROFILES_FD, resolveIds, unreachableBy } from '../shared/privileges.js';
import { childEnv, ServiceNotifier } from '../shared/service/notify.js';
import { withAllocatorTuning } from '../shared/allocator.js';
import { ReloadStatusFile, reloadStatusPath } from '../shared/service/reload-status.js';
import { buildInfo } from '../shared/service/build.js';
import { openHostStore } from './host-store.js';
import { withKeys } from './route/keys.js';
import { describePlan, planReload, type ReloadPlan, type RunningWorker } from './reload.js';
import type { ConfigMessage, SupervisorMessage, WorkerMessage } from './worker-control.js';

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

/** One worker index of the connector and the process serving it. */
interface Slot {
  index: number;
  endpoint: WorkerEndpoint;
  child: ChildProcess;
  /** The code identity on disk when this process started. */
  code: string;
  /** Stopped on purpose (replaced or removed): not started again when it exits. */
  retiring: boolean;
  exited: Promise<void>;
}

type Reply = WorkerMessage;

/**
 * The connector supervisor: one worker process per configured worker, each on its own ports (so a
 * transaction never straddles two processes). A worker that dies is started again with a growing
 * delay; only the calls it held are affected. A reload (`reload()`) applies the new configuration to
 * the workers at once where it can, and replaces the others one at a time: drained (layer 1 sends it
 * nothing new), stopped when its calls have ended (at most `service.drainTimeoutMs`), started again,
 * and seen healthy by every layer-1 node of the POP before the next one is drained.
 */
export class Supervisor {
  readonly #slots = new Map<number, Slot>();
  #stopping = false;
  #connector: ConnectorConfig;
  #config: Config;
  /** Replacements run one at a time, in the order reloads asked for them. */
  #rollout: Promise<void> = Promise.resolve();
  /** Told about rollout progress (the service status line). */
  onProgress: (text: string) => void = () => undefined;
  /** The last accepted config's file text, handed to workers beside the resolved config (see `ConfigMessage`). */
  #text: string;
  /** An open handle of the profile directory, handed to every worker as fd 4 (set before privileges are dropped). */
  profilesDir: number | undefined;

  constructor(
    private readonly configFile: string,
    config: Config,
    connector: ConnectorConfig,
    private readonly log: Logger,
    text: string,
  ) {
    this.#config = config;
    this.#connector = connector;
    this.#text = text;
  }

  #configMessage(): ConfigMessage {
    return { config: this.#config, file: this.configFile, text: this.#text, tokens: this.#config.tokens };
  }

  start(): Promise<void> {
    return Promise.all(this.#connector.endpoints.map((ep) => this.#spawn(ep, 0))).then(() => undefined);
  }

  #spawn(endpoint: WorkerEndpoint, restarts: number): Promise<void> {
    const index = endpoint.index;
    const id = endpoint.id;
    // The profile directory travels as an open handle (fd 4): a worker started after the supervisor
    // gave up root opens the store through it, whatever the directories above allow.
    const dir = this.profilesDir;
    // A worker gets the config this supervisor last accepted over IPC, unasked, as its first message
    // (see `ConfigMessage`). The advanced serialization (structured clone) carries the resolved config
    // exactly, keys set to undefined included.
    const env = withAllocatorTuning(childEnv());
    const child = fork(WORKER, ['--config', this.configFile, '--connector', this.#connector.name, '--index', String(index), '--config-over-ipc'], {
      serialization: 'advanced',
      stdio: dir === undefined ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'inherit', 'inherit', 'ipc', dir],
      env: dir === undefined ? env : { ...env, VCP_PROFILES_FD: String(PROFILES_FD) },
    });
    child.send({ type: 'config', ...this.#configMessage() }, () => undefined);
    let exited!: () => void;
    const slot: Slot = { index, endpoint, child, code: buildInfo().code, retiring: false, exited: new Promise((r) => (exited = r)) };
    this.#slots.set(index, slot);
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
      child.on('error', () => undefined);
      child.on('exit', (code, signal) => {
        heartbeat.stop();
        exited();
        if (!ready) resolve();
        if (this.#stopping || slot.retiring) {
          if (code === 0) this.log.info({ worker: id, pid: child.pid }, 'worker stopped');
          else this.log.error({ worker: id, pid: child.pid, code, signal }, 'worker did not stop cleanly');
          return;
        }
        const stable = Date.now() - startedAt > 10_000;
        const n = stable ? 0 : restarts + 1;
        const delay = Math.min(5000, n === 0 ? 100 : 100 * 2 ** n);
        this.log.warn({ worker: id, pid: child.pid, code, signal, restartInMs: delay }, 'worker exited, restarting');
        setTimeout(() => {
          if (!this.#stopping && this.#slots.get(index) === slot) void this.#spawn(this.#endpoint(index) ?? endpoint, n);
        }, delay);
      });
    });
  }

  #endpoint(index: number): WorkerEndpoint | undefined {
    return this.#connector.endpoints[index];
  }

  /** Send a message to a worker and wait for the reply of type `want` (undefined: no reply in time, or it exited). */
  #ask(slot: Slot, msg: SupervisorMessage, want: Reply['type'], timeoutMs: number): Promise<Reply | undefined> {
    return new Promise((resolve) => {
      const child = slot.child;
      const done = (r: Reply | undefined): void => {
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(r);
      };
      const onMessage = (m: unknown): void => {
        if ((m as Reply).type === want) done(m as Reply);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      child.on('message', onMessage);
      void slot.exited.then(() => done(undefined));
      if (!child.connected) return done(undefined);
      child.send(msg, (err) => {
        if (err) done(undefined);
      });
    });
  }

  get pids(): Record<string, number | undefined> {
    return Object.fromEntries([...this.#slots.values()].map((s) => [s.endpoint.id, s.child.pid]));
  }

  /** The running workers' endpoints and code, for planning a reload. */
  get running(): Map<number, RunningWorker> {
    return new Map([...this.#slots].map(([i, s]) => [i, { endpoint: s.endpoint, code: s.code }]));
  }

  /**
   * Apply a new configuration (already validated): the workers that can take it at once get it now;
   * the replacements the plan names run in the background, one at a time (`whenSettled`).
   * Resolves with the plan once the at-once part is done.
   */
  async reload(config: Config, text: string): Promise<ReloadPlan> {
    const connector = config.connectors.find((c) => c.name === this.#connector.name);
    if (!connector) throw new ConfigError(config.file, 'connectors', `a connector named ${this.#connector.name} (this supervisor's; rename it with a restart)`);
    const plan = planReload(this.running, this.#config, config, connector.name, buildInfo().code);
    this.#config = config;
    this.#text = text;
    this.#connector = connector;
    const failed: number[] = [];
    await Promise.all(plan.reconfigure.map(async (index) => {
      const slot = this.#slots.get(index)!;
      const r = await this.#ask(slot, { type: 'reconfigure', ...this.#configMessage() }, 'reconfigured', RECONFIGURE_MS);
      if (!r || r.type !== 'reconfigured' || !r.ok) failed.push(index);
    }));
    // A worker that could not take the config at once gets it by being replaced.
    for (const index of failed) plan.replace.push({ index, why: 'it could not apply the configuration at once' });
    plan.reconfigure = plan.reconfigure.filter((i) => !failed.includes(i));
    if (plan.add.length || plan.replace.length || plan.remove.length) {
      this.#rollout = this.#rollout.then(() => this.#roll(plan)).catch((err: unknown) => this.log.error({ err }, 'worker replacement failed'));
    }
    return plan;
  }

  /** Resolves when every replacement asked for so far has finished. */
  whenSettled(): Promise<void> {
    return this.#rollout;
  }

  async #roll(plan: ReloadPlan): Promise<void> {
    const svc = this.#config.service;
    const total = plan.add.length + plan.replace.length + plan.remove.length;
    let done = 0;
    const progress = (what: string): void => {
      this.onProgress(`replacing workers: ${done}/${total} done; ${what}`);
    };
    for (const index of plan.add) {
      if (this.#stopping) return;
      const ep = this.#endpoint(index);
      if (!ep || this.#slots.has(index)) continue;
      progress(`starting worker ${ep.id}`);
      await this.#spawn(ep, 0);
      await this.#seen(index, svc.layer1WaitMs);
      done++;
    }
    for (const { index, why } of plan.replace) {
      if (this.#stopping) return;
      const old = this.#slots.get(index);
      if (!old) continue;
      progress(`draining worker ${old.endpoint.id} (${why})`);
      await this.#retire(old, svc.drainTimeoutMs);
      const ep = this.#endpoint(index);
      if (this.#stopping || !ep) continue;
      progress(`starting worker ${ep.id}`);
      await this.#spawn(ep, 0);
      await this.#seen(index, svc.layer1WaitMs);
      this.log.info({ worker: ep.id, pid: this.#slots.get(index)?.child.pid, why }, 'worker replaced');
      done++;
    }
    for (const index of plan.remove) {
      if (this.#stopping) return;
      const old = this.#slots.get(index);
      if (!old) continue;
      progress(`draining worker ${old.endpoint.id} for good`);
      await this.#retire(old, svc.drainTimeoutMs);
      this.#slots.delete(index);
      done++;
    }
    this.onProgress(`serving: connector ${this.#connector.name}, ${this.#slots.size} workers`);
  }

  /** Drain a worker, let its calls end (at most `timeoutMs`), then stop it. */
  async #retire(slot: Slot, timeoutMs: number): Promise<void> {
    slot.retiring = true;
    const r = await this.#ask(slot, { type: 'drain', timeoutMs }, 'drained', timeoutMs + RECONFIGURE_MS);
    this.log.info({ worker: slot.endpoint.id, pid: slot.child.pid, callsLeft: r?.type === 'drained' ? r.left : undefined }, 'worker drained: stopping it');
    slot.child.kill('SIGTERM');
    const kill = setTimeout(() => slot.child.kill('SIGKILL'), 10_000);
    await slot.exited;
    clearTimeout(kill);
  }

  /** Wait until every layer-1 node of the POP has seen the worker healthy (at most `timeoutMs`). */
  async #seen(index: number, timeoutMs: number): Promise<void> {
    const slot = this.#slots.get(index);
    if (!slot || timeoutMs === 0) return;
    const r = await this.#ask(slot, { type: 'await-seen', timeoutMs }, 'seen', timeoutMs + RECONFIGURE_MS);
    if (!(r?.type === 'seen' && r.ok)) this.log.warn({ worker: slot.endpoint.id, waitedMs: timeoutMs }, 'layer 1 has not seen the new worker healthy yet: going on');
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(
      [...this.#slots.values()].map(
        (s) =>
          new Promise<void>((r) => {
            const c = s.child;
            if (c.exitCode !== null || c.signalCode !== null) return r();
            c.once('exit', () => r());
            c.kill('SIGTERM');
            setTimeout(() => c.kill('SIGKILL'), 3000).unref();
          }),
      ),
    );
  }
}

/** A worker's answer to a reconfigure or a drain request can take this long beyond its own bound. */
const RECONFIGURE_MS = 10_000;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' }, connector: { type: 'string' } } });
  const file = values.config ?? defaultConfigPath();
  const read = readConfig(file);
  const raw = read.config.tokens;
  const text = read.text;
  let config = read.config;
  const name = values.connector ?? process.env.VCP_CONNECTOR;
  const connector = name ? config.connectors.find((c) => c.name === name) : config.connectors.find((c) => c.pop === config.pop);
  if (!connector) throw new ConfigError(file, 'connectors', `a connector named ${name ?? `in POP ${config.pop}`}`);
  const log = createLogger('connector', { connector: connector.name });
  installCrashPolicy(log);
  config = withTokenKeys(config, log);
  const ids = isRoot() && config.runAs?.user !== 'root' ? resolveIds(config.runAs) : undefined;
  if (ids) {
    // Started as root, the supervisor gives up root once everything is bound: what it or a worker
    // binds later (a restarted worker, the host services after a reload) must not need root.
    const low = privilegedPorts(config, connector);
    if (low.length > 0) throw new ConfigError(file, `connectors (${connector.name})`, `ports of ${unprivilegedStart()} or above when started as root (a restarted worker or a reload binds them without root), or the service run unprivileged with CAP_NET_BIND_SERVICE: ${low.join(', ')}`);
    // Likewise a worker started after the drop loads its code as runAs: from a checkout in a private
    // folder (/root, a mktemp directory) it cannot, and would never come back.
    const blocked = unreachableBy(WORKER, ids);
    if (blocked) {
      const user = config.runAs?.user ?? 'nobody';
      log.warn({ code: 'VCP_ERR_CODE_UNREACHABLE', path: blocked, user }, `${blocked} is not ${blocked === WORKER ? 'readable' : 'searchable'} by ${user}: a worker that exits, or that a reload replaces, cannot load its code once privileges are dropped and will not come back. Install the package (/opt/vcproxy), run from a checkout ${user} can read, or open the folder (chmod o+x ${blocked})`);
    }
  }
  // A SIGHUP before the start finished (the default action would end the process) reloads once started.
  let early = false;
  const onEarlyHup = (): void => {
    early = true;
  };
  process.on('SIGHUP', onEarlyHup);
  // The store is opened first, so that a foreign or corrupt store stops the start with its path
  // before any worker runs (and a new store is created once, by this process).
  const store = openHostStore(config, connector);
  const sup = new Supervisor(file, config, connector, log, text);
  if (ids) sup.profilesDir = openSync(config.profiles.path, 'r');
  // The workers start while this process loads the host services' modules (admin API, learning,
  // web, DNS, replication), which the workers do not need.
  const workers = sup.start();
  const { HostServices } = await import('./host.js');
  let host = new HostServices(config, connector, log, store);
  await Promise.all([workers, host.start()]);
  if (ids) {
    // What root created and a process started later must write or read: the profile store, a log
    // file, the admin token that the host services read again when a reload restarts them.
    const tokenFile = config.admin.token ? [] : [config.admin.tokenFile];
    handOver([config.profiles.path, ...tokenFile, ...(process.env.VCP_LOG_FILE ? [process.env.VCP_LOG_FILE] : [])], ids);
    // The supervisor's own later opens of the store (host services after a reload) go through the handle too.
    process.env.VCP_PROFILES_FD = String(sup.profilesDir);
    dropPrivileges(config.runAs, log);
  }
  log.info({ workers: sup.pids }, 'connector ready');
  const notifier = new ServiceNotifier(log);
  const status = new ReloadStatusFile(reloadStatusPath(), (err) => log.error({ err, code: 'VCP_ERR_RELOAD_STATUS' }, 'reload outcome not written: systemctl reload cannot report it (RuntimeDirectory= writable by the service user?)'));
  sup.onProgress = (line) => void notifier.status(line);
  void notifier.ready(`serving: connector ${connector.name}, ${connector.endpoints.length} workers`);
  notifier.startWatchdog();
  let current = config;
  let rawTokens = raw;
  let stopping = false;
  /**
   * SIGHUP (systemctl reload): read and check the file; a refused file changes nothing. Topology,
   * policy, techniques and limits apply to the workers at once; the host services (admin API, web,
   * DNS, server probes, replication) start again on the new config; workers whose sockets or code
   * must change are replaced one at a time in the background.
   */
  let reloading: Promise<void> = Promise.resolve();
  const reload = async (): Promise<void> => {
    void notifier.reloading('reloading the configuration');
    let workersTookIt = false;
    try {
      const read = readConfig(file);
      const next = withTokenKeys(read.config, log, { raw: rawTokens, keyed: current });
      const plan = await sup.reload(next, read.text);
      workersTookIt = plan.changed.length > 0;
      if (plan.changed.length > 0) {
        const c = next.connectors.find((x) => x.name === connector.name)!;
        await host.stop();
        host = new HostServices(next, c, log);
        await host.start();
      }
      current = next;
      rawTokens = read.config.tokens;
      const message = describePlan(plan);
      log.info({ config: file, plan }, `configuration reloaded: ${message}`);
      status.write(true, message);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (workersTookIt) {
        // The workers already run on the new file (or are being replaced): saying "nothing changed"
        // would be false; what failed is the supervisor's own services.
        log.error({ config: file, err: message, code: (err as { code?: string }).code }, 'configuration applied to the workers, but the host services (admin API, web, DNS, probes, replication) did not start again on it');
        status.write(false, `applied to the workers; the host services did not start again: ${message}`);
      } else {
        log.error({ config: file, err: message, code: (err as { code?: string }).code }, 'configuration refused: nothing changed');
        status.write(false, message);
      }
    }
    void notifier.ready(`serving: connector ${connector.name}, ${current.connectors.find((x) => x.name === connector.name)?.endpoints.length ?? 0} workers`);
  };
  process.off('SIGHUP', onEarlyHup);
  process.on('SIGHUP', () => {
    if (stopping) return;
    reloading = reloading.then(reload);
  });
  if (early) reloading = reloading.then(reload);
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    notifier.stopWatchdog();
    void notifier.stopping('stopping');
    void Promise.all([sup.stop(), host.stop()]).then(() => exitProcess(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** The config file's text and what it says, as this process sees it (identity from the environment). */
function readConfig(file: string): { config: Config; text: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, '', `cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
  return { config: applyIdentity(parseConfig(text, file), identityFromEnv()), text };
}

/**
 * The config with the token keys read from their files: the workers get them from here (a worker
 * restarted after the drop could not read a key file root made). After the drop a reload cannot read
 * such files either: the keys read before are kept while the tokens section names the same ones.
 */
function withTokenKeys(config: Config, log: Logger, before?: { raw: TokensConfig; keyed: Config }): Config {
  if (before && isDeepStrictEqual(before.raw, config.tokens)) return { ...config, tokens: before.keyed.tokens };
  const { tokens, created } = withKeys(config.tokens);
  if (created && new Set(config.connectors.map((c) => c.pop)).size > 1) {
    log.warn({ keyFile: config.tokens.keyFile }, 'token key created for this host: copy it to every connector host of the deployment (or set tokens.key), or tokens minted at another POP will not be accepted here');
  }
  return { ...config, tokens };
}

/** The lowest port an unprivileged process may bind (net.ipv4.ip_unprivileged_port_start, 1024 by default). */
function unprivilegedStart(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim()) || 1024;
  } catch {
    return 1024;
  }
}

/** The ports of this connector host (its workers', the admin API, web, DNS) that need root to bind. */
function privilegedPorts(config: Config, c: ConnectorConfig): string[] {
  const limit = unprivilegedStart();
  const out: string[] = [];
  for (const ep of c.endpoints) {
    for (const k of ['sipProxied', 'sip', 'h323Proxied', 'h323', 'rasProxied', 'ras', 'health'] as const) if (ep[k] > 0 && ep[k] < limit) out.push(`${k} ${ep[k]} (worker ${ep.id})`);
  }
  if (config.admin.port > 0 && config.admin.port < limit) out.push(`admin.port ${config.admin.port}`);
  if (config.web.enabled && config.web.port < limit) out.push(`web.port ${config.web.port}`);
  if (config.dns.enabled && config.dns.port < limit) out.push(`dns.port ${config.dns.port}`);
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    const code = (err as { code?: string }).code;
    process.stderr.write(`connector: ${err instanceof Error ? err.message : String(err)}${code ? ` [${code}]` : ''}\n`);
    exitProcess(1);
  });
}
