import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultConfigPath, loadConfigFile } from '../shared/config/load.js';
import { createLogger } from '../shared/logger.js';
import { exitProcess, installCrashPolicy } from '../shared/crash.js';
import { dropPrivileges, isRoot, uidOf } from '../shared/privileges.js';
import { withAllocatorTuning } from '../shared/allocator.js';

/**
 * `npm start`: the whole appliance of one host on one config — layer 1, the connector of this POP
 * (its supervisor and workers) and the built-in backends the config marks (the SIP UAS, and the
 * H.323 MCU simulator for a server with an H.323 port, together in one process). Each role runs as its own
 * process; this launcher restarts none of them (the connector supervisor restarts its workers) and
 * stops them all on SIGINT/SIGTERM. Exits non-zero when a role cannot start.
 */
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' }, 'no-layer1': { type: 'boolean' }, 'no-backend': { type: 'boolean' } } });
  const file = values.config ?? process.env.VCP_CONFIG ?? defaultConfigPath();
  const config = loadConfigFile(file);
  const log = createLogger('appliance');
  installCrashPolicy(log);
  const runAs = config.runAs ?? { user: 'nobody', group: 'nogroup' };
  const children: ChildProcess[] = [];
  let stopping = false;
  const run = (role: string, script: string, args: string[]): void => {
    // Layer 1 and the connector's workers relay TCP: the allocator setting of shared/allocator.ts.
    const child = spawn(process.execPath, [here(script), ...args], { stdio: ['ignore', 'inherit', 'inherit'], env: withAllocatorTuning() });
    children.push(child);
    child.on('exit', (code, signal) => {
      if (stopping) return;
      log.error({ role, code, signal }, 'a role of the appliance stopped; stopping the others');
      stop(code ?? 1);
    });
  };
  const stop = (code: number): void => {
    if (stopping) return;
    stopping = true;
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    setTimeout(() => exitProcess(code), 500).unref();
    let left = children.length;
    for (const c of children) {
      if (c.exitCode !== null) left--;
      else c.once('exit', () => --left === 0 && exitProcess(code));
    }
    if (left === 0) exitProcess(code);
  };
  if (!values['no-backend'] && config.servers.some((x) => x.builtin && x.pop === config.pop)) run('built-in backends', './backends.js', ['--config', file]);
  run('connector', '../layer2/main.js', ['--config', file]);
  if (!values['no-layer1']) run('layer1', '../layer1/main.js', ['--config', file]);
  const wk = config.wellKnown;
  log.info(
    { config: file, wellKnown: wk, pop: config.pop },
    `appliance starting: place calls with sipp -sn uac ${wk.address}:${wk.sip}, or node dist/scripts/sim/h323-endpoint.js ${wk.address}:${wk.h323} -m 100 -r 10`,
  );
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  // The launcher gives up root too, once every role did (it must still be able to signal them).
  if (isRoot() && runAs.user !== 'root') {
    const until = Date.now() + 60_000;
    const timer = setInterval(() => {
      const rootLeft = children.filter((c) => c.exitCode === null && c.pid !== undefined && uidOf(c.pid) === 0);
      if (rootLeft.length > 0 && Date.now() < until) return;
      clearInterval(timer);
      if (rootLeft.length > 0) log.warn({ pids: rootLeft.map((c) => c.pid) }, 'roles still running as root after 60 s; the launcher gives up root anyway');
      if (!stopping) dropPrivileges(runAs, log);
    }, 100);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`appliance: ${err instanceof Error ? err.message : String(err)}\n`);
  exitProcess(1);
});
