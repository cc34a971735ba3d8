import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { labDir, sh, sleep, spawnQuiet, spawnRole, stop, waitHttp } from './lab.js';
import { applianceConfig, CONN, KAM, kamailioConfig, sippRun, sippUas, UAS, WK } from './sip-lab.js';

/**
 * SIP capacity: sipp UAC at rising call rates against (a) layer 2 alone, (b) layer 1 + layer 2 and
 * (c) Kamailio's dispatcher with a comparable stateful configuration (when `kamailio` is installed),
 * all in front of the same sipp UAS and driven with the same sipp flags. For each it prints the
 * highest rate with at most 0.1 % failed calls, and the ratio to Kamailio.
 *
 *   node dist/scripts/bench/sip.js [--duration 10] [--rates 500,1000,1500,2000,2500,3000] [--only a,b,c]
 */
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    rates: { type: 'string', default: '500,1000,1500,2000,2500,3000,3500' },
    only: { type: 'string', default: 'a,b,c' },
    workers: { type: 'string', default: '2' },
  },
});
const DURATION = Number(values.duration);
const RATES = values.rates!.split(',').map(Number);
const ONLY = new Set(values.only!.split(','));

async function ladder(name: string, target: string, basePort: number): Promise<number> {
  let best = 0;
  let i = 0;
  for (const rate of RATES) {
    const r = await sippRun(target, rate, DURATION, basePort + i++);
    const pct = (100 * r.failed) / (rate * DURATION);
    console.log(`  ${name}: ${rate} calls/s → ${r.ok} ok, ${r.failed} failed (${pct.toFixed(2)} %)`);
    if (pct <= 0.1) best = rate;
    else break;
    await sleep(1500);
  }
  return best;
}

async function main(): Promise<void> {
  if (!sh('command -v sipp')) throw new Error('sipp is not installed: ./scripts/install --test');
  const dir = labDir('vcp-bench-cfg-');
  const cfg = join(dir, 'bench.yaml');
  writeFileSync(cfg, applianceConfig(Number(values.workers)));
  console.log(`SIP benchmark: sipp -sn uac -t u1, ${DURATION} s per rate, rates ${RATES.join(', ')}; backend: sipp -sf scripts/sipp/uas-answer.xml; ${sh('nproc')} cores`);
  const uas = sippUas(dir);
  await sleep(500);
  const results: Record<string, number> = {};
  try {
    // Each of (a) and (b) gets a fresh connector, so that neither inherits the other's backlog.
    const withConnector = async (run: () => Promise<void>): Promise<void> => {
      const conn = spawnRole([here('../../layer2/main.js'), '--config', cfg]);
      try {
        await waitHttp(`http://${CONN}:18080/health`);
        await run();
      } finally {
        await stop(conn);
      }
    };
    if (ONLY.has('a')) {
      await withConnector(async () => {
        console.log('(a) layer 2 alone: sipp → connector worker 0 plain port → sipp UAS');
        results.a = await ladder('a', `${CONN}:25060`, 6000);
      });
    }
    if (ONLY.has('b')) {
      await withConnector(async () => {
        const l1 = spawnRole([here('../../layer1/main.js'), '--config', cfg]);
        try {
          // Layer 1 answers /health with 200 once a member passed its probes; one interval more for the rest.
          await waitHttp(`http://${WK}:9101/health`);
          await sleep(500);
          console.log('(b) layer 1 + layer 2: sipp → well-known address → layer 1 → connector → sipp UAS');
          results.b = await ladder('b', `${WK}:5060`, 6100);
        } finally {
          await stop(l1);
        }
      });
    }
    if (ONLY.has('c')) {
      const kam = sh('command -v kamailio');
      if (!kam) console.log('(c) kamailio is not installed: skipped (./scripts/install --test installs it)');
      else {
        const list = join(dir, 'dispatcher.list');
        writeFileSync(list, `1 sip:${UAS}:5060\n`);
        const kcfg = join(dir, 'kamailio.cfg');
        writeFileSync(kcfg, kamailioConfig(list));
        const k = spawnQuiet(kam, ['-f', kcfg, '-DD', '-E', '-m', '256', '-M', '32', '-Y', dir, '-P', join(dir, 'k.pid')]);
        await sleep(1500);
        if (k.exitCode !== null) throw new Error(`kamailio exited at start (code ${k.exitCode}); \`kamailio -c -f ${kcfg}\` shows why`);
        try {
          console.log('(c) Kamailio 4 children, dispatcher + tm (stateful), same sipp flags');
          results.c = await ladder('c', `${KAM}:5060`, 6200);
        } finally {
          await stop(k);
        }
      }
    }
  } finally {
    await stop(uas);
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('\nhighest rate with ≤ 0.1 % failed calls:');
  for (const k of ['a', 'b', 'c']) {
    if (results[k] === undefined) continue;
    const ratio = results.c ? ` (${(results[k]! / results.c).toFixed(2)}× Kamailio)` : '';
    console.log(`  (${k}) ${results[k]} calls/s${k === 'c' ? '' : ratio}`);
  }
  console.log(`JSON ${JSON.stringify(results)}`);
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
