import { describe, expect, it } from 'vitest';
import { crossSiteRefusal, parseCookies } from './guard.js';

const same = { host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080', 'sec-fetch-site': 'same-origin', 'x-kumo-csrf': 'tok' };

describe('cross-site checks for dashboard sessions', () => {
  it('lets reads through and state changes from the dashboard page with its token', () => {
    expect(crossSiteRefusal('GET', {}, 'tok')).toBeUndefined();
    expect(crossSiteRefusal('POST', same, 'tok')).toBeUndefined();
    expect(crossSiteRefusal('DELETE', { ...same, 'sec-fetch-site': undefined }, 'tok')).toBeUndefined();
  });

  it.each([
    ['another origin', { ...same, origin: 'http://evil.localhost:8080' }, /origin http:\/\/evil/],
    ['another port', { ...same, origin: 'http://127.0.0.1:9999' }, /origin/],
    ['no origin', { ...same, origin: undefined }, /no origin/],
    ['a cross-site fetch', { ...same, 'sec-fetch-site': 'cross-site' }, /cross-site/],
    ['a same-site fetch from another origin', { ...same, 'sec-fetch-site': 'same-site' }, /same-site/],
    ['no CSRF token', { ...same, 'x-kumo-csrf': undefined }, /x-kumo-csrf/],
    ['a wrong CSRF token', { ...same, 'x-kumo-csrf': 'tok2' }, /x-kumo-csrf/],
  ])('refuses a POST with %s', (_what, headers, message) => {
    const e = crossSiteRefusal('POST', headers, 'tok');
    expect(e?.code).toBe('PERMISSION_DENIED');
    expect(e?.message).toMatch(message);
  });

  it('parses cookies, first of a name wins', () => {
    const c = parseCookies('a=1; kumo_session_8080=abc=def;b=2; a=3; junk');
    expect(c.get('a')).toBe('1');
    expect(c.get('kumo_session_8080')).toBe('abc=def');
    expect(c.get('b')).toBe('2');
    expect(parseCookies(undefined).size).toBe(0);
  });
});
