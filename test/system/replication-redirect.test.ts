import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SipUas } from '../../scripts/sim/sip-uas.js';
import { NatsCluster, localCluster } from '../../scripts/nats-cluster.js';
import { ROOT, requireBuild, requireTool, sippPath, sleep, start, waitFor } from '../helpers/procs.js';
import { PopHosts, TOKEN, metric } from '../helpers/pop-hosts.js';

// A redirect issued at POP a is closed by the arrival at POP b, each POP with its own profile store,
// the close replicated through JetStream (one nats-server on 127.0.11.11). Connectors on
// 127.0.14.22 (ca) and .23 (cb), backends on .30 and .31, room systems from 127.0.14.64/28, which
// geo sends to POP b. The redirect deadline is short (100 ms) and the grace 2 s: if the arrival's
// close did not reach POP a within about 2 s of the arrival, POP a's sweep would count a miss.

t.before(() => {
  requireBuild();
  sippPath();
  requireTool('nats-server');
});

const UA = 'RoomKit-Follow/1.0';

/** One call of a room system that follows redirects (scripts/sipp/room-follow.xml). */
function followCall(dir: string, to: string, source: string, port: number): Promise<{ code: number | null; redirectedTo: string }> {
  const log = join(dir, `call-${port}.log`);
  const p = start(sippPath(), [
    '-sf', join(ROOT, 'scripts/sipp/room-follow.xml'), to, '-key', 'ua', UA, '-s', 'meeting1', '-i', source, '-p', String(port), '-t', 'u1', '-m', '1',
    '-nostdin', '-trace_logs', '-log_file', log, '-timeout', '15s', '-timeout_error', '-max_retrans', '3', '-default_behaviors', 'all,-abortunexp',
  ], { cwd: dir });
  return p.exited.then((code) => {
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    return { code, redirectedTo: /redirect ([0-9.]+:[0-9]+)/.exec(text)?.[1] ?? '' };
  });
}

t.test('a redirect issued at POP a is closed at POP a by the arrival at POP b, within the grace time', async (t) => {
  const dir = t.testdir();
  const nats = new NatsCluster(localCluster({ nodes: 1, address: '127.0.11.11', dir: join(dir, 'nats') }));
  const url = 'nats://127.0.11.11:4222';
  const hosts = new PopHosts({
    dir, net: '127.0.14', offset: 20, nats: { ca: [url], cb: [url] }, stream: 'VCP_REDIRECT', replicas: 1,
    extra: `
geo: { overrides: [ { prefix: 127.0.14.64/28, pop: b } ] }
techniques: { default: proxy, classes: { "sip/roomkit-follow": redirect } }
learning: { redirectDeadlineMs: 100, arrivalGraceMs: 2000, perSourcePerMinute: 600 }
tokens: { key: replication-test-token-key-shared-by-both-pops }
`,
  });
  const backends = [new SipUas({ address: hosts.at(10), port: 5060 }), new SipUas({ address: hosts.at(11), port: 5060 })];
  t.teardown(async () => {
    await hosts.close();
    await Promise.all(backends.map((b) => b.close()));
    await nats.stop();
  });
  await nats.start();
  for (const b of backends) await b.start();
  await hosts.start('ca');
  await hosts.start('cb');
  for (const h of ['ca', 'cb'] as const) await waitFor(`${h} replicating`, async () => metric(await hosts.metrics(h), 'vcp_replication_connected') === 1);

  // An admin override at POP a reaches POP b (last writer wins by time).
  const res = await fetch(`http://${hosts.address('ca')}:9300/profiles/classes/sip%2Fwarmup/override`, {
    method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ technique: 'proxy' }),
  });
  t.equal(res.status, 200, 'override set at POP a');
  await waitFor('the override at POP b', () => hosts.store('cb').classProfile('sip/warmup')?.override?.technique === 'proxy');

  const a = hosts.store('ca');
  const delays: number[] = [];
  for (let i = 0; i < 3; i++) {
    const known = new Set(a.outcomes(1000).filter((e) => e.event === 'redirected').map((e) => e.detail));
    let token = '';
    let seenAt = 0;
    let running = true;
    // Watch POP a's replica while the call runs: when does the redirect it issued show as arrived?
    const watch = (async () => {
      while (running && !seenAt) {
        if (!token) token = /token ([0-9a-f]+)/.exec(a.outcomes(50).find((e) => e.event === 'redirected' && !known.has(e.detail))?.detail ?? '')?.[1] ?? '';
        if (token && a.redirect(token)?.state === 'arrived') seenAt = Date.now();
        await sleep(5);
      }
    })();
    const call = await followCall(dir, `${hosts.address('ca')}:25060`, `127.0.14.${70 + i}`, 31000 + i);
    await waitFor('the close in POP a\'s replica', () => seenAt > 0).catch(() => undefined);
    running = false;
    await watch;
    t.equal(call.code, 0, `call ${i + 1} completed`);
    t.equal(call.redirectedTo, `${hosts.address('cb')}:25060`, `call ${i + 1}: POP a redirected the room system to POP b's connector`);
    t.ok(token, `call ${i + 1}: POP a logged the redirect`);
    const rec = a.redirect(token);
    // Past the deadline, the grace and a sweep: a close that had not come would now be a miss.
    await sleep(Math.max(0, (rec?.issuedAt ?? Date.now()) + 100 + 2000 + 800 - Date.now()));
    const after = a.redirect(token);
    t.match(after, { state: 'arrived', closedPop: 'b', server: 'b-1', origin: 'ca/0' }, `call ${i + 1}: closed at POP a as arrived at POP b`);
    if (after?.state === 'arrived' && seenAt) {
      delays.push(seenAt - after.closedAt);
      t.comment(`call ${i + 1}: arrival at POP b → closed in POP a's replica after ${seenAt - after.closedAt} ms (redirect to arrival ${after.closedAt - after.issuedAt} ms)`);
    }
  }
  t.notOk(a.outcomes(1000).some((e) => e.event === 'missed'), 'POP a counted no redirect as missed');
  const cls = a.classProfile('sip/roomkit-follow');
  t.match(cls?.t.redirect, { s: 3, f: 0 }, 'POP a learned three followed redirects, from POP b\'s arrivals');
  t.match(hosts.store('cb').classProfile('sip/roomkit-follow')?.t.redirect, { s: 3, f: 0 }, 'POP b holds the same');
  t.equal(backends[1]!.stats.tokens.size, 3, 'the calls reached POP b\'s server');
  const m = await hosts.metrics('ca');
  t.ok((metric(m, 'vcp_replication_lag_seconds', 'origin="cb/0"') ?? -1) >= 0, 'POP a measures the lag of POP b\'s worker');
  t.comment(`arrival → closed at the issuing POP: ${delays.join(', ')} ms`);
});
