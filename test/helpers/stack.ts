import { readFileSync, rmSync } from 'node:fs';
import { loadConfigFile } from '../../shared/config/load.js';
import type { Config } from '../../shared/config/types.js';
import { GiveUp, httpGet, node, requireBuild, tempDir, waitFor, writeFile, type Proc } from './procs.js';

export interface Stack {
  config: Config;
  file: string;
  layer1: Proc | undefined;
  connectors: Map<string, Proc>;
  stop(): Promise<void>;
  /** Prometheus text of one worker. */
  workerMetrics(id: string): Promise<string>;
  /** The pid of a worker process (`c1/0`): a child of its connector's supervisor. */
  workerPid(id: string): Promise<number>;
}

/**
 * Layer 1 and every connector of a config as real processes from dist/. Resolves when layer 1
 * answers on its metrics port and every worker answers /health.
 */
export async function startStack(yaml: string, opts: { layer1?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<Stack> {
  requireBuild();
  const dir = tempDir('stack');
  const file = writeFile(dir, 'config.yaml', yaml);
  const config = loadConfigFile(file);
  const connectors = new Map<string, Proc>();
  for (const c of config.connectors) connectors.set(c.name, node('layer2/main.js', ['--config', file, '--connector', c.name], opts.env));
  const layer1 = opts.layer1 === false ? undefined : node('layer1/main.js', ['--config', file]);
  const stack: Stack = {
    config,
    file,
    layer1,
    connectors,
    async stop() {
      await Promise.all([layer1?.stop(), ...[...connectors.values()].map((p) => p.stop())]);
      rmSync(dir, { recursive: true, force: true });
    },
    async workerPid(id: string) {
      const [name, index] = id.split('/');
      const sup = connectors.get(name!)?.child.pid;
      if (sup === undefined) throw new Error(`no connector ${name}`);
      let pid = 0;
      await waitFor(`the process of worker ${id}`, () => {
        const kids = readFileSync(`/proc/${sup}/task/${sup}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
        pid = kids.find((k) => readFileSync(`/proc/${k}/cmdline`, 'utf8').split('\0').join(' ').includes(`--index ${index}`)) ?? 0;
        return pid > 0;
      });
      return pid;
    },
    async workerMetrics(id: string) {
      const ep = config.connectors.flatMap((c) => c.endpoints).find((e) => e.id === id)!;
      return (await httpGet(`http://${ep.address}:${ep.health}/metrics`)).body;
    },
  };
  // A process that exited while the stack comes up does not come back: fail at once, with its output.
  const running = (): void => {
    const procs: Array<readonly [string, Proc]> = [...connectors].map(([name, p]) => [`connector ${name}`, p] as const);
    if (layer1) procs.push(['layer 1', layer1]);
    for (const [label, p] of procs) {
      const { exitCode, signalCode } = p.child;
      if (exitCode !== null || signalCode !== null) throw new GiveUp(`${label} exited (${exitCode ?? signalCode})`);
    }
  };
  try {
    for (const ep of config.connectors.flatMap((c) => c.endpoints)) {
      await waitFor(`worker ${ep.id} health`, async () => {
        running();
        return (await httpGet(`http://${ep.address}:${ep.health}/health`)).status === 200;
      });
    }
    if (layer1) {
      const m = config.layer1.metrics;
      await waitFor('layer 1 metrics', async () => {
        running();
        return (await httpGet(`http://${m.address}:${m.port}/metrics`)).status === 200;
      });
      // Layer 1 routes only to members it has seen healthy; its members are the workers of its POP.
      await waitFor('layer 1 members up', async () => {
        running();
        const text = (await httpGet(`http://${m.address}:${m.port}/metrics`)).body;
        const members = config.connectors.filter((c) => c.pop === config.layer1.pop).flatMap((c) => c.endpoints);
        return members.every((ep) => new RegExp(`vcp_l1_member_up\\{[^}]*member="${ep.id}"[^}]*\\} 1`).test(text));
      });
    }
  } catch (err) {
    const logs = [...connectors.values()].map((p) => p.output()).join('\n') + (layer1?.output() ?? '');
    await stack.stop();
    throw new Error(`${(err as Error).message}\n${logs.slice(-3000)}`);
  }
  return stack;
}

/** Sum of a Prometheus counter's samples whose labels contain all of `match`. */
export function metric(text: string, name: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    if (!Object.entries(match).every(([k, v]) => rest.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
