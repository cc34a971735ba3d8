import { ProfileStore } from '../../layer2/profiles/store.js';

/**
 * A profile writer in its own process, for the store's concurrency and crash tests:
 *   node dist/test/helpers/store-writer.js <path> <origin> <count|forever>
 * Records one class outcome per event and prints `ack <n>` once each event is committed.
 */
const [path, origin, howMany] = process.argv.slice(2) as [string, string, string];
const store = ProfileStore.open(path, { origin });
const total = howMany === 'forever' ? Infinity : Number(howMany);
let acked = 0;
let inFlight = 0;
function pump(): void {
  while (inFlight < 50 && acked + inFlight < total) {
    inFlight++;
    store
      .record([{ o: 'cls', key: 'sip/test', t: 'proxy', ok: true, ms: 1, src: origin, at: Date.now() }])
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
}
pump();
