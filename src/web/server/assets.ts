/**
 * The dashboard's built files (`npm run build` puts Vite's output in `dist/web/public`), read
 * once at start and kept in memory with their gzip form. The shell (`index.html`) gets the
 * session's CSRF token filled in per request; hashed assets are cached by the browser for good.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** Where the build puts the dashboard, beside this module in dist/. */
export const BUILT_ASSETS_DIR = fileURLToPath(new URL('../public/', import.meta.url));

export const CSRF_PLACEHOLDER = '%KUMO_CSRF%';
export const PRELOAD_PLACEHOLDER = '<!--kumo:preload-->';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

export interface Asset {
  type: string;
  body: Buffer;
  /** Present when it is smaller than the body. */
  gzip?: Buffer;
  etag: string;
}

export interface DashboardAssets {
  /** The shell HTML with the CSRF placeholder still in it; undefined when the dashboard was not built. */
  shell: string | undefined;
  /** By URL path (`/assets/index-abc123.js`). */
  files: Map<string, Asset>;
  dir: string;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

export function loadAssets(dir: string = BUILT_ASSETS_DIR): DashboardAssets {
  const files = new Map<string, Asset>();
  if (!existsSync(join(dir, 'index.html'))) return { shell: undefined, files, dir };
  for (const file of walk(dir)) {
    const path = `/${relative(dir, file).split(sep).join('/')}`;
    // The shell is served on its own; Vite's manifest (`.vite/`) is for the build's tests only.
    if (path === '/index.html' || path.startsWith('/.')) continue;
    const body = readFileSync(file);
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    const gz = /^(text|image\/svg)|json/.test(type) ? gzipSync(body, { level: 9 }) : undefined;
    files.set(path, {
      type,
      body,
      ...(gz && gz.length < body.length ? { gzip: gz } : {}),
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    });
  }
  return { shell: readFileSync(join(dir, 'index.html'), 'utf8'), files, dir };
}
