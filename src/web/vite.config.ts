/**
 * Builds the dashboard (`src/web/app`) into `dist/web/public`, where `kumo server` serves it
 * from. Part of `npm run build` (and so of `npm ci`). Preact's JSX through Vite's own transform.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const app = fileURLToPath(new URL('./app/', import.meta.url));

export default defineConfig({
  root: app,
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../../dist/web/public/', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    modulePreload: { polyfill: false },
    manifest: true,
    reportCompressedSize: false,
  },
});
