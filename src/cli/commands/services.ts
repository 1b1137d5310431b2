/** `kumo run services list|describe|delete|…` and `kumo run revisions list|describe|delete`. */
import type { Operation } from '../../operations/operation.types.js';
import type { Revision } from '../../serving/revision.types.js';
import type { Service } from '../../serving/service.types.js';
import { KEYS } from '../../serving/service.types.js';
import { KumoError } from '../../shared/errors.js';
import { str } from '../flags.js';
import { ago, render, table } from '../output.js';
import type { Ctx } from './context.js';
import { watchOperation } from './deploy.js';

function one(ctx: Ctx, usage: string): string {
  const n = ctx.args.positionals[0];
  if (!n || ctx.args.positionals.length > 1) throw new KumoError('INVALID_ARGUMENT', `usage: ${usage}`);
  return n;
}

const readyMark = (conds: { type: string; status: string }[]) => {
  const s = conds.find((c) => c.type === 'Ready')?.status;
  return s === 'True' ? '✔' : s === 'False' ? '✖' : '…';
};

export async function servicesList(ctx: Ctx): Promise<number> {
  const { items } = await ctx.client().call<{ items: Service[] }>('GET', '/api/services');
  if (ctx.format === 'json' || ctx.format === 'yaml') ctx.out(render(items, ctx.format));
  else if (ctx.format === 'value') ctx.out(items.map((s) => `${s.metadata.name}\n`).join(''));
  else {
    ctx.out(
      table(
        ['', 'SERVICE', 'REGION', 'URL', 'LAST DEPLOYED BY', 'LAST DEPLOYED AT'],
        items.map((s) => [
          readyMark(s.status.conditions),
          s.metadata.name,
          s.metadata.labels[KEYS.location] ?? '',
          s.status.url ?? '',
          s.metadata.annotations[KEYS.lastModifier] ?? '',
          s.status.conditions.find((c) => c.type === 'Ready')?.lastTransitionTime ?? '',
        ]),
      ),
    );
  }
  return 0;
}

export async function servicesDescribe(ctx: Ctx): Promise<number> {
  const name = one(ctx, 'kumo run services describe NAME');
  const s = await ctx.client().call<Service>('GET', `/api/services/${name}`);
  if (ctx.format === 'json' || ctx.format === 'yaml') {
    ctx.out(render(s, ctx.format));
    return 0;
  }
  const t = s.spec.template;
  const c = t.spec.containers[0] ?? {};
  const ann = t.metadata.annotations ?? {};
  const ready = s.status.conditions.find((x) => x.type === 'Ready');
  const lines = [
    `${readyMark(s.status.conditions)} Service ${name} in region ${s.metadata.labels[KEYS.location] ?? ''}`,
    '',
    `URL:     ${s.status.url ?? ''}`,
    'Traffic:',
    ...s.status.traffic.map((x) => `  ${String(x.percent ?? 0).padStart(3)}% ${x.revisionName ?? ''}${x.latestRevision ? ' (latest)' : ''}${x.tag ? `  tag ${x.tag}: ${x.url ?? ''}` : ''}`),
    '',
    `Last updated by ${s.metadata.annotations[KEYS.lastModifier] ?? ''}:`,
    `  Revision ${s.status.latestCreatedRevisionName ?? ''}${s.status.latestCreatedRevisionName !== s.status.latestReadyRevisionName ? ' (not ready)' : ''}`,
    `  ${c.image ? `Image:         ${c.image}` : `Source:        ${ann[KEYS.source] ?? ''}`}`,
    ...(c.command ? [`  Command:       ${c.command.join(' ')}`] : []),
    ...(c.args ? [`  Args:          ${c.args.join(' ')}`] : []),
    `  Port:          ${c.ports?.[0]?.containerPort ?? 8080}`,
    `  Memory:        ${c.resources?.limits?.memory ?? ''}`,
    `  CPU:           ${c.resources?.limits?.cpu ?? ''}`,
    `  Concurrency:   ${t.spec.containerConcurrency ?? ''}`,
    `  Timeout:       ${t.spec.timeoutSeconds ?? ''}s`,
    `  Min instances: ${ann[KEYS.minScale] ?? ann[KEYS.minScaleKebab] ?? '0'}`,
    `  Max instances: ${ann[KEYS.maxScale] ?? ann[KEYS.maxScaleKebab] ?? ''}`,
    `  CPU throttling: ${ann[KEYS.cpuThrottling] === 'false' ? 'off (CPU always allocated)' : 'on (CPU only while serving)'}`,
    ...((c.env ?? []).length > 0 ? ['  Env vars:', ...(c.env ?? []).map((e) => `    ${e.name}  ${e.value}`)] : []),
    ...(ready && ready.status !== 'True' && ready.message ? ['', `Status: ${ready.reason ?? ''}: ${ready.message}`] : []),
  ];
  ctx.out(lines.join('\n') + '\n');
  return 0;
}

export async function servicesDelete(ctx: Ctx): Promise<number> {
  const name = one(ctx, 'kumo run services delete NAME');
  const client = ctx.client();
  const { operation } = await client.call<{ operation?: Operation }>('DELETE', `/api/services/${name}`);
  if (operation) await watchOperation(client, operation, ctx.out, ctx.format !== 'table');
  if (ctx.format === 'table') ctx.out(`Deleted service [${name}].\n`);
  return 0;
}

export async function iamBinding(ctx: Ctx, add: boolean): Promise<number> {
  const name = one(ctx, `kumo run services ${add ? 'add' : 'remove'}-iam-policy-binding NAME --member=MEMBER --role=roles/run.invoker`);
  const member = str(ctx.args, 'member');
  const role = str(ctx.args, 'role');
  if (!member || !role) throw new KumoError('INVALID_ARGUMENT', '--member and --role are required (for example --member=allUsers --role=roles/run.invoker)', { field: member ? '--role' : '--member' });
  const client = ctx.client();
  const policy = await client.call<{ bindings: { role: string; members: string[] }[]; etag?: string }>('GET', `/api/services/${name}/iam`);
  const bindings = policy.bindings.map((b) => ({ ...b, members: [...b.members] }));
  let b = bindings.find((x) => x.role === role);
  if (!b && add) bindings.push((b = { role, members: [] }));
  if (b) b.members = add ? [...new Set([...b.members, member])] : b.members.filter((m) => m !== member);
  const next = await client.call('PUT', `/api/services/${name}/iam`, { bindings: bindings.filter((x) => x.members.length > 0), ...(policy.etag ? { etag: policy.etag } : {}) });
  ctx.out(render(next, ctx.format === 'json' ? 'json' : 'yaml'));
  return 0;
}

export async function getIamPolicy(ctx: Ctx): Promise<number> {
  const name = one(ctx, 'kumo run services get-iam-policy NAME');
  ctx.out(render(await ctx.client().call('GET', `/api/services/${name}/iam`), ctx.format === 'json' ? 'json' : 'yaml'));
  return 0;
}

export async function revisionsList(ctx: Ctx): Promise<number> {
  const service = str(ctx.args, 'service');
  const client = ctx.client();
  const { items } = await client.call<{ items: Revision[] }>('GET', `/api/revisions${service ? `?service=${encodeURIComponent(service)}` : ''}`);
  if (ctx.format === 'json' || ctx.format === 'yaml') {
    ctx.out(render(items, ctx.format));
    return 0;
  }
  const services = new Map<string, Service>();
  for (const s of (await client.call<{ items: Service[] }>('GET', '/api/services')).items) services.set(s.metadata.name, s);
  ctx.out(
    table(
      ['', 'REVISION', 'ACTIVE', 'SERVICE', 'DEPLOYED', 'DEPLOYED BY'],
      items.map((r) => {
        const svc = r.metadata.labels[KEYS.serviceLabel] ?? '';
        const traffic = services.get(svc)?.status.traffic.find((t) => t.revisionName === r.metadata.name);
        return [readyMark(r.status.conditions), r.metadata.name, traffic && (traffic.percent ?? 0) > 0 ? 'yes' : '', svc, ago(r.metadata.creationTimestamp), services.get(svc)?.metadata.annotations[KEYS.creator] ?? ''];
      }),
    ),
  );
  return 0;
}

export async function revisionsDescribe(ctx: Ctx): Promise<number> {
  const name = one(ctx, 'kumo run revisions describe NAME');
  const r = await ctx.client().call<Revision>('GET', `/api/revisions/${name}`);
  if (ctx.format === 'json' || ctx.format === 'yaml') {
    ctx.out(render(r, ctx.format));
    return 0;
  }
  const c = r.spec.containers[0] ?? {};
  const ann = r.metadata.annotations;
  const ready = r.status.conditions.find((x) => x.type === 'Ready');
  ctx.out(
    [
      `${readyMark(r.status.conditions)} Revision ${name} of service ${r.metadata.labels[KEYS.serviceLabel] ?? ''}`,
      `  Created:     ${r.metadata.creationTimestamp}`,
      `  ${c.image ? `Image:       ${c.image}${r.status.imageDigest ? ` (at ${r.status.imageDigest})` : ''}` : `Source:      ${ann[KEYS.source] ?? ''}`}`,
      `  Concurrency: ${r.spec.containerConcurrency ?? ''}`,
      `  Timeout:     ${r.spec.timeoutSeconds ?? ''}s`,
      `  Memory/CPU:  ${c.resources?.limits?.memory ?? ''} / ${c.resources?.limits?.cpu ?? ''}`,
      ...(ready?.message ? [`  Status:      ${ready.reason ?? ''}: ${ready.message}`] : []),
      // e.g. ContainerHealthy False after an instance was killed at its memory limit
      ...r.status.conditions.filter((x) => x.type !== 'Ready' && x.status === 'False' && x.message !== ready?.message).map((x) => `  ${x.type}: ${x.reason ?? ''}: ${x.message ?? ''}`),
    ].join('\n') + '\n',
  );
  return 0;
}

export async function revisionsDelete(ctx: Ctx): Promise<number> {
  const name = one(ctx, 'kumo run revisions delete NAME');
  await ctx.client().call('DELETE', `/api/revisions/${name}`);
  ctx.out(`Deleted revision [${name}].\n`);
  return 0;
}
