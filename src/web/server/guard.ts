/**
 * What a browser request must show to act with a dashboard session. Pure: headers in, a refusal
 * (KumoError) or undefined out.
 *
 * The session cookie is HttpOnly and SameSite=Strict, so another site's page cannot send it. A
 * state-changing call must also come from the dashboard's own origin (`Origin` equal to the
 * request's own `http://Host`, and `Sec-Fetch-Site: same-origin` when the browser sends it) and
 * carry the session's CSRF token in `X-Kumo-CSRF`, which only a page of that origin can read.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { KumoError } from '../../shared/errors.js';

export const CSRF_HEADER = 'x-kumo-csrf';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isSafeMethod(method: string | undefined): boolean {
  return SAFE_METHODS.has((method ?? 'GET').toUpperCase());
}

/** `a=1; b=2` → Map; the first of a repeated name wins, as browsers send the most specific first. */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!out.has(name)) out.set(name, part.slice(eq + 1).trim());
  }
  return out;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The refusal for a state-changing call with a session, or undefined when it may proceed. */
export function crossSiteRefusal(method: string | undefined, headers: IncomingHttpHeaders, csrfToken: string): KumoError | undefined {
  if (isSafeMethod(method)) return undefined;
  const origin = headers.origin;
  const host = headers.host;
  if (!origin || !host || origin !== `http://${host}`) {
    return new KumoError('PERMISSION_DENIED', `a dashboard session acts only from the dashboard's own page; this ${method ?? ''} came from ${origin ? `origin ${origin}` : 'no origin'}`);
  }
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') {
    return new KumoError('PERMISSION_DENIED', `a dashboard session acts only from the dashboard's own page; this ${method ?? ''} was ${String(site)}`);
  }
  const sent = headers[CSRF_HEADER];
  if (typeof sent !== 'string' || !sameSecret(sent, csrfToken)) {
    return new KumoError('PERMISSION_DENIED', `a state-changing call with a dashboard session needs the session's ${CSRF_HEADER} header; reload the dashboard`);
  }
  return undefined;
}
