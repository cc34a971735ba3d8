import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { loadConfigFile } from '../../shared/config/load.js';
import { Birdc } from '../../scripts/failover/birdc.js';
import { renderBirdSpeaker } from '../../scripts/failover/bird-speaker.js';
import { RunDir, waitUntil } from '../../scripts/lab/exec.js';
import { labLayout } from '../../scripts/lab/layout.js';
import { hostLinksUp, teardown } from '../../scripts/lab/netns.js';
import { birdSocket, popNetworkUp, type PopHost } from '../../scripts/lab/pop.js';
import { routerNextHop, routerStart } from '../../scripts/lab/router.js';
import { requireBuild, requireTool, tempDir } from '../helpers/procs.js';
import { fromRoot } from '../helpers/paths.js';

/**
 * ip-takeover against real BIRD: a router and two POP edges in network namespaces (vcpt-it-*), no
 * appliance processes (so the local tiers are unhealthy unless --force). Bad input changes nothing;
 * takeover/release are idempotent; anycast off refuses a second announcement.
 */
const PREFIX = 'vcpt-it';
const LAB = fromRoot('config/examples/failover-lab.yaml');
const IP_TAKEOVER = fromRoot('dist/scripts/failover/ip-takeover.js');
const root = process.getuid?.() === 0;

t.test('ip-takeover moves the address with BIRD and refuses bad input', { skip: !root ? 'builds network namespaces: needs root' : false }, async (t) => {
  for (const [tool, pkg] of [['bird', 'bird2'], ['birdc', 'bird2'], ['ip', 'iproute2'], ['curl', 'curl']] as const) requireTool(tool, pkg);
  requireBuild();
  const dir = tempDir('ip-takeover');
  const run = new RunDir(dir);
  t.teardown(async () => {
    await teardown(run, PREFIX);
    rmSync(dir, { recursive: true, force: true });
  });
  const doc = parseDocument(readFileSync(LAB, 'utf8'));
  doc.setIn(['failover', 'anycast'], false);
  const topo = run.file('topology.yaml');
  writeFileSync(topo, doc.toString());
  const config = loadConfigFile(topo, {});
  const layout = labLayout(config, PREFIX);
  hostLinksUp(layout);
  const routerSock = routerStart(config, run, layout.routerNs);
  const hosts = new Map<string, PopHost>();
  for (const pl of layout.pops) {
    const h: PopHost = { config, topology: topo, pl, run };
    hosts.set(pl.pop, h);
    popNetworkUp(h);
    const conf = run.file(pl.pop, 'bird.conf');
    writeFileSync(conf, renderBirdSpeaker(config, config.failover!.pops.find((p) => p.pop === pl.pop)!));
    run.start(`${pl.pop}.bird`, pl.edgeNs, 'bird', ['-f', '-c', conf, '-s', birdSocket(h), '-P', run.file(pl.pop, 'bird.pid')]);
  }
  const routerBird = new Birdc(routerSock);
  await waitUntil('both BGP sessions', async () => (await routerBird.protocols()).filter((p) => p.info.startsWith('Established')).length === 2, 30_000, 200);

  const cli = (pop: string, args: string[], file = topo): { code: number; out: string; err: string } => {
    const h = hosts.get(pop) ?? hosts.get('a')!;
    const r = spawnSync('ip', ['netns', 'exec', h.pl.edgeNs!, process.execPath, IP_TAKEOVER, ...args, '--config', file, '--pop', pop, '--bird-socket', birdSocket(h), '--state-dir', run.dir(pop, 'state'), '--log', run.log(`${pop}.ip-takeover`)], { encoding: 'utf8', timeout: 20_000 });
    return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
  };
  const edgeRoute = (pop: string): boolean => execFileSync('ip', ['-n', hosts.get(pop)!.pl.edgeNs!, 'route', 'show', 'exact', '198.51.100.10/32'], { encoding: 'utf8' }).includes('lan0');
  const protocolsUp = async (pop: string): Promise<string[]> => (await new Birdc(birdSocket(hosts.get(pop)!)).protocols()).filter((p) => p.name.startsWith('vcp_wk') && p.state === 'up').map((p) => p.name);
  const nothingChanged = async (pop: string, what: string): Promise<void> => {
    t.equal(edgeRoute(pop), false, `${what}: no edge route at ${pop}`);
    t.same(await protocolsUp(pop), [], `${what}: nothing announced by ${pop}`);
  };
  const hop = (): string | undefined => routerNextHop(config, layout.routerNs);

  let r = cli('a', ['takeover', '--address', '203.0.113.7']);
  t.equal(r.code, 2, 'an address not in the config: exit 2');
  t.match(r.err, /VCP_ERR_FAILOVER_BAD_INPUT: refused: 203\.0\.113\.7 is not the well-known address .*198\.51\.100\.10.*nothing was changed/);
  r = cli('a', ['takeover', '--interface', 'eth7']);
  t.equal(r.code, 2, 'an interface not in the config: exit 2');
  t.match(r.err, /interface eth7 is not the edge interface of POP a .*\(lan0\)/);
  r = cli('z', ['takeover']);
  t.equal(r.code, 2, 'a POP not in the config: exit 2');
  t.match(r.err, /--pop: the name of a POP listed under pops \(a, b\), got "z"/);
  r = cli('a', ['teleport']);
  t.equal(r.code, 2, 'an unknown command: exit 2');
  r = cli('a', ['takeover']);
  t.equal(r.code, 5, 'unhealthy local tiers: exit 5');
  t.match(r.err, /VCP_ERR_FAILOVER_UNHEALTHY: refused: the local tiers of POP a are unhealthy \(layer 1 0\/2 up, connector workers 0\/2 up: no layer-1 member answers\)/);
  await nothingChanged('a', 'after refusals');
  t.equal(hop(), undefined, 'the router has no route for the address');

  r = cli('a', ['takeover', '--force', '--address', '198.51.100.10', '--interface', 'lan0']);
  t.equal(r.code, 0, `takeover --force: exit 0 (${r.err})`);
  t.match(r.out, /added route 198\.51\.100\.10\/32 dev lan0\nenabled BIRD protocol vcp_wk\n/);
  t.equal(edgeRoute('a'), true, 'the edge routes the address to the pair');
  await waitUntil('the router to route the address to POP a', () => hop() === '10.99.10.2', 10_000, 50);
  r = cli('a', ['takeover', '--force']);
  t.equal(r.code, 0, 'takeover again: exit 0');
  t.match(r.out, /already announces 198\.51\.100\.10\/32; nothing to change/, 'idempotent');

  r = cli('a', ['status', '--json']);
  t.equal(r.code, 0, 'status of the announcing POP: exit 0');
  const st = JSON.parse(r.out) as { announce: string; edgeRoute: boolean; override: string; carrier: unknown };
  t.match(st, { announce: 'active', edgeRoute: true, override: 'takeover', carrier: null });
  await waitUntil('POP b to see POP a carrying', async () => JSON.parse(cli('b', ['status', '--json']).out).carrier?.pop === 'a', 10_000, 200);
  r = cli('b', ['status']);
  t.equal(r.code, 7, 'status of a POP that does not announce: exit 7');
  t.match(r.out, /POP b: 198\.51\.100\.10\/32 not announced\n[\s\S]*other POP preferred by the upstream: a, AS path 64500 64511/);

  r = cli('b', ['takeover', '--force']);
  t.equal(r.code, 4, 'anycast off and POP a announces: exit 4');
  t.match(r.err, /VCP_ERR_FAILOVER_CONFLICT: refused: POP a announces 198\.51\.100\.10\/32 \(AS path 64500 64511\) and .* does not allow anycast; run ip-takeover release on POP a first; nothing was changed/);
  await nothingChanged('b', 'after the conflict');

  const anycastTopo = run.file('anycast.yaml');
  const any = parseDocument(readFileSync(topo, 'utf8'));
  any.setIn(['failover', 'anycast'], true);
  writeFileSync(anycastTopo, any.toString());
  r = cli('b', ['takeover', '--force'], anycastTopo);
  t.equal(r.code, 0, 'with anycast allowed the second POP may announce too');
  t.match(r.out, /POP a announces too \(anycast allowed by the config\)/);
  await waitUntil('two announcements at the router', async () => (await routerBird.routes('198.51.100.10/32')).length === 2, 10_000, 100);
  r = cli('b', ['release'], anycastTopo);
  t.equal(r.code, 0);
  t.match(r.out, /disabled BIRD protocol vcp_wk\nremoved route 198\.51\.100\.10\/32 dev lan0\n/);

  r = cli('a', ['release']);
  t.equal(r.code, 0, 'release: exit 0');
  t.match(r.out, /disabled BIRD protocol vcp_wk\nremoved route 198\.51\.100\.10\/32 dev lan0\n/);
  await nothingChanged('a', 'after release');
  await waitUntil('the router to drop the route', () => hop() === undefined, 10_000, 50);
  r = cli('a', ['release']);
  t.equal(r.code, 0, 'release again: exit 0');
  t.match(r.out, /does not announce 198\.51\.100\.10\/32; nothing to change/);
  r = cli('a', ['resume']);
  t.equal(r.code, 0);
  t.match(r.out, /cleared the operator's release\nno watch is running/);

  const h = hosts.get('a')!;
  const stop = spawnSync('ip', ['netns', 'exec', h.pl.edgeNs!, 'birdc', '-s', birdSocket(h), 'down']);
  t.equal(stop.status, 0, 'BIRD of POP a stopped');
  await waitUntil('BIRD of POP a gone', () => spawnSync('ip', ['netns', 'exec', h.pl.edgeNs!, 'birdc', '-s', birdSocket(h), 'show', 'status']).status !== 0, 5000, 100);
  r = cli('a', ['takeover', '--force']);
  t.equal(r.code, 6, 'BIRD unreachable: exit 6');
  t.match(r.err, /VCP_ERR_FAILOVER_BIRD: BIRD is not reachable on/);
  t.equal(edgeRoute('a'), false, 'and no route was added');
});
