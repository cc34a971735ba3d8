import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/**
 * SIP capacity: sipp UAC at rising call rates against (a) layer 2 alone, (b) layer 1 + layer 2 and
 * (c) Kamailio's dispatcher with a comparable stateful configuration (when `kamailio` is installed),
 * all in front of the same sipp UAS and driven with the same sipp flags. For each it prints the
 * highest rate with at most 0.1 % failed calls, and the ratio to Kamailio.
 *
 *   node dist/scripts/bench/sip.js [--duration 10] [--rates 500,1000,1500,2000,2500,3000] [--only a,b,c]
 */
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    rates: { type: 'string', default: '500,1000,1500,2000,2500,3000,3500' },
    only: { type: 'string', default: 'a,b,c' },
    workers: { type: 'string', default: '2' },
  },
});
const DURATION = Number(values.duration);
const RATES = values.rates!.split(',').map(Number);
const ONLY = new Set(values.only!.split(','));

const WK = '127.0.9.1';
const CONN = '127.0.9.2';
const UAS = '127.0.9.10';
const UAC = '127.0.9.100';
const KAM = '127.0.9.3';

const sh = (cmd: string): string => {
  try {
    return execFileSync('sh', ['-c', cmd], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
};

function spawnQuiet(cmd: string, args: string[], cwd?: string): ChildProcess {
  return spawn(cmd, args, { stdio: 'ignore', cwd, env: { ...process.env, VCP_LOG_LEVEL: 'error' } });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 500 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function waitHttp(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await httpOk(url)) return;
    await sleep(100);
  }
  throw new Error(`no answer from ${url}`);
}

function stop(c: ChildProcess | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!c || c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill('SIGTERM');
    setTimeout(() => c.kill('SIGKILL'), 3000).unref();
  });
}

/** One sipp UAC run: returns successful and failed call counts. */
function sippRun(target: string, rate: number, port: number): Promise<{ ok: number; failed: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'vcp-bench-'));
  const total = rate * DURATION;
  const args = ['-sn', 'uac', target, '-i', UAC, '-p', String(port), '-t', 'u1', '-r', String(rate), '-m', String(total), '-l', String(rate * 4),
    '-default_behaviors', 'all,-abortunexp', '-nostdin', '-trace_stat', '-stf', join(dir, 's.csv'), '-fd', '1', '-timeout', `${DURATION * 3 + 30}s`, '-timeout_error', '-recv_timeout', '10000'];
  const c = spawnQuiet('sipp', args, dir);
  return new Promise((resolve) => {
    c.on('exit', () => {
      const f = join(dir, 's.csv');
      const text = existsSync(f) ? readFileSync(f, 'utf8') : undefined;
      rmSync(dir, { recursive: true, force: true });
      if (text === undefined) return resolve({ ok: 0, failed: total });
      const lines = text.trim().split('\n');
      const head = lines[0]!.split(';');
      const last = lines[lines.length - 1]!.split(';');
      const col = (n: string): number => Number(last[head.indexOf(n)]);
      const ok = col('SuccessfulCall(C)');
      resolve({ ok, failed: total - ok });
    });
  });
}

async function ladder(name: string, target: string, basePort: number): Promise<number> {
  let best = 0;
  let i = 0;
  for (const rate of RATES) {
    const r = await sippRun(target, rate, basePort + i++);
    const pct = (100 * r.failed) / (rate * DURATION);
    console.log(`  ${name}: ${rate} calls/s → ${r.ok} ok, ${r.failed} failed (${pct.toFixed(2)} %)`);
    if (pct <= 0.1) best = rate;
    else break;
    await sleep(1500);
  }
  return best;
}

function applianceConfig(workers: number): string {
  return `
pop: bench
wellKnown: { address: ${WK}, sip: 5060 }
pops: [ { name: bench } ]
layer1:
  health: { intervalMs: 250, timeoutMs: 250, fall: 3, rise: 1 }
  metrics: { address: ${WK}, port: 9100 }
  control: { address: ${WK}, port: 9101 }
connectors:
  - { name: c, pop: bench, address: ${CONN}, workers: ${workers}, ports: { sipProxied: 15060, sip: 25060, health: 18080 } }
servers:
  - { name: uas, pop: bench, address: ${UAS}, sipPort: 5060, sipTransport: udp, capacity: 100000, probe: none }
# sipp is the load tester: thousands of requests a second from one address, past the flood guard.
limits: { exempt: [${UAC}/32] }
`;
}

function kamailioConfig(): string {
  return `#!KAMAILIO
children=4
listen=udp:${KAM}:5060
disable_tcp=yes
log_stderror=no
debug=0
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "maxfwd.so"
loadmodule "dispatcher.so"
loadmodule "pv.so"
loadmodule "textops.so"
loadmodule "siputils.so"
modparam("dispatcher", "list_file", "DISPATCHER_LIST")
request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (has_totag()) {
    if (loose_route()) { t_relay(); exit; }
    if (is_method("ACK") && t_check_trans()) { t_relay(); exit; }
    # Clients that ignore Record-Route (sipp's built-in UAC) send in-dialog requests to this
    # address with no Route: send them to the backend set, as the connector routes them by dialog.
    if (uri == myself && !ds_select_dst("1", "4")) { sl_send_reply("503", "No backend"); exit; }
    t_relay(); exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) t_relay(); exit; }
  record_route();
  if (!ds_select_dst("1", "4")) { sl_send_reply("503", "No backend"); exit; }
  t_on_failure("FAIL");
  t_relay();
}
failure_route[FAIL] {
  if (t_is_canceled()) exit;
  if (t_check_status("503") || (t_branch_timeout() && !t_branch_replied())) {
    if (ds_next_dst()) { t_relay(); exit; }
  }
}
`;
}

async function main(): Promise<void> {
  if (!sh('command -v sipp')) throw new Error('sipp is not installed: ./scripts/install --test');
  const dir = mkdtempSync(join(tmpdir(), 'vcp-bench-cfg-'));
  const cfg = join(dir, 'bench.yaml');
  writeFileSync(cfg, applianceConfig(Number(values.workers)));
  console.log(`SIP benchmark: sipp -sn uac -t u1, ${DURATION} s per rate, rates ${RATES.join(', ')}; backend: sipp -sn uas; ${sh('nproc')} cores`);
  const uas = spawnQuiet('sipp', ['-sn', 'uas', '-i', UAS, '-p', '5060', '-t', 'u1', '-nostdin'], dir);
  await sleep(500);
  const results: Record<string, number> = {};
  try {
    // Each of (a) and (b) gets a fresh connector, so that neither inherits the other's backlog.
    const withConnector = async (run: () => Promise<void>): Promise<void> => {
      const conn = spawnQuiet(process.execPath, [here('../../layer2/main.js'), '--config', cfg]);
      try {
        await waitHttp(`http://${CONN}:18080/health`);
        await run();
      } finally {
        await stop(conn);
      }
    };
    if (ONLY.has('a')) {
      await withConnector(async () => {
        console.log('(a) layer 2 alone: sipp → connector worker 0 plain port → sipp UAS');
        results.a = await ladder('a', `${CONN}:25060`, 6000);
      });
    }
    if (ONLY.has('b')) {
      await withConnector(async () => {
        const l1 = spawnQuiet(process.execPath, [here('../../layer1/main.js'), '--config', cfg]);
        try {
          // Layer 1 answers /health with 200 once a member passed its probes; one interval more for the rest.
          await waitHttp(`http://${WK}:9101/health`);
          await sleep(500);
          console.log('(b) layer 1 + layer 2: sipp → well-known address → layer 1 → connector → sipp UAS');
          results.b = await ladder('b', `${WK}:5060`, 6100);
        } finally {
          await stop(l1);
        }
      });
    }
    if (ONLY.has('c')) {
      const kam = sh('command -v kamailio');
      if (!kam) console.log('(c) kamailio is not installed: skipped (./scripts/install --test installs it)');
      else {
        const list = join(dir, 'dispatcher.list');
        writeFileSync(list, `1 sip:${UAS}:5060\n`);
        const kcfg = join(dir, 'kamailio.cfg');
        writeFileSync(kcfg, kamailioConfig().replace('DISPATCHER_LIST', list));
        const k = spawnQuiet(kam, ['-f', kcfg, '-DD', '-E', '-m', '256', '-M', '32', '-Y', dir, '-P', join(dir, 'k.pid')]);
        await sleep(1500);
        if (k.exitCode !== null) throw new Error(`kamailio exited at start (code ${k.exitCode}); \`kamailio -c -f ${kcfg}\` shows why`);
        try {
          console.log('(c) Kamailio 4 children, dispatcher + tm (stateful), same sipp flags');
          results.c = await ladder('c', `${KAM}:5060`, 6200);
        } finally {
          await stop(k);
        }
      }
    }
  } finally {
    await stop(uas);
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('\nhighest rate with ≤ 0.1 % failed calls:');
  for (const k of ['a', 'b', 'c']) {
    if (results[k] === undefined) continue;
    const ratio = results.c ? ` (${(results[k]! / results.c).toFixed(2)}× Kamailio)` : '';
    console.log(`  (${k}) ${results[k]} calls/s${k === 'c' ? '' : ratio}`);
  }
  console.log(`JSON ${JSON.stringify(results)}`);
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
