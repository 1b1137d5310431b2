/**
 * `kumo server --examples`: deploy every folder under `examples/` (public, so a newcomer can
 * open it at once), skipping ones already deployed from the same files, and print their URLs.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServingController } from '../serving/serving.controller.js';
import { KEYS } from '../serving/service.types.js';
import { packSource } from '../serving/source.pack.js';
import type { SourceStore } from '../serving/source.store.js';

export function examplesDir(): string {
  // dist/server/examples.js → <package>/examples
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples');
}

export async function deployExamples(o: {
  control: ServingController;
  sources: SourceStore;
  log: (line: string) => void;
  urlFor: (name: string) => string;
}): Promise<void> {
  const root = examplesDir();
  if (!existsSync(root)) {
    o.log(`kumo: no examples folder at ${root}`);
    return;
  }
  for (const name of readdirSync(root).sort()) {
    const dir = join(root, name);
    if (!statSync(dir).isDirectory()) continue;
    const { digest } = await o.sources.put(packSource(dir));
    let existing;
    try {
      existing = o.control.getService(name);
    } catch {
      existing = undefined;
    }
    if (existing?.spec.template.metadata.annotations?.[KEYS.source] !== digest || existing.status.conditions.find((c) => c.type === 'Ready')?.status !== 'True') {
      const { operation } = o.control.applyService(
        {
          metadata: { name },
          spec: { template: { metadata: { annotations: { [KEYS.source]: digest } }, spec: { containers: [{}] } } },
        },
        { mode: 'apply', actor: 'examples' },
      );
      if (existing === undefined || !o.control.getIamPolicy(name).bindings.some((b) => b.members.includes('allUsers'))) {
        o.control.setIamPolicy(name, { bindings: [{ role: 'roles/run.invoker', members: ['allUsers'] }] });
      }
      if (operation) {
        const done = await o.control.waitOperation(operation.name, 120_000);
        if (done.error) {
          o.log(`kumo: example ${name} failed to deploy: ${done.error.message}`);
          continue;
        }
      }
    }
    o.log(`kumo: example ${name} is at ${o.urlFor(name)}`);
  }
}
