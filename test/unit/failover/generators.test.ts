import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderKeepalived } from '../../../layer1/pair/keepalived.js';
import { parseConfig } from '../../../shared/config/load.js';
import { renderBirdSpeaker } from '../../../scripts/failover/bird-speaker.js';
import { renderBirdRouter } from '../../../scripts/lab/router.js';
import { fromRoot } from '../../helpers/paths.js';
import { requireTool } from '../../helpers/procs.js';

const LAB = fromRoot('config/examples/failover-lab.yaml');
const config = parseConfig(readFileSync(LAB, 'utf8'), LAB);
const opts = { checkScript: '/opt/vcp/check-layer1', notifyScript: '/opt/vcp/keepalived-notify', notifyLog: '/var/log/vcproxy/keepalived-a1.log' };

t.test('keepalived.conf of a pair member', async (t) => {
  const text = renderKeepalived(config, 'a1', { ...opts, layer1Argv: ['/usr/bin/node', '/opt/vcp/dist/layer1/main.js', '--config', '/etc/vcp.yaml', '--node', 'a1'] });
  const block = (name: string): string => {
    const start = text.indexOf(name);
    t.not(start, -1, `has ${name}`);
    let depth = 0;
    for (let i = text.indexOf('{', start); i < text.length; i++) {
      if (text[i] === '{') depth++;
      if (text[i] === '}' && --depth === 0) return text.slice(start, i + 1);
    }
    return '';
  };
  t.match(block('global_defs'), /vrrp_version 3/, 'VRRPv3 (sub-second adverts)');
  t.match(block('global_defs'), /enable_script_security/);
  t.match(block('global_defs'), /vrrp_rt_priority 50/, 'the VRRP process runs real-time (adverts on time under load)');
  const inst = block('vrrp_instance vcp_wk_a');
  t.match(inst, /\n {2}state BACKUP\n/, 'starts BACKUP');
  t.match(inst, /\n {2}nopreempt\n/, 'never preempts a healthy master');
  t.match(inst, /\n {2}interface eth0\n/);
  t.match(inst, /\n {2}virtual_router_id 51\n/);
  t.match(inst, /\n {2}priority 150\n/);
  t.match(inst, /\n {2}advert_int 0\.05\n/, '50 ms adverts');
  t.match(inst, /\n {2}unicast_src_ip 10\.99\.11\.11\n {2}unicast_peer \{\n {4}10\.99\.11\.12\n {2}\}/, 'unicast to the other member');
  t.match(inst, /virtual_ipaddress \{\n {4}198\.51\.100\.10\/32 dev eth0\n/, 'holds the well-known address');
  t.match(inst, /track_script \{\n {4}vcp_layer1_health\n/);
  t.match(inst, /track_process \{\n {4}vcp_layer1_process\n/);
  for (const s of ['master', 'backup', 'fault', 'stop']) {
    t.match(inst, new RegExp(`notify_${s} "/opt/vcp/keepalived-notify --log /var/log/vcproxy/keepalived-a1\\.log ${s} a a1 vcp_wk_a"`), `notify_${s}`);
  }
  const script = block('vrrp_script vcp_layer1_health');
  t.match(script, /script "\/opt\/vcp\/check-layer1 http:\/\/127\.0\.0\.1:9101\/health"/, 'checks layer 1 /health on its control port');
  t.match(script, /interval 1\n {2}timeout 1\n {2}fall 2\n {2}rise 2/);
  t.match(block('vrrp_track_process vcp_layer1_process'), /process \/usr\/bin\/node \/opt\/vcp\/dist\/layer1\/main\.js --config \/etc\/vcp\.yaml --node a1\n/);

  const peer = renderKeepalived(config, 'a2', opts);
  t.match(peer, /priority 100\n/);
  t.match(peer, /unicast_src_ip 10\.99\.11\.12\n {2}unicast_peer \{\n {4}10\.99\.11\.11/);
  t.notMatch(peer, /track_process/, 'no process tracking without the layer-1 argv');

  const multicast = parseConfig(readFileSync(LAB, 'utf8').replace('vrid: 51', 'vrid: 51\n        unicast: false'), 'x.yaml');
  t.notMatch(renderKeepalived(multicast, 'a1', opts), /unicast/, 'multicast when unicast is false');
  t.throws(() => renderKeepalived(config, 'a1', { ...opts, notifyLog: '/var/log/with space.log' }), { code: 'VCP_ERR_CONFIG', message: /--notify-log: a path or argument without spaces/ });
  t.throws(() => renderKeepalived(config, 'zz', opts), { code: 'VCP_ERR_CONFIG', message: /--node/ });

  // keepalived -t also looks the pair's interface up: only where it exists (not in a bare namespace).
  if (existsSync(`/sys/class/net/${config.failover!.pops[0]!.pair.interface}`)) {
    requireTool('keepalived');
    const dir = t.testdir();
    const file = join(dir, 'keepalived.conf');
    const scripts = `${fromRoot('scripts/failover')}/`;
    const real = renderKeepalived(config, 'a1', { checkScript: `${scripts}check-layer1`, notifyScript: `${scripts}keepalived-notify`, notifyLog: join(dir, 'notify.log'), layer1Argv: [process.execPath, 'main.js'] });
    writeFileSync(file, real);
    t.doesNotThrow(() => execFileSync('keepalived', ['-t', '-f', file, '-l'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }), 'keepalived -t accepts it');
  }
});

t.test('bird.conf of a POP edge', async (t) => {
  const a = renderBirdSpeaker(config, config.failover!.pops[0]!);
  t.match(a, /^router id 10\.99\.10\.2;$/m);
  t.match(a, /protocol static vcp_wk \{\n {2}disabled;\n {2}ipv4;\n {2}route 198\.51\.100\.10\/32 via "lan0";\n\}/, 'the active announcement starts disabled');
  t.match(a, /protocol static vcp_wk_backup \{\n {2}disabled;/, 'so does the backup one');
  t.match(a, /if proto = "vcp_wk_backup" then \{ bgp_path\.prepend\(64511\); bgp_path\.prepend\(64511\); bgp_path\.prepend\(64511\); \}/, 'backup prepends 3 times');
  t.match(a, /if net != 198\.51\.100\.10\/32 then reject;/, 'exports nothing but the prefix');
  t.match(a, /filter vcp_import \{\n {2}if net = 198\.51\.100\.10\/32 then accept;\n {2}reject;/);
  t.match(a, /local 10\.99\.10\.2 as 64511;/);
  t.match(a, /graceful restart off;/, 'a vanished POP does not linger as a stale route');
  t.match(a, /protocol bgp vcp_up1 from vcp_upstream \{\n {2}neighbor 10\.99\.10\.254 as 64500;\n {2}bfd on;\n\}/);
  t.match(a, /min rx interval 50 ms;[\s\S]*multiplier 3;/);
  t.notMatch(a, /protocol kernel/, 'never writes routes to the kernel');
  const noBfd = parseConfig(readFileSync(LAB, 'utf8').replace('[ { address: 10.99.10.254, as: 64500 } ]', '[ { address: 10.99.10.254, as: 64500, bfd: false } ]'), 'x.yaml');
  const plain = renderBirdSpeaker(noBfd, noBfd.failover!.pops[0]!, { log: '/var/log/bird.log' });
  t.notMatch(plain, /bfd/);
  t.match(plain, /log "\/var\/log\/bird\.log" all;/);

  const router = renderBirdRouter(config, { routerId: '10.99.1.254' });
  t.match(router, /protocol kernel \{ ipv4 \{ import none; export all; \}; \}/, 'the router installs what it learns');
  t.match(router, /protocol bgp pop_a from vcp_pop \{ neighbor 10\.99\.10\.2 as 64511; bfd on; \}/);
  t.match(router, /protocol bgp pop_b from vcp_pop \{ neighbor 10\.99\.20\.2 as 64512; bfd on; \}/);
  t.match(router, /local as 64500;/);

  {
    requireTool('bird', 'bird2');
    const dir = t.testdir();
    for (const [name, text] of [['a', a], ['b', renderBirdSpeaker(config, config.failover!.pops[1]!)], ['router', router]] as const) {
      const file = join(dir, `${name}.conf`);
      writeFileSync(file, text);
      t.doesNotThrow(() => execFileSync('bird', ['-p', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'] }), `bird -p accepts ${name}.conf`);
    }
  }
});
