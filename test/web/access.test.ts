/**
 * Who gets into the dashboard: nothing without the session (pages, assets, API, live events),
 * a sign-in link works once, the cookie is HttpOnly and SameSite=Strict, cross-site calls are
 * refused (from another site's page in a real browser, and by Origin and CSRF token on the
 * server), `/` and `/metrics` show nothing without a session or token, also to an instance.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { containerApp } from '../containers/app.js';
import { adminToken, api, call, deployHello, removeHome, startKumo, uniqueName, waitFor } from '../helpers/kumo.js';
import type { KumoServer } from '../helpers/kumo.js';
import { axeSerious, csrfOf, launch, screenshot, signIn } from './browser.js';
import type { Browser } from './browser.js';

// A page on another site (a service at NAME.localhost) that tries to act on the dashboard: a
// form POST (top-level navigation) and a no-cors fetch, both the kind a browser sends cross-site.
const EVIL = `
const http = require('http');
http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  const target = u.searchParams.get('target') || '';
  const body = JSON.stringify({ metadata: { name: u.searchParams.get('name') }, spec: { template: { metadata: {}, spec: { containers: [{ image: 'nothing' }] } } } });
  res.setHeader('content-type', 'text/html');
  if (u.pathname === '/fetch') {
    res.end('<!doctype html><title>x</title><script>fetch(' + JSON.stringify(target + '/api/services') + ', { method: "POST", mode: "no-cors", credentials: "include", headers: { "content-type": "text/plain" }, body: ' + JSON.stringify(body) + ' }).then(() => document.title = "sent", () => document.title = "failed");</script>');
    return;
  }
  res.end('<!doctype html><title>form</title><form method="POST" enctype="text/plain" action="' + target + '/api/services"><input type="hidden" name="x" value="y"></form><script>document.forms[0].submit()</script>');
}).listen(process.env.PORT);
`;

let k: KumoServer;
let browser: Browser;
let page: Page;
let secret: string;
let evil: string;
let inside: string;

function sourceDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kumo-web-app-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

beforeAll(async () => {
  // --metrics-open: processes on this machine scrape without a token, instances never do.
  k = await startKumo(['--metrics-step', '1s', '--metrics-open']);
  secret = deployHello(k, uniqueName('secret'), []);
  // A private service too: its name must not leak either.
  const r = k.cli(['run', 'deploy', `${secret}-private`, '--source', join(process.cwd(), 'examples', 'hello'), '--no-allow-unauthenticated']);
  expect(r.code).toBe(0);
  evil = deployHello(k, uniqueName('evil'), ['--source', sourceDir({ 'server.js': EVIL })]);
  inside = deployHello(k, uniqueName('inside'), ['--source', sourceDir({ 'server.js': containerApp('v1') })]);
  browser = await launch();
  page = await browser.context.newPage();
});
afterAll(async () => {
  await browser?.close();
  await k?.stop();
  if (k) removeHome(k);
});

const raw = (path: string, init: RequestInit = {}) => fetch(`${k.url}${path}`, { redirect: 'manual', ...init });

describe('the dashboard without a session', () => {
  it('shows how to sign in and nothing else: no service names, no assets, no API, no events', async () => {
    const home = await raw('/');
    expect(home.status).toBe(401);
    const html = await home.text();
    expect(html).toContain('kumo dashboard --open');
    expect(html).not.toContain(secret);
    expect(home.headers.get('content-security-policy')).toContain("default-src 'none'");
    for (const path of ['/services', `/services/${secret}`, '/server', '/index.html']) {
      const r = await raw(path);
      expect(r.status, path).toBe(401);
      expect(await r.text(), path).not.toContain(secret);
    }
    // Every built file is behind the session too.
    const asset = await raw('/assets/does-not-matter.js');
    expect(asset.status).toBe(401);
    for (const path of ['/api/services', '/api/services:stats', '/api/events', `/api/services/${secret}/logs/tail`]) {
      const r = await raw(path);
      expect(r.status, path).toBe(401);
      expect(await r.text(), path).not.toContain(secret);
    }
    const del = await raw(`/api/services/${secret}`, { method: 'DELETE', headers: { origin: k.url } });
    expect(del.status).toBe(401);
    expect((await api(k, 'GET', `/api/services/${secret}`)).status).toBe(200);
  });

  it('/metrics with --metrics-open: this machine scrapes without a token', async () => {
    const without = await raw('/metrics');
    expect(without.status).toBe(200);
    expect(await without.text()).toContain(secret);
    const withToken = await raw('/metrics', { headers: { authorization: `Bearer ${adminToken(k)}` } });
    expect(withToken.status).toBe(200);
    expect(await withToken.text()).toContain(secret);
    expect((await raw('/metrics', { headers: { authorization: 'Bearer not-a-token' } })).status).toBe(401);
  });

  it('an instance without a token sees no service on / or /metrics, --metrics-open or not', async () => {
    for (const path of ['/', '/metrics', '/api/services']) {
      const r = await call(k, `${inside}.localhost`, `/fetch?url=${encodeURIComponent(`${k.url}${path}`)}`);
      const reply = JSON.parse(r.body) as { status: number; body: string };
      expect(reply.status, path).toBe(401);
      expect(reply.body, path).not.toContain(secret);
    }
  });
});

describe('signing in', () => {
  it('works once, leaves an HttpOnly SameSite=Strict cookie and no secret in the address bar or storage', async () => {
    const link = await signIn(k, page);
    expect(new URL(page.url()).search).toBe('');
    const cookies = await browser.context.cookies(k.url);
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: `kumo_session_${k.port}`, httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(await page.evaluate<string>('document.cookie')).toBe('');
    const stored = await page.evaluate<string>('JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage })');
    expect(stored).not.toContain(new URL(link).searchParams.get('code'));
    expect(stored).not.toContain(cookies[0]?.value);
    await page.waitForSelector(`tr[data-service="${secret}"]`);
    // The link is spent.
    const again = await raw(new URL(link).pathname + new URL(link).search);
    expect(again.status).toBe(401);
    expect(again.headers.get('set-cookie')).toBeNull();
    const made = await raw('/sign-in?code=guessed-code');
    expect(made.status).toBe(401);
    expect(await axeSerious(page)).toEqual([]);
  });

  it('the sign-in page itself passes axe', async () => {
    const p = await browser.context.newPage();
    await p.goto(`${k.url}/sign-in?code=spent`);
    expect(await p.textContent('h1')).toContain('does not work');
    expect(await axeSerious(p)).toEqual([]);
    await screenshot(p, 'sign-in-refused');
    await p.close();
  });
});

describe('cross-site requests with a session', () => {
  it('a page on another site cannot act with the session, by form or by fetch', async () => {
    const other = await browser.context.newPage();
    const name = uniqueName('csrf');
    await other.goto(`http://${evil}.localhost:${k.port}/form?target=${encodeURIComponent(k.url)}&name=${name}`);
    // The form POST reached kumo without the cookie and was refused.
    await other.waitForURL(`${k.url}/api/services`);
    expect(await other.textContent('body')).toContain('UNAUTHENTICATED');
    await other.goto(`http://${evil}.localhost:${k.port}/fetch?target=${encodeURIComponent(k.url)}&name=${name}-f`);
    await waitFor('the cross-site fetch', () => other.title(), (t) => t === 'sent' || t === 'failed', 10_000);
    await other.close();
    const list = (await api<{ items: { metadata: { name: string } }[] }>(k, 'GET', '/api/services')).json.items.map((s) => s.metadata.name);
    expect(list).not.toContain(name);
    expect(list).not.toContain(`${name}-f`);
    // The same call from the dashboard's own page goes through (the body above was a valid request).
    const csrf = await csrfOf(page);
    const body = JSON.stringify({ metadata: { name: `${name}-ok` }, spec: { template: { metadata: {}, spec: { containers: [{}] } } } });
    const status = await page.evaluate<number>(
      `fetch('/api/services?validateOnly=true', { method: 'POST', headers: { 'content-type': 'application/json', 'x-kumo-csrf': ${JSON.stringify(csrf)} }, body: ${JSON.stringify(body)} }).then((r) => r.status)`,
    );
    // validateOnly: no service is stored; 400 names the missing image, so the call was authorized and parsed.
    expect([201, 400]).toContain(status);
  });

  it('the server refuses a session call from another origin, without the CSRF token, or with a wrong one', async () => {
    const [cookie] = await browser.context.cookies(k.url);
    const csrf = await csrfOf(page);
    expect(csrf.length).toBeGreaterThan(20);
    const headers = { cookie: `${cookie?.name ?? ''}=${cookie?.value ?? ''}` };
    const del = (h: Record<string, string>) => raw(`/api/services/${secret}`, { method: 'DELETE', headers: { ...headers, ...h } });
    const refusals = [
      await del({ origin: `http://${evil}.localhost:${k.port}`, 'x-kumo-csrf': csrf }),
      await del({ 'x-kumo-csrf': csrf }),
      await del({ origin: k.url }),
      await del({ origin: k.url, 'x-kumo-csrf': `${csrf}x` }),
      await del({ origin: k.url, 'x-kumo-csrf': csrf, 'sec-fetch-site': 'cross-site' }),
    ];
    expect(refusals.map((r) => r.status)).toEqual([403, 403, 403, 403, 403]);
    expect((await api(k, 'GET', `/api/services/${secret}`)).status).toBe(200);
    // Reads with the session work; a state change from the page's own origin with its token too.
    expect((await raw('/api/services', { headers })).status).toBe(200);
    const ok = await raw(`/api/services/${secret}-private`, { method: 'DELETE', headers: { ...headers, origin: k.url, 'x-kumo-csrf': csrf } });
    expect(ok.status).toBe(200);
  });

  it('signing out ends the session', async () => {
    const [cookie] = await browser.context.cookies(k.url);
    await page.click('text=Sign out');
    await page.waitForSelector('text=kumo dashboard --open');
    const r = await raw('/api/services', { headers: { cookie: `${cookie?.name ?? ''}=${cookie?.value ?? ''}` } });
    expect(r.status).toBe(401);
    expect(await r.text()).toContain('session has ended');
  });
});
