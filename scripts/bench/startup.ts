import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { httpOk, labDir, track } from './lab.js';

/**
 * Start-up time of the processes: from spawn to ready, for a connector worker alone, a whole
 * connector (supervisor, its workers and host services) and layer 1; idle, or with `stress-ng --cpu N`
 * running alongside. Ready is what the tests and layer 1 wait for: the worker's /health, the
 * supervisor's admin /health once every worker answers, layer 1's metrics. Beside the wall time it
 * prints the CPU time each process spent getting there (utime + stime), which holds on a busy machine,
 * and the CPU time of loading each entry module alone (what importing costs before any work).
 *
 *   node dist/scripts/bench/startup.js [--rounds 5] [--workers 2] [--stress 0]
 */
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, workers: { type: 'string', default: '2' }, stress: { type: 'string', default: '0' } } });
const rounds = Number(values.rounds);
const workers = Number(values.workers);
const stress = Number(values.stress);
const dist = (p: string): string => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const HZ = 100; // clock ticks per second of /proc/<pid>/stat on Linux

const dir = labDir('vcp-startup-');
const config = join(dir, 'config.yaml');
writeFileSync(config, `
pop: t
wellKnown: { address: 127.0.21.1, sip: 5060, h323: 1720, ras: 1719 }
pops: [ { name: t } ]
layer1:
  metrics: { address: 127.0.21.1, port: 9100 }
  control: { address: 127.0.21.1, port: 9101 }
connectors:
  - { name: c1, pop: t, address: 127.0.21.2, workers: ${workers}, ports: { sipProxied: 15060, sip: 25060, h323Proxied: 11720, h323: 21720, rasProxied: 11719, ras: 21719, health: 18080 } }
servers:
  - { name: uas, pop: t, address: 127.0.21.10, sipPort: 5060, probe: none }
profiles: { path: ${join(dir, 'profiles')} }
admin: { address: 127.0.21.2, port: 9300 }
runAs: { user: root, group: root }
`);


/** utime + stime of a process and its children that have been waited for, in ms. */
function cpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / HZ;
  } catch {
    return NaN;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

interface Sample {
  wallMs: number;
  cpuMs: number;
}

async function measure(args: string[], ready: string[]): Promise<Sample> {
  const t0 = performance.now();
  const child: ChildProcess = track(spawn(process.execPath, args, { stdio: 'ignore', detached: true, env: { ...process.env, VCP_LOG_LEVEL: 'warn' } }), true);
  for (;;) {
    const all = await Promise.all(ready.map(httpOk));
    if (all.every(Boolean)) break;
    if (performance.now() - t0 > 120_000) throw new Error(`not ready after 120 s: ${args.join(' ')}`);
    await new Promise((r) => setTimeout(r, 2));
  }
  const wallMs = performance.now() - t0;
  const pids = [child.pid!, ...childrenOf(child.pid!)];
  const cpu = pids.reduce((s, p) => s + cpuMs(p), 0);
  process.kill(-child.pid!, 'SIGKILL');
  await new Promise((r) => child.on('exit', r));
  return { wallMs, cpuMs: cpu };
}

async function importCpu(module: string): Promise<number> {
  const child = track(spawn(process.execPath, ['-e', `await import(${JSON.stringify(module)}); const r = process.resourceUsage(); console.log((r.userCPUTime + r.systemCPUTime) / 1000)`], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, VCP_LOG_LEVEL: 'silent' } }));
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  await new Promise((r) => child.on('exit', r));
  return Number(out.trim());
}

const stat = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  const f = (x: number): string => String(Math.round(x));
  return `${f(s[0]!)} / ${f(s[Math.floor(s.length / 2)]!)} / ${f(s[s.length - 1]!)}`;
};

const cases: Array<{ name: string; args: string[]; ready: string[] }> = [
  { name: 'connector worker alone', args: [dist('layer2/worker.js'), '--config', config, '--connector', 'c1', '--index', '0'], ready: ['http://127.0.21.2:18080/health'] },
  {
    name: `connector (supervisor + ${workers} workers)`,
    args: [dist('layer2/main.js'), '--config', config, '--connector', 'c1'],
    ready: ['http://127.0.21.2:9300/health', ...Array.from({ length: workers }, (_, i) => `http://127.0.21.2:${18080 + i}/health`)],
  },
  { name: 'layer 1', args: [dist('layer1/main.js'), '--config', config], ready: ['http://127.0.21.1:9100/metrics'] },
];

let hog: ChildProcess | undefined;
if (stress > 0) hog = track(spawn('stress-ng', ['--cpu', String(stress), '--quiet'], { stdio: 'ignore', detached: true }), true);
try {
  const bare = await importCpu('node:fs');
  process.stdout.write(`start-up, ${rounds} rounds, ${stress > 0 ? `stress-ng --cpu ${stress} alongside` : 'nothing else of ours running'} (load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')})\n`);
  process.stdout.write(`| process | spawn → ready, ms (min / median / max) | CPU until ready, ms | CPU of loading its modules, ms |\n|---|---|---|---|\n`);
  const entry: Record<string, string> = { 'connector worker alone': dist('layer2/worker.js'), layer: dist('layer1/main.js') };
  for (const c of cases) {
    const samples: Sample[] = [];
    for (let i = 0; i < rounds; i++) {
      rmSync(join(dir, 'profiles'), { recursive: true, force: true });
      samples.push(await measure(c.args, c.ready));
    }
    const mod = c.name.startsWith('connector (') ? dist('layer2/main.js') : entry[c.name] ?? entry.layer!;
    const load = (await importCpu(mod)) - bare;
    process.stdout.write(`| ${c.name} | ${stat(samples.map((s) => s.wallMs))} | ${stat(samples.map((s) => s.cpuMs))} | ${Math.round(load)} |\n`);
  }
  process.stdout.write(`(node itself: ${Math.round(bare)} ms of CPU to start and exit)\n`);
} finally {
  if (hog?.pid) process.kill(-hog.pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
