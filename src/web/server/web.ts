/**
 * The dashboard's server side: sign-in with a one-time code, sign-out, the shell and its assets,
 * all behind the session; and the session check kumo's `/api` uses for calls from the
 * dashboard's page (the page calls the same `/api` routes the CLI does, with its cookie).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Routes } from '../../api/http.js';
import { sendApiError, sendJson } from '../../api/http.js';
import { KumoError } from '../../shared/errors.js';
import type { DashboardAssets } from './assets.js';
import { CSRF_PLACEHOLDER, PRELOAD_PLACEHOLDER } from './assets.js';
import { crossSiteRefusal, isSafeMethod, parseCookies } from './guard.js';
import type { Session, Sessions } from './sessions.js';

export interface WebOptions {
  sessions: Sessions;
  assets: DashboardAssets;
  /** The session cookie's name (one per kumo port, so two servers on one machine keep theirs). */
  cookieName(): string;
  now(): number;
}

export interface Web {
  /** Every path on kumo's own host that is not `/api`, `/v2`, `/metrics` or `/healthz`. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /**
   * For `/api`: true when the request carries a live session and, if it changes state, passes the
   * cross-site checks; a refusal; or undefined when it carries no session cookie at all.
   */
  apiAccess(req: IncomingMessage): true | KumoError | undefined;
  /** `POST /api/dashboard/codes`: a one-time sign-in code, for `kumo dashboard`. */
  addRoutes(routes: Routes): void;
}

const SHELL_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const COMMON_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/**
 * What the first page fetches first, asked for by the shell itself so it arrives while the
 * script loads (the services list paints sooner).
 */
const PRELOADS: Record<string, string[]> = {
  '/': ['/api/services', '/api/services:stats'],
  '/services': ['/api/services', '/api/services:stats'],
};

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A small page with no data and no script: sign-in needed, link spent, not built. */
function page(res: ServerResponse, status: number, title: string, body: string, extraHead = '', headers: Record<string, string> = {}): void {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">${extraHead}<title>${escapeHtml(title)} · kumo</title>
<style>:root{color-scheme:light dark;font-family:system-ui,sans-serif}body{max-width:40rem;margin:4rem auto;padding:0 1rem;line-height:1.5}code{font-size:1.05em;padding:.1em .3em;border-radius:3px;background:rgba(127,127,127,.18)}</style>
</head><body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
  res.writeHead(status, {
    ...COMMON_HEADERS,
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'cache-control': 'no-store',
    'content-security-policy': PAGE_CSP,
    ...headers,
  });
  res.end(html);
}

const SIGN_IN_HELP = '<p>The kumo dashboard needs you to sign in. On the machine where kumo runs, run</p><p><code>kumo dashboard --open</code></p><p>or <code>kumo dashboard</code> and open the link it prints. The link works once, for a minute.</p>';

export function createWeb(o: WebOptions): Web {
  const sessionOf = (req: IncomingMessage): { id: string; session: Session } | undefined => {
    const id = parseCookies(req.headers.cookie).get(o.cookieName());
    if (!id) return undefined;
    const session = o.sessions.lookup(id, o.now());
    return session ? { id, session } : undefined;
  };
  const cookie = (value: string, maxAgeSec: number) => `${o.cookieName()}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSec}`;

  const signIn = (res: ServerResponse, url: URL) => {
    const code = url.searchParams.get('code') ?? '';
    const redeemed = code ? o.sessions.redeem(code, o.now()) : undefined;
    if (!redeemed) {
      page(res, 401, 'This sign-in link does not work', `<p>It was used already, it is older than a minute, or it belongs to another kumo server.</p>${SIGN_IN_HELP}`);
      return;
    }
    // A page that moves on to the dashboard itself (not a redirect): the navigation to `/` then
    // starts from the dashboard's own origin, so the SameSite=Strict cookie goes with it even
    // when the sign-in link was opened from another site. The spent code leaves the address bar.
    const maxAge = Math.floor(o.sessions.policy.sessionTtlMs / 1000);
    page(res, 200, 'Signed in', '<p>Opening the <a href="/">dashboard</a>…</p>', '<meta http-equiv="refresh" content="0;url=/">', { 'set-cookie': cookie(redeemed.id, maxAge) });
  };

  const signOut = (req: IncomingMessage, res: ServerResponse) => {
    const s = sessionOf(req);
    if (!s) return sendApiError(res, new KumoError('UNAUTHENTICATED', 'no dashboard session to end'));
    const refused = crossSiteRefusal(req.method, req.headers, s.session.csrfToken);
    if (refused) return sendApiError(res, refused);
    o.sessions.end(s.id);
    res.writeHead(204, { ...COMMON_HEADERS, 'set-cookie': cookie('', 0), 'cache-control': 'no-store' });
    res.end();
  };

  const serveAsset = (req: IncomingMessage, res: ServerResponse, path: string) => {
    const a = o.assets.files.get(path);
    if (!a) {
      res.writeHead(404, { ...COMMON_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(`no dashboard file ${path}\n`);
      return;
    }
    const base = { ...COMMON_HEADERS, 'content-type': a.type, etag: a.etag, vary: 'accept-encoding, cookie', 'cache-control': 'private, max-age=31536000, immutable' };
    if (req.headers['if-none-match'] === a.etag) {
      res.writeHead(304, base);
      res.end();
      return;
    }
    const gzip = a.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip && a.gzip ? a.gzip : a.body;
    res.writeHead(200, { ...base, 'content-length': body.length, ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const serveShell = (req: IncomingMessage, res: ServerResponse, session: Session, path: string) => {
    const shell = o.assets.shell;
    if (shell === undefined) {
      page(res, 503, 'The dashboard is not built', `<p>kumo found no dashboard files in <code>${escapeHtml(o.assets.dir)}</code>. Build them with <code>npm run build</code> (<code>npm ci</code> does it too), then restart <code>kumo server</code>.</p>`);
      return;
    }
    const preload = (PRELOADS[path] ?? []).map((href) => `<link rel="preload" href="${href}" as="fetch" crossorigin="anonymous">`).join('');
    const html = shell.replace(CSRF_PLACEHOLDER, session.csrfToken).replace(PRELOAD_PLACEHOLDER, preload);
    res.writeHead(200, {
      ...COMMON_HEADERS,
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(html),
      'cache-control': 'no-store',
      'content-security-policy': SHELL_CSP,
    });
    res.end(req.method === 'HEAD' ? undefined : html);
  };

  return {
    handle(req, res) {
      const url = new URL(req.url ?? '/', 'http://kumo.local');
      const path = url.pathname;
      if (path === '/sign-in' && req.method === 'GET') return signIn(res, url);
      if (path === '/sign-out' && req.method === 'POST') return signOut(req, res);
      if (!isSafeMethod(req.method)) {
        req.resume();
        return sendApiError(res, new KumoError('NOT_FOUND', `nothing takes ${req.method ?? ''} ${path} on kumo itself; kumo's API is under /api/`));
      }
      const s = sessionOf(req);
      if (!s) return page(res, 401, 'Sign in to kumo', SIGN_IN_HELP);
      if (path.startsWith('/assets/')) return serveAsset(req, res, path);
      return serveShell(req, res, s.session, path);
    },
    apiAccess(req) {
      const id = parseCookies(req.headers.cookie).get(o.cookieName());
      if (!id) return undefined;
      const session = o.sessions.lookup(id, o.now());
      if (!session) return new KumoError('UNAUTHENTICATED', 'the dashboard session has ended; sign in again with `kumo dashboard`');
      return crossSiteRefusal(req.method, req.headers, session.csrfToken) ?? true;
    },
    addRoutes(routes) {
      routes.add('POST', '/api/dashboard/codes', (_req, res) => {
        const { code, expiresAtMs } = o.sessions.issueCode(o.now());
        sendJson(res, 201, { code, signInPath: `/sign-in?code=${code}`, expireTime: new Date(expiresAtMs).toISOString() });
      });
    },
  };
}

