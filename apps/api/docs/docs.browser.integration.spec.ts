import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { findWorkspaceRoot, freePort, runApp, testDatabase, waitForDevstack, type RunningApp } from '@tally/devstack';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Debian's chromium (tools/setup.sh installs it); playwright's own browser downloads are not used. */
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const appDir = join(import.meta.dirname, '..');
const outputDir = join(findWorkspaceRoot(), 'tmp', 'test-output', 'api');

describe('/docs in a browser', () => {
  let browser: Browser;
  let api: RunningApp | undefined;
  let url: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`No chromium at ${CHROMIUM}: run tools/setup.sh, or set CHROMIUM_PATH`);
    mkdirSync(outputDir, { recursive: true });
    const { mongodbUri } = await waitForDevstack();
    const port = await freePort();
    api = runApp({ appDir, env: { API_PORT: String(port), MONGODB_URI: testDatabase(mongodbUri, 'api_docs').uri } });
    await api.waitForLog('listening');
    url = `http://127.0.0.1:${port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    api?.kill('SIGTERM');
    await api?.exited;
  });

  it('shows every operation of /openapi.json and runs one, offline, under the CSP, with no error', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(10_000);
    const errors: string[] = [];
    page.on('console', (message) => message.type() === 'error' && errors.push(message.text())); // CSP violations among them
    page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
    const elsewhere: string[] = [];
    // Offline: whatever the page asks of another origin is refused, and recorded.
    await page.route('**/*', (route) => {
      if (route.request().url().startsWith(url)) return route.continue();
      elsewhere.push(route.request().url());
      return route.abort();
    });

    const response = await page.goto(`${url}/docs`);
    expect(response?.headers()['content-security-policy']).toBe("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:");
    const spec = (await (await fetch(`${url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.values(spec.paths).reduce((sum, methods) => sum + Object.keys(methods).length, 0);
    await expect.poll(() => page.locator('.opblock').count(), { timeout: 15_000 }).toBe(operations);
    expect(await page.locator('.info .title').textContent()).toContain('Tally API');

    // Try it: GET /status-counts with the document's example times, answered 200 with the counts.
    const get = page.locator('#operations-default-getStatusCounts');
    await get.locator('.opblock-summary').click();
    await get.locator('button.execute').click();
    await expect.poll(() => get.locator('.live-responses-table tbody .response-col_status').first().textContent(), { timeout: 10_000 }).toMatch(/^\s*200/);
    expect(await get.locator('.live-responses-table .microlight').first().textContent()).toContain('"6": 0');

    await page.screenshot({ path: join(outputDir, 'docs.png'), fullPage: true });
    expect(errors).toEqual([]);
    expect(elsewhere).toEqual([]);
    await page.close();
  });
});
