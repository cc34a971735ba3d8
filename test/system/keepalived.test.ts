import t from 'tap';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile } from '../../shared/config/load.js';
import { RunDir, sh, signalPid, sleep, waitUntil } from '../../scripts/lab/exec.js';
import { labLayout, type MemberLayout } from '../../scripts/lab/layout.js';
import { hostLinksUp, teardown } from '../../scripts/lab/netns.js';
import { holder, killMember, popNetworkUp, startKeepalived, type PopHost } from '../../scripts/lab/pop.js';
import { requireTool, tempDir } from '../helpers/procs.js';
import { fromRoot } from '../helpers/paths.js';

/**
 * A layer-1 pair on real keepalived with the generated config, in network namespaces (vcpt-ka-*).
 * A small HTTP server stands in for the layer-1 process: it answers /health on the control port (500
 * while a "sick" file exists) and is the process keepalived tracks.
 */
const PREFIX = 'vcpt-ka';
const LAB = fromRoot('config/examples/failover-lab.yaml');
const root = process.getuid?.() === 0;

const STAND_IN = `
import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
const sick = process.argv[process.argv.indexOf('--sick') + 1];
createServer((req, res) => { res.writeHead(existsSync(sick) ? 500 : 200); res.end(); }).listen(9101, '0.0.0.0');
`;

interface Transition {
  ms: number;
  state: string;
  node: string;
}

t.test('keepalived pair from the generated config', { skip: !root ? 'builds network namespaces: needs root' : false }, async (t) => {
  for (const [tool, pkg] of [['keepalived', 'keepalived'], ['ip', 'iproute2'], ['curl', 'curl']] as const) requireTool(tool, pkg);
  const dir = tempDir('keepalived');
  const run = new RunDir(dir);
  t.teardown(async () => {
    await teardown(run, PREFIX);
    rmSync(dir, { recursive: true, force: true });
  });
  const config = loadConfigFile(LAB, {});
  const layout = labLayout(config, PREFIX);
  hostLinksUp(layout);
  const h: PopHost = { config, topology: LAB, pl: layout.pops[0]!, run };
  popNetworkUp(h);
  const script = join(dir, 'layer1-stand-in.mjs');
  writeFileSync(script, STAND_IN);
  const argv = (m: MemberLayout): string[] => [process.execPath, script, '--node', m.node, '--sick', join(dir, `${m.node}.sick`)];
  const standIn = (m: MemberLayout): number => run.start(`${m.node}.layer1`, m.ns, argv(m)[0]!, argv(m).slice(1));
  const [a1, a2] = h.pl.members as [MemberLayout, MemberLayout];
  for (const m of [a1, a2]) standIn(m);
  await waitUntil('both stand-ins', () => [a1, a2].every((m) => sh('curl', ['-sf', 'http://127.0.0.1:9101/health'], { ns: m.ns, allowFail: true }).code === 0), 10_000);
  for (const m of [a1, a2]) startKeepalived(h, m, argv(m));
  const transitions = (m: MemberLayout): Transition[] =>
    existsSync(run.log(`${m.node}.vrrp`))
      ? readFileSync(run.log(`${m.node}.vrrp`), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Transition)
      : [];
  const lastState = (m: MemberLayout): string | undefined => transitions(m).at(-1)?.state;

  // On a timeout, the failure carries what both keepalived instances logged.
  const logs = (): string => [a1, a2].map((m) => `--- ${m.node}\n${readFileSync(run.log(`${m.node}.keepalived`), 'utf8').slice(-3000)}`).join('\n');
  const until = async (what: string, check: () => boolean, ms = 10_000, every = 50): Promise<void> => {
    try {
      await waitUntil(what, check, ms, every);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${logs()}`);
    }
  };
  await until('a VRRP master', () => holder(h) !== undefined);
  const first = holder(h)!;
  const other = first === a1 ? a2 : a1;
  await until(`${first.node} to report MASTER`, () => lastState(first) === 'MASTER');
  t.pass(`${first.node} is master and its notify script said so`);
  await until(`${other.node} backup`, () => lastState(other) === 'BACKUP');
  t.match(transitions(first).at(-1), { node: first.node, state: 'MASTER' }, 'notify lines are JSON with node and state');

  // The layer-1 process dies: keepalived's process tracking faults the master at once.
  signalPid(run.pid(`${first.node}.layer1`)!, 'SIGKILL');
  await until(`${other.node} to take the address`, () => holder(h) === other, 10_000, 20);
  await until(`${first.node} in FAULT`, () => lastState(first) === 'FAULT');
  t.pass(`${other.node} holds the address after the layer-1 process of ${first.node} died; ${first.node} is in FAULT`);

  // It comes back: BACKUP, and no preemption (nopreempt) although its priority may be higher.
  standIn(first);
  await until(`${first.node} BACKUP again`, () => lastState(first) === 'BACKUP');
  await sleep(1500);
  t.equal(holder(h), other, `${other.node} keeps the address when ${first.node} returns (nopreempt)`);

  // The holder's /health fails: the track script (fall 2, every second) faults it.
  writeFileSync(join(dir, `${other.node}.sick`), '');
  await until(`${other.node} faulted by its track script`, () => holder(h) === first);
  await until(`${other.node} to report FAULT`, () => lastState(other) === 'FAULT');
  t.pass(`${other.node} in FAULT while its layer 1 answers 500`);
  rmSync(join(dir, `${other.node}.sick`));
  await until(`${other.node} BACKUP again`, () => lastState(other) === 'BACKUP');
  t.equal(holder(h), first, `${first.node} keeps the address`);

  // The master node dies (link down, processes killed): the adverts stop, the peer takes over.
  run.adopt(`${first.node}.keepalived-vrrp`, run.file(h.pl.pop, `keepalived-${first.node}.pid.vrrp`));
  killMember(h, first);
  await until(`${other.node} to take the address after ${first.node} died`, () => holder(h) === other, 10_000, 20);
  await until(`${other.node} to report MASTER`, () => lastState(other) === 'MASTER');
  t.pass(`${other.node} took the address when ${first.node} stopped sending adverts`);
});
