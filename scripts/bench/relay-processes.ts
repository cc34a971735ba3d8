import { fork, type ChildProcess } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encodeProxyV2 } from '../../shared/proxy-v2.js';
import { fmt, load, rotate, sleep, sh, stop, track, waitHttp } from './lab.js';
import { backend, connLoad, tcpLoad, type Target } from './l4-load.js';

/**
 * Would layer 1's TCP relay gain from a second process on this machine? A relay that does per
 * connection what layer 1's does (accept paused, connect to the member, PROXY v2 header, pipe both
 * ways with half-close), run as one process and as two processes that accept from one listening
 * socket (the second is given the listener's handle over IPC), measured as `bench:compare` measures
 * layer 1: TCP connections/s and MB/s (4 streams) at the client, rounds interleaved, best round of
 * each; the backend reached directly is the ceiling of the load generator. The relay has none of
 * layer 1's limits, health or metrics: it bounds what a second process could add, not layer 1.
 *
 *   node dist/scripts/bench/relay-processes.js [--rounds 3] [--seconds 4] [--mb 128]
 */
const here = fileURLToPath(import.meta.url);
const { values } = parseArgs({
  options: {
    role: { type: 'string' },
    processes: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '4' },
    mb: { type: 'string', default: '128' },
  },
});

const A = { backend: '127.0.9.31', one: '127.0.9.32', two: '127.0.9.33', client: '127.0.9.130', port: 15070, health: 18091 };

/** Connections this process accepted. */
let accepted = 0;

/** Relays each connection the server accepts to the backend, as layer 1's TCP relay does. */
function relay(server: Server): void {
  server.on('connection', (client: Socket) => {
    accepted++;
    client.on('error', () => client.destroy());
    const up = connect({ host: A.backend, port: A.port, allowHalfOpen: true, noDelay: true });
    up.on('error', () => {
      up.destroy();
      client.destroy();
    });
    up.once('connect', () => {
      if (client.destroyed) return void up.destroy();
      up.write(encodeProxyV2({ transport: 'tcp', srcAddress: client.remoteAddress!, srcPort: client.remotePort!, dstAddress: client.localAddress!, dstPort: client.localPort! }));
      client.once('close', () => {
        if (!(client.readableEnded && client.writableFinished)) up.destroy();
      });
      up.once('close', () => {
        if (!(up.readableEnded && up.writableFinished)) client.destroy();
      });
      up.pipe(client);
      client.pipe(up);
    });
  });
}

/** `--role relay`: listens on its address, forks `processes - 1` more relays given the listener. */
function relayRole(address: string, processes: number): void {
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true });
  server.listen({ host: address, port: A.port, backlog: 4096 }, () => {
    relay(server);
    const kids: ChildProcess[] = [];
    let ready = 0;
    const done = (): void => {
      if (++ready === processes) process.send!('ready');
    };
    for (let i = 1; i < processes; i++) {
      const kid = track(fork(here, ['--role', 'accept'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
      kids.push(kid);
      kid.once('message', done);
      kid.send('listener', server);
    }
    // Asked how many connections each process accepted: its own count, then its relays'.
    process.on('message', (m) => {
      if (m !== 'count') return;
      const counts: number[] = [accepted];
      if (kids.length === 0) return void process.send!(counts);
      for (const k of kids) {
        k.once('message', (n) => {
          counts.push(n as number);
          if (counts.length === processes) process.send!(counts);
        });
        k.send('count');
      }
    });
    // Gone with the benchmark, whichever way it ends.
    const quit = (): never => {
      for (const k of kids) k.kill('SIGTERM');
      process.exit(0);
    };
    process.on('SIGTERM', quit);
    process.on('disconnect', quit);
    done();
  });
}

async function main(): Promise<void> {
  if (values.role === 'backend') {
    await backend(A.backend, A.port, A.health);
    return void process.send!('ready');
  }
  if (values.role === 'relay') return relayRole(values.processes === '2' ? A.two : A.one, Number(values.processes));
  if (values.role === 'accept') {
    process.once('message', (_m, listener) => {
      // A server of its own on the listener's socket: the one the message brings has default options.
      const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true });
      server.listen(listener as Server, () => {
        relay(server);
        process.send!('ready');
        process.on('message', (m) => {
          if (m === 'count') process.send!(accepted);
        });
      });
    });
    process.on('SIGTERM', () => process.exit(0));
    process.on('disconnect', () => process.exit(0));
    return;
  }
  const ROUNDS = Number(values.rounds);
  const SECONDS = Number(values.seconds);
  const MB = Number(values.mb);
  console.log(`bench:relay-processes ${new Date().toISOString()}, ${sh('nproc')} cores, load average ${load()}`);
  console.log(`a relay built like layer 1's TCP relay, one process and two sharing the listener; ${ROUNDS} rounds, interleaved, best round of each`);
  const procs: ChildProcess[] = [];
  const started = (args: string[]): Promise<ChildProcess> => {
    const p = track(fork(here, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    procs.push(p);
    return new Promise((resolve, reject) => {
      p.once('message', () => resolve(p));
      p.once('exit', (code) => reject(new Error(`${args.join(' ')} exited at start (code ${code})`)));
    });
  };
  const counts = (p: ChildProcess): Promise<number[]> =>
    new Promise((resolve) => {
      p.once('message', (c) => resolve(c as number[]));
      p.send('count');
    });
  let two: ChildProcess | undefined;
  let shares = '';
  const best: Record<string, number> = {};
  const keep = (k: string, v: number): void => {
    best[k] = Math.max(best[k] ?? 0, v);
  };
  try {
    await started(['--role', 'backend']);
    await waitHttp(`http://${A.backend}:${A.health}/health`);
    await started(['--role', 'relay', '--processes', '1']);
    two = await started(['--role', 'relay', '--processes', '2']);
    const candidates: Array<{ key: string; target: Target }> = [
      { key: 'direct', target: { address: A.backend, port: A.port } },
      { key: '1 process', target: { address: A.one, port: A.port } },
      { key: '2 processes', target: { address: A.two, port: A.port } },
    ];
    for (let r = 0; r < ROUNDS; r++) {
      const order = rotate(candidates, r);
      for (const c of order) {
        const res = await connLoad(c.target, SECONDS);
        console.log(`  round ${r + 1} TCP connections/s   ${c.key.padEnd(11)} ${fmt(res.perSecond).padStart(9)}${res.failed ? ` (${res.failed} failed)` : ''}`);
        keep(`conn ${c.key}`, res.failed ? 0 : res.perSecond);
        await sleep(1000);
      }
      for (const c of order) {
        const mbps = await tcpLoad(c.target, A.client, MB);
        console.log(`  round ${r + 1} TCP MB/s (4 streams) ${c.key.padEnd(11)} ${fmt(mbps).padStart(9)}`);
        keep(`mbps ${c.key}`, mbps);
        await sleep(500);
      }
    }
    const c = await counts(two);
    shares = `connections each of the 2 processes accepted: ${c.map(fmt).join(' and ')}`;
  } finally {
    await Promise.all(procs.map((p) => stop(p)));
  }
  const f = (k: string): string => fmt(best[k]!);
  const x = (a: string, b: string): string => `${(best[a]! / best[b]!).toFixed(2)}×`;
  console.log('best round:');
  console.log(`  connections/s: 1 process ${f('conn 1 process')}, 2 processes ${f('conn 2 processes')} (${x('conn 2 processes', 'conn 1 process')}); direct ${f('conn direct')}`);
  console.log(`  MB/s:          1 process ${f('mbps 1 process')}, 2 processes ${f('mbps 2 processes')} (${x('mbps 2 processes', 'mbps 1 process')}); direct ${f('mbps direct')}`);
  console.log(`  ${shares}`);
  console.log(`load average at the end ${load()}`);
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
