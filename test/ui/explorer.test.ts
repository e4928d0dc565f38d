/**
 * The memory explorer in headless Chromium (Debian's `chromium`, driven by playwright-core): the
 * real server over an embedded engine fed with the example conversations. Skips where Chromium is
 * absent. Leaves screenshots in `test-artifacts/` (explorer.png is the main one).
 */
import test from 'ava';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Engine } from '../../apps/engine.js';
import { startServer, type RunningServer } from '../../apps/server/http.js';
import { uiPlugin } from '../../apps/ui/plugin.js';
import { scopeOf } from '../../core/scope.js';
import { SqliteApiKeys } from '../../infra/embedded/api-keys.js';
import { exampleEvents, openTestEngine, removeDir, tempDir } from '../helpers/engine.js';

/** Debian's package; another binary can be named with ENGRAM_CHROMIUM. */
const CHROMIUM = process.env.ENGRAM_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '../../test-artifacts');
const TENANT = 'acme';
const USER = 'alice';

const hasChromium = existsSync(CHROMIUM);
const browserTest = hasChromium ? test.serial : test.skip;

let dir = '';
let engine: Engine | undefined;
let keys: SqliteApiKeys | undefined;
let server: RunningServer | undefined;
let browser: Browser | undefined;
let apiKey = '';

test.before(async () => {
  if (!hasChromium) return;
  dir = tempDir();
  engine = await openTestEngine(dir);
  await engine.publish(exampleEvents());
  await engine.runUntilIdle();
  keys = SqliteApiKeys.inDataDir(dir);
  // Admin: the quarantine verdicts need the admin scope.
  apiKey = keys.create({ tenantId: TENANT, name: 'explorer-test', admin: true }).key;
  const e = engine;
  server = await startServer(e, {
    port: 0,
    host: '127.0.0.1',
    keys,
    background: () => e.runUntilIdle(),
    plugins: [uiPlugin()],
    rateLimit: false,
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
  mkdirSync(ARTIFACTS, { recursive: true });
});

test.after.always(async () => {
  await browser?.close();
  await server?.close();
  await engine?.close();
  keys?.close();
  if (dir) removeDir(dir);
});

const tid = (id: string): string => `[data-testid="${id}"]`;

/** What the test reads of the page's globals (the project has no DOM typings): `cy` is exposed by app.js. */
interface BrowserGlobals {
  localStorage: { getItem(key: string): string | null };
  cy?: { nodes(selector?: string): { length: number }; edges(selector?: string): { length: number } };
}

/** The texts of the example messages a user wrote or received: what a source quote may say. */
function exampleTexts(user: string): Set<string> {
  return new Set(exampleEvents().flatMap((e) => (e.userId === user && e.payload.type === 'MessagePosted' ? [e.payload.text] : [])));
}

async function newPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await (browser as Browser).newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(30_000);
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => {
    // The wrong-key step makes the browser log its 401: expected, everything else is not.
    if (msg.type() === 'error' && !/status of 401/.test(msg.text())) errors.push(msg.text());
  });
  return { page, errors };
}

const TITLE = 'explorer: key, user, timeline with a superseded memory, sources and history, graph, quarantine review';
const SKIPPED = ` (SKIPPED: ${CHROMIUM} is absent; install Debian's chromium: apt-get install chromium)`;

browserTest(hasChromium ? TITLE : TITLE + SKIPPED, async (t) => {
  const base = (server as RunningServer).url;
  const { page, errors } = await newPage();
  try {
    // `/ui` redirects to the page; it loads without a key and asks for one.
    await page.goto(`${base}/ui`);
    t.is(new URL(page.url()).pathname, '/ui/');
    t.regex((await page.textContent(tid('status'))) ?? '', /API key/);

    // A wrong key is refused with a readable message.
    await page.fill(tid('api-key'), 'egk_not-a-real-key');
    await page.click(tid('connect'));
    await page.waitForSelector(`${tid('status')}[data-kind="error"]`);
    t.regex((await page.textContent(tid('status'))) ?? '', /refused/);

    // The real key: the users of the tenant appear; pick alice.
    await page.fill(tid('api-key'), apiKey);
    await page.click(tid('connect'));
    await page.waitForSelector(`${tid('user-select')}:not([disabled])`);
    const users = await page.$$eval(`${tid('user-select')} option`, (os) => os.map((o) => (o as unknown as { value: string }).value));
    t.deepEqual([...users].sort(), ['alice', 'bob']);
    await page.selectOption(tid('user-select'), USER);
    await page.waitForSelector(`${tid('status')}[data-kind="ok"]`);
    t.regex((await page.textContent(tid('status'))) ?? '', /^alice: \d+ memories/);
    t.is(await page.evaluate(() => (globalThis as unknown as BrowserGlobals).localStorage.getItem('engram.apiKey')), apiKey);

    // The timeline holds every memory of alice, a superseded one among them, drawn as such.
    const memories = await (engine as Engine).memories(scopeOf(TENANT, USER), true);
    const rows = page.locator(tid('memory-row'));
    t.is(await rows.count(), memories.filter((m) => m.status !== 'forgotten').length);
    const superseded = page.locator(`${tid('memory-row')}[data-status="invalidated"]`, { has: page.locator(tid('status-badge'), { hasText: 'superseded' }) });
    t.true((await superseded.count()) >= 1, 'a superseded memory is on the timeline');
    const first = superseded.first();
    t.is(await first.locator('.tl-bar.status-invalidated').count(), 1, 'its validity bar is styled as invalid');
    const supersededId = (await first.getAttribute('data-id')) ?? '';
    const expected = memories.find((m) => m.memory.id === supersededId);
    t.truthy(expected?.invalidatedBy, 'the row is a memory another one replaced');

    // Open it: its source message is quoted, and its history shows the invalidation.
    await first.click();
    await page.waitForSelector(`${tid('memory-detail')}[data-id="${supersededId}"]`);
    t.is(await page.textContent(tid('memory-text')), expected?.memory.text ?? '');
    const quotes = await page.$$eval(tid('source-text'), (qs) => qs.map((q) => q.textContent ?? ''));
    t.true(quotes.length >= 1, 'at least one source is quoted');
    const said = exampleTexts(USER);
    for (const q of quotes) t.true(said.has(q), `quoted source is an example message: ${q}`);
    const history = await page.$$eval(tid('history-entry'), (es) => es.map((e) => e.textContent ?? ''));
    t.true(history.length >= 2);
    t.true(history.some((h) => /Invalidated/.test(h)));
    await page.screenshot({ path: join(ARTIFACTS, 'explorer.png') });

    // Quarantined memories stay on the timeline, marked as such.
    const held = memories.filter((m) => m.status === 'quarantined').map((m) => m.memory.id);
    for (const id of held) {
      t.is(await page.textContent(`${tid('memory-row')}[data-id="${id}"] ${tid('status-badge')}`), 'quarantined');
    }

    // The replacement is one click away.
    await page.click(`${tid('memory-detail')} ${tid('memory-link')}`);
    await page.waitForSelector(`${tid('memory-detail')}[data-id="${expected?.invalidatedBy ?? ''}"]`);

    // The graph: a canvas with entity and memory nodes, memories linked to their entities.
    await page.click(tid('tab-graph'));
    await page.waitForFunction(() => {
      const cy = (globalThis as unknown as BrowserGlobals).cy;
      return cy !== undefined && cy.nodes().length > 0;
    });
    const graph = await page.evaluate(() => {
      const cy = (globalThis as unknown as Required<BrowserGlobals>).cy;
      return { nodes: cy.nodes().length, entities: cy.nodes('.entity').length, memories: cy.nodes('.memory').length, mentions: cy.edges('.mentions').length };
    });
    t.true(graph.nodes > 0 && graph.entities > 0 && graph.memories > 0 && graph.mentions > 0, JSON.stringify(graph));
    t.true((await page.locator(`${tid('graph')} canvas`).count()) > 0, 'cytoscape drew on a canvas');
    t.true(await page.locator(`${tid('graph')} canvas`).first().isVisible());
    await page.screenshot({ path: join(ARTIFACTS, 'explorer-graph.png') });

    // The quarantine queue: reject one held-back memory (the injected instruction, if it is there).
    await page.click(tid('tab-quarantine'));
    await page.waitForSelector(`${tid('quarantine-item')}, ${tid('quarantine-empty')}`);
    const queue = await (engine as Engine).quarantine(TENANT);
    const items = page.locator(tid('quarantine-item'));
    t.is(await items.count(), queue.length);
    if (queue.length === 0) {
      t.log('the examples left nothing in quarantine: no verdict to click');
    } else {
      const target = queue.find((q) => /ignore all previous instructions/i.test(q.text)) ?? queue[0];
      const card = page.locator(`${tid('quarantine-item')}[data-id="${target?.memoryId ?? ''}"]`);
      // A verdict needs a reason: without one nothing is sent.
      await card.locator(tid('reject')).click();
      t.true(await card.locator(`${tid('review-reason')}.invalid`).isVisible());
      await card.locator(tid('review-reason')).fill('prompt injection from a web page');
      await card.locator(tid('reject')).click();
      await page.waitForSelector(`${tid('quarantine-item')}[data-id="${target?.memoryId ?? ''}"]`, { state: 'detached' });
      t.regex((await page.textContent(tid('status'))) ?? '', /^Rejected: .* is now rejected\.$/);
      t.is(await items.count(), queue.length - 1);
      const after = await (engine as Engine).memories(scopeOf(TENANT, target?.userId ?? ''), true);
      t.is(after.find((m) => m.memory.id === target?.memoryId)?.status, 'rejected');
      if (target?.userId === USER) {
        // The timeline was reloaded: the rejected memory is still there, marked rejected.
        t.is(await page.getAttribute(`${tid('memory-row')}[data-id="${target.memoryId}"]`, 'data-status'), 'rejected');
      }
    }
    await page.screenshot({ path: join(ARTIFACTS, 'explorer-quarantine.png') });

    t.deepEqual(errors, [], 'no script errors in the page');
    t.true(existsSync(join(ARTIFACTS, 'explorer.png')));
  } finally {
    await page.close();
  }
});
