import t from 'tap';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync, rmSync } from 'node:fs';
import { loadConfigFile } from '../../shared/config/load.js';
import { LAB } from '../../scripts/lab/layout.js';
import { tempDir } from '../helpers/procs.js';
import { fromRoot } from '../helpers/paths.js';

const vagrantfile = readFileSync(fromRoot('Vagrantfile'), 'utf8');
const hasVagrant = spawnSync('sh', ['-c', 'command -v vagrant']).status === 0;

t.test('the Vagrant lab has the hosts and addresses of the lab topology', async (t) => {
  const config = loadConfigFile(fromRoot('config/examples/failover-lab.yaml'), {});
  const hosts = new Map<string, string[]>();
  for (const m of vagrantfile.matchAll(/"([a-z-]+)"\s*=>\s*\{\s*nets:\s*\[(.*?)\]\s*,\s*args:/g)) {
    hosts.set(m[1]!, [...m[2]!.matchAll(/\["([0-9.]+)"/g)].map((x) => x[1]!));
  }
  t.same([...hosts.keys()], ['router', 'pop-a', 'pop-b', 'client'], 'router, two POPs and a client');
  const pops = config.failover!.pops;
  t.same(hosts.get('router'), [LAB.client.gateway, ...pops.map((p) => p.bgp.neighbours[0]!.address)], 'the router sits where the POP edges look for their BGP neighbour');
  for (const p of pops) t.same(hosts.get(`pop-${p.pop}`), [p.bgp.localAddress], `pop-${p.pop} has the address its BGP speaker uses`);
  t.same(hosts.get('client'), [LAB.client.address]);
  t.match(vagrantfile, /config\.vm\.provider "virtualbox"/);
  t.match(vagrantfile, /config\.vm\.provider "libvirt"/);
  t.match(vagrantfile, /path: "scripts\/lab\/vagrant-provision"/, 'provisioned by the lab scripts');
  t.doesNotThrow(() => accessSync(fromRoot('scripts/lab/vagrant-provision'), constants.X_OK), 'the provisioner is executable');
});

t.test('vagrant validate accepts the Vagrantfile', { skip: hasVagrant ? false : 'vagrant is not installed (scripts/install --test installs it)' }, async (t) => {
  const dir = tempDir('vagrant');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // No provider is installed in CI: --ignore-provider checks everything but provider blocks.
  const r = spawnSync('vagrant', ['validate', '--ignore-provider'], {
    cwd: fromRoot(),
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, VAGRANT_DOTFILE_PATH: `${dir}/dot`, VAGRANT_HOME: `${dir}/home`, VAGRANT_CHECKPOINT_DISABLE: '1' },
  });
  t.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  t.match(r.stdout, /Vagrantfile validated successfully/);
});
