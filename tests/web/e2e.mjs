// End-to-end tests of todod's pages in a real browser: Debian's chromium (/usr/bin/chromium)
// driven by playwright-core, against a real todod on a fresh SQLite file.
//
//   TODO_BIN_DIR=build/bin node tests/web/e2e.mjs
//
// Environment: TODO_BIN_DIR (todod's folder, required), TODO_WEB (the pages; default: web/
// of this source tree), TODO_ARTIFACTS (where screenshots go; default: ./artifacts),
// TODO_CHROMIUM (default /usr/bin/chromium). Exits non-zero when a test fails.
//
// A developer adds, edits, completes and removes tasks through the page while a manager's
// dashboard is open beside it: each change must show in the dashboard's change log within
// 2 seconds, without a reload. The dashboard has no write controls; a bad token gets a
// clear message; stopping the server shows "Reconnecting"; the dashboard downloads a snapshot.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const binDir = process.env.TODO_BIN_DIR;
if (!binDir) {
  console.error('e2e: set TODO_BIN_DIR to the folder holding todod');
  process.exit(2);
}
const webDir = process.env.TODO_WEB ?? resolve(here, '..', '..', 'web');
const artifacts = resolve(process.env.TODO_ARTIFACTS ?? 'artifacts');
const chromiumPath = process.env.TODO_CHROMIUM ?? '/usr/bin/chromium';
// The requirement: a change shows on the dashboard within this long.
const kLive = 2000;

const work = mkdtempSync(join(tmpdir(), 'todo-e2e-'));
const db = `sqlite:${join(work, 'todo.db')}`;
let server = null;
let url = '';
let browser = null;
let tokens = {};

function addUser(name, role) {
  return execFileSync(join(binDir, 'todod'), ['user', 'add', name, '--role', role, '--db', db], {
    encoding: 'utf8',
  }).trim();
}

// Starts todod on a free port; resolves to its URL once it listens.
function startServer() {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(join(binDir, 'todod'), ['serve', '--listen', '127.0.0.1:0', '--db', db,
      '--threads', '2', '--web', webDir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => reject(new Error(`todod did not start:\n${log}`)), 60000);
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const m = /todod: listening on (http:\/\/\S+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolvePromise({ child, url: m[1], log: () => log });
      }
    });
    child.on('exit', (code) => reject(new Error(`todod exited (${code}):\n${log}`)));
  });
}

function stopServer() {
  if (!server) return Promise.resolve(0);
  const { child } = server;
  server = null;
  return new Promise((resolvePromise) => {
    child.removeAllListeners('exit');
    child.on('exit', (code) => resolvePromise(code));
    child.kill('SIGTERM');
  });
}

async function signIn(page, path, token) {
  await page.goto(url + path);
  await page.getByLabel(/token/i).fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

// Waits until the dashboard's change log shows an entry of `kind` whose text is `text`.
async function seenOnDashboard(manager, kind, text, timeout = kLive) {
  await manager.locator(`#log li.${kind}`, { hasText: text }).first().waitFor({ timeout });
}

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  tokens = {
    alice: addUser('alice', 'developer'),
    bob: addUser('bob', 'developer'),
    boss: addUser('boss', 'manager'),
  };
  server = await startServer();
  url = server.url;
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-first-run'],
  });
});

after(async () => {
  if (browser) await browser.close();
  await stopServer();
  rmSync(work, { recursive: true, force: true });
});

test('a developer works through the page while the dashboard follows live', async () => {
  const managerContext = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const manager = await managerContext.newPage();
  await signIn(manager, '/manager', tokens.boss);
  await manager.locator('#live[data-state="live"]').waitFor({ timeout: 10000 });

  // A phone-sized developer page.
  const devContext = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const dev = await devContext.newPage();
  await signIn(dev, '/', tokens.alice);
  await dev.locator('#live[data-state="live"]').waitFor({ timeout: 10000 });

  // Add.
  await dev.getByLabel('New task').fill('buy milk');
  await dev.getByRole('button', { name: 'Add', exact: true }).click();
  await dev.locator('#tasks li', { hasText: 'buy milk' }).waitFor({ timeout: 5000 });
  await seenOnDashboard(manager, 'created', 'buy milk');
  // The developers' table follows too; then pick alice to see her tasks.
  await manager.locator('#users tr[data-user="alice"] td:nth-child(2)', { hasText: '1' })
    .waitFor({ timeout: 5000 });
  await manager.getByRole('button', { name: "Show alice's tasks" }).click();
  await manager.locator('#detail li', { hasText: 'buy milk' }).waitFor({ timeout: 5000 });

  // Edit, with the keyboard.
  await dev.getByRole('button', { name: 'Edit: buy milk' }).click();
  const editor = dev.getByLabel(/New text for task/);
  await editor.fill('buy oat milk');
  await editor.press('Enter');
  await dev.locator('#tasks li', { hasText: 'buy oat milk' }).waitFor({ timeout: 5000 });
  await seenOnDashboard(manager, 'edited', 'buy oat milk');
  await manager.locator('#detail li', { hasText: 'buy oat milk' }).waitFor({ timeout: 5000 });

  // Done: it leaves the open list; the dashboard counts it done.
  await dev.getByRole('checkbox', { name: 'Done: buy oat milk' }).check();
  await seenOnDashboard(manager, 'done', 'buy oat milk');
  await manager.locator('#users tr[data-user="alice"] td:nth-child(3)', { hasText: '1' })
    .waitFor({ timeout: 5000 });
  await dev.locator('#tasks li', { hasText: 'buy oat milk' }).waitFor({ state: 'detached', timeout: 5000 });

  // Remove it from the "all" view.
  await dev.getByLabel('All').check();
  await dev.locator('#tasks li.done', { hasText: 'buy oat milk' }).waitFor({ timeout: 5000 });
  await dev.getByRole('button', { name: 'Remove: buy oat milk' }).click();
  await seenOnDashboard(manager, 'removed', 'buy oat milk');
  await dev.locator('#tasks li', { hasText: 'buy oat milk' }).waitFor({ state: 'detached', timeout: 5000 });

  // Remove the two oldest of three.
  await dev.getByLabel('Open', { exact: true }).check();
  for (const text of ['first of three', 'second of three', 'third of three']) {
    await dev.getByLabel('New task').fill(text);
    await dev.getByLabel('New task').press('Enter');
    await dev.locator('#tasks li', { hasText: text }).waitFor({ timeout: 5000 });
  }
  await seenOnDashboard(manager, 'created', 'third of three');
  await dev.getByLabel('Remove the oldest open').fill('2');
  await dev.getByRole('button', { name: 'Remove oldest' }).click();
  await seenOnDashboard(manager, 'removed', 'first of three');
  await seenOnDashboard(manager, 'removed', 'second of three');
  await dev.locator('#tasks li', { hasText: 'first of three' }).waitFor({ state: 'detached', timeout: 5000 });
  assert.equal(await dev.locator('#tasks li').count(), 1);

  // Another client's change (bob, through the API) shows on the dashboard, not on alice's page.
  const response = await fetch(`${url}/v1/tasks`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${tokens.bob}` },
    body: JSON.stringify({ task: 'bob was here' }),
  });
  assert.equal(response.status, 201);
  await seenOnDashboard(manager, 'created', 'bob was here');
  // And a change alice makes elsewhere (the API) shows on her page without a reload.
  const elsewhere = await fetch(`${url}/v1/tasks`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${tokens.alice}` },
    body: JSON.stringify({ task: 'added from another client' }),
  });
  assert.equal(elsewhere.status, 201);
  await dev.locator('#tasks li', { hasText: 'added from another client' }).waitFor({ timeout: 5000 });
  assert.equal(await dev.locator('#tasks li', { hasText: 'bob was here' }).count(), 0);

  // Rejected input is explained.
  await dev.getByLabel('New task').fill('   ');
  await dev.getByRole('button', { name: 'Add', exact: true }).click();
  await dev.locator('#error', { hasText: 'Rejected' }).waitFor({ timeout: 5000 });

  await dev.screenshot({ path: join(artifacts, 'developer.png'), fullPage: true });
  await manager.screenshot({ path: join(artifacts, 'manager.png'), fullPage: true });

  // The dashboard is read-only: no inputs, forms or write buttons once signed in.
  const editable = await manager.locator('input:visible, textarea:visible, select:visible, [contenteditable="true"]').count();
  assert.equal(editable, 0, 'the dashboard has no input fields');
  assert.equal(await manager.locator('form:visible').count(), 0, 'the dashboard has no forms');
  const buttons = await manager.locator('button:visible').allTextContents();
  for (const label of buttons) {
    assert.doesNotMatch(label, /add|edit|remove|delete|save|done|undo|new/i, `write control "${label}"`);
  }

  // The snapshot download: fetched with the token in a header, saved as JSON lines holding
  // every user's open tasks, named after its change-log position.
  const [download] = await Promise.all([
    manager.waitForEvent('download', { timeout: 10000 }),
    manager.getByRole('button', { name: 'Download snapshot' }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^todo-snapshot-\d+\.ndjson$/);
  const saved = join(work, 'snapshot.ndjson');
  await download.saveAs(saved);
  const lines = readFileSync(saved, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line));
  assert.ok(Number.isInteger(lines[0].position) && lines[0].position > 0, 'a header with a position');
  assert.deepEqual(lines.at(-1), { end: { tasks: lines.length - 2 } });
  const texts = lines.slice(1, -1).map((task) => task.task);
  assert.ok(texts.includes('bob was here') && texts.includes('added from another client'), texts.join());
  assert.ok(!texts.includes('buy oat milk'), 'a removed task is not in the snapshot');

  // The server goes away: both pages say so.
  assert.equal(await stopServer(), 0);
  await manager.locator('#live[data-state="reconnecting"]').waitFor({ timeout: 10000 });
  await dev.locator('#live[data-state="reconnecting"]').waitFor({ timeout: 10000 });
  await manager.screenshot({ path: join(artifacts, 'manager-reconnecting.png'), fullPage: true });
  await managerContext.close();
  await devContext.close();
});

test('a bad token gets a clear message, on both pages', async () => {
  if (!server) {
    server = await startServer();
    url = server.url;
  }
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, '/manager', 'todo_not-a-real-token');
  const message = page.locator('#signin-error');
  await message.waitFor({ timeout: 10000 });
  assert.match(await message.textContent(), /not accepted/);
  await page.screenshot({ path: join(artifacts, 'bad-token.png'), fullPage: true });

  // A developer's token on the dashboard, and a manager's on the developer's page.
  await signIn(page, '/manager', tokens.alice);
  await page.locator('#signin-error', { hasText: /manager|only managers/i }).waitFor({ timeout: 10000 });
  await signIn(page, '/', tokens.boss);
  await page.locator('#signin-error', { hasText: /for developers/ }).waitFor({ timeout: 10000 });
  await context.close();
});

// Read-your-writes with a replica (todod --read-db): the page sends back the newest commit
// position a write answer gave it. This server is on SQLite (no positions), so the answers
// are given positions on their way to the page; the check is on what the page sends.
test('the page sends its newest write position back on its reads', async () => {
  if (!server) {
    server = await startServer();
    url = server.url;
  }
  const context = await browser.newContext();
  const page = await context.newPage();
  const positions = ['0/9', '0/10', '0/A'];  // 0/10 is the newest, though not as text
  const sent = [];
  await page.route('**/v1/tasks**', async (route) => {
    const request = route.request();
    if (request.method() === 'GET') sent.push(request.headers()['todo-min-position'] ?? null);
    const response = await route.fetch();
    const headers = { ...response.headers() };
    if (request.method() === 'POST') headers['todo-position'] = positions.shift() ?? '0/1';
    await route.fulfill({ response, headers });
  });
  await signIn(page, '/', tokens.alice);
  await page.locator('#live[data-state="live"]').waitFor({ timeout: 10000 });
  for (const text of ['first', 'second', 'third']) {
    await page.getByLabel('New task').fill(`position ${text}`);
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.locator('#tasks li', { hasText: `position ${text}` }).waitFor({ timeout: 5000 });
  }
  sent.length = 0;
  await page.reload();
  await page.locator('#tasks li', { hasText: 'position third' }).waitFor({ timeout: 10000 });
  assert.ok(sent.length > 0, 'the page read its tasks');
  assert.ok(sent.every((p) => p === '0/10'), `sent ${JSON.stringify(sent)}`);
  await context.close();
});
