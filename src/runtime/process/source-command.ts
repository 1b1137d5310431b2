/**
 * What to run for a source folder when the user gave no `--command`: the `start` script of its
 * package.json, else its `main`, else a conventional entry file. Pure apart from reading the folder.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KumoError } from '../../shared/errors.js';

const ENTRY_FILES = ['server.js', 'index.js', 'app.js', 'main.js', 'server.mjs', 'index.mjs'];

export function commandForSource(dir: string, command?: string[], args?: string[]): string[] {
  if (command && command.length > 0) return [...command, ...(args ?? [])];
  const pkgFile = join(dir, 'package.json');
  if (existsSync(pkgFile)) {
    let pkg: { scripts?: Record<string, string>; main?: string };
    try {
      pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as typeof pkg;
    } catch (err) {
      throw new KumoError('INVALID_ARGUMENT', `package.json in the source folder is not valid JSON (${(err as Error).message}); fix it or pass --command`, {
        field: 'source',
      });
    }
    const start = pkg.scripts?.start;
    // `npm start` would add npm's own start-up time to every cold start; run the script directly.
    if (start) return ['/bin/sh', '-c', args && args.length > 0 ? `${start} "$@"` : start, 'sh', ...(args ?? [])];
    if (pkg.main && existsSync(join(dir, pkg.main))) return [process.execPath, pkg.main, ...(args ?? [])];
  }
  for (const f of ENTRY_FILES) {
    if (existsSync(join(dir, f))) return [process.execPath, f, ...(args ?? [])];
  }
  throw new KumoError(
    'INVALID_ARGUMENT',
    `kumo cannot tell how to start the source folder: it has no package.json "start" script or "main", and none of ${ENTRY_FILES.join(', ')}; pass --command (for example --command node --args server.js)`,
    { field: 'command' },
  );
}
