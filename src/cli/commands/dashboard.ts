/** `kumo dashboard [--open] [--print-url]`: a link that signs a browser in to the dashboard once. */
import { spawn } from 'node:child_process';
import { bool } from '../flags.js';
import type { Ctx } from './context.js';

interface SignInCode {
  code: string;
  signInPath: string;
  expireTime: string;
}

/** The platform's "open this URL" command. */
function opener(url: string): [string, string[]] {
  if (process.platform === 'darwin') return ['open', [url]];
  if (process.platform === 'win32') return ['cmd', ['/c', 'start', '', url]];
  return ['xdg-open', [url]];
}

function openBrowser(url: string): Promise<string | undefined> {
  const [cmd, args] = opener(url);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
    child.once('error', (err) => resolve(`${cmd} failed: ${err.message}`));
    child.once('spawn', () => {
      child.unref();
      resolve(undefined);
    });
  });
}

export async function dashboard(ctx: Ctx): Promise<number> {
  const client = ctx.client();
  const signIn = await client.call<SignInCode>('POST', '/api/dashboard/codes');
  const url = `${client.base}${signIn.signInPath}`;
  if (bool(ctx.args, 'print-url')) {
    ctx.out(`${url}\n`);
    return 0;
  }
  ctx.out(`The kumo dashboard: this link signs one browser in, once, until ${signIn.expireTime}:\n\n  ${url}\n\n`);
  if (bool(ctx.args, 'open')) {
    const failed = await openBrowser(url);
    if (failed) ctx.err(`kumo: could not open a browser (${failed}); open the link above yourself.\n`);
    else ctx.out('Opened it in your browser.\n');
  }
  return 0;
}
