/**
 * The first page's production bundle (what `/services` loads before it can paint: the entry
 * chunk, its static imports, their CSS, and the shell) stays under 200 KB gzipped. Reads the
 * build's own manifest in dist/web/public; prints the figure.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/kumo.js';

const BUILT_ASSETS_DIR = join(ROOT, 'dist', 'web', 'public');

interface Chunk {
  file: string;
  isEntry?: boolean;
  imports?: string[];
  css?: string[];
}

describe('the dashboard build', () => {
  it('loads under 200 KB gzipped for the first page', () => {
    const manifest = JSON.parse(readFileSync(join(BUILT_ASSETS_DIR, '.vite', 'manifest.json'), 'utf8')) as Record<string, Chunk>;
    const entry = Object.entries(manifest).find(([, c]) => c.isEntry);
    expect(entry).toBeDefined();
    const files = new Set<string>(['index.html']);
    const visit = (key: string) => {
      const c = manifest[key];
      if (!c || files.has(c.file)) return;
      files.add(c.file);
      for (const css of c.css ?? []) files.add(css);
      for (const i of c.imports ?? []) visit(i);
    };
    visit(entry?.[0] ?? '');
    const sizes = [...files].map((f) => {
      const body = readFileSync(join(BUILT_ASSETS_DIR, f));
      return { f, raw: body.length, gz: gzipSync(body, { level: 9 }).length };
    });
    const gz = sizes.reduce((a, s) => a + s.gz, 0);
    console.log(`dashboard: first page ${(gz / 1024).toFixed(1)} KB gzipped (${sizes.map((s) => `${s.f} ${(s.gz / 1024).toFixed(1)} KB`).join(', ')})`);
    expect(gz).toBeLessThan(200 * 1024);
    // Charts (uPlot) and YAML load with the pages that show them, not with the first one.
    const first = sizes.map((s) => readFileSync(join(BUILT_ASSETS_DIR, s.f), 'utf8')).join('\n');
    expect(first).not.toContain('u-over'); // uPlot's plot area
    expect(first).not.toContain('yaml.org'); // the YAML library's tag names
  });
});
