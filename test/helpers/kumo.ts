/**
 * Test helpers: a real `kumo server` from dist/ on ephemeral ports with a temporary KUMO_HOME,
 * the real CLI, and HTTP calls to services through the front door (Host header routing).
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadOrCreateKeys, mintToken } from '../../src/auth/tokens.js';

/** The checkout (KUMO_ROOT when this file runs compiled elsewhere, as the benchmarks do). */
export const ROOT = process.env.KUMO_ROOT ?? resolve(import.meta.dirname, '..', '..');
export const KUMO_BIN = join(ROOT, 'dist', 'cli', 'main.js');
export const HELLO_DIR = join(ROOT, 'examples', 'hello');

export interface KumoServer {
  home: string;
  port: number;
  url: string;
  /** The Google API port (gRPC and REST), from the server's `Google APIs (…) on HOST:PORT` line. */
  apiPort: number;
  child: ChildProcess;
  output: () => string;
  /** Run the CLI against this server. */
  cli(args: string[], opts?: { input?: string }): { code: number; stdout: string; stderr: string };
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

let counter = 0;
export function uniqueName(prefix: string): string {
  counter++;
  return `${prefix}-${process.pid.toString(36)}${counter}${Math.random().toString(36).slice(2, 5)}`.slice(0, 40);
}

export interface StartKumoOptions {
  /** The server's runtime (default `process`); `auto` lets the server pick. */
  runtime?: 'process' | 'runc' | 'docker' | 'auto';
  /** Extra environment for the server (e.g. DOCKER_HOST, KUMO_NETWORK_CIDR). */
  env?: Record<string, string>;
}

export async function startKumo(flags: string[] = [], home?: string, options: StartKumoOptions = {}): Promise<KumoServer> {
  const dir = home ?? mkdtempSync(join(tmpdir(), 'kumo-test-'));
  const child = spawn(process.execPath, [KUMO_BIN, 'server', '--port', '0', '--api-port', '0', '--home', dir, '--runtime', options.runtime ?? 'process', ...flags], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...(options.env ?? {}), KUMO_HOME: dir },
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const { url, apiPort } = await new Promise<{ url: string; apiPort: number }>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`kumo server did not start:\n${out}`)), 30_000);
    const check = () => {
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      const a = /Google APIs \(.*\) on \S+:(\d+),/.exec(out);
      if (m?.[1] && a?.[1]) {
        clearTimeout(timer);
        resolvePromise({ url: m[1], apiPort: Number(a[1]) });
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kumo server exited with ${String(code)}:\n${out}`));
    });
  });
  const port = Number(new URL(url).port);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    home: dir,
    port,
    url,
    apiPort,
    child,
    output: () => out,
    cli(args, opts = {}) {
      const r = spawnSync(process.execPath, [KUMO_BIN, ...args], {
        env: { ...process.env, KUMO_HOME: dir, KUMO_SERVER: url },
        encoding: 'utf8',
        input: opts.input ?? '',
        timeout: 120_000,
      });
      return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

export function removeHome(k: KumoServer): void {
  rmSync(k.home, { recursive: true, force: true });
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  ms: number;
}

/** An HTTP request to SERVICE.localhost through the front door on 127.0.0.1. */
export function call(
  k: { port: number },
  host: string,
  path = '/',
  opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer; timeoutMs?: number } = {},
): Promise<Reply> {
  const t0 = Date.now();
  return new Promise((resolvePromise, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: k.port,
        path,
        method: opts.method ?? 'GET',
        headers: { host: `${host}:${k.port}`, ...(opts.headers ?? {}) },
        timeout: opts.timeoutMs ?? 60_000,
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body, ms: Date.now() - t0 }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Deploy the hello example (public) under a new name and return that name. */
export function deployHello(k: KumoServer, name: string, flags: string[] = []): string {
  const r = k.cli(['run', 'deploy', name, '--source', HELLO_DIR, '--allow-unauthenticated', ...flags]);
  if (r.code !== 0) throw new Error(`deploy ${name} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return name;
}

export interface InstanceInfo {
  revision: string;
  id: string;
  state: string;
  inFlight: number;
  startReason: string;
}

export function adminToken(k: { home: string }): string {
  return mintToken(loadOrCreateKeys(join(k.home, 'keys')), { sub: 'admin', aud: 'kumo', typ: 'access', nowMs: Date.now(), ttlSec: 600 });
}

/** Call kumo's own API with an admin token. */
export async function api<T>(k: KumoServer, method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(`${k.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken(k)}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json()) as T };
}

export async function instances(k: KumoServer, service: string): Promise<InstanceInfo[]> {
  const r = await api<{ items: InstanceInfo[] }>(k, 'GET', `/api/services/${service}/instances`);
  return r.json.items;
}

export async function waitFor<T>(what: string, fn: () => T | Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await fn();
  while (!ok(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, everyMs));
    last = await fn();
  }
  return last;
}
