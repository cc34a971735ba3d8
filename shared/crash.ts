import type { Logger } from './logger.js';

/** Exit status of a process that stopped on an error nothing caught (EX_SOFTWARE). */
export const CRASH_EXIT = 70;

let leaving = false;

/**
 * Leave on purpose (a stop signal, a clean shutdown): an error thrown by an exit hook after this
 * (one that cannot write its file once privileges are gone, say) no longer turns the exit into a crash.
 */
export function exitProcess(status: number): never {
  leaving = true;
  try {
    process.exit(status);
  } catch {
    // An 'exit' listener threw, which stops process.exit half-way: leave anyway, with this status.
  }
  return (process as unknown as { reallyExit(code: number): never }).reallyExit(status);
}

/**
 * What a long-lived process does with an error nothing caught, or a promise rejected with nobody
 * listening: its state is unknown from then on, so it writes one fatal line (code VCP_ERR_UNCAUGHT,
 * the error, where it came from) and exits with status 70. Whoever started it starts it again: the
 * connector supervisor its workers, systemd (or the launcher) the others. Never a half-alive process
 * that answers health probes while part of it is dead.
 */
export function installCrashPolicy(log: Logger, onExit: (status: number) => void = (s) => process.exit(s)): void {
  let exiting = false;
  const die = (err: unknown, origin: string): void => {
    if (exiting || leaving) return;
    exiting = true;
    try {
      log.fatal({ code: 'VCP_ERR_UNCAUGHT', origin, err }, 'uncaught error: the process exits to be started again');
    } catch {
      process.stderr.write(`VCP_ERR_UNCAUGHT ${origin}: ${err instanceof Error ? err.stack : String(err)}\n`);
    }
    // An asynchronous log destination is flushed first, so that the line is not lost with the process.
    const done = (): void => onExit(CRASH_EXIT);
    const timer = setTimeout(done, 1000);
    timer.unref();
    try {
      log.flush((e?: Error) => {
        clearTimeout(timer);
        void e;
        done();
      });
    } catch {
      clearTimeout(timer);
      done();
    }
  };
  process.on('uncaughtException', (err, origin) => die(err, origin));
  process.on('unhandledRejection', (reason) => die(reason, 'unhandledRejection'));
}
