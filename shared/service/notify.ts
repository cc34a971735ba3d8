import { execFile } from 'node:child_process';
import type { Logger } from '../logger.js';

/** Environment variables systemd gives a service's main process: a worker must not inherit them. */
export const SERVICE_ENV = ['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID'] as const;

/** The environment for a child process, without the service manager's notification variables. */
export function childEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const k of SERVICE_ENV) delete out[k];
  return out;
}

/** How one notification is delivered: `systemd-notify VAR=VALUE...`, resolving to its exit code. */
export type NotifyRunner = (args: string[]) => Promise<number>;

const runSystemdNotify: NotifyRunner = (args) =>
  new Promise((resolve) => {
    // Blocking (the default): systemd-notify waits until the manager has read the message (a
    // barrier), so the manager still finds the sender in the unit's control group.
    execFile('systemd-notify', args, { timeout: 10_000 }, (err) => {
      resolve(err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0);
    });
  });

/**
 * The service manager's notification protocol (sd_notify(3)) for a `Type=notify` unit: readiness,
 * status text, reloading and stopping, the main PID, and watchdog keep-alives.
 *
 * Node cannot send on a unix datagram socket, so every message goes through `systemd-notify` (from
 * the systemd package, present wherever systemd runs), started from this process. The unit needs
 * `NotifyAccess=all`, as the message comes from that short-lived child; systemd-notify waits for the
 * manager to have processed it, so the child is still in the unit's control group when it is read.
 * Without NOTIFY_SOCKET (not started by systemd: `npm start`, tests) every call does nothing.
 *
 * The watchdog keep-alive is sent from a timer on this process's event loop: a loop that stalls
 * sends none, and systemd restarts the unit after `WatchdogSec=`.
 */
export class ServiceNotifier {
  readonly enabled: boolean;
  /** The keep-alive interval (half of WatchdogSec), 0 when no watchdog is set for this process. */
  readonly watchdogMs: number;
  readonly #run: NotifyRunner;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #pinging = false;
  #failures = 0;

  constructor(log: Logger, env: NodeJS.ProcessEnv = process.env, run: NotifyRunner = runSystemdNotify, pid = process.pid) {
    this.#log = log;
    this.#run = run;
    this.enabled = Boolean(env.NOTIFY_SOCKET);
    const usec = Number(env.WATCHDOG_USEC ?? 0);
    const forUs = env.WATCHDOG_PID === undefined || Number(env.WATCHDOG_PID) === pid;
    this.watchdogMs = this.enabled && forUs && Number.isFinite(usec) && usec > 0 ? Math.max(100, Math.floor(usec / 2000)) : 0;
  }

  /** Sends `VAR=VALUE` lines; resolves true when the manager took them (always false when disabled). */
  async send(fields: Record<string, string | number>): Promise<boolean> {
    if (!this.enabled) return false;
    const args = Object.entries(fields).map(([k, v]) => `${k}=${String(v).replace(/\n/g, ' ')}`);
    const code = await this.#run(args);
    if (code !== 0) this.#log.warn({ notify: args, code }, 'systemd-notify failed');
    return code === 0;
  }

  ready(status: string): Promise<boolean> {
    return this.send({ READY: 1, STATUS: status });
  }

  status(status: string): Promise<boolean> {
    return this.send({ STATUS: status });
  }

  reloading(status: string): Promise<boolean> {
    return this.send({ RELOADING: 1, STATUS: status });
  }

  stopping(status: string): Promise<boolean> {
    return this.send({ STOPPING: 1, STATUS: status });
  }

  /** Starts the keep-alive timer when the unit has a watchdog for this process. */
  startWatchdog(): void {
    if (this.watchdogMs === 0 || this.#timer) return;
    this.#timer = setInterval(() => this.#ping(), this.watchdogMs);
    this.#timer.unref();
    this.#ping();
  }

  stopWatchdog(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #ping(): void {
    // One keep-alive at a time: a manager slow to answer must not pile up systemd-notify processes.
    if (this.#pinging) return;
    this.#pinging = true;
    void this.#run(['WATCHDOG=1']).then((code) => {
      this.#pinging = false;
      if (code === 0) this.#failures = 0;
      else if (++this.#failures === 3) this.#log.error({ code }, 'three watchdog keep-alives in a row failed: systemd will restart this unit');
    });
  }
}
