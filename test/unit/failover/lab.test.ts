import t from 'tap';
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../../shared/config/load.js';
import { connectorNames, connectorsFromLogs, failedBetween, losses, outage, proberStall } from '../../../scripts/lab/figures.js';
import { RunDir, signalPid, withoutTestHooks } from '../../../scripts/lab/exec.js';
import { labLayout } from '../../../scripts/lab/layout.js';
import type { ProbeResult } from '../../../scripts/lab/prober.js';
import { parseSippMessages } from '../../../scripts/lab/sipp.js';
import { fixture, fromRoot } from '../../helpers/paths.js';
import { tempDir } from '../../helpers/procs.js';

const LAB = fromRoot('config/examples/failover-lab.yaml');
const config = parseConfig(readFileSync(LAB, 'utf8'), LAB);

const probe = (sentAt: number, ok: boolean, rtt = 5, backend = '10.99.11.31:5090'): ProbeResult => ({ seq: sentAt, sentAt, doneAt: sentAt + rtt, ok, status: ok ? 200 : 0, connector: null, backend: ok ? backend : null, byeOk: ok });

t.test('outage: recovery and gap around a fault, from the prober', async (t) => {
  const probes = [probe(0, true), probe(50, true), probe(100, false), probe(150, false), probe(200, false), probe(250, true, 10), probe(300, true)];
  const o = outage(probes, 120);
  t.equal(o.recoveryMs, 250 + 10 - 120, 'fault → answer of the first success sent after it');
  t.equal(o.gapMs, 260 - 55, 'last success before → first success after');
  t.equal(o.failedProbes, 3, 'the failed probes in between (the one in flight at the fault included)');
  t.equal(o.firstOk?.sentAt, 250);
  t.same(outage(probes.slice(0, 5), 120), { recoveryMs: null, gapMs: null, failedProbes: 3, firstOk: undefined, proberStallMs: 50 }, 'no recovery: null, not a number');
  const viaB = [probe(0, true), probe(50, true, 5, '10.99.11.31:5090'), probe(100, true, 5, '10.99.21.31:5090')];
  t.equal(outage(viaB, 40, (p) => p.backend === '10.99.21.31:5090').recoveryMs, 65, 'only answers that went the way asked for count');
  t.equal(failedBetween(probes, 100, 200), 2);
  t.equal(outage(probes, 40, undefined, 60).recoveryMs, 250 + 10 - 40, 'a probe sent before the fault took effect is no recovery');
  const slowBefore = [probe(0, true), probe(90, true, 900), probe(150, true, 5)];
  t.equal(outage(slowBefore, 100).gapMs, 155 - 5, 'a success answered after the fault is not the last one before it');
  t.equal(o.proberStallMs, 50, 'the prober sent every 50 ms');
  const stalled = [probe(0, true), probe(50, true), probe(600, true), probe(650, true)];
  t.equal(outage(stalled, 100).proberStallMs, 550, 'a prober silent from 50 to 600 ms stalled 550 ms around the fault at 100');
  t.equal(proberStall([], 0, 300), 300, 'no probe at all: the whole window');
});

t.test('sipp message logs, call by call, and the losses by connector', async (t) => {
  const calls = parseSippMessages(readFileSync(fixture('sipp', 'popmove-messages.log'), 'utf8'));
  t.same(
    calls.map((c) => [c.callId, c.inviteStatus, c.byeStatus, c.connector, c.completed]),
    [
      ['2-19381@10.99.1.2', 200, 200, '10.99.11.21:25060', true],
      ['3-19381@10.99.1.2', 200, 404, '10.99.11.22:25060', false],
      ['13-19381@10.99.1.2', 200, 200, '10.99.21.22:25060', true],
    ],
  );
  t.ok(calls.every((c) => c.invitedAt > 0), 'timestamps read');
  const names = connectorNames(config);
  t.equal(names.get('10.99.11.22:25060'), 'ca2');
  const popA = new Set(['ca1', 'ca2']);
  t.same(losses(calls, names, popA), { calls: 3, completed: 2, lost: 1, lostOnFailed: 1, lostOnSurvivors: 0, neverAnswered: 0, byConnector: { ca2: 1 } }, 'the lost call was held by the failed POP');
  t.match(losses(calls, names, new Set()), { lostOnFailed: 0, lostOnSurvivors: 1 }, 'had nothing failed, it would count against the survivors');
  const unanswered = [{ callId: 'x', invitedAt: 1, inviteStatus: 0, byeStatus: 0, connector: null, completed: false }];
  t.match(losses(unanswered, names, popA), { lost: 1, neverAnswered: 1, lostOnSurvivors: 1 }, 'a call never answered counts against the survivors');
  t.same(parseSippMessages('garbage\n'), []);
  const seen = connectorsFromLogs([
    '{"level":30,"worker":"ca1/0","callId":"x","msg":"decision"}',
    '{"level":30,"worker":"ca2/0","callId":"y","msg":"call outcome"}',
    '{"level":30,"worker":"ca2/0","callId":"z","ms',
  ]);
  t.same([...seen], [['x', 'ca1']], 'decision lines place a call; other and cut lines do not');
  t.match(losses(unanswered, names, new Set(['ca1']), seen), { lost: 1, lostOnFailed: 1, lostOnSurvivors: 0, neverAnswered: 0 }, 'an unanswered call the failed connector logged is its own');
});

t.test('lab layout from the topology', async (t) => {
  const l = labLayout(config, 'vcpt-x');
  t.equal(l.routerNs, 'vcpt-x-router');
  const a = l.pops[0]!;
  t.match(a, { pop: 'a', edgeNs: 'vcpt-x-a', lanIf: 'lan0', lanAddress: '10.99.11.1', lanNet: '10.99.11.0/24', uplinkAddress: '10.99.10.2', routerAddress: '10.99.10.254' });
  t.same(a.members.map((m) => [m.ns, m.address, m.port]), [['vcpt-x-a1', '10.99.11.11', 'm-a1'], ['vcpt-x-a2', '10.99.11.12', 'm-a2']]);
  t.same(a.servers.addresses, ['10.99.11.21', '10.99.11.22', '10.99.11.31']);
  t.same(a.backends, [{ name: 'mcu-a', address: '10.99.11.31', port: 5090 }]);
  t.equal(labLayout(config, 'vcpd', false).pops[1]!.edgeNs, undefined, 'in the VM lab the POP edge is the VM itself');
});

t.test('lab processes run without the test runner\'s hooks, other NODE_OPTIONS kept', async (t) => {
  const hook = '"--import=file:///x/node_modules/@tapjs/processinfo/dist/esm/import.mjs"';
  const saved = process.env.NODE_OPTIONS;
  t.teardown(() => {
    if (saved === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved;
  });
  process.env.NODE_OPTIONS = hook;
  t.same(withoutTestHooks('node', ['a.js']), ['env', ['-u', 'NODE_OPTIONS', 'node', 'a.js']], 'reads NODE_OPTIONS of this process by default');
  t.same(withoutTestHooks('node', ['a.js'], ''), ['node', ['a.js']], 'no NODE_OPTIONS: the command as it is');
  t.same(withoutTestHooks('node', ['a.js'], '--max-old-space-size=512'), ['node', ['a.js']], 'options of the user alone: the command as it is');
  t.same(withoutTestHooks('node', ['a.js'], hook), ['env', ['-u', 'NODE_OPTIONS', 'node', 'a.js']], 'only the hook: NODE_OPTIONS unset');
  t.same(withoutTestHooks('keepalived', ['-n'], `--max-old-space-size=512 ${hook} --enable-source-maps`), ['env', ['NODE_OPTIONS=--max-old-space-size=512 --enable-source-maps', 'keepalived', '-n']], 'the hook out, the rest kept');
  t.same(withoutTestHooks('node', [], '--import /x/node_modules/@tapjs/processinfo/dist/esm/import.mjs --trace-warnings'), ['env', ['NODE_OPTIONS=--trace-warnings', 'node']], 'the hook given as two words');
});

t.test('a wait for a lab process\'s ready line ends at once when the process exited without it, and names why', async (t) => {
  const run = new RunDir(tempDir('run'));
  const line = (msg: string): string => `process.stdout.write(JSON.stringify({ time: new Date().toISOString(), msg: ${JSON.stringify(msg)} }) + '\\n')`;
  run.start('ok', undefined, process.execPath, ['-e', `${line('ready')}; setTimeout(() => {}, 60000)`]);
  run.start('dies', undefined, process.execPath, ['-e', `${line('starting')}; console.log('the admin token is shorter than 16 characters'); process.exit(1)`]);
  t.teardown(() => signalPid(run.spawned('ok')!.pid, 'SIGKILL'));
  const at = await run.waitLog('ok', (e) => e.msg === 'ready', 'ok to log "ready"', 60_000);
  t.ok(at >= run.spawned('ok')!.spawnedAt - 1000, 'the ready line\'s own time');
  const t0 = Date.now();
  await t.rejects(run.waitLog('dies', (e) => e.msg === 'ready', 'dies to log "ready"', 600_000), { message: /dies exited before it logged what was awaited: log "ready" \(dies: pid \d+ gone; last lines: .*starting.*shorter than 16 characters\)/ });
  t.ok(Date.now() - t0 < 60_000, 'not after the whole timeout');
});
