import t from 'tap';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { startStack, type Stack } from '../helpers/stack.js';
import { requireTool, tempDir, waitFor } from '../helpers/procs.js';

// The join page in a real browser: headless Chromium (Debian's) against one POP on 127.0.16.0/24.
const WEB = 'http://127.0.16.1:18480';
const YAML = `
pop: ams
wellKnown: { address: 127.0.16.1, sip: 15470 }
pops: [ { name: ams, region: eu, web: "${WEB}" } ]
connectors:
  - { name: a, pop: ams, address: 127.0.16.1, workers: 1, ports: { sip: 25460, health: 18481 } }
servers:
  - { name: ams-1, pop: ams, address: 127.0.16.11, sipPort: 5090, probe: none }
geo: { rules: [ { pop: ams } ] }
profiles: { path: profiles }
admin: { port: 9480, token: "0123456789abcdef0123" }
web: { port: 18480 }
meetings: [ { name: board } ]
`;

let stack: Stack;
t.before(async () => {
  stack = await startStack(YAML, { layer1: false });
  await waitFor(`web listener ${WEB}`, async () => (await fetch(`${WEB}/health`)).status === 200);
});
t.teardown(() => stack?.stop());

t.test('headless Chromium: the join page renders, its links carry the chosen server, a screenshot is written', async (t) => {
  const executablePath = requireTool('chromium');
  const dir = tempDir('browser');
  let ctx: BrowserContext | undefined;
  t.teardown(() => ctx?.close());
  // Without the background-networking flags Chromium keeps trying hosts a closed network refuses.
  ctx = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await ctx.newPage();
  const res = await page.goto(`${WEB}/join/board`);
  t.equal(res?.status(), 200);
  t.equal(await page.textContent('#meeting'), 'board');
  for (const way of ['web', 'sip', 'h323']) {
    const link = page.locator(`#join-${way}`);
    const server = await link.getAttribute('data-server');
    const href = (await link.getAttribute('href')) ?? '';
    t.equal(server, 'ams-1', `${way}: the server chosen for a browser on loopback (geo rule: ams)`);
    t.ok(href.includes(way === 'h323' ? `%2B${server}@` : `vcp-srv=${server}`), `${way}: the link names ${server}: ${href}`);
  }
  const shot = join(dir, 'join.png');
  await page.screenshot({ path: shot, fullPage: true });
  const png = readFileSync(shot);
  t.same([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
  const size = statSync(shot).size;
  t.ok(size > 5_000 && size < 5_000_000, `a plausible size (${size} octets)`);
  t.equal(png.readUInt32BE(16), 1280, 'the viewport width');
  await page.click('#join-web');
  await page.waitForSelector('#joined');
  t.equal(await page.getAttribute('#joined', 'data-server'), 'ams-1', 'the browser link leads to the meeting on the server it named');
  t.match(page.url(), /\/meet\/board\?vcp-token=[0-9a-f]{16}&vcp-srv=ams-1$/);
});
