import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { buildConnect, buildFacilityForward, buildSetup, endpointType, setupOf } from '../../layer2/h323/builder.js';
import { dialledDigits, h323Id, transportAddress } from '../../layer2/h323/h225.js';
import { decodeH323, encodeH323 } from '../../layer2/h323/message.js';
import { decodeQ931 } from '../../layer2/h323/q931.js';
import { buildGcf, buildGrq, decodeRas, encodeRas } from '../../layer2/h323/ras.js';
import { TpktFramer, tpkt } from '../../layer2/h323/tpkt.js';
import { identifyH323 } from '../../layer2/h323/vendor.js';
import { classChain } from '../../layer2/identify.js';
import { H323Mcu } from '../sim/h323-mcu.js';
import { H323Endpoint, runLoad } from '../sim/h323-endpoint.js';

/**
 * H.323 codec figures: Setup decode (+ identification) and encode per second, Facility forward
 * built from a Setup, RAS, TPKT framing throughput; with --calls, calls per second between the
 * simulators on loopback (the ceiling the simulators put on end-to-end runs).
 *
 *   node dist/scripts/bench/h323.js [--seconds 1] [--calls] [--rates 500,1000,2000] [--address 127.0.6.1]
 */
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '1' },
    calls: { type: 'boolean', default: false },
    rates: { type: 'string', default: '500,1000,2000,3000' },
    'call-seconds': { type: 'string', default: '5' },
    address: { type: 'string', default: '127.0.6.1' },
  },
});
const SECONDS = Number(values.seconds);

let sink = 0;

function bench(name: string, f: () => unknown, unit = 'ops'): number {
  for (let i = 0; i < 2000; i++) f();
  let n = 0;
  const t0 = performance.now();
  const until = t0 + SECONDS * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < 200; i++) {
      if (f()) sink++;
    }
    n += 200;
  }
  const rate = (n * 1000) / (performance.now() - t0);
  console.log(`  ${name.padEnd(52)} ${Math.round(rate).toLocaleString('en-US').padStart(12)} ${unit}/s  (${(1e6 / rate).toFixed(2)} µs each)`);
  return rate;
}

const setupMsg = buildSetup({
  callReference: 4711,
  identity: { t35CountryCode: 181, t35Extension: 0, manufacturerCode: 20560, productId: 'Polycom HDX 8000 HD', versionId: 'Release 3.1.2-12345' },
  sourceAliases: [h323Id('Room A'), dialledDigits('5551234')],
  destinationAliases: [dialledDigits('8001')],
  calledNumber: '8001',
  display: 'Room A',
  sourceCallSignalAddress: transportAddress('10.1.1.2', 1720),
  fastStart: [Buffer.from('00000006040100', 'hex'), Buffer.from('00000006040100', 'hex')],
});
const setupBytes = encodeH323(setupMsg);
const connectBytes = encodeH323(buildConnect(setupMsg, { h245Address: transportAddress('192.0.2.1', 30000) }));
const et = endpointType({ t35CountryCode: 181, t35Extension: 0, manufacturerCode: 18 });
const grq = buildGrq({ requestSeqNum: 1, rasAddress: transportAddress('10.1.1.2', 1719), endpointType: et, aliases: [h323Id('room')] });
const gcfBytes = encodeRas(buildGcf(grq, { rasAddress: transportAddress('192.0.2.1', 1719), alternates: [{ ip: '192.0.2.10', port: 1719 }] }));

async function main(): Promise<void> {
  console.log(`H.323 codec benchmark (${SECONDS} s per case, Node ${process.version}); Setup ${setupBytes.length} octets, Connect ${connectBytes.length}, GCF ${gcfBytes.length}`);
  bench('Q.931 decode of a Setup (header and IEs only)', () => decodeQ931(setupBytes).ies.length);
  bench('Setup decode (Q.931 + H.225 PER)', () => decodeH323(setupBytes).uu !== undefined);
  bench('Setup decode + identify + class chain', () => classChain(identifyH323(setupOf(decodeH323(setupBytes))?.sourceInfo.vendor)).length);
  const decoded = decodeH323(setupBytes);
  bench('Setup encode (from decoded value)', () => encodeH323(decoded).length);
  bench('Connect decode', () => decodeH323(connectBytes).uu !== undefined);
  const target = transportAddress('192.0.2.7', 1720);
  bench('Facility callForwarded built from a Setup and encoded', () => encodeH323(buildFacilityForward(decoded, target)).length);
  bench('RAS GCF decode', () => decodeRas(gcfBytes).choice.length);
  bench('RAS GCF encode', () => encodeRas(decodeRas(gcfBytes)).length);

  const stream = Buffer.concat(Array.from({ length: 200 }, (_, i) => tpkt(i % 2 ? connectBytes : setupBytes)));
  const chunks: Buffer[] = [];
  for (let i = 0; i < stream.length; i += 1400) chunks.push(stream.subarray(i, i + 1400));
  const framed = bench('TPKT framing, 200 messages in 1400-octet segments', () => {
    const f = new TpktFramer();
    let n = 0;
    for (const c of chunks) {
      f.push(c);
      for (let it = f.next(); it; it = f.next()) n++;
    }
    return n === 200;
  }, 'streams');
  console.log(`  ${'  = messages framed'.padEnd(52)} ${Math.round(framed * 200).toLocaleString('en-US').padStart(12)} msgs/s, ${((framed * stream.length) / 1e6).toFixed(0)} MB/s`);

  if (values.calls) await calls();
  if (sink < 0) console.log(sink);
}

async function calls(): Promise<void> {
  const rates = values.rates!.split(',').map(Number);
  const secs = Number(values['call-seconds']);
  const mcu = new H323Mcu({ address: values.address!, port: 0 });
  await mcu.start();
  console.log(`\ncalls between the simulators on loopback (${values.address}), ${secs} s per rate:`);
  try {
    for (const rate of rates) {
      const ep = new H323Endpoint({ host: values.address!, port: mcu.port, destinationAliases: [h323Id('room')] });
      const r = await runLoad(ep, { rate, max: rate * secs, concurrency: rate * 2 });
      ep.close();
      console.log(`  ${String(rate).padStart(5)} calls/s offered → ${r.succeeded} ok, ${r.failed} failed, ${r.callsPerSecond} calls/s; setup ms p50 ${r.setupMs.p50} p95 ${r.setupMs.p95} max ${r.setupMs.max}`);
      await new Promise((res) => setTimeout(res, 1000));
    }
  } finally {
    await mcu.close();
  }
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
