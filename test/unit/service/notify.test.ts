import t from 'tap';
import { createLogger } from '../../../shared/logger.js';
import { childEnv, ServiceNotifier } from '../../../shared/service/notify.js';

const log = createLogger('test');
log.level = 'silent';

function recorder(code = 0): { calls: string[][]; run: (args: string[]) => Promise<number> } {
  const calls: string[][] = [];
  return { calls, run: async (args) => (calls.push(args), code) };
}

t.test('without NOTIFY_SOCKET nothing is sent and there is no watchdog', async (t) => {
  const r = recorder();
  const n = new ServiceNotifier(log, { WATCHDOG_USEC: '2000000' }, r.run, 42);
  t.equal(n.enabled, false);
  t.equal(n.watchdogMs, 0);
  t.equal(await n.ready('x'), false);
  n.startWatchdog();
  t.same(r.calls, []);
});

t.test('readiness, status, reloading and stopping are VAR=VALUE arguments of systemd-notify', async (t) => {
  const r = recorder();
  const n = new ServiceNotifier(log, { NOTIFY_SOCKET: '/run/systemd/notify' }, r.run, 42);
  t.equal(await n.ready('serving: 2 workers'), true);
  await n.status('line one\nline two');
  await n.reloading('reloading');
  await n.stopping('stopping');
  t.same(r.calls, [
    ['READY=1', 'STATUS=serving: 2 workers'],
    ['STATUS=line one line two'],
    ['RELOADING=1', 'STATUS=reloading'],
    ['STOPPING=1', 'STATUS=stopping'],
  ]);
});

t.test('a failed systemd-notify is reported as false', async (t) => {
  const n = new ServiceNotifier(log, { NOTIFY_SOCKET: '/run/systemd/notify' }, recorder(1).run, 42);
  t.equal(await n.ready('x'), false);
});

t.test('the watchdog interval is half of WATCHDOG_USEC, and only for the process WATCHDOG_PID names', async (t) => {
  const env = { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '30000000' };
  t.equal(new ServiceNotifier(log, env, recorder().run, 42).watchdogMs, 15_000);
  t.equal(new ServiceNotifier(log, { ...env, WATCHDOG_PID: '42' }, recorder().run, 42).watchdogMs, 15_000);
  t.equal(new ServiceNotifier(log, { ...env, WATCHDOG_PID: '7' }, recorder().run, 42).watchdogMs, 0, 'a child that inherited the variables sends no keep-alive');
  t.equal(new ServiceNotifier(log, { ...env, WATCHDOG_USEC: 'x' }, recorder().run, 42).watchdogMs, 0);
});

t.test('keep-alives come from a timer on the event loop, one at a time', async (t) => {
  let release: (() => void) | undefined;
  const calls: string[][] = [];
  const run = (args: string[]): Promise<number> =>
    new Promise((resolve) => {
      calls.push(args);
      release = () => resolve(0);
    });
  const n = new ServiceNotifier(log, { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '200000' }, run, 42);
  t.equal(n.watchdogMs, 100);
  n.startWatchdog();
  t.teardown(() => n.stopWatchdog());
  t.same(calls, [['WATCHDOG=1']], 'the first keep-alive goes at once');
  // While systemd-notify has not returned, the timer fires without starting another one.
  await new Promise((r) => setTimeout(r, 350));
  t.equal(calls.length, 1, 'no second systemd-notify while the first runs');
  release!();
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (calls.length >= 2) {
        clearInterval(check);
        resolve();
      }
    }, 10);
  });
  t.same(calls[1], ['WATCHDOG=1'], 'the next keep-alive follows once it returned');
  n.stopWatchdog();
});

t.test('a child process gets the environment without the notification variables', async (t) => {
  const env = childEnv({ NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '1', WATCHDOG_PID: '2', PATH: '/bin' });
  t.same(env, { PATH: '/bin' });
});
