// The live page (GET /) in Debian's headless Chromium, driven by npm playwright-core, against a 3-server local
// swarm that the Java test (LivePageBrowserTest) runs. Protocol with the Java side: this script prints "KILL" when
// it wants a server stopped and reads back "KILLED <address>" on stdin.
// Usage: node page-test.mjs PAGE_URL API_KEY SERVER_COUNT BLOCKS CHROMIUM MODULES_DIR
import assert from 'node:assert/strict';
import readline from 'node:readline';
import { createRequire } from 'node:module';

const [url, apiKey, serverCount, blocks, executablePath, modulesDir] = process.argv.slice(2);
const require = createRequire(modulesDir + '/');
const { chromium } = require('playwright-core');
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

const browser = await chromium.launch({
  executablePath, headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
}); // launch() gives Chromium a fresh, empty profile of its own (and refuses a --user-data-dir)
try {
  const page = await browser.newPage();
  page.on('pageerror', e => console.log('page error: ' + e.message));
  await page.goto(url);

  // With --api-key the status needs the key: the page says so until it is entered.
  await page.waitForFunction(() => document.getElementById('connection').textContent.includes('API key'), null, { timeout: 10000 });
  await page.fill('#api-key', apiKey);
  await page.press('#api-key', 'Tab'); // 'change' stores it
  console.log('key ok');

  // Every server, and full coverage.
  await page.waitForFunction(n => {
    const rows = [...document.querySelectorAll('#servers tbody tr')];
    return rows.length === n && rows.every(r => r.dataset.state === 'online')
      && document.getElementById('coverage').dataset.covered === 'true';
  }, Number(serverCount), { timeout: 10000 });
  assert.equal(await page.textContent('#coverage'), `all ${blocks} blocks covered`);
  assert.equal(await page.locator('#bar .seg').count(), Number(serverCount));
  assert.equal(await page.locator('#bar .cell.gap').count(), 0);
  const addresses = await page.$$eval('#servers tbody tr', rows => rows.map(r => r.dataset.address));
  console.log('servers ok: ' + addresses.join(' '));

  // The chat box streams: record the reply's length at each change, then send.
  await page.evaluate(() => {
    window.lengths = [];
    new MutationObserver(() => {
      const t = document.querySelector('#chat-log .assistant:last-child .text');
      if (t) window.lengths.push([performance.now(), t.textContent.length]);
    }).observe(document.getElementById('chat-log'), { subtree: true, childList: true, characterData: true });
  });
  await page.fill('#chat-max-tokens', '200');
  await page.fill('#chat-input', 'Tell me a story about a cat.');
  await page.click('#chat-send');
  await page.waitForSelector('#chat-log .assistant[data-done="true"]', { timeout: 60000 });
  const reply = await page.textContent('#chat-log .assistant .text');
  assert.ok(!(await page.locator('#chat-log .assistant.failed').count()), 'the chat failed: ' + reply);
  const lengths = await page.evaluate(() => window.lengths);
  const growth = lengths.filter(([, n], i) => n > 0 && (i === 0 || n > lengths[i - 1][1]));
  assert.ok(reply.length > 20, 'a reply: ' + JSON.stringify(reply));
  assert.ok(growth.length >= 3, `the reply grew in ${growth.length} steps, not streamed: ${JSON.stringify(lengths)}`);
  const spanMs = growth[growth.length - 1][0] - growth[0][0];
  console.log(`chat ok: ${reply.length} chars in ${growth.length} visible steps over ${spanMs.toFixed(0)} ms`);

  // A server stopped shows as gone, and its blocks as uncovered, within 10 s, without reloading.
  console.log('KILL');
  const answer = (await lines.next()).value;
  assert.match(answer, /^KILLED /);
  const killed = answer.substring('KILLED '.length).trim();
  const started = Date.now();
  await page.waitForFunction(a => {
    const row = document.querySelector(`#servers tbody tr[data-address="${a}"]`);
    return row && row.dataset.state === 'gone' && document.getElementById('coverage').dataset.covered === 'false';
  }, killed, { timeout: 10000 });
  const elapsed = Date.now() - started;
  const others = await page.$$eval('#servers tbody tr', rows => rows.filter(r => r.dataset.state === 'online').length);
  assert.equal(others, Number(serverCount) - 1);
  assert.ok((await page.textContent('#coverage')).startsWith('uncovered blocks: ['));
  assert.ok(await page.locator('#bar .cell.gap').count() > 0);
  console.log(`gone ok: ${killed} shown gone after ${elapsed} ms`);
  console.log('ALL OK');
} finally {
  await browser.close();
  process.stdin.destroy();
}
