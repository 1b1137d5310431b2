import { describe, expect, it } from 'vitest';
import { parseServiceHost, revisionName, serviceUrl, tagUrl } from './naming.js';

describe('naming', () => {
  it('names revisions Cloud Run style', () => {
    let i = 0;
    const r = () => [0, 0.5, 0.99][i++ % 3] ?? 0;
    expect(revisionName('hello', 2, r)).toBe('hello-00002-as9');
  });

  it('builds and reads service hosts', () => {
    const base = { port: 8080, domain: 'localhost' };
    expect(serviceUrl('hello', base)).toBe('http://hello.localhost:8080');
    expect(tagUrl('canary', 'hello', base)).toBe('http://canary---hello.localhost:8080');
    expect(parseServiceHost('hello.localhost:8080', 'localhost')).toEqual({ service: 'hello' });
    expect(parseServiceHost('Canary---Hello.localhost', 'localhost')).toEqual({ service: 'hello', tag: 'canary' });
    expect(parseServiceHost('localhost:8080', 'localhost')).toBeUndefined();
    expect(parseServiceHost('127.0.0.1:8080', 'localhost')).toBeUndefined();
    expect(parseServiceHost('a.b.localhost', 'localhost')).toBeUndefined();
    expect(parseServiceHost(undefined, 'localhost')).toBeUndefined();
  });
});
