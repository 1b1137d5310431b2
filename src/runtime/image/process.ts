/**
 * The process an instance runs, from the image config and the revision's overrides, with
 * Kubernetes' rules: `command` replaces the Entrypoint (and drops Cmd), `args` replaces Cmd.
 * Environment precedence, lowest first: image Env, kumo's (Google API hosts), the revision's
 * env, then PORT. Pure: passwd and group text are handed in.
 */
import { KumoError } from '../../shared/errors.js';
import type { ResolvedImage } from '../runtime.js';

export interface ContainerProcess {
  args: string[];
  env: string[];
  cwd: string;
  user: { uid: number; gid: number; additionalGids: number[] };
}

export interface ProcessInput {
  image: ResolvedImage['config'];
  command?: string[];
  args?: string[];
  /** Variables kumo adds (GOOGLE_CLOUD_PROJECT, PUBSUB_EMULATOR_HOST, …). */
  platformEnv: Record<string, string>;
  /** The revision's env (K_SERVICE, K_REVISION, K_CONFIGURATION and the user's). */
  env: Record<string, string>;
  port: number;
  /** /etc/passwd and /etc/group of the image, when it has them (to resolve a user name). */
  passwd?: string;
  group?: string;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function containerProcess(p: ProcessInput): ContainerProcess {
  let args: string[];
  if (p.command && p.command.length > 0) args = [...p.command, ...(p.args ?? [])];
  else if (p.args && p.args.length > 0) args = [...p.image.entrypoint, ...p.args];
  else args = [...p.image.entrypoint, ...p.image.cmd];
  if (args.length === 0) {
    throw new KumoError('INVALID_ARGUMENT', 'the image has no Entrypoint or Cmd, so kumo does not know what to run; pass --command (and --args)', {
      field: 'command',
    });
  }
  const env = new Map<string, string>();
  for (const kv of p.image.env) {
    const eq = kv.indexOf('=');
    if (eq > 0) env.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH);
  for (const [k, v] of Object.entries(p.platformEnv)) env.set(k, v);
  for (const [k, v] of Object.entries(p.env)) env.set(k, v);
  env.set('PORT', String(p.port));
  const user = resolveUser(p.image.user, p.passwd, p.group);
  if (!env.has('HOME')) env.set('HOME', homeOf(user.uid, p.passwd) ?? '/');
  const cwd = p.image.workingDir.startsWith('/') ? p.image.workingDir : `/${p.image.workingDir}`;
  return { args, env: [...env].map(([k, v]) => `${k}=${v}`), cwd, user };
}

interface Entry {
  name: string;
  id: number;
  gid: number;
  home: string;
  members: string[];
}

function parseDb(text: string | undefined, kind: 'passwd' | 'group'): Entry[] {
  if (!text) return [];
  const out: Entry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || line.startsWith('#')) continue;
    const id = Number(f[2]);
    if (!Number.isInteger(id)) continue;
    out.push(
      kind === 'passwd'
        ? { name: f[0] ?? '', id, gid: Number(f[3]), home: f[5] ?? '/', members: [] }
        : { name: f[0] ?? '', id, gid: id, home: '', members: (f[3] ?? '').split(',').filter(Boolean) },
    );
  }
  return out;
}

function homeOf(uid: number, passwd: string | undefined): string | undefined {
  return parseDb(passwd, 'passwd').find((e) => e.id === uid)?.home;
}

/** `User` from the image config: `uid`, `uid:gid`, `name`, `name:group` (names via the image's files). */
export function resolveUser(user: string, passwd?: string, group?: string): ContainerProcess['user'] {
  if (user.trim() === '') return { uid: 0, gid: 0, additionalGids: [] };
  const [u = '', g] = user.split(':');
  const users = parseDb(passwd, 'passwd');
  const groups = parseDb(group, 'group');
  let uid: number;
  let gid: number | undefined;
  let name: string | undefined;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    const e = users.find((x) => x.id === uid);
    gid = e?.gid;
    name = e?.name;
  } else {
    const e = users.find((x) => x.name === u);
    if (!e) {
      throw new KumoError('FAILED_PRECONDITION', `the image runs as user "${u}", which is not in its /etc/passwd; use a numeric USER in the Dockerfile`, {
        field: 'image',
      });
    }
    uid = e.id;
    gid = e.gid;
    name = e.name;
  }
  if (g !== undefined && g !== '') {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const e = groups.find((x) => x.name === g);
      if (!e) throw new KumoError('FAILED_PRECONDITION', `the image runs as group "${g}", which is not in its /etc/group; use a numeric group`, { field: 'image' });
      gid = e.id;
    }
  }
  const additionalGids = name ? groups.filter((x) => x.members.includes(name)).map((x) => x.id) : [];
  return { uid, gid: gid ?? 0, additionalGids };
}
