/**
 * The dashboard end to end in headless Chromium against one real kumo server (runc when this
 * machine has it, for the image deploy from the UI): sign in through `kumo dashboard
 * --print-url`, services deployed by the CLI appear live, traffic moves the request chart and
 * the instance count without a reload, logs filter, search, group and scroll 10,000 lines,
 * traffic is split from the UI and the next requests follow it, a revision is deployed from the
 * UI, and every page passes axe-core in light and dark with a screenshot of each.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { Service } from '../../src/serving/service.types.js';
import { containerApp } from '../containers/app.js';
import { finishRunc, pushNodeApp, runcServerSkipReason, startRuncKumo } from '../containers/harness.js';
import { api, call, deployHello, removeHome, startKumo, uniqueName, waitFor } from '../helpers/kumo.js';
import type { KumoServer } from '../helpers/kumo.js';
import { axeSerious, launch, screenshot, signIn, until, watchPage } from './browser.js';
import type { Browser } from './browser.js';

// Logs like a real app: a structured line with the request's trace (WARNING for /warn…), a
// plain line, and /spam?n=N prints N lines at once.
const LOGGER = `
const http = require('http');
http.createServer((req, res) => {
  const [trace] = String(req.headers['x-cloud-trace-context'] || '').split('/');
  const u = new URL(req.url, 'http://x');
  if (u.pathname === '/spam') {
    const n = Number(u.searchParams.get('n') || 0);
    let out = '';
    for (let i = 0; i < n; i++) out += 'spam line ' + i + '\\n';
    process.stdout.write(out, () => res.end('ok'));
    return;
  }
  console.log(JSON.stringify({ severity: u.pathname.startsWith('/warn') ? 'WARNING' : 'INFO', message: 'handled ' + u.pathname, 'logging.googleapis.com/trace': 'projects/kumo-project/traces/' + trace }));
  console.log('plain line for ' + u.pathname);
  res.end('ok');
}).listen(process.env.PORT);
`;

const BUSYBOX_APP = { 'package.json': JSON.stringify({ scripts: { start: 'exec /bin/busybox httpd -f -p $PORT -h .' } }), 'index.html': 'hi\n' };

const runcSkip = await runcServerSkipReason();
if (runcSkip) console.log(`dashboard tests: the image deploy from the UI and the runc instance check are skipped: ${runcSkip}`);

let k: KumoServer & { cidr?: string };
let browser: Browser;
let page: Page;
let watch: { problems: string[] };
const prefix = uniqueName('w').slice(0, 12);
const names = { live: `${prefix}-live`, busy: `${prefix}-busy`, logger: `${prefix}-logger`, split: `${prefix}-split`, ui: `${prefix}-ui` };

function sourceDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kumo-web-app-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** 46 small services (busybox httpd, scaled to zero once deployed), so the list holds 50. */
async function fillServices(): Promise<void> {
  const first = `${prefix}-bb00`;
  const r = k.cli(['run', 'deploy', first, '--source', sourceDir(BUSYBOX_APP), '--allow-unauthenticated', '--memory', '128Mi']);
  if (r.code !== 0) throw new Error(`deploy ${first} failed:\n${r.stdout}${r.stderr}`);
  const template = (await api<Service>(k, 'GET', `/api/services/${first}`)).json.spec.template;
  const more = Array.from({ length: 45 }, (_, i) => `${prefix}-bb${String(i + 1).padStart(2, '0')}`);
  for (let i = 0; i < more.length; i += 11) {
    const batch = more.slice(i, i + 11);
    const puts = await Promise.all(batch.map((name) => api(k, 'PUT', `/api/services/${name}`, { metadata: { name }, spec: { template: { metadata: { annotations: template.metadata.annotations }, spec: template.spec } } })));
    for (const p of puts) expect(p.status).toBe(200);
  }
  await waitFor(
    '46 ready busybox services',
    async () => (await api<{ items: Service[] }>(k, 'GET', '/api/services')).json.items.filter((s) => s.metadata.name.includes('-bb') && s.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True')).length,
    (n) => n === 46,
    90_000,
    500,
  );
}

beforeAll(async () => {
  const flags = ['--metrics-step', '1s', '--stable-window', '6s'];
  k = runcSkip ? await startKumo([...flags, '--idle-grace', '2s', '--scale-tick', '200ms']) : await startRuncKumo([...flags, '--idle-grace', '2s']);
  deployHello(k, names.busy, ['--concurrency', '1', '--max-instances', '6']);
  deployHello(k, names.logger, ['--source', sourceDir({ 'server.js': LOGGER })]);
  deployHello(k, names.split);
  deployHello(k, names.split, ['--update-env-vars', 'V=2']);
  await fillServices();
  browser = await launch();
  page = await browser.context.newPage();
  watch = watchPage(page);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  if (!k) return;
  if (k.cidr) await finishRunc(k as KumoServer & { cidr: string });
  else {
    await k.stop();
    removeHome(k);
  }
});

const row = (name: string) => `tr[data-service="${name}"]`;
const cell = async (name: string, metric: string) => (await page.textContent(`${row(name)} td[data-metric="${metric}"]`))?.trim() ?? '';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** Requests in the background until `stop()`: `parallel` at a time to `path`. */
function traffic(name: string, path: string, parallel: number): { stop: () => Promise<number> } {
  let running = true;
  let n = 0;
  const loops = Array.from({ length: parallel }, async () => {
    while (running) {
      await call(k, `${name}.localhost`, path).catch(() => undefined);
      n++;
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return n;
    },
  };
}

describe('the dashboard in a browser', () => {
  it('signs in through kumo dashboard --print-url and shows a service the CLI deploys, live', async () => {
    await signIn(k, page);
    await page.waitForSelector(row(names.busy));
    await page.evaluate('window.__kumoNoReload = true');
    deployHello(k, names.live);
    await page.waitForSelector(`${row(names.live)} .status-ready`, { timeout: 30_000 });
    expect(await page.evaluate<boolean>('window.__kumoNoReload === true')).toBe(true);
    const url = await page.getAttribute(`${row(names.live)} td a`, 'href');
    expect(url).toBe(`http://${names.live}.localhost:${k.port}`);
    expect(await page.textContent(`${row(names.live)} th`)).toBe(names.live);
  });

  it('paints the list of 50 services fast (first meaningful paint, printed)', async () => {
    const times: number[] = [];
    // From navigation start to the end of the frame that painted the list with its data.
    for (let i = 0; i < 5; i++) {
      await page.goto(`${k.url}/services`);
      await until(page, 'performance.getEntriesByName("kumo:services-list").length > 0');
      times.push(await page.evaluate<number>('performance.getEntriesByName("kumo:services-list")[0].startTime'));
    }
    const rows = await page.locator('table.list tbody tr').count();
    expect(rows).toBeGreaterThanOrEqual(50);
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    console.log(`dashboard: first meaningful paint of the services list with ${rows} services: median ${median(times).toFixed(0)} ms (runs: ${times.map((t) => t.toFixed(0)).join(', ')} ms; load average ${load} on ${cpus().length} cores)`);
    // Filter and sort, in the address so a reload keeps them.
    await page.fill('input[type=search]', `${prefix}-bb0`);
    await until(page, `document.querySelectorAll('table.list tbody tr').length === 10`);
    await page.click('button.sort:has-text("Name")');
    await until(page, `document.querySelector('table.list tbody th')?.textContent === '${prefix}-bb09'`);
    expect(new URL(page.url()).searchParams.get('dir')).toBe('desc');
  });

  it('traffic moves the request rate, the instance count and the request chart, without a reload', async () => {
    await page.goto(`${k.url}/services?q=${names.busy}`);
    await page.waitForSelector(row(names.busy));
    await page.evaluate('window.__kumoNoReload = true');
    const load = traffic(names.busy, '/slow?ms=300', 6);
    try {
      // Concurrency 1 and six callers: more instances, and a request rate above zero, shown live.
      await waitFor('instances in the list', () => cell(names.busy, 'instances'), (t) => t.split('/').reduce((a, b) => a + Number(b), 0) >= 2, 30_000, 200);
      await waitFor('requests/s in the list', () => cell(names.busy, 'rps'), (t) => Number.parseFloat(t) > 0, 30_000, 200);
      await page.click(`${row(names.busy)} th a`);
      await page.click('role=tab[name="Metrics"]');
      const label = () => page.getAttribute('[data-chart="requests"] [role=img]', 'aria-label').then((l) => l ?? '');
      const first = await waitFor('the request chart', label, (l) => /2xx: latest [^,]+, peak (?!0[,.;])/.test(l), 30_000, 250);
      await waitFor('the request chart to move', label, (l) => l !== first, 30_000, 250);
      await waitFor('the instance chart', () => page.getAttribute('[data-chart="instances"] [role=img]', 'aria-label').then((l) => l ?? ''), (l) => /active: latest [^,]+, peak (?!0[,.;])/.test(l), 30_000, 250);
    } finally {
      await load.stop();
    }
    expect(await page.evaluate<boolean>('window.__kumoNoReload === true')).toBe(true);
    await screenshot(page, 'service-metrics');
  });

  it('filters logs by severity, searches them, groups them by request, and scrolls 10,000 lines', async () => {
    for (const p of ['/first', '/warn-once', '/needle-4711']) expect((await call(k, `${names.logger}.localhost`, p)).status).toBe(200);
    await page.goto(`${k.url}/services/${names.logger}?tab=logs`);
    await page.waitForSelector('.logrow:has-text("needle-4711")');
    // Grouped: the request entry, then its app lines under it.
    const kinds = await page.evaluate<string[]>(`[...document.querySelectorAll('.logrow')].map((e) => e.getAttribute('data-kind') + ':' + (e.classList.contains('depth1') ? 1 : 0) + ':' + e.textContent)`);
    const req = kinds.findIndex((x) => x.startsWith('requests:0') && x.includes('/needle-4711'));
    expect(req).toBeGreaterThanOrEqual(0);
    expect(kinds[req + 1]).toMatch(/^stdout:1:.*handled \/needle-4711/);
    await page.selectOption('select', 'WARNING');
    await until(page, `[...document.querySelectorAll('.logrow')].length > 0 && [...document.querySelectorAll('.logrow .sev')].every((s) => ['WARNING','ERROR','CRITICAL'].includes(s.textContent))`);
    expect(await page.textContent('.logbox')).toContain('handled /warn-once');
    await page.selectOption('select', 'DEFAULT');
    await page.fill('input[type=search]', 'needle-4711');
    await until(page, `(() => { const r = [...document.querySelectorAll('.logrow')]; return r.length > 0 && r.every((e) => e.textContent.includes('needle-4711')); })()`);
    expect(new URL(page.url()).searchParams.get('text')).toBe('needle-4711');

    // Live tail: a new request shows up without a reload.
    await page.fill('input[type=search]', '');
    await page.check('text=Live tail');
    await page.waitForTimeout(300);
    await call(k, `${names.logger}.localhost`, '/tailed-0815');
    await page.waitForSelector('.logrow:has-text("tailed-0815")', { timeout: 15_000 });

    expect((await call(k, `${names.logger}.localhost`, '/spam?n=10000')).status).toBe(200);
    await page.goto(`${k.url}/services/${names.logger}?tab=logs`);
    await waitFor('10,000 entries', () => page.textContent('[data-testid=log-count]'), (t) => Number.parseInt(t ?? '', 10) >= 10_000, 30_000, 250);
    const rendered = await page.locator('.logrow').count();
    expect(rendered).toBeLessThan(150);
    // Scroll through it and time the frames.
    const frames = await page.evaluate<number[]>(`(async () => {
      const box = document.querySelector('.logbox');
      const times = [];
      box.scrollTop = 0;
      for (let i = 1; i <= 40; i++) {
        const t0 = performance.now();
        box.scrollTop = (box.scrollHeight - box.clientHeight) * i / 40;
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        times.push(performance.now() - t0);
      }
      return times;
    })()`);
    expect(await page.locator('.logrow').count()).toBeLessThan(150);
    expect(await page.textContent('.logbox')).toContain('spam line 9999');
    console.log(`dashboard: 10,000 log lines, ${rendered} rows in the page; a scroll step takes median ${median(frames).toFixed(1)} ms, worst ${Math.max(...frames).toFixed(1)} ms (two frames)`);
  });

  it('splits traffic from the UI and the next requests follow it', async () => {
    const revs = (await api<{ items: { metadata: { name: string } }[] }>(k, 'GET', `/api/revisions?service=${names.split}`)).json.items.map((r) => r.metadata.name).sort();
    expect(revs).toHaveLength(2);
    const [older, newer] = revs as [string, string];
    await page.goto(`${k.url}/services/${names.split}`);
    await page.waitForSelector(`tr[data-revision="${newer}"] td[data-traffic="100"]`);
    const answers = async (n: number) => {
      const seen = new Map<string, number>();
      for (let i = 0; i < n; i++) {
        const body = (await call(k, `${names.split}.localhost`, '/')).body;
        const rev = /revision (\S+)/.exec(body)?.[1] ?? body;
        seen.set(rev, (seen.get(rev) ?? 0) + 1);
      }
      return seen;
    };
    await page.fill(`input[aria-label="${older} percent"]`, '100');
    await page.press(`input[aria-label="${older} percent"]`, 'Tab');
    expect(await page.inputValue(`input[aria-label="${newer} percent"]`)).toBe('0');
    await page.click('button:has-text("Save traffic")');
    await page.waitForSelector(`tr[data-revision="${older}"] td[data-traffic="100"]`);
    expect([...(await answers(10)).keys()]).toEqual([older]);
    // Half and half with the slider's keyboard: both answer.
    await page.focus(`#share-${newer}`);
    for (let i = 0; i < 50; i++) await page.keyboard.press('ArrowRight');
    expect(await page.inputValue(`input[aria-label="${older} percent"]`)).toBe('50');
    await page.click('button:has-text("Save traffic")');
    await page.waitForSelector(`tr[data-revision="${newer}"] td[data-traffic="50"]`);
    const split = await answers(40);
    expect([...split.keys()].sort()).toEqual([older, newer]);
    await screenshot(page, 'service-traffic');
  });

  it.skipIf(Boolean(runcSkip))('deploys a revision from an image in the registry, with its progress shown live', async () => {
    const { ref } = await pushNodeApp(k, `${prefix}/app:v1`, containerApp('from-the-ui'));
    await page.goto(`${k.url}/services/-/deploy`);
    await page.fill('#d-name', names.ui);
    await page.fill('#d-image', ref);
    await page.fill('#d-env', 'GREETING=hello from the UI');
    await page.fill('#d-concurrency', '5');
    await page.fill('#d-max', '3');
    await page.fill('#d-memory', '256Mi');
    await page.check('text=Allow unauthenticated calls');
    await screenshot(page, 'deploy');
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-step][data-state="running"], [data-step][data-state="done"]', { timeout: 30_000 });
    await page.waitForSelector('h2:has-text("Deployed")', { timeout: 120_000 });
    const steps = await page.evaluate<string[]>(`[...document.querySelectorAll('[data-step]')].map((e) => e.getAttribute('data-state'))`);
    expect(steps.every((s) => s === 'done' || s === 'skipped')).toBe(true);
    const reply = JSON.parse((await call(k, `${names.ui}.localhost`, '/env')).body) as { env: Record<string, string>; version: string };
    expect(reply.version).toBe('from-the-ui');
    expect(reply.env.GREETING).toBe('hello from the UI');
    const svc = (await api<Service>(k, 'GET', `/api/services/${names.ui}`)).json;
    expect(svc.spec.template.spec.containerConcurrency).toBe(5);
    expect(svc.spec.template.metadata.annotations?.['autoscaling.knative.dev/maxScale']).toBe('3');

    // Without --metrics-open, /metrics needs a token, also from this machine.
    const host = await fetch(`${k.url}/metrics`);
    expect(host.status).toBe(401);
    expect(await host.text()).toContain('--metrics-open');
    // A runc instance reaching kumo without a token sees no service on / or /metrics.
    for (const path of ['/', '/metrics']) {
      const r = JSON.parse((await call(k, `${names.ui}.localhost`, `/fetch?url=${encodeURIComponent(`http://kumo.internal:${k.port}${path}`)}`)).body) as { status: number; body: string };
      expect(r.status, path).toBe(401);
      expect(r.body, path).not.toContain(names.busy);
    }
  });

  it('makes a service private and public, changes its scaling, deletes a revision and the service, each confirmed', async () => {
    await page.goto(`${k.url}/services/${names.live}?tab=settings`);
    await page.waitForSelector('[data-testid=access]:has-text("Public")');
    await page.click('button:has-text("Make private")');
    await page.waitForSelector('[data-testid=access]:has-text("Private")');
    expect([401, 403]).toContain((await call(k, `${names.live}.localhost`, '/')).status);
    await page.click('button:has-text("Make public")');
    await page.waitForSelector('[data-testid=access]:has-text("Public")');
    expect((await call(k, `${names.live}.localhost`, '/')).status).toBe(200);

    const before = (await api<Service>(k, 'GET', `/api/services/${names.live}`)).json.status.latestCreatedRevisionName;
    await page.fill('#max-instances', '4');
    await page.click('button:has-text("Save scaling")');
    const svc = await waitFor(
      'the new revision',
      async () => (await api<Service>(k, 'GET', `/api/services/${names.live}`)).json,
      (s) => s.status.latestReadyRevisionName !== before && s.status.latestReadyRevisionName !== undefined,
      60_000,
      250,
    );
    expect(svc.spec.template.metadata.annotations?.['autoscaling.knative.dev/maxScale']).toBe('4');

    // The old revision serves nothing now: delete it, after the dialog.
    await page.click('role=tab[name="Revisions and traffic"]');
    await page.click(`tr[data-revision="${before ?? ''}"] button:has-text("Delete")`);
    await page.waitForSelector('dialog[open]');
    expect(await axeSerious(page)).toEqual([]);
    await screenshot(page, 'confirm-delete');
    await page.click('dialog[open] button:has-text("Cancel")');
    expect((await api(k, 'GET', `/api/revisions/${before ?? ''}`)).status).toBe(200);
    await page.click(`tr[data-revision="${before ?? ''}"] button:has-text("Delete")`);
    await page.click('dialog[open] button:has-text("Delete revision")');
    await page.waitForSelector(`tr[data-revision="${before ?? ''}"]`, { state: 'detached' });
    expect((await api(k, 'GET', `/api/revisions/${before ?? ''}`)).status).toBe(404);

    await page.click('button:has-text("Delete service")');
    await page.click('dialog[open] button:has-text("Delete service")');
    await page.waitForURL(`${k.url}/services`);
    expect((await api(k, 'GET', `/api/services/${names.live}`)).status).toBe(404);
  });

  it('a click on a chart opens the logs of that moment', async () => {
    await page.goto(`${k.url}/services/${names.logger}?tab=metrics`);
    await page.waitForSelector('[data-chart="requests"] .u-over');
    const box = await page.locator('[data-chart="requests"] .u-over').boundingBox();
    expect(box).not.toBeNull();
    await page.mouse.move((box?.x ?? 0) + (box?.width ?? 0) - 3, (box?.y ?? 0) + (box?.height ?? 0) / 2);
    await page.mouse.click((box?.x ?? 0) + (box?.width ?? 0) - 3, (box?.y ?? 0) + (box?.height ?? 0) / 2);
    await page.waitForURL((u) => u.searchParams.get('tab') === 'logs' && u.searchParams.has('since') && u.searchParams.has('until'));
    const u = new URL(page.url());
    const span = Date.parse(u.searchParams.get('until') ?? '') - Date.parse(u.searchParams.get('since') ?? '');
    expect(span).toBeGreaterThan(0);
    expect(span).toBeLessThanOrEqual(60_000);
    await page.waitForSelector('button:has-text("Show all times")');
    await page.waitForSelector('[data-testid=log-count]');
  });

  it('is keyboard navigable: skip link, navigation, tabs with arrow keys', async () => {
    await page.goto(`${k.url}/services/${names.logger}`);
    await page.waitForSelector('role=tab[name="Metrics"]');
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string>('document.activeElement.textContent')).toBe('Skip to content');
    await page.focus('role=tab[selected=true]');
    await page.keyboard.press('ArrowRight');
    expect(new URL(page.url()).searchParams.get('tab')).toBe('metrics');
    expect(await page.evaluate<string>('document.activeElement.textContent')).toBe('Metrics');
    await page.focus('nav a[href="/server"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('h1:has-text("Server")');
    expect(new URL(page.url()).pathname).toBe('/server');
  });

  it('every page passes axe-core in light mode, the main ones in dark too (screenshots of each)', async () => {
    const repo = runcSkip ? undefined : `${prefix}/app`;
    const pages: [string, string, string][] = [
      ['services', '/services?sort=rps&dir=desc', 'table.list tbody tr'],
      ['service', `/services/${names.split}`, 'tr[data-revision]'],
      ['service-metrics', `/services/${names.busy}?tab=metrics`, '[data-chart="requests"] [role=img]'],
      ['service-logs', `/services/${names.logger}?tab=logs`, '.logrow'],
      ['service-yaml', `/services/${names.split}?tab=yaml`, '[data-testid=service-yaml]'],
      ['service-settings', `/services/${names.split}?tab=settings`, '[data-testid=access]'],
      ['deploy', `/services/${names.split}/deploy`, '#d-image'],
      ['images', '/images', 'main h1'],
      ...(repo ? ([['image', `/images/${repo}`, 'table tbody tr']] as [string, string, string][]) : []),
      ['billing', '/billing', 'main h2'],
      ['server', '/server', '[data-testid=memory]'],
      ['not-yet', '/pubsub', 'main h1'],
    ];
    const found: string[] = [];
    // Every page in light; in dark, the pages that between them use every colour of the theme.
    const dark = new Set(['services', 'service', 'service-metrics', 'service-logs', 'billing', 'server', 'not-yet']);
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      for (const [name, path, ready] of pages) {
        if (scheme === 'dark' && !dark.has(name)) continue;
        await page.goto(`${k.url}${path}`);
        await page.waitForSelector(ready, { timeout: 30_000 });
        await page.waitForTimeout(300);
        for (const v of await axeSerious(page)) found.push(`${scheme} ${path}: ${v.id} (${v.impact ?? ''}) ${v.help}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
        await screenshot(page, `${name}-${scheme}`);
      }
    }
    expect(found).toEqual([]);
    expect(await page.textContent('main')).toContain('no Pub/Sub API yet');
    expect(watch.problems).toEqual([]);
  });
});
