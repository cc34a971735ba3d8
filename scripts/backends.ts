import { parseArgs } from 'node:util';
import { defaultConfigPath, loadConfigFile } from '../shared/config/load.js';
import { createLogger } from '../shared/logger.js';
import { exitProcess, installCrashPolicy } from '../shared/crash.js';
import { dropPrivileges } from '../shared/privileges.js';
import { ServiceNotifier } from '../shared/service/notify.js';
import { H323Mcu } from './sim/h323-mcu.js';
import { SipUas } from './sim/sip-uas.js';

/**
 * The built-in backends of this host's POP, in one process: for every server the config marks
 * `builtin: true` in POP `pop`, a SIP UAS on its SIP port and, when it has an H.323 port, the H.323
 * MCU simulator there. They make a fresh install answer calls before real MCUs are configured, and
 * serve labs and demos. Exits 0 at once when the config has none (a production config).
 */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' }, pop: { type: 'string' } } });
  const file = values.config ?? process.env.VCP_CONFIG ?? defaultConfigPath();
  const config = loadConfigFile(file, { pop: values.pop });
  const log = createLogger('backend');
  installCrashPolicy(log);
  const notifier = new ServiceNotifier(log);
  const servers = config.servers.filter((s) => s.builtin && s.pop === config.pop);
  if (servers.length === 0) {
    log.info({ config: file, pop: config.pop }, 'no built-in backend in this POP: nothing to run');
    await notifier.ready('no built-in backend in this POP');
    return;
  }
  const closers: Array<() => Promise<void>> = [];
  for (const s of servers) {
    const uas = new SipUas({ address: s.address, port: s.sipPort, log, tokenParam: config.sip.redirectTokenParam });
    await uas.start();
    closers.push(() => uas.close());
    log.info({ server: s.name, address: s.address, port: s.sipPort }, 'built-in backend ready');
    if (s.h323Port > 0) {
      const mcu = new H323Mcu({ address: s.address, port: s.h323Port, holdMs: 0, alertingDelayMs: 0, connectDelayMs: 0, answer: 'connect', log });
      await mcu.start();
      closers.push(() => mcu.close());
      log.info({ server: s.name, address: s.address, port: mcu.port }, 'H.323 MCU simulator ready');
    }
  }
  // Every port is bound: started as root, the backends go on without it.
  dropPrivileges(config.runAs, log);
  await notifier.ready(`serving ${servers.length} built-in backend(s)`);
  notifier.startWatchdog();
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    notifier.stopWatchdog();
    void Promise.all(closers.map((c) => c())).then(() => exitProcess(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  const code = (err as { code?: string }).code;
  process.stderr.write(`backends: ${err instanceof Error ? err.message : String(err)}${code ? ` [${code}]` : ''}\n`);
  process.exit(1);
});
