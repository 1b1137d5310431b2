/**
 * Service definitions come from the .proto files Google's npm packages ship, found on disk (newer
 * packages block deep `require.resolve` through their `exports` maps, so we resolve each package's
 * main file and walk up to its root).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';
import { KumoError } from '../shared/errors.js';

const require = createRequire(import.meta.url);

/** The root folder of an installed npm package. */
export function packageRoot(name: string): string {
  let dir = dirname(require.resolve(name));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string };
      if (parsed.name === name) return dir;
    }
    const up = dirname(dir);
    if (up === dir) throw new KumoError('INTERNAL', `cannot find the root of npm package ${name}; is it installed?`);
    dir = up;
  }
}

/** `build/protos` of a package that ships protos (google-gax ships the shared google/* ones). */
export function protoDirOf(name: string): string {
  const dir = join(packageRoot(name), 'build', 'protos');
  if (!existsSync(dir)) throw new KumoError('INTERNAL', `npm package ${name} ships no build/protos folder`);
  return dir;
}

/** The folder of the shared google/api, google/longrunning, google/rpc, google/protobuf protos. */
export function commonProtoDir(): string {
  return protoDirOf('google-gax');
}

export interface ProtoSet {
  /** Folders searched for imports, in order. */
  includeDirs: string[];
  /** Files relative to an include dir, e.g. `google/cloud/run/v2/service.proto`. */
  files: string[];
}

/** Load every file of every set into one resolved Root; the common protos are always included. */
export function loadProtos(sets: readonly ProtoSet[]): protobuf.Root {
  const dirs: string[] = [];
  for (const s of sets) for (const d of s.includeDirs) if (!dirs.includes(d)) dirs.push(d);
  const common = commonProtoDir();
  if (!dirs.includes(common)) dirs.push(common);
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const d of dirs) {
      const candidate = join(d, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  const files = [...new Set(sets.flatMap((s) => s.files))];
  root.loadSync(files, { keepCase: false });
  root.resolveAll();
  return root;
}
