/**
 * How the CLI reaches its server: the URL from KUMO_SERVER (else the running server's
 * `server.json` in KUMO_HOME, else http://127.0.0.1:8080), and an access token minted with
 * the key in KUMO_HOME.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { request } from 'undici';
import { ACCESS_AUDIENCE, loadOrCreateKeys, mintToken } from '../auth/tokens.js';
import { KumoError } from '../shared/errors.js';
import type { ErrorCode } from '../shared/errors.js';

export function kumoHome(env: NodeJS.ProcessEnv): string {
  return resolve(env.KUMO_HOME ?? '.kumo');
}

export function serverUrl(env: NodeJS.ProcessEnv): string {
  if (env.KUMO_SERVER) return env.KUMO_SERVER.replace(/\/+$/, '');
  const file = join(kumoHome(env), 'server.json');
  if (existsSync(file)) {
    try {
      const s = JSON.parse(readFileSync(file, 'utf8')) as { url?: string };
      if (s.url) return s.url;
    } catch {
      // fall through to the default
    }
  }
  return 'http://127.0.0.1:8080';
}

export function accessToken(env: NodeJS.ProcessEnv, ttlSec = 3600): string {
  const home = kumoHome(env);
  const keyDir = join(home, 'keys');
  if (!existsSync(join(keyDir, 'signing-key.pem'))) {
    throw new KumoError('UNAUTHENTICATED', `no kumo credential in ${home}: run the CLI with the KUMO_HOME of your server (it creates the key on first start)`);
  }
  return mintToken(loadOrCreateKeys(keyDir), { sub: 'admin', aud: ACCESS_AUDIENCE, typ: 'access', nowMs: Date.now(), ttlSec });
}

export class Client {
  constructor(
    readonly base: string,
    private readonly token: () => string,
  ) {}

  async call<T>(method: string, path: string, body?: unknown, opts: { raw?: Readable; contentType?: string } = {}): Promise<T> {
    let res;
    try {
      res = await request(`${this.base}${path}`, {
        method: method as 'GET',
        headers: {
          authorization: `Bearer ${this.token()}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(opts.contentType ? { 'content-type': opts.contentType } : {}),
        },
        body: opts.raw ?? (body !== undefined ? JSON.stringify(body) : null),
        headersTimeout: 120_000,
        bodyTimeout: 120_000,
      });
    } catch (err) {
      throw new KumoError('UNAVAILABLE', `cannot reach the kumo server at ${this.base} (${(err as Error).message}); start it with \`kumo server\` or set KUMO_SERVER`);
    }
    const text = await res.body.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new KumoError('INTERNAL', `the server at ${this.base} answered ${res.statusCode} with something that is not JSON: ${text.slice(0, 200)}`);
    }
    if (res.statusCode >= 400) {
      const e = (json as { error?: { status?: string; message?: string; details?: { fieldViolations?: { field: string; description: string }[] }[] } })?.error;
      throw new KumoError((e?.status as ErrorCode) ?? 'INTERNAL', e?.message ?? `HTTP ${res.statusCode}`, {
        ...(e?.details?.[0]?.fieldViolations ? { violations: e.details[0].fieldViolations } : {}),
      });
    }
    return json as T;
  }

  /** A server-sent event stream, one parsed `data:` object at a time. */
  async *events<T>(path: string, onOpen?: () => void): AsyncGenerator<T> {
    const res = await request(`${this.base}${path}`, { headers: { authorization: `Bearer ${this.token()}` }, bodyTimeout: 0 });
    if (res.statusCode >= 400) throw new KumoError('INTERNAL', `HTTP ${res.statusCode}: ${await res.body.text()}`);
    onOpen?.();
    let buf = '';
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      buf += chunk.toString('utf8');
      let i = buf.indexOf('\n\n');
      while (i >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        for (const line of block.split('\n')) if (line.startsWith('data: ')) yield JSON.parse(line.slice(6)) as T;
        i = buf.indexOf('\n\n');
      }
    }
  }
}

export function clientFrom(env: NodeJS.ProcessEnv): Client {
  return new Client(serverUrl(env), () => accessToken(env));
}

