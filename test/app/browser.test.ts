import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { openStorage } from '../../src/storage/open-storage.js';
import { realAssets } from '../support/assets.js';
import { REPO_ROOT } from '../support/cli.js';
import { startTestServer, type TestServer } from './support/server.js';
import { sampleRun, unseenTestImage } from './support/runs.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');
const README_SCREENSHOT = join(REPO_ROOT, 'docs', 'screenshots', 'app.png');

/**
 * Runs wherever the real assets are (always on CI, where .ci/run installs chromium). Off CI, a machine without
 * chromium or without the assets skips with the reason; on CI a missing chromium is a failure.
 */
function browserTestOptions(): { skip: string | false } {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI) throw new Error(`the browser test needs chromium at ${CHROMIUM} on CI (.ci/run installs it; or set CHROMIUM_PATH)`);
    return { skip: `no chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)` };
  }
  return realAssets() ? { skip: false } : { skip: 'FRUITS_MODEL_DIR / FRUITS_DATA_DIR not set (real-asset test)' };
}

describe('the web page in a real browser (Chromium, phone viewport)', browserTestOptions(), () => {
  let server: TestServer;
  let context: BrowserContext;
  let page: Page;
  let feedbackDir: string;
  let dataDir: string;
  const userDataDir = mkdtempSync(join(tmpdir(), 'fruits-chromium-'));

  before(async () => {
    const sample = await sampleRun();
    dataDir = sample.dataDir;
    feedbackDir = mkdtempSync(join(tmpdir(), 'fruits-feedback-'));
    // Corrections go to a scratch folder: the sample run is shared between test files.
    server = await startTestServer(sample.run, sample.modelDir, { feedback: openStorage(feedbackDir) }, { threads: 2 });
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 1,
      isMobile: true,
      hasTouch: true,
      locale: 'fr-FR',
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => assert.fail(`error in the page: ${error.message}`));
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    await context?.close();
    await server?.stop();
    rmSync(userDataDir, { recursive: true, force: true });
  });

  test('French by default; a photo of a banana → "Banane" and its card; screenshot for the README', async () => {
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`${server.url}/`);
    assert.equal(await page.getAttribute('html', 'lang'), 'fr');
    assert.equal(await page.title(), 'Quel est ce fruit ?');
    assert.equal(await page.getAttribute('#camera', 'capture'), 'environment');

    await page.setInputFiles('#file', unseenTestImage(dataDir, 'Banana 1'));
    await page.waitForSelector('#card:not([hidden])', { timeout: 30_000 });
    assert.match((await page.textContent('#answer-title')) ?? '', /^Banane/);
    assert.match((await page.textContent('#answer-detail')) ?? '', /Confiance/);
    const card = (await page.textContent('#card')) ?? '';
    for (const expected of ['Nom scientifique', 'Musa spp.', 'Musaceae', 'Saison en Europe', 'Valeurs nutritionnelles', 'Biodiversité', 'kcal']) {
      assert.ok(card.includes(expected), `card lacks "${expected}": ${card}`);
    }
    assert.equal(await page.getAttribute('#result', 'aria-live'), 'polite');
    assert.ok(await page.isVisible('#alternatives li'), 'alternatives are listed');
    assert.ok(
      requests.every((u) => u.startsWith(server.url) || u.startsWith('blob:') || u.startsWith('data:')),
      `external request: ${requests.join(' ')}`,
    );

    const shot = join(ARTIFACTS, 'app-mobile-fr.png');
    await page.screenshot({ path: shot, fullPage: true });
    // The README copy: same picture as a palette PNG, a fraction of the size.
    // The README's copy changes only when asked for, so a test run leaves the working tree clean.
    if (process.env.FRUITS_UPDATE_SCREENSHOTS) {
      mkdirSync(join(README_SCREENSHOT, '..'), { recursive: true });
      writeFileSync(README_SCREENSHOT, await sharp(shot).png({ palette: true, quality: 90, compressionLevel: 9 }).toBuffer());
      assert.ok(statSync(README_SCREENSHOT).size < 300 * 1024, `${README_SCREENSHOT} is ${statSync(README_SCREENSHOT).size} bytes`);
    }
  });

  test('the English switch translates the page and the answer, and is remembered after a reload', async () => {
    await page.click('#lang');
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.match((await page.textContent('#answer-title')) ?? '', /^Banana/);
    assert.match((await page.textContent('#card')) ?? '', /Scientific name/);
    await page.reload();
    assert.equal(await page.title(), 'What fruit is this?');
    assert.equal(await page.textContent('#lang'), 'Français');
    await page.screenshot({ path: join(ARTIFACTS, 'app-mobile-en-start.png') });
  });

  test('keyboard: Tab reaches the language switch and the photo inputs', async () => {
    await page.goto(`${server.url}/`);
    const reached: string[] = [];
    for (let i = 0; i < 5; i++) {
      await page.keyboard.press('Tab');
      reached.push(await page.evaluate<string>('document.activeElement.id || document.activeElement.tagName'));
    }
    for (const id of ['lang', 'camera', 'file']) assert.ok(reached.includes(id), `Tab order ${reached.join(' → ')} misses #${id}`);
  });

  test('a text file is refused with a readable error (role=alert), not a crash', async () => {
    await page.setInputFiles('#file', { name: 'notes.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('not a photo at all') });
    await page.waitForSelector('#error:not([hidden])', { timeout: 15_000 });
    assert.equal(await page.getAttribute('#error', 'role'), 'alert');
    assert.match((await page.textContent('#error')) ?? '', /not an image/);
  });

  test('"wrong? tell us the right fruit" stores the photo and the correction', async () => {
    await page.setInputFiles('#file', unseenTestImage(dataDir, 'Banana 1'));
    await page.waitForSelector('#feedback:not([hidden])', { timeout: 30_000 });
    await page.click('#feedback summary');
    await page.selectOption('#correct', 'Banana Lady Finger 1');
    await page.fill('#note', 'test from the browser');
    await page.click('#feedback-form button[type=submit]');
    await page.locator('#feedback-status', { hasText: 'Thank you' }).waitFor({ timeout: 15_000 });
    const stored = readdirSync(join(feedbackDir, 'feedback'));
    assert.equal(stored.filter((f) => f.endsWith('.jpg')).length, 1);
    assert.equal(stored.filter((f) => f.endsWith('.json')).length, 1);
  });
});
