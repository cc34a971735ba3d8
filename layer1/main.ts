import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultConfigPath, loadConfigFile } from '../shared/config/load.js';
import { createLogger } from '../shared/logger.js';
import { exitProcess, installCrashPolicy } from '../shared/crash.js';
import { dropPrivileges } from '../shared/privileges.js';
import { ServiceNotifier } from '../shared/service/notify.js';
import { ReloadStatusFile, reloadStatusPath } from '../shared/service/reload-status.js';
import { startLayer1 } from './service.js';
import { allocatorTuning } from '../shared/allocator.js';

/** How long flows may go on after SIGTERM/SIGINT before layer 1 closes them. */
const SHUTDOWN_GRACE_MS = 1500;

/**
 * `node dist/layer1/main.js --config file [--pop POP] [--node NODE]`: the L4 tier on the well-known
 * address. `--node` names the layer-1 pair member this process is (it implies the POP, and its name
 * is in the command line that keepalived tracks); without flags VCP_POP / VCP_NODE apply. Exits 0 after
 * SIGTERM/SIGINT, 1 when it cannot start (the message names the file and path of a config error, or
 * the address, port and role of a listener that could not bind).
 */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' }, pop: { type: 'string' }, node: { type: 'string' } } });
  const file = values.config ?? process.env.VCP_CONFIG ?? defaultConfigPath();
  const config = loadConfigFile(file, { pop: values.pop, node: values.node });
  const log = createLogger('layer1', { layer1: config.layer1.name });
  installCrashPolicy(log);
  // A SIGHUP before the start finished (the default action would end the process) reloads once started.
  let early = false;
  const onEarlyHup = (): void => {
    early = true;
  };
  process.on('SIGHUP', onEarlyHup);
  const l1 = await startLayer1(config, log);
  // Every listener is bound; flows open sockets on ephemeral ports, which needs no privilege. (A
  // reload reads the file as runAs then.)
  dropPrivileges(config.runAs, log);
  log.info({
    bind: config.layer1.bind,
    listeners: [...l1.udp.map((u) => u.name), ...l1.tcp.map((t) => t.name)],
    members: l1.members.list.map((m) => m.id),
    control: config.layer1.control,
    metrics: config.layer1.metrics,
    allocator: allocatorTuning(),
  }, 'layer 1 ready');
  const notifier = new ServiceNotifier(log);
  void notifier.ready(`serving ${config.wellKnown.address}: ${l1.members.list.length} members`);
  notifier.startWatchdog();
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'layer 1 stopping');
    notifier.stopWatchdog();
    void notifier.stopping('stopping: open flows finish');
    void l1.shutdown(SHUTDOWN_GRACE_MS).then(() => exitProcess(0));
  };
  // SIGHUP (systemctl reload): members, health probing and timeouts apply at once; a refused file
  // (invalid, or asking for new listeners) changes nothing. The outcome goes to the reload status.
  const status = new ReloadStatusFile(reloadStatusPath(), (err) => log.error({ err, code: 'VCP_ERR_RELOAD_STATUS' }, 'reload outcome not written: systemctl reload cannot report it (RuntimeDirectory= writable by the service user?)'));
  process.off('SIGHUP', onEarlyHup);
  const reload = (): void => {
    if (stopping) return;
    try {
      const next = loadConfigFile(file, { pop: values.pop, node: values.node });
      const what = l1.reload(next);
      log.info({ config: file }, `configuration reloaded: ${what}`);
      status.write(true, what);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      log.error({ config: file, err: message, code: (err as { code?: string }).code }, 'configuration refused: nothing changed');
      status.write(false, message);
    }
  };
  process.on('SIGHUP', reload);
  if (early) reload();
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

// Run as a program only (importing the module, e.g. to measure its load time, starts nothing).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main().catch((err: unknown) => {
    const code = (err as { code?: string }).code;
    process.stderr.write(`layer1: ${err instanceof Error ? err.message : String(err)}${code ? ` [${code}]` : ''}\n`);
    process.exit(1);
  });
}
