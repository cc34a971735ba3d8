import t from 'tap';
import { FlowTable } from '../../layer1/flow-table.js';
import { INITIAL_HEALTH, observe, type HealthState } from '../../layer1/health-state.js';
import { clientHash, hashString, memberSeed, pick, rank, score, type Candidate } from '../../layer1/pick.js';

/**
 * A deliberately plain byte-wise murmur3_x86_32 (from the algorithm's description), to check that
 * the picker's hash is the standard one: what makes two hosts agree is that the hash is a published
 * function of the bytes, not of anything in the process.
 */
function murmur3Reference(bytes: Uint8Array, seed: number): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const rotl = (x: number, r: number): number => ((x << r) | (x >>> (32 - r))) >>> 0;
  let h = seed >>> 0;
  const blocks = Math.floor(bytes.length / 4);
  for (let b = 0; b < blocks; b++) {
    const i = b * 4;
    let k = (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)) >>> 0;
    k = Math.imul(k, c1) >>> 0;
    k = rotl(k, 15);
    k = Math.imul(k, c2) >>> 0;
    h = (h ^ k) >>> 0;
    h = rotl(h, 13);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  }
  const tail = blocks * 4;
  const rest = bytes.length & 3;
  if (rest > 0) {
    let k = 0;
    for (let i = rest - 1; i >= 0; i--) k = (k << 8) | bytes[tail + i]!;
    k = Math.imul(k >>> 0, c1) >>> 0;
    k = rotl(k, 15);
    k = Math.imul(k, c2) >>> 0;
    h = (h ^ k) >>> 0;
  }
  h = (h ^ bytes.length) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

const members = (n: number, prefix = 'c'): Candidate[] => Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i + 1}/0`, seed: memberSeed(`${prefix}${i + 1}/0`) }));
const all = (): boolean => true;

/** Client keys as layer 1 sees them: many addresses, a few ports each. Deterministic, so the bounds below cannot flake. */
const clients = (n: number): number[] => Array.from({ length: n }, (_, i) => clientHash(`10.${(i >> 12) & 255}.${(i >> 4) & 255}.${(i & 15) + 1}`, 5060 + (i % 7)));

/** Pearson's chi-square statistic of counts against a uniform expectation. */
function chiSquare(counts: number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
}
/** Upper 0.1 % points of chi-square by degrees of freedom. */
const CHI_999: Record<number, number> = { 1: 10.83, 2: 13.82, 3: 16.27, 4: 18.47, 5: 20.52, 7: 24.32 };

t.test('the hash is murmur3_x86_32 of the UTF-16LE bytes', async (t) => {
  const enc = new TextEncoder();
  // Published vectors of murmur3_x86_32, to check the reference itself.
  t.equal(murmur3Reference(new Uint8Array(0), 0), 0);
  t.equal(murmur3Reference(new Uint8Array(0), 1), 0x514e28b7);
  t.equal(murmur3Reference(new Uint8Array([0, 0, 0, 0]), 0), 0x2362f9de);
  t.equal(murmur3Reference(enc.encode('aaaa'), 0x9747b28c), 0x5a97808a);
  t.equal(murmur3Reference(enc.encode('abc'), 0), 0xb3dd93fa);
  t.equal(murmur3Reference(enc.encode('Hello, world!'), 0x9747b28c), 0x24884cba);
  for (const s of ['', 'a', 'ab', 'abc', 'c1/0', '192.0.2.10', '2001:db8::1', 'ünïcödé', 'a much longer member identifier/17']) {
    for (const seed of [0, 1, 0x9747b28c]) t.equal(hashString(s, seed), murmur3Reference(Buffer.from(s, 'utf16le'), seed), `"${s}" seed ${seed}`);
  }
});

t.test('picking is deterministic: fixed answers that every host and version must give', async (t) => {
  // Pinned: a change here means two layer-1 hosts of different versions would disagree.
  t.equal(memberSeed('c1/0'), hashString('c1/0', 0x9747b28c));
  const ms = members(4);
  const picks = [
    ['192.0.2.10', 5060],
    ['192.0.2.10', 5061],
    ['198.51.100.7', 40000],
    ['2001:db8::42', 5060],
  ].map(([a, p]) => pick(ms, clientHash(a as string, p as number), all)!.id);
  t.same(picks, GOLDEN_PICKS);
  // The same inputs give the same order however the member list is ordered.
  const key = clientHash('203.0.113.5', 12345);
  const forward = rank(ms, key, all).map((m) => m.id);
  const backward = rank([...ms].reverse(), key, all).map((m) => m.id);
  t.same(backward, forward);
  t.equal(forward.length, 4);
  t.equal(pick(ms, key, all)!.id, forward[0], 'pick is the head of rank');
});

t.test('spread over members: chi-square within the 0.1 % bound on 10,000 clients', async (t) => {
  const keys = clients(10_000);
  for (const n of [2, 3, 5, 8]) {
    const ms = members(n);
    const counts = new Map(ms.map((m) => [m.id, 0]));
    for (const k of keys) {
      const id = pick(ms, k, all)!.id;
      counts.set(id, counts.get(id)! + 1);
    }
    const chi = chiSquare([...counts.values()]);
    t.ok(chi < CHI_999[n - 1]!, `${n} members: ${[...counts.values()].join('/')} (chi² ${chi.toFixed(2)})`);
  }
});

t.test('a member leaving moves only its own clients, spread over the others', async (t) => {
  const keys = clients(10_000);
  const ms = members(5);
  const before = keys.map((k) => pick(ms, k, all)!.id);
  const gone = 'c3/0';
  const after = keys.map((k) => pick(ms, k, (m) => m.id !== gone)!.id);
  let moved = 0;
  const landed = new Map<string, number>();
  for (let i = 0; i < keys.length; i++) {
    if (before[i] === gone) {
      moved++;
      landed.set(after[i]!, (landed.get(after[i]!) ?? 0) + 1);
    } else if (after[i] !== before[i]) t.fail(`client ${i} moved from ${before[i]} to ${after[i]} although ${before[i]} stayed`);
  }
  t.ok(moved > 1500 && moved < 2500, `about a fifth of the clients belonged to ${gone} (${moved})`);
  t.equal(landed.size, 4, 'they spread over all four others');
  t.ok(chiSquare([...landed.values()]) < CHI_999[3]!, `evenly: ${[...landed.values()].join('/')}`);
  // Falling through the rank on failure reaches the same member as picking without the failed one.
  for (let i = 0; i < 500; i++) {
    const order = rank(ms, keys[i]!, all);
    t.equal(order.filter((m) => m.id !== gone)[0]!.id, after[i]);
  }
});

t.test('a member joining takes its share and nothing else moves', async (t) => {
  const keys = clients(10_000);
  const ms = members(4);
  const grown = [...ms, ...members(1, 'new')];
  let taken = 0;
  for (const k of keys) {
    const a = pick(ms, k, all)!.id;
    const b = pick(grown, k, all)!.id;
    if (b === 'new1/0') taken++;
    else if (a !== b) t.fail(`a client moved from ${a} to ${b}, not to the new member`);
  }
  t.ok(taken > 1500 && taken < 2500, `the new member took about a fifth (${taken})`);
});

t.test('rank filters, orders by score, breaks ties by id', async (t) => {
  const ms = members(6);
  const key = clientHash('192.0.2.99', 5060);
  const order = rank(ms, key, (m) => m.id !== 'c2/0');
  t.equal(order.length, 5);
  t.notOk(order.some((m) => m.id === 'c2/0'));
  for (let i = 1; i < order.length; i++) t.ok(score(order[i - 1]!.seed, key) >= score(order[i]!.seed, key), 'descending scores');
  t.equal(pick(ms, key, () => false), undefined, 'nothing accepted: no member');
  t.same(rank(ms, key, () => false), []);
  const twins: Candidate[] = [{ id: 'b', seed: 7 }, { id: 'a', seed: 7 }, { id: 'c', seed: 7 }];
  t.same(rank(twins, key, all).map((m) => m.id), ['a', 'b', 'c'], 'equal scores: by id');
  t.equal(pick(twins, key, all)!.id, 'a');
});

t.test('health: down until `rise` successes, up until `fall` failures', async (t) => {
  const rule = { fall: 3, rise: 2 };
  const run = (results: boolean[], from: HealthState = INITIAL_HEALTH): boolean[] => {
    let s = from;
    return results.map((ok) => (s = observe(s, ok, rule)).up);
  };
  t.equal(INITIAL_HEALTH.up, false, 'starts down');
  t.same(run([true, true]), [false, true], 'up after two successes');
  t.same(run([true, false, true, true]), [false, false, false, true], 'a failure restarts the count towards up');
  t.same(run([true, true, false, false, false]), [false, true, true, true, false], 'down after three failures');
  t.same(run([true, true, false, false, true, false, false, false]), [false, true, true, true, true, true, true, false], 'a success restarts the count towards down');
  t.same(run([false, false, false]), [false, false, false], 'failures while down change nothing');
  const steady = { up: true, run: 0 };
  t.equal(observe(steady, true, rule), steady, 'a success while up with no failures keeps the same state');
  t.same(observe({ up: false, run: 0 }, true, { fall: 1, rise: 1 }), { up: true, run: 0 }, 'rise 1: the first success is enough');
  t.same(observe({ up: true, run: 0 }, false, { fall: 1, rise: 1 }), { up: false, run: 0 }, 'fall 1: the first failure is enough');
});

t.test('flow table: lookup, bound, idle expiry', async (t) => {
  interface F {
    lastSeen: number;
    name: string;
  }
  const table = new FlowTable<F>(3);
  const a = { lastSeen: 100, name: 'a' };
  const b = { lastSeen: 200, name: 'b' };
  const c = { lastSeen: 300, name: 'c' };
  t.ok(table.add('192.0.2.1', 5060, a));
  t.ok(table.add('192.0.2.1', 5061, b), 'same address, another port: another flow');
  t.ok(table.add('192.0.2.2', 5060, c));
  t.equal(table.size, 3);
  t.ok(table.full);
  t.equal(table.get('192.0.2.1', 5061), b);
  t.equal(table.get('192.0.2.9', 5060), undefined);
  t.equal(table.get('192.0.2.1', 9), undefined);
  t.notOk(table.add('192.0.2.3', 5060, { lastSeen: 400, name: 'd' }), 'full: a new key is refused');
  t.equal(table.size, 3);
  const a2 = { lastSeen: 400, name: 'a2' };
  t.ok(table.add('192.0.2.1', 5060, a2), 'full: an existing key may be replaced');
  t.equal(table.size, 3);
  t.notOk(table.delete('192.0.2.1', 5060, a), 'delete of a flow that was replaced does nothing');
  t.ok(table.delete('192.0.2.1', 5060, a2));
  t.notOk(table.delete('192.0.2.1', 5060), 'already gone');
  t.equal(table.size, 2);
  t.notOk(table.full);

  const expired: string[] = [];
  t.equal(table.sweep(250, (f, address, port) => expired.push(`${f.name}@${address}:${port}`)), 1);
  t.same(expired, ['b@192.0.2.1:5061'], 'only the flow idle since before the cut-off');
  t.equal(table.size, 1);
  t.equal(table.get('192.0.2.1', 5061), undefined);
  c.lastSeen = 1000;
  t.equal(table.sweep(900, () => t.fail('c was touched')), 0, 'a touched flow stays');
  t.same([...table.entries()].map(([addr, port, f]) => `${f.name}@${addr}:${port}`), ['c@192.0.2.2:5060']);
  const cleared: string[] = [];
  table.clear((f) => cleared.push(f.name));
  t.same(cleared, ['c']);
  t.equal(table.size, 0);
  t.ok(table.add('192.0.2.4', 1, { lastSeen: 0, name: 'e' }), 'usable after clear');
});

const GOLDEN_PICKS = ['c2/0', 'c1/0', 'c1/0', 'c4/0'];
