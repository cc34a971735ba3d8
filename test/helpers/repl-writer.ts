import { ProfileStore } from '../../layer2/profiles/store.js';

/**
 * A profile writer with the replication outbox, in its own process (a stand-in for a connector worker):
 *   node dist/test/helpers/repl-writer.js <path> <origin> <count> [perSecond] [holdAt]
 * Event i records one outcome of technique proxy for class `sip/<host>` (failed every third) and one
 * for server `s-<host>` on network `p4:198.51.100.0/24`; prints `ack <i>` once it is committed.
 * `perSecond` paces the writes (default, or 0: as fast as the store takes them); with `holdAt` it
 * stops after that many events until it gets SIGUSR2, so that a test can act while some are still unwritten.
 */
const [path, origin, howMany, rate, holdAtArg] = process.argv.slice(2) as [string, string, string, string | undefined, string | undefined];
const holdAt = holdAtArg ? Number(holdAtArg) : Infinity;
let held = holdAt < Infinity;
// A signal handler alone does not keep the process alive while it waits.
const keepAlive = held ? setInterval(() => undefined, 1000) : undefined;
process.on('SIGUSR2', () => {
  if (!held) return;
  held = false;
  clearInterval(keepAlive);
  pump();
});
const host = origin.split('/')[0]!;
const store = ProfileStore.open(path, { origin, outbox: true });
const total = Number(howMany);
const gapMs = rate && Number(rate) > 0 ? 1000 / Number(rate) : 0;
let acked = 0;
let issued = 0;
let inFlight = 0;
const t0 = Date.now();

function write(i: number): void {
  inFlight++;
  const at = Date.now();
  store
    .record([
      { o: 'cls', key: `sip/${host}`, t: 'proxy', ok: i % 3 !== 0, ms: i % 50, src: host, at },
      { o: 'srv', key: 'p4:198.51.100.0/24', server: `s-${host}`, ok: i % 3 !== 0, ms: i % 50, at },
    ])
    .then(() => {
      inFlight--;
      acked++;
      process.stdout.write(`ack ${acked}\n`);
      if (acked >= total) void store.close().then(() => process.exit(0));
      else pump();
    }, (err: unknown) => {
      process.stderr.write(`write failed: ${String(err)}\n`);
      process.exit(2);
    });
}

function pump(): void {
  while (inFlight < 50 && issued < total) {
    if (held && issued >= holdAt) return;
    if (gapMs > 0 && Date.now() - t0 < issued * gapMs) {
      setTimeout(pump, Math.max(1, t0 + issued * gapMs - Date.now()));
      return;
    }
    write(++issued);
  }
}
pump();
