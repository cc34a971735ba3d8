import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino, type Logger } from 'pino';
import { loadConfigFile } from '../../shared/config/load.js';
import type { Config, PopFailoverConfig } from '../../shared/config/types.js';
import { ConfigError, VcpError } from '../../shared/errors.js';
import { ServiceNotifier } from '../../shared/service/notify.js';
import { Birdc } from './birdc.js';
import { EdgeControl } from './edge-control.js';
import { arpHolder, interfaceExists } from './edge.js';
import { Exit, FailoverErr, FailoverError } from './errors.js';
import { probeAll, tiersVerdict, tierProbes } from './health.js';
import type { Announce } from './policy.js';
import { readState, writeState } from './state.js';
import { heartbeatFile, Watch } from './watch.js';

const USAGE = `usage: ip-takeover COMMAND --config FILE --pop POP [options]
commands:
  takeover   announce the well-known address from this POP (and route it to the pair) until released
  release    withdraw it from this POP and keep it withdrawn
  resume     hand the decision back to the watch (clears takeover/release)
  status     show what this POP announces, who carries the address, the local tiers' health
  watch      health-driven mode: announce or withdraw by the policy of the config, continuously
options:
  --address A      the address you mean; refused unless it is the configured well-known address
  --interface IF   the edge interface you mean; refused unless it is the configured one
  --bird-socket P  BIRD's control socket (default /run/bird/bird.ctl)
  --state-dir D    where the operator's order and the watch heartbeat live (default /var/lib/vcproxy)
  --log FILE       structured log (default /var/log/vcproxy/ip-takeover-POP.log; watch: stdout)
  --force          takeover: do not require healthy local tiers
  --json           status: one JSON object instead of text
exit codes: 0 done / announced, 1 internal error, 2 bad input, 3 bad config, 4 conflict with another
POP (anycast off), 5 local tiers unhealthy, 6 BIRD or ip failed, 7 status: not announced here`;

interface Ctx {
  config: Config;
  pf: PopFailoverConfig;
  edge: EdgeControl;
  stateDir: string;
  log: Logger;
  out: (line: string) => void;
  force: boolean;
  json: boolean;
}

function badInput(message: string): FailoverError {
  return new FailoverError(FailoverErr.BadInput, message);
}

/** Refuse an address or interface that the config does not name for this POP, before touching anything. */
function checkInput(config: Config, pf: PopFailoverConfig, address: string | undefined, iface: string | undefined): void {
  const wk = config.wellKnown.address;
  if (address !== undefined && address !== wk && address !== pf.bgp.prefix) {
    throw badInput(`refused: ${address} is not the well-known address of ${config.file} (${wk}, announced as ${pf.bgp.prefix} by the POP edges); nothing was changed`);
  }
  if (iface !== undefined && iface !== pf.bgp.edgeInterface) {
    throw badInput(`refused: interface ${iface} is not the edge interface of POP ${pf.pop} in ${config.file} (${pf.bgp.edgeInterface}); nothing was changed`);
  }
}

async function requireInterface(ctx: Ctx): Promise<void> {
  const iface = ctx.pf.bgp.edgeInterface;
  if (!(await interfaceExists(iface))) {
    throw badInput(`refused: the edge interface ${iface} of POP ${ctx.pf.pop} does not exist on this host (is this the edge of POP ${ctx.pf.pop}?); nothing was changed`);
  }
}

async function tiers(ctx: Ctx): Promise<{ ok: boolean; reason: string }> {
  const probes = tierProbes(ctx.config, ctx.pf.pop);
  return tiersVerdict(probes, await probeAll(probes, ctx.config.failover!.watch.timeoutMs), ctx.config.failover!.watch.minConnectorWorkers);
}

function record(ctx: Ctx, override: 'takeover' | 'release' | undefined, carried: boolean): void {
  const s = readState(ctx.stateDir, ctx.pf.pop);
  writeState(ctx.stateDir, ctx.pf.pop, { override, carriedBefore: s.carriedBefore || carried, updatedAt: new Date().toISOString(), by: `ip-takeover pid ${process.pid}` });
}

async function takeover(ctx: Ctx): Promise<Exit> {
  await requireInterface(ctx);
  const view = await ctx.edge.view();
  const policy = ctx.config.failover!;
  if (!policy.anycast && view.carrier && !view.carrier.backup) {
    throw new FailoverError(
      FailoverErr.Conflict,
      `refused: POP ${view.carrier.pop} announces ${ctx.pf.bgp.prefix} (AS path ${view.carrierPath.join(' ')}) and ${ctx.config.file} does not allow anycast; run ip-takeover release on POP ${view.carrier.pop} first; nothing was changed`,
    );
  }
  if (!ctx.force) {
    const h = await tiers(ctx);
    if (!h.ok) throw new FailoverError(FailoverErr.Unhealthy, `refused: the local tiers of POP ${ctx.pf.pop} are unhealthy (${h.reason}); --force announces anyway; nothing was changed`);
  }
  record(ctx, 'takeover', true);
  const steps = await ctx.edge.apply('active');
  ctx.log.info({ event: 'takeover', steps, previous: view.announce, carrier: view.carrier ?? null }, 'takeover');
  if (steps.length === 0) ctx.out(`POP ${ctx.pf.pop} already announces ${ctx.pf.bgp.prefix}; nothing to change`);
  for (const s of steps) ctx.out(s);
  if (view.carrier) ctx.out(`POP ${view.carrier.pop} ${view.carrier.backup ? 'holds a backup announcement and withdraws or stays behind by itself' : 'announces too (anycast allowed by the config)'}`);
  ctx.out(`POP ${ctx.pf.pop} announces ${ctx.pf.bgp.prefix} until ip-takeover release or resume`);
  return Exit.Ok;
}

async function release(ctx: Ctx): Promise<Exit> {
  await requireInterface(ctx);
  const before = await ctx.edge.view();
  record(ctx, 'release', false);
  const steps = await ctx.edge.apply('none');
  ctx.log.info({ event: 'release', steps, previous: before.announce }, 'release');
  if (steps.length === 0) ctx.out(`POP ${ctx.pf.pop} does not announce ${ctx.pf.bgp.prefix}; nothing to change`);
  for (const s of steps) ctx.out(s);
  ctx.out(`POP ${ctx.pf.pop} keeps ${ctx.pf.bgp.prefix} withdrawn until ip-takeover takeover or resume`);
  return Exit.Ok;
}

async function resume(ctx: Ctx): Promise<Exit> {
  const s = readState(ctx.stateDir, ctx.pf.pop);
  record(ctx, undefined, false);
  ctx.log.info({ event: 'resume', previous: s.override ?? null }, 'resume');
  ctx.out(s.override ? `cleared the operator's ${s.override}` : 'no operator order was set');
  const hb = heartbeat(ctx);
  ctx.out(hb.running ? `the watch (pid ${hb.pid}) decides from now on` : 'no watch is running: the announcement stays as it is until one starts (ip-takeover watch)');
  return Exit.Ok;
}

function heartbeat(ctx: Ctx): { running: boolean; pid?: number; ageMs?: number; announce?: string; reason?: string } {
  try {
    const hb = JSON.parse(readFileSync(heartbeatFile(ctx.stateDir, ctx.pf.pop), 'utf8')) as { pid: number; at: number; announce: string; reason: string };
    const ageMs = Date.now() - hb.at;
    let alive = false;
    try {
      process.kill(hb.pid, 0);
      alive = true;
    } catch {
      alive = false;
    }
    return { running: alive && ageMs < 10 * ctx.config.failover!.watch.intervalMs + 2000, pid: hb.pid, ageMs, announce: hb.announce, reason: hb.reason };
  } catch {
    return { running: false };
  }
}

async function status(ctx: Ctx): Promise<Exit> {
  const [view, health, holder] = await Promise.all([ctx.edge.view(), tiers(ctx), arpHolder(ctx.config.wellKnown.address, ctx.pf.bgp.edgeInterface).catch(() => undefined)]);
  const s = readState(ctx.stateDir, ctx.pf.pop);
  const hb = heartbeat(ctx);
  const policy = ctx.config.failover!;
  const report = {
    pop: ctx.pf.pop,
    prefix: ctx.pf.bgp.prefix,
    announce: view.announce,
    edgeRoute: view.routePresent,
    pairHolder: holder ?? null,
    carrier: view.carrier ?? null,
    carrierPath: view.carrierPath,
    sessions: view.sessions,
    health,
    override: s.override ?? null,
    carriedBefore: s.carriedBefore,
    watch: hb,
    policy: { primary: policy.primary, anycast: policy.anycast, failback: policy.failback },
  };
  if (ctx.json) ctx.out(JSON.stringify(report));
  else {
    const what: Record<Announce, string> = { active: 'announced (active)', backup: `announced as backup (AS path prepended ${policy.backupPrepend}x)`, none: 'not announced' };
    ctx.out(`POP ${ctx.pf.pop}: ${ctx.pf.bgp.prefix} ${what[view.announce]}`);
    ctx.out(`  edge route ${ctx.pf.bgp.prefix} dev ${ctx.pf.bgp.edgeInterface}: ${view.routePresent ? 'present' : 'absent'}; pair member answering ARP: ${holder ?? 'none'}`);
    ctx.out(`  upstream sessions: ${view.sessions.map((x) => `${x.name} ${x.info || x.state}`).join(', ') || 'none'}`);
    ctx.out(`  other POP preferred by the upstream: ${view.carrier ? `${view.carrier.pop}${view.carrier.backup ? ' (backup announcement)' : ''}, AS path ${view.carrierPath.join(' ')}` : 'none'}`);
    ctx.out(`  local tiers: ${health.ok ? 'healthy' : 'UNHEALTHY'} (${health.reason})`);
    ctx.out(`  operator order: ${s.override ?? 'none'}; policy: primary ${policy.primary}, anycast ${policy.anycast ? 'on' : 'off'}, failback ${policy.failback}`);
    ctx.out(`  watch: ${hb.running ? `running (pid ${hb.pid}, last decision ${hb.announce}: ${hb.reason})` : 'not running'}`);
  }
  return view.announce === 'none' ? Exit.NotAnnounced : Exit.Ok;
}

function fileLogger(file: string, pop: string): Logger {
  return pino(
    { level: process.env.VCP_LOG_LEVEL ?? 'info', base: { role: 'ip-takeover', pop, pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    file === '-' ? pino.destination({ dest: 1, sync: true }) : pino.destination({ dest: file, sync: true, mkdir: true }),
  );
}

export async function main(argv: string[]): Promise<Exit> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        pop: { type: 'string' },
        address: { type: 'string' },
        interface: { type: 'string' },
        'bird-socket': { type: 'string' },
        'state-dir': { type: 'string' },
        log: { type: 'string' },
        force: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(`ip-takeover: ${(err as Error).message}\n${USAGE}\n`);
    return Exit.BadInput;
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(`${USAGE}\n`);
    return Exit.Ok;
  }
  const command = parsed.positionals[0];
  const commands = ['takeover', 'release', 'resume', 'status', 'watch'];
  if (!command || !commands.includes(command) || parsed.positionals.length > 1) {
    process.stderr.write(`ip-takeover: ${command ? `unknown command "${parsed.positionals.join(' ')}"` : 'a command is required'}\n${USAGE}\n`);
    return Exit.BadInput;
  }
  if (!v.config || !v.pop) {
    process.stderr.write(`ip-takeover: --config FILE and --pop POP are required\n${USAGE}\n`);
    return Exit.BadInput;
  }
  let config: Config;
  try {
    config = loadConfigFile(v.config, { pop: v.pop });
  } catch (err) {
    const flag = err instanceof ConfigError && err.path.startsWith('--');
    process.stderr.write(`ip-takeover: ${(err as Error).message}${flag ? '; nothing was changed' : ''}\n`);
    return flag ? Exit.BadInput : Exit.Config;
  }
  const pf = config.failover?.pops.find((p) => p.pop === v.pop);
  if (!pf) {
    process.stderr.write(`ip-takeover: ${FailoverErr.BadInput}: refused: ${config.file} has no failover entry for POP ${v.pop}${config.failover ? ` (entries: ${config.failover.pops.map((p) => p.pop).join(', ')})` : ' (no failover section)'}; nothing was changed\n`);
    return Exit.BadInput;
  }
  try {
    checkInput(config, pf, v.address, v.interface);
  } catch (err) {
    process.stderr.write(`ip-takeover: ${(err as FailoverError).code}: ${(err as Error).message}\n`);
    return Exit.BadInput;
  }
  const stateDir = v['state-dir'] ?? '/var/lib/vcproxy';
  const logTarget = v.log ?? (command === 'watch' ? '-' : `/var/log/vcproxy/ip-takeover-${pf.pop}.log`);
  const log = fileLogger(logTarget, pf.pop);
  const ctx: Ctx = {
    config,
    pf,
    edge: new EdgeControl(config, pf, new Birdc(v['bird-socket'] ?? '/run/bird/bird.ctl')),
    stateDir,
    log,
    out: (line) => process.stdout.write(`${line}\n`),
    force: v.force ?? false,
    json: v.json ?? false,
  };
  try {
    switch (command) {
      case 'takeover':
        return await takeover(ctx);
      case 'release':
        return await release(ctx);
      case 'resume':
        return await resume(ctx);
      case 'status':
        return await status(ctx);
      default:
        await requireInterface(ctx);
        return await new Promise<Exit>((resolve) => {
          const w = new Watch(config, pf, ctx.edge, stateDir, log);
          log.info({ event: 'watch_start', policy: { primary: config.failover!.primary, anycast: config.failover!.anycast, failback: config.failover!.failback }, watch: config.failover!.watch }, `watching POP ${pf.pop}`);
          const notifier = new ServiceNotifier(log);
          const stop = (): void => {
            w.stop();
            notifier.stopWatchdog();
            log.info({ event: 'watch_stop' }, 'watch stopped; the announcement stays as it is');
            resolve(Exit.Ok);
          };
          process.once('SIGTERM', stop);
          process.once('SIGINT', stop);
          w.start();
          void notifier.ready(`watching POP ${pf.pop}`);
          notifier.startWatchdog();
        });
    }
  } catch (err) {
    if (err instanceof FailoverError) {
      log.warn({ event: command, code: err.code, err: err.message }, 'refused or failed');
      process.stderr.write(`ip-takeover: ${err.code}: ${err.message}\n`);
      return err.exit;
    }
    log.error({ err }, 'internal error');
    process.stderr.write(`ip-takeover: internal error: ${err instanceof VcpError ? `${err.code}: ` : ''}${(err as Error).stack ?? String(err)}\n`);
    return Exit.Internal;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
