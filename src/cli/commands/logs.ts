/** `kumo run services logs read|tail NAME`. */
import type { LogEntry } from '../../observability/log.types.js';
import { KumoError } from '../../shared/errors.js';
import { intFlag, str } from '../flags.js';
import type { Ctx } from './context.js';

export function formatEntry(e: LogEntry): string {
  const time = e.timestamp.replace('T', ' ').replace(/\.\d+Z$/, '').replace(/Z$/, '');
  const text =
    e.textPayload ??
    (e.httpRequest ? `${e.httpRequest.requestMethod} ${e.httpRequest.status} ${e.httpRequest.latency ?? ''} ${e.httpRequest.requestUrl}` : undefined) ??
    (typeof e.jsonPayload?.message === 'string' ? e.jsonPayload.message : JSON.stringify(e.jsonPayload ?? {}));
  const sev = e.severity === 'DEFAULT' ? '' : `${e.severity} `;
  return `${time} ${e.revision ?? ''} ${sev}${text}`;
}

function query(ctx: Ctx): string {
  const q = new URLSearchParams();
  for (const k of ['severity', 'since', 'revision']) {
    const v = str(ctx.args, k);
    if (v !== undefined) q.set(k, v);
  }
  return q.toString();
}

export async function logsRead(ctx: Ctx): Promise<number> {
  const name = ctx.args.positionals[0];
  if (!name) throw new KumoError('INVALID_ARGUMENT', 'usage: kumo run services logs read NAME [--limit N] [--severity S] [--since 10m] [--revision R]');
  const limit = intFlag(ctx.args, 'limit', 1, 10_000) ?? 100;
  const qs = query(ctx);
  const { entries } = await ctx.client().call<{ entries: LogEntry[] }>('GET', `/api/services/${name}/logs?limit=${limit}${qs ? `&${qs}` : ''}`);
  if (ctx.format === 'json') ctx.out(`${JSON.stringify(entries, null, 2)}\n`);
  else ctx.out(entries.map((e) => `${formatEntry(e)}\n`).join(''));
  return 0;
}

export async function logsTail(ctx: Ctx): Promise<number> {
  const name = ctx.args.positionals[0];
  if (!name) throw new KumoError('INVALID_ARGUMENT', 'usage: kumo run services logs tail NAME');
  const client = ctx.client();
  await client.call('GET', `/api/services/${name}`);
  const qs = query(ctx);
  const opened = () => ctx.err(`Tailing logs of ${name}; new entries appear as they are written (Ctrl-C to stop).\n`);
  for await (const e of client.events<LogEntry>(`/api/services/${name}/logs/tail${qs ? `?${qs}` : ''}`, opened)) {
    ctx.out(ctx.format === 'json' ? `${JSON.stringify(e)}\n` : `${formatEntry(e)}\n`);
  }
  return 0;
}
