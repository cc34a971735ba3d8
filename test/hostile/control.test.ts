import t, { type Test } from 'tap';
import { parseConfig, adminAddress } from '../../shared/config/load.js';
import { FakeMember } from '../helpers/l1-member.js';
import { node, tempDir, waitFor, writeFile, type Proc } from '../helpers/procs.js';

// Attacks on the control planes: layer 1's control API (drain every member = outage), its health
// listener, the admin API's address. Layer 1 runs on 127.0.41.1 with one fake member on 127.0.41.2.
const WK = '127.0.41.1';
const MEMBER = '127.0.41.2';
const TOKEN = 'control-token-of-the-test-0123456789';

const yaml = (layer1: string): string => `
pop: t
wellKnown: { address: ${WK}, sip: 5060 }
pops: [ { name: t } ]
layer1:
  health: { intervalMs: 100, timeoutMs: 200, fall: 2, rise: 1 }
  metrics: { address: ${WK}, port: 9100 }
${layer1}
connectors:
  - { name: c, pop: t, address: ${MEMBER}, workers: 1, ports: { sipProxied: 15060, sip: 25060, health: 18080 } }
servers:
  - { name: s, pop: t, address: 127.0.41.30, sipPort: 5060 }
`;

const exitOf = (p: Proc): Promise<number | null> => p.exited;

async function layer1(t: Test, layer1Yaml: string): Promise<Proc> {
  const dir = tempDir('control');
  const p = node('layer1/main.js', ['--config', writeFile(dir, 'l1.yaml', yaml(layer1Yaml))]);
  t.teardown(() => p.stop());
  return p;
}

t.test('a control API that would listen beyond loopback without a token does not start', async (t) => {
  const p = await layer1(t, '  control: { address: 0.0.0.0, port: 9141 }');
  t.equal(await exitOf(p), 1, 'exit 1');
  t.match(p.output(), /l1\.yaml: layer1\.control \(line \d+\): a token \(token, or tokenFile\) when the control API listens on 0\.0\.0\.0, which is not loopback.*\[VCP_ERR_CONFIG\]/);
  const missing = await layer1(t, '  control: { address: 0.0.0.0, port: 9141, tokenFile: no-such-file }');
  t.equal(await exitOf(missing), 1);
  t.match(missing.output(), /layer1\.control\.tokenFile: a readable file holding the control token .*no-such-file: ENOENT.*\[VCP_ERR_CONFIG\]/);
});

t.test('with a token: nothing but /health and /metrics without it; l1ctl sends it', async (t) => {
  const member = await new FakeMember(MEMBER, 15060, 18080).start();
  t.teardown(() => member.stop());
  const dir = tempDir('control-token');
  writeFile(dir, 'control.token', `${TOKEN}\n`);
  const file = writeFile(dir, 'l1.yaml', yaml('  control: { address: 0.0.0.0, port: 9141, tokenFile: control.token }\n  healthListener: { address: 0.0.0.0, port: 9142 }'));
  const p = node('layer1/main.js', ['--config', file]);
  t.teardown(() => p.stop());
  const base = 'http://127.0.0.1:9141';
  await waitFor('layer 1 serving', async () => (await fetch(`${base}/health`)).status === 200);

  const list = await fetch(`${base}/members`);
  t.equal(list.status, 401, 'GET /members without the token: 401');
  t.match(await list.json(), { error: { code: 'VCP_ERR_L1_UNAUTHORIZED' } });
  t.equal(list.headers.get('www-authenticate'), 'Bearer realm="vcproxy layer 1"');
  const drain = await fetch(`${base}/members/c%2F0/drain`, { method: 'POST', headers: { authorization: 'Bearer wrong-token-wrong-token-wrong-token!' } });
  t.equal(drain.status, 401, 'a drain with a wrong token: 401');
  const auth = { authorization: `Bearer ${TOKEN}` };
  const members = (await (await fetch(`${base}/members`, { headers: auth })).json()) as Array<{ id: string; draining: boolean }>;
  t.same(members.map((m) => [m.id, m.draining]), [['c/0', false]], 'the member was not drained');
  t.equal((await fetch(`${base}/members/c%2F0/drain`, { method: 'POST', headers: auth })).status, 200, 'with the token it is');
  t.equal((await fetch(`${base}/members/c%2F0/undrain`, { method: 'POST', headers: auth })).status, 200);
  t.equal((await fetch(`http://${WK}:9100/metrics`)).status, 200, 'metrics need no token');

  const ctl = node('scripts/l1ctl.js', ['--config', file, 'list']);
  t.equal(await exitOf(ctl), 0, `l1ctl reads the token file: ${ctl.output()}`);
  t.match(ctl.output(), /c\/0\s+127\.0\.41\.2\s+up/);
  const noToken = node('scripts/l1ctl.js', ['--url', base, 'list']);
  t.equal(await exitOf(noToken), 1);
  t.match(noToken.output(), /\[VCP_ERR_L1_UNAUTHORIZED\]/);

  // The health listener: one bit, nothing else, no token.
  const h = await fetch('http://127.0.0.1:9142/health');
  t.equal(h.status, 200);
  t.equal(await h.text(), 'ok\n', 'says ok and nothing about members, counts or addresses');
  t.equal((await fetch('http://127.0.0.1:9142/members')).status, 404, 'the members are not there');
  t.equal((await fetch('http://127.0.0.1:9142/metrics')).status, 404, 'nor the metrics');
  t.equal((await fetch('http://127.0.0.1:9142/members/c%2F0/drain', { method: 'POST' })).status, 404, 'nor a drain');
  t.equal((await fetch('http://127.0.0.1:9142/health', { method: 'POST' })).status, 405);
  await member.stopHealth();
  await waitFor('the listener says unavailable once the member is down', async () => {
    const r = await fetch('http://127.0.0.1:9142/health');
    return r.status === 503 && (await r.text()) === 'unavailable\n';
  });
});

t.test('the admin API listens on loopback unless told otherwise', async (t) => {
  const conf = (admin: string, address: string): ReturnType<typeof parseConfig> => parseConfig(`
pop: t
wellKnown: { address: 198.51.100.1 }
pops: [ { name: t } ]
connectors: [ { name: c, pop: t, address: ${address}, workers: 1, ports: { sip: 25060, health: 18080 } } ]
servers: [ { name: s, pop: t, address: 192.0.2.30 } ]
${admin}
`, 'admin.yaml');
  const c1 = conf('', '192.0.2.10');
  t.equal(adminAddress(c1, c1.connectors[0]!), '127.0.0.1', 'a connector on a public address: the admin API stays on 127.0.0.1');
  const c2 = conf('', '127.0.41.5');
  t.equal(adminAddress(c2, c2.connectors[0]!), '127.0.41.5', 'a connector on a loopback address keeps its own (several connectors on one test host)');
  const c3 = conf('admin: { address: 10.0.0.5 }', '192.0.2.10');
  t.equal(adminAddress(c3, c3.connectors[0]!), '10.0.0.5', 'an operator who exposes it says where');
});
