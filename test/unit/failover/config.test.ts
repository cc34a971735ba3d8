import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { applyIdentity, findMember, popFailover } from '../../../shared/config/identity.js';
import { loadConfigFile, parseConfig } from '../../../shared/config/load.js';
import { ConfigError } from '../../../shared/errors.js';
import { fromRoot } from '../../helpers/paths.js';

const LAB = fromRoot('config/examples/failover-lab.yaml');
const base = readFileSync(LAB, 'utf8');

const bad = (t: Test, text: string, re: RegExp): void => {
  try {
    parseConfig(text, 'topo.yaml');
    t.fail(`accepted a config that should fail with ${re}`);
  } catch (e) {
    t.type(e, ConfigError);
    t.match((e as Error).message, re);
  }
};

t.test('the lab topology resolves with defaults filled in', async (t) => {
  const c = parseConfig(base, 'topo.yaml');
  const f = c.failover!;
  t.equal(f.primary, 'a');
  t.equal(f.anycast, true);
  t.equal(f.failback, 'automatic');
  t.same(f.pops.map((p) => p.pop), ['a', 'b'], 'the primary comes first');
  const a = f.pops[0]!;
  t.equal(a.bgp.prefix, '198.51.100.10/32', 'the prefix defaults to the well-known address /32');
  t.equal(a.bgp.localAddress, '10.99.10.2', 'the local address defaults to the router id');
  t.equal(a.bgp.holdTimeS, 3);
  t.same(a.bgp.neighbours, [{ address: '10.99.10.254', as: 64500, bfd: true }]);
  t.same(a.pair.check, { intervalS: 1, fall: 2, rise: 2 });
  t.equal(a.pair.unicast, true);
  t.same(f.watch, { intervalMs: 100, timeoutMs: 500, fall: 3, rise: 3, minConnectorWorkers: 1 });
});

t.test('a file without a failover section has none', async (t) => {
  const c = parseConfig(base.slice(0, base.indexOf('failover:')).replace('address: 0.0.0.0', 'address: 127.0.0.1'), 'topo.yaml');
  t.equal(c.failover, undefined);
});

t.test('failover errors name the file, the path and what was expected', async (t) => {
  bad(t, base.replace('primary: a', 'primary: z'), /^topo\.yaml: failover\.primary \(line \d+\): the name of a POP listed under pops \(a, b\), got "z"/);
  bad(t, base.replace('anycast: true ', 'anycast: sometimes '), /failover\.anycast \(line \d+\): expected true: every healthy POP announces/);
  bad(t, base.replace('failback: automatic', 'failback: later'), /failover\.failback \(line \d+\): expected automatic or manual, got "later"/);
  bad(t, base.replace('vrid: 51', 'vrid: 300'), /failover\.pops\[0\]\.pair\.vrid \(line \d+\): expected a VRRP virtual router id 1\.\.255/);
  bad(t, base.replace('advertIntervalMs: 50\n        members:\n          - { name: a1', 'advertIntervalMs: 105\n        members:\n          - { name: a1'), /pair\.advertIntervalMs .*steps of 10/);
  bad(t, base.replace('          - { name: a2, address: 10.99.11.12, priority: 100 }\n', ''), /pair\.members .*exactly two members/);
  bad(t, base.replace('{ name: a2, address: 10.99.11.12', '{ name: a2, address: 10.99.11.11'), /pair\.members\[1\]\.address .*different from the other member's \(10\.99\.11\.11\)/);
  bad(t, base.replace('{ name: b2,', '{ name: a2,'), /failover\.pops\[1\]\.pair\.members\[1\]\.name .*unique in the whole topology \("a2" is already a member in POP a\)/);
  bad(t, base.replace('priority: 150 }\n          - { name: a2', 'priority: 255 }\n          - { name: a2'), /priority .*VRRP priority 1\.\.254/);
  bad(t, base.replace('localAs: 64512', 'localAs: 64511'), /failover\.pops\[1\]\.bgp\.localAs .*no other POP uses \(64511 is POP a's\)/);
  bad(t, base.replace('[ { address: 10.99.10.254, as: 64500 } ]', '[ { address: 10.99.10.254, as: 64511 } ]'), /neighbours\[0\]\.as .*external neighbour/);
  bad(t, base.replace('routerId: 10.99.10.2', 'routerId: 2001:db8::1'), /bgp\.routerId .*expected an IPv4 address/);
  bad(t, base.replace('edgeInterface: lan0\n        neighbours: [ { address: 10.99.10.254', 'edgeInterface: a-very-long-interface-name\n        neighbours: [ { address: 10.99.10.254'), /edgeInterface .*network interface name/);
  bad(t, base.replace('        localAs: 64511', '        prefix: 198.51.100.0/24\n        localAs: 64511').replace('edgeInterface: lan0\n        neighbours: [ { address: 10.99.10.254', 'edgeInterface: lan0\n        bogus: 1\n        neighbours: [ { address: 10.99.10.254'), /bgp\.bogus .*unknown key/);
  bad(t, base.replace('        localAs: 64511', '        prefix: 203.0.113.0/24\n        localAs: 64511'), /bgp\.prefix .*contains the well-known address 198\.51\.100\.10, got "203\.0\.113\.0\/24"/);
  bad(t, base.replace('        localAs: 64511', '        prefix: 198.51.100.10/24\n        localAs: 64511'), /bgp\.prefix .*without host bits set/);
  bad(t, base.replace('address: 0.0.0.0', 'address: 127.0.0.1'), /layer1\.healthListener .*on 0\.0\.0\.0 with a port when a failover section is present/);
  bad(t, base.replace('address: 198.51.100.10', 'address: 2001:db8::10'), /wellKnown\.address .*IPv4 address when a failover section is present/);
  bad(t, base.replace('  primary: a\n', '  primary: a\n  surprise: yes\n'), /failover\.surprise \(line \d+\): unknown key/);
  const onlyB = base.replace(/    - pop: a\n[\s\S]*?(    - pop: b)/, '$1');
  bad(t, onlyB, /failover\.primary .*a POP that has an entry under failover\.pops \(b\), got "a"/);
  bad(t, base.replace('    - pop: b\n', '    - pop: a\n'), /failover\.pops\[1\]\.pop .*one failover entry per POP/);
});

t.test('--pop and --node tell a process which node of the topology it is', async (t) => {
  const c = parseConfig(base, 'topo.yaml');
  const b2 = applyIdentity(c, { node: 'b2' });
  t.equal(b2.pop, 'b', 'a node implies its POP');
  t.equal(b2.node, 'b2');
  t.equal(b2.layer1.pop, 'b');
  t.equal(b2.layer1.name, 'b2');
  const b = applyIdentity(c, { pop: 'b' });
  t.equal(b.pop, 'b');
  t.equal(b.layer1.pop, 'b');
  t.equal(b.node, undefined);
  t.equal(applyIdentity(c, {}), c, 'no flags: the config as written');
  t.throws(() => applyIdentity(c, { pop: 'z' }), { message: /topo\.yaml: --pop: the name of a POP listed under pops \(a, b\), got "z"/ });
  t.throws(() => applyIdentity(c, { node: 'z9' }), { message: /--node: the name of a layer-1 pair member \(a1, a2, b1, b2\), got "z9"/ });
  t.throws(() => applyIdentity(c, { pop: 'a', node: 'b1' }), { message: /--node: a member of POP a; "b1" belongs to POP b/ });
  t.same(findMember(c, 'a2')?.peer.name, 'a1');
  t.equal(popFailover(c, 'b').bgp.localAs, 64512);
  t.throws(() => popFailover(c, 'c'), { message: /failover\.pops: an entry for POP c/ });
});

t.test('loadConfigFile takes the identity from flags, then from VCP_POP / VCP_NODE', async (t) => {
  const saved = { pop: process.env.VCP_POP, node: process.env.VCP_NODE };
  t.teardown(() => {
    if (saved.pop === undefined) delete process.env.VCP_POP;
    else process.env.VCP_POP = saved.pop;
    if (saved.node === undefined) delete process.env.VCP_NODE;
    else process.env.VCP_NODE = saved.node;
  });
  delete process.env.VCP_POP;
  delete process.env.VCP_NODE;
  t.equal(loadConfigFile(LAB).pop, 'a');
  process.env.VCP_NODE = 'b1';
  t.equal(loadConfigFile(LAB).layer1.name, 'b1', 'from the environment');
  t.equal(loadConfigFile(LAB, { node: 'a2' }).layer1.name, 'a2', 'the flag wins');
});
