/** `kumo auth print-access-token | print-identity-token` and `kumo config get|list`. */
import { join } from 'node:path';
import { loadOrCreateKeys, mintToken } from '../../auth/tokens.js';
import { KumoError } from '../../shared/errors.js';
import { accessToken, kumoHome, serverUrl } from '../client.js';
import { intFlag, list, str } from '../flags.js';
import { render } from '../output.js';
import type { Ctx } from './context.js';

export async function printAccessToken(ctx: Ctx): Promise<number> {
  const ttl = intFlag(ctx.args, 'lifetime', 60, 7 * 24 * 3600) ?? 3600;
  ctx.out(`${accessToken(ctx.env, ttl)}\n`);
  return 0;
}

export async function printIdentityToken(ctx: Ctx): Promise<number> {
  const audiences = list(ctx.args, 'audiences');
  if (!audiences || audiences.length !== 1) {
    throw new KumoError('INVALID_ARGUMENT', '--audiences needs the URL of the service you will call, e.g. --audiences http://hello.localhost:8080', { field: '--audiences' });
  }
  const sa = str(ctx.args, 'impersonate-service-account');
  if (sa !== undefined && !/^[^@\s]+@[^@\s]+$/.test(sa)) {
    throw new KumoError('INVALID_ARGUMENT', `--impersonate-service-account must be an email like invoker@my-project.iam.gserviceaccount.com; got "${sa}"`, { field: '--impersonate-service-account' });
  }
  const ttl = intFlag(ctx.args, 'lifetime', 60, 24 * 3600) ?? 3600;
  const keyDir = join(kumoHome(ctx.env), 'keys');
  accessToken(ctx.env, 60); // checks the credential exists, with its message
  const token = mintToken(loadOrCreateKeys(keyDir), {
    sub: sa ?? 'admin',
    aud: (audiences[0] ?? '').replace(/\/+$/, ''),
    typ: 'identity',
    nowMs: Date.now(),
    ttlSec: ttl,
    ...(sa ? { email: sa } : {}),
  });
  ctx.out(`${token}\n`);
  return 0;
}

export async function configGet(ctx: Ctx): Promise<number> {
  const key = ctx.args.positionals[0];
  const known = ['project', 'region', 'server', 'home'];
  if (!key || !known.includes(key.replace(/^(core|run)\//, ''))) {
    throw new KumoError('INVALID_ARGUMENT', `usage: kumo config get ${known.join('|')}`);
  }
  const k = key.replace(/^(core|run)\//, '');
  if (k === 'server') ctx.out(`${serverUrl(ctx.env)}\n`);
  else if (k === 'home') ctx.out(`${kumoHome(ctx.env)}\n`);
  else {
    const cfg = await ctx.client().call<Record<string, string>>('GET', '/api/config');
    ctx.out(`${cfg[k] ?? ''}\n`);
  }
  return 0;
}

export async function configList(ctx: Ctx): Promise<number> {
  const cfg = await ctx.client().call<Record<string, unknown>>('GET', '/api/config');
  ctx.out(render({ ...cfg, server: serverUrl(ctx.env), home: kumoHome(ctx.env) }, ctx.format === 'json' ? 'json' : 'yaml'));
  return 0;
}
