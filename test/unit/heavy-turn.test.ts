import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lightDir } from '../helpers/guard.js';
import { heavyTurn } from '../helpers/heavy.js';
import { dist } from '../helpers/paths.js';

// The heavy labs of the system tier take turns: a second one waits while the first one's process
// holds the turn, and goes as soon as it is released or its holder is gone.

/** Asks for the turn in this process: what it said while waiting, whether it has the turn yet, and its release. */
function ask(lock: string): { lines: string[]; got: () => boolean; turn: Promise<() => void> } {
  const lines: string[] = [];
  let got = false;
  const turn = heavyTurn('mine', (l) => lines.push(l), lock).then((release) => {
    got = true;
    return release;
  });
  return { lines, got: () => got, turn };
}

t.test('one turn at a time; a holder that is gone does not count', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vcp-turn-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const lock = join(dir, 'turn.lock');
  // Another test process takes the turn and keeps it until its stdin closes.
  const holderScript = join(dir, 'holder.mjs');
  writeFileSync(holderScript, `
import { heavyTurn } from ${JSON.stringify(dist('test/helpers/heavy.js'))};
await heavyTurn('holder', () => undefined, ${JSON.stringify(lock)});
process.stdout.write('held\\n');
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
`);
  const holder = spawn(process.execPath, [holderScript], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => holder.kill('SIGKILL'));
  await new Promise<void>((resolve) => holder.stdout.on('data', (b: Buffer) => b.toString().includes('held') && resolve()));
  const { lines, got, turn: mine } = ask(lock);
  await new Promise((r) => setTimeout(r, 1200));
  t.notOk(got(), 'no turn while the other process holds it');
  t.match(lines.join('\n'), /mine: waiting for the heavy lab of process \d+/, 'the wait is said once');
  holder.kill('SIGKILL');
  const release = await mine;
  t.ok(got(), 'the turn comes once its holder is gone (killed without releasing)');
  release();
  const again = await heavyTurn('again', () => undefined, lock);
  t.pass('released: the next one takes it at once');
  again();
});

t.test('a heavy lab runs alone: it waits for the files already running beside it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vcp-turn-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const lock = join(dir, 'turn.lock');
  // Another test file, running: its pid in the folder of the files running beside the heavy labs.
  const other = spawn(process.execPath, ['-e', 'process.stdin.resume()'], { stdio: ['pipe', 'ignore', 'inherit'] });
  t.teardown(() => other.kill('SIGKILL'));
  mkdirSync(lightDir(lock), { recursive: true });
  writeFileSync(join(lightDir(lock), String(other.pid)), '');
  const { lines, got, turn: mine } = ask(lock);
  await new Promise((r) => setTimeout(r, 1000));
  t.notOk(got(), 'no turn while another file runs');
  t.match(lines.join('\n'), new RegExp(`mine: waiting for the test files running beside it to end \\(processes ${other.pid}\\)`), 'the wait is said');
  other.kill('SIGKILL');
  const release = await mine;
  t.ok(got(), 'the turn comes once that file has ended');
  release();
});
