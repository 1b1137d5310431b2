/**
 * Headless Chromium from Debian (/usr/bin/chromium) driven by playwright-core: no browser is
 * ever downloaded. One browser per test file, a fresh profile each time; axe-core from npm is
 * injected into pages to check accessibility; screenshots go to test/web/artifacts/ (gitignored).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { ROOT } from '../helpers/kumo.js';
import type { KumoServer } from '../helpers/kumo.js';

export const CHROMIUM = process.env.KUMO_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = join(ROOT, 'test', 'web', 'artifacts');

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Chromium with a fresh profile; light or dark colour scheme. */
export async function launch(colorScheme: 'light' | 'dark' = 'light'): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set KUMO_CHROMIUM)`);
  const profile = mkdtempSync(join(tmpdir(), 'kumo-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1400, height: 900 },
    colorScheme,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/** axe-core's serious and critical violations on the page as it is now. */
export async function axeSerious(page: Page): Promise<AxeViolation[]> {
  // Evaluated through the DevTools protocol: the dashboard's CSP allows no inline script tag.
  if (!(await page.evaluate<boolean>("'axe' in window"))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate<AxeViolation[]>(`(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })) }));
  })()`);
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  return file;
}

/** Signs the page's browser in with a fresh `kumo dashboard --print-url` link; returns the link. */
export async function signIn(k: KumoServer, page: Page): Promise<string> {
  const r = k.cli(['dashboard', '--print-url']);
  if (r.code !== 0) throw new Error(`kumo dashboard --print-url failed: ${r.stderr}`);
  const link = r.stdout.trim();
  await page.goto(link);
  await page.waitForURL((u) => u.pathname === '/');
  await page.waitForSelector('main h1');
  return link;
}

/** The session's CSRF token, as the dashboard's page has it. */
export function csrfOf(page: Page): Promise<string> {
  return page.evaluate<string>(`document.querySelector('meta[name="kumo-csrf"]')?.content ?? ''`);
}

/** Fails the test on any CSP violation or uncaught error in the page. */
export function watchPage(page: Page): { problems: string[] } {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 40[134]/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  return { problems };
}

/**
 * Waits until `expression` is truthy in the page. Polled with `page.evaluate` (the DevTools
 * protocol), since the dashboard's CSP refuses the eval that a string `waitForFunction` needs.
 */
export async function until(page: Page, expression: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await page.evaluate<boolean>(`Boolean(${expression})`)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting in the page for: ${expression}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
