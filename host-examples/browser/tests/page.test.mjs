// The browser page in real headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core), served from build/web (make web) by a static file server in this process.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFile, mkdir, writeFile, stat } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { extname, join, normalize } from 'node:path';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const site = join(root, 'build/web');
const output = fileURLToPath(new URL('../test-output/', import.meta.url));
const cli = join(root, 'target/release/snowyowl');
const scenario = join(root, 'tests/data/midnight-blizzard.ndjson');
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.ndjson': 'application/x-ndjson' };

let server;
let browser;
let page;
let base;
const consoleErrors = [];

before(async () => {
  await mkdir(output, { recursive: true });
  server = createServer(async (request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url, 'http://x').pathname));
    const file = join(site, path.endsWith('/') ? `${path}index.html` : path);
    try {
      const body = await readFile(file);
      response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
      response.end(body);
    } catch {
      response.writeHead(404).end('not found');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}/`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
  page.on('console', (message) => message.type() === 'error' && consoleErrors.push(message.text()));
  page.on('pageerror', (error) => consoleErrors.push(String(error)));
  await page.goto(base);
  await page.waitForSelector('body[data-ready=true]', { timeout: 60_000 });
});

after(async () => {
  await browser?.close();
  server?.close();
});

const scans = () => page.evaluate(() => window.snowyowl.scans);
async function waitForScan(previous) {
  await page.waitForFunction((n) => window.snowyowl.scans > n, previous, { timeout: 300_000 });
}
const detectorsShown = () =>
  page.$$eval('#findings tbody tr', (rows) => [...new Set(rows.map((r) => r.dataset.detector))]);

test('the bundled scenario shows the spray, the chain and the same findings as the CLI', async () => {
  const before = await scans();
  await page.click('#bundled');
  await waitForScan(before);
  const detectors = await detectorsShown();
  for (const d of ['distributed-password-spray', 'spray-then-success', 'oauth-high-privilege-grant', 'attack-chain']) {
    assert.ok(detectors.includes(d), `${d} not in ${detectors}`);
  }
  // The incident timeline has the five stages in order.
  const stages = await page.$$eval('figure.incident .stage', (groups) => groups.map((g) => g.getAttribute('class')));
  assert.deepEqual(stages.slice(0, 5), ['spray', 'compromised-account', 'oauth-foothold', 'privilege', 'mail-collection'].map((s) => `stage stage-${s}`));
  assert.ok((await page.$$('#graph .node-ip')).length > 0, 'IPs in the entity graph');
  assert.ok((await page.$$('#graph .node-mailbox')).length > 0, 'mailboxes in the entity graph');
  assert.equal(await page.textContent('#rejections'), 'None: every record was read.');

  const fromPage = (await page.evaluate(() => window.snowyowl.all)).sort();
  const fromCli = execFileSync(cli, ['scan', '--quiet', scenario], { maxBuffer: 64 << 20 }).toString().split('\n').filter(Boolean).sort();
  assert.equal(fromPage.length, fromCli.length);
  assert.deepEqual(fromPage, fromCli);
  await page.screenshot({ path: join(output, 'findings.png'), fullPage: true });
});

test('sorting and filtering the findings table', async () => {
  // By default: low and above, the most severe first, then the one that began first.
  assert.equal(await page.$eval('#severity-filter', (s) => s.value), '2');
  const order = await page.$$eval('#findings tbody tr td:first-child', (cells) => cells.map((c) => c.textContent));
  const rank = ['Critical', 'High', 'Medium', 'Low'];
  assert.deepEqual(order, [...order].sort((a, b) => rank.indexOf(a) - rank.indexOf(b)));
  assert.equal(order[0], 'Critical');
  await page.fill('#filter', 'svc-legacy-test');
  const rows = await page.$$eval('#findings tbody tr', (r) => r.length);
  assert.ok(rows > 0);
  const texts = await page.$$eval('#findings tbody tr', (r) => r.map((row) => row.dataset.detector));
  assert.ok(!texts.includes('distributed-password-spray') || texts.length > 0);
  await page.fill('#filter', '');
  await page.selectOption('#severity-filter', '5');
  const severities = await page.$$eval('#findings tbody tr td:first-child', (cells) => [...new Set(cells.map((c) => c.textContent))]);
  assert.deepEqual(severities, ['Critical']);
  await page.selectOption('#severity-filter', '0');
  await page.click('#findings th[data-key=time]');
  const times = await page.$$eval('#findings tbody td.time', (cells) => cells.map((c) => c.textContent));
  assert.deepEqual(times, [...times].sort().reverse());
});

test("a finding's detail shows its evidence events", async () => {
  await page.click('#findings tbody tr[data-detector=oauth-high-privilege-grant]');
  await page.waitForSelector('#detail:not([hidden]) #evidence details', { timeout: 60_000 });
  const evidence = await page.textContent('#evidence');
  assert.match(evidence, /7a708d54-2516-4d22-8457-a23e648232a9/);
  assert.match(await page.textContent('#ocsf'), /"class_uid": 2004/);
  await page.click('#evidence details summary');
  assert.match(await page.textContent('#evidence details pre'), /full_access_as_app|dc890d15-9560-4a4c-9b7f-a736ec74ec40/);
  await page.screenshot({ path: join(output, 'detail.png') });
  await page.click('#detail-close');
});

test('a threshold change re-scans, and a bad value is shown next to its field', async () => {
  await page.click('#settings-toggle');
  const field = '[data-path="detectors.distributed-password-spray.min_users"]';
  await page.fill(field, 'many');
  await page.waitForFunction(() => document.querySelector('#settings').dataset.valid === 'false');
  const error = await page.$eval(field, (input) => input.parentElement.querySelector('.field-error').textContent);
  assert.match(error, /invalid type|expected/);
  assert.equal(await page.isDisabled('#apply'), true);

  await page.fill(field, '100000');
  await page.waitForFunction(() => document.querySelector('#settings').dataset.valid === 'true');
  const before = await scans();
  await page.click('#apply');
  await waitForScan(before);
  const detectors = await detectorsShown();
  assert.ok(!detectors.includes('distributed-password-spray'), `${detectors}`);
  assert.ok(detectors.includes('oauth-high-privilege-grant'));
  await page.screenshot({ path: join(output, 'settings.png'), fullPage: true });

  await page.click('#reset');
  await page.waitForFunction(() => document.querySelector('#settings').dataset.valid === 'true');
  const again = await scans();
  await page.click('#apply');
  await waitForScan(again);
  assert.ok((await detectorsShown()).includes('distributed-password-spray'));
  await page.click('#settings-toggle');
});

test('a malformed file gets a clear message and the page keeps working', async () => {
  const broken = join(output, 'broken.json');
  await writeFile(broken, '\u0000\u0001 this is not a log export\n{"half": \n');
  const before = await scans();
  await page.setInputFiles('#files', broken);
  await waitForScan(before);
  const message = await page.textContent('#message');
  assert.match(message, /broken\.json: no Entra ID \/ M365 events found; 2 of 2 records rejected \(first: line 1: not-an-object: expected a JSON object, found text that is not JSON/);
  assert.match(await page.textContent('#rejection-counts'), /2 rejected/);
  const again = await scans();
  await page.click('#bundled');
  await waitForScan(again);
  assert.ok((await detectorsShown()).includes('attack-chain'));
  assert.equal(await page.isHidden('#message'), true);
});

test('a 100 MB export is scanned off the main thread with progress', async () => {
  const big = join(output, 'big.ndjson');
  const text = await readFile(scenario);
  const copies = Math.ceil((100 << 20) / text.length);
  await writeFile(big, Buffer.concat(Array.from({ length: copies }, () => text)));
  assert.ok((await stat(big)).size >= 100 << 20);
  const before = await scans();
  await page.setInputFiles('#files', big);
  // The page answers while the worker parses: the progress bar moves between 0 and 1.
  const seen = new Set();
  while ((await scans()) === before) {
    seen.add(await page.$eval('#progress', (p) => p.value));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok([...seen].some((v) => v > 0 && v < 1), `progress seen: ${[...seen]}`);
  const summary = await page.textContent('#summary');
  // Every record is read; the copies repeat event ids, so the detectors see each event once.
  const lines = text.toString().split('\n').filter(Boolean).length;
  assert.match(summary, new RegExp(`${(copies * lines).toLocaleString('en-US')} records`));
  const stats = await page.evaluate(() => window.snowyowl.stats);
  assert.ok(stats.duplicates > 0, 'the repeated event ids are recognised');
  assert.ok((await detectorsShown()).includes('attack-chain'));
  await page.screenshot({ path: join(output, 'big.png') });
});


test('a live page moves a quiet tenant on with live-idle, and leaves a busy one', async () => {
  // The worker API a page watching a live stream uses, in a worker of its own.
  const replies = await page.evaluate(async () => {
    const worker = new Worker(new URL('./worker.js', location.href), { type: 'module' });
    const ask = (message) =>
      new Promise((resolve) => {
        worker.onmessage = ({ data }) => data.type !== 'loaded' && resolve(data);
        worker.postMessage(message);
      });
    const signin = (tenant, user, minute, ip, code) =>
      JSON.stringify({
        id: `${tenant}-${user}-${minute}`,
        createdDateTime: `2024-01-15T10:0${minute}:00Z`,
        userPrincipalName: user,
        ipAddress: ip,
        tenantId: tenant,
        status: { errorCode: code },
      });
    const sprayed = (tenant) =>
      Array.from({ length: 8 }, (_, n) => signin(tenant, `user${n}@contoso.com`, n, '203.0.113.9', 50126)).join('\n');
    const replies = [];
    replies.push(await ask({ type: 'live', config: '' }));
    replies.push(await ask({ type: 'live-push', events: `${sprayed('quiet')}\n${sprayed('busy')}` }));
    replies.push(await ask({ type: 'live-idle', quietMs: 30 * 60_000 }));
    replies.push(await ask({ type: 'live-push', events: signin('busy', 'ann@contoso.com', 6, '198.51.100.7', 0) }));
    replies.push(await ask({ type: 'live-idle', quietMs: 30 * 60_000 }));
    replies.push(await ask({ type: 'live-stop' }));
    replies.push(await ask({ type: 'live-idle', quietMs: 1000 }));
    worker.terminate();
    return replies;
  });
  const found = (reply) =>
    reply.findings.map((text) => {
      const ocsf = JSON.parse(text);
      return `${ocsf.finding_info.analytic.uid} ${ocsf.cloud.account.uid}`;
    });
  const [started, pushed, bothBusy, sentOn, quietMoved, stopped, afterStop] = replies;
  assert.deepEqual(started, { type: 'live-findings', findings: [] });
  assert.equal(pushed.accepted, 16);
  // Held back by the allowed lateness; then both took events since the engine started.
  assert.deepEqual(found(pushed), []);
  assert.deepEqual(found(bothBusy), []);
  assert.equal(sentOn.accepted, 1);
  // A whole period later only the quiet tenant has moved on, and its spray comes out.
  assert.ok(quietMoved.findings.length > 0);
  assert.deepEqual([...new Set(found(quietMoved))], ['password-spray quiet']);
  // The busy one's spray comes out when the stream ends.
  assert.ok(found(stopped).includes('password-spray busy'), JSON.stringify(found(stopped)));
  assert.equal(stopped.stopped, true);
  assert.equal(afterStop.type, 'error');
  assert.match(afterStop.message, /no live stream/);
});

test('no errors in the console', () => {
  assert.deepEqual(consoleErrors, []);
});
