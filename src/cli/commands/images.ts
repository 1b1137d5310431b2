/** `kumo images list|describe|delete|gc`: what kumo's registry holds, and which revisions use it. */
import { KumoError } from '../../shared/errors.js';
import { parseDurationMs } from '../../shared/units.js';
import { str } from '../flags.js';
import { render, table } from '../output.js';
import type { Ctx } from './context.js';

interface Use {
  service: string;
  revision: string;
}

const size = (b: number) => (b >= 1024 ** 3 ? `${(b / 1024 ** 3).toFixed(1)} GiB` : b >= 1024 ** 2 ? `${(b / 1024 ** 2).toFixed(1)} MiB` : `${(b / 1024).toFixed(1)} KiB`);

function one(ctx: Ctx, usage: string): string {
  const n = ctx.args.positionals[0];
  if (!n || ctx.args.positionals.length > 1) throw new KumoError('INVALID_ARGUMENT', `usage: ${usage}`);
  return n;
}

export async function imagesList(ctx: Ctx): Promise<number> {
  const { items } = await ctx.client().call<{ items: { repository: string; tags: string[]; manifestCount: number; sizeBytes: number; updatedAt: string; usedBy: Use[] }[] }>('GET', '/api/images');
  if (ctx.format === 'json' || ctx.format === 'yaml') ctx.out(render(items, ctx.format));
  else {
    ctx.out(
      table(
        ['REPOSITORY', 'TAGS', 'MANIFESTS', 'SIZE', 'UPDATED', 'USED BY'],
        items.map((i) => [i.repository, i.tags.join(','), String(i.manifestCount), size(i.sizeBytes), i.updatedAt, [...new Set(i.usedBy.map((u) => u.revision))].join(',')]),
      ),
    );
  }
  return 0;
}

export async function imagesDescribe(ctx: Ctx): Promise<number> {
  const name = one(ctx, 'kumo images describe REPOSITORY');
  const d = await ctx.client().call<{ repository: string; versions: { digest: string; kind: string; tags: string[]; sizeBytes: number; createdAt: string; pinned: boolean; platforms?: string[]; usedBy: Use[] }[] }>(
    'GET',
    `/api/images/${name.split('/').map(encodeURIComponent).join('/')}`,
  );
  if (ctx.format === 'json' || ctx.format === 'yaml') ctx.out(render(d, ctx.format));
  else {
    ctx.out(`Repository ${d.repository}\n\n`);
    ctx.out(
      table(
        ['DIGEST', 'KIND', 'TAGS', 'SIZE', 'CREATED', 'PINNED', 'USED BY'],
        d.versions.map((v) => [v.digest.slice(0, 19), v.kind + (v.platforms ? ` (${v.platforms.join(',')})` : ''), v.tags.join(','), size(v.sizeBytes), v.createdAt, v.pinned ? 'yes' : '', v.usedBy.map((u) => u.revision).join(',')]),
      ),
    );
  }
  return 0;
}

export async function imagesDelete(ctx: Ctx): Promise<number> {
  const ref = one(ctx, 'kumo images delete REPOSITORY:TAG | REPOSITORY@DIGEST');
  const r = await ctx.client().call<{ untagged: string[]; deleted: { repository: string; digest: string }[] }>('DELETE', `/api/images/${ref.split('/').map(encodeURIComponent).join('/')}`);
  if (ctx.format === 'json' || ctx.format === 'yaml') ctx.out(render(r, ctx.format));
  else {
    for (const t of r.untagged) ctx.out(`Untagged ${t}\n`);
    for (const d of r.deleted) ctx.out(`Deleted ${d.repository}@${d.digest}\n`);
    if (r.deleted.length === 0 && r.untagged.length > 0) ctx.out('The manifest stays until `kumo images gc` collects it (if nothing else names it).\n');
  }
  return 0;
}

export async function imagesGc(ctx: Ctx): Promise<number> {
  const grace = str(ctx.args, 'grace');
  let query = '';
  if (grace !== undefined) {
    const ms = parseDurationMs(grace);
    if (ms === undefined || ms > 30 * 24 * 3_600_000) {
      throw new KumoError('INVALID_ARGUMENT', `--grace must be a duration from 0s to 720h (like 0s, 10m or 1h); got "${grace}"`, { field: '--grace' });
    }
    query = `?graceMs=${ms}`;
  }
  const r = await ctx.client().call<{ manifestsDeleted: unknown[]; blobsDeleted: number; bytesFreed: number; uploadsExpired: number }>('POST', `/api/images:gc${query}`);
  if (ctx.format === 'json' || ctx.format === 'yaml') ctx.out(render(r, ctx.format));
  else ctx.out(`Removed ${r.manifestsDeleted.length} manifest(s) and ${r.blobsDeleted} blob(s), freed ${size(r.bytesFreed)}; expired ${r.uploadsExpired} abandoned upload(s). Images revisions run are never removed.\n`);
  return 0;
}
