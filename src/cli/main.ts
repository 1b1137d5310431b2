#!/usr/bin/env node
/**
 * The `kumo` command, in gcloud's `noun verb` shape. Each leaf names its flags; unknown flags
 * and bad values fail with the flag name, the allowed range and the fix.
 */
import { KumoError } from '../shared/errors.js';
import { serverConfig, SERVER_FLAGS } from '../server/config.js';
import { startServer, VERSION } from '../server/server.js';
import { clientFrom } from './client.js';
import { helpFor, parseFlags, str } from './flags.js';
import type { FlagSpecs } from './flags.js';
import { parseFormat } from './output.js';
import { configGet, configList, printAccessToken, printIdentityToken } from './commands/auth.js';
import type { Command } from './commands/context.js';
import { dashboard } from './commands/dashboard.js';
import { deploy, DEPLOY_FLAGS } from './commands/deploy.js';
import { logsRead, logsTail } from './commands/logs.js';
import { billingReportCmd, metricsCmd } from './commands/billing.js';
import { imagesDelete, imagesDescribe, imagesGc, imagesList } from './commands/images.js';
import {
  getIamPolicy,
  iamBinding,
  revisionsDelete,
  revisionsDescribe,
  revisionsList,
  servicesDelete,
  servicesDescribe,
  servicesList,
} from './commands/services.js';

const COMMON: FlagSpecs = {
  format: { type: 'string', metavar: 'FORMAT', help: 'json | yaml | table (default)' },
  region: { type: 'string', metavar: 'REGION', help: 'accepted for gcloud compatibility' },
  project: { type: 'string', metavar: 'ID', help: 'accepted for gcloud compatibility' },
  quiet: { type: 'bool', help: 'no prompts' },
};

interface Leaf {
  summary: string;
  usage: string;
  flags: FlagSpecs;
  run: Command;
}

const LOG_FLAGS: FlagSpecs = {
  ...COMMON,
  limit: { type: 'string', metavar: 'N', help: 'newest N entries (default 100)' },
  severity: { type: 'string', metavar: 'LEVEL', help: 'at least this severity (INFO, WARNING, ERROR, …)' },
  since: { type: 'string', metavar: 'TIME', help: 'entries after this time or duration ago (10m)' },
  revision: { type: 'string', metavar: 'REVISION', help: 'only this revision' },
};

const IAM_FLAGS: FlagSpecs = {
  ...COMMON,
  member: { type: 'string', metavar: 'MEMBER', help: 'allUsers, user:EMAIL or serviceAccount:EMAIL' },
  role: { type: 'string', metavar: 'ROLE', help: 'roles/run.invoker' },
};

const TREE: Record<string, Leaf> = {
  'run deploy': { summary: 'deploy a folder or an image as a new revision', usage: 'kumo run deploy NAME --source DIR | --image IMAGE [flags]', flags: DEPLOY_FLAGS, run: deploy },
  'run services list': { summary: 'list services', usage: 'kumo run services list', flags: COMMON, run: servicesList },
  'run services describe': { summary: 'show a service', usage: 'kumo run services describe NAME', flags: COMMON, run: servicesDescribe },
  'run services delete': { summary: 'delete a service and stop its instances', usage: 'kumo run services delete NAME', flags: COMMON, run: servicesDelete },
  'run services logs read': { summary: "read a service's logs", usage: 'kumo run services logs read NAME [--limit N]', flags: LOG_FLAGS, run: logsRead },
  'run services logs tail': { summary: "follow a service's logs live", usage: 'kumo run services logs tail NAME', flags: LOG_FLAGS, run: logsTail },
  'run services add-iam-policy-binding': { summary: 'let a member invoke a service', usage: 'kumo run services add-iam-policy-binding NAME --member M --role roles/run.invoker', flags: IAM_FLAGS, run: (c) => iamBinding(c, true) },
  'run services remove-iam-policy-binding': { summary: 'stop a member invoking a service', usage: 'kumo run services remove-iam-policy-binding NAME --member M --role roles/run.invoker', flags: IAM_FLAGS, run: (c) => iamBinding(c, false) },
  'run services get-iam-policy': { summary: "show who may invoke a service", usage: 'kumo run services get-iam-policy NAME', flags: COMMON, run: getIamPolicy },
  'run services metrics': {
    summary: "a service's metrics over time (request_count, request_latencies, instance_count, …)",
    usage: 'kumo run services metrics NAME [--metric request_count] [--since 1h] [--step 1m]',
    flags: {
      ...COMMON,
      metric: { type: 'string', metavar: 'NAME', help: 'request_count (default), request_latencies, container/instance_count, …' },
      since: { type: 'string', metavar: 'TIME', help: 'start: a time or a duration ago (default 1h)' },
      until: { type: 'string', metavar: 'TIME', help: 'end (default now)' },
      step: { type: 'string', metavar: 'DURATION', help: 'point width' },
      revision: { type: 'string', metavar: 'REVISION', help: 'only this revision' },
    },
    run: metricsCmd,
  },
  'billing report': {
    summary: 'usage in vCPU-seconds, GiB-seconds and requests, priced like Cloud Run',
    usage: 'kumo billing report [--service NAME] [--since TIME] [--until TIME]',
    flags: {
      ...COMMON,
      service: { type: 'string', metavar: 'NAME', help: 'only this service' },
      since: { type: 'string', metavar: 'TIME', help: 'start: a time or a duration ago (default: start of this month)' },
      until: { type: 'string', metavar: 'TIME', help: 'end (default now)' },
    },
    run: billingReportCmd,
  },
  'run revisions list': { summary: 'list revisions', usage: 'kumo run revisions list [--service NAME]', flags: { ...COMMON, service: { type: 'string', metavar: 'NAME', help: 'only this service' } }, run: revisionsList },
  'run revisions describe': { summary: 'show a revision', usage: 'kumo run revisions describe NAME', flags: COMMON, run: revisionsDescribe },
  'run revisions delete': { summary: 'delete a revision that serves no traffic', usage: 'kumo run revisions delete NAME', flags: COMMON, run: revisionsDelete },
  'images list': { summary: "list the repositories in kumo's registry", usage: 'kumo images list', flags: COMMON, run: imagesList },
  'images describe': { summary: 'show the tags, digests and sizes of a repository, and which revisions use them', usage: 'kumo images describe REPOSITORY', flags: COMMON, run: imagesDescribe },
  'images delete': { summary: 'delete a tag or a manifest (never one a revision runs)', usage: 'kumo images delete REPOSITORY:TAG | REPOSITORY@DIGEST', flags: COMMON, run: imagesDelete },
  'images gc': {
    summary: 'remove blobs no manifest references',
    usage: 'kumo images gc [--grace 1h]',
    flags: { ...COMMON, grace: { type: 'string', metavar: 'DURATION', help: 'keep what was pushed within this long (default 1h, a push may be in progress; 0s when none runs)' } },
    run: imagesGc,
  },
  'auth print-access-token': { summary: 'print an access token for the kumo API, registry and Google API port', usage: 'kumo auth print-access-token', flags: { lifetime: { type: 'string', metavar: 'SECONDS', help: 'token lifetime (default 3600)' } }, run: printAccessToken },
  'auth print-identity-token': {
    summary: 'print an identity token to call a private service',
    usage: 'kumo auth print-identity-token --audiences URL',
    flags: {
      audiences: { type: 'list', metavar: 'URL', help: 'the URL of the service to call' },
      'impersonate-service-account': { type: 'string', metavar: 'EMAIL', help: 'mint the token for this service account' },
      lifetime: { type: 'string', metavar: 'SECONDS', help: 'token lifetime (default 3600)' },
    },
    run: printIdentityToken,
  },
  dashboard: {
    summary: 'print a link that signs your browser in to the dashboard (once, within a minute)',
    usage: 'kumo dashboard [--open] [--print-url]',
    flags: { open: { type: 'bool', help: 'open the link in your browser' }, 'print-url': { type: 'bool', help: 'print only the link' } },
    run: dashboard,
  },
  'config get': { summary: 'print a setting (project, region, server, home)', usage: 'kumo config get project', flags: COMMON, run: configGet },
  'config list': { summary: 'print all settings', usage: 'kumo config list', flags: COMMON, run: configList },
};

function help(prefix: string): string {
  const leaves = Object.entries(TREE).filter(([k]) => k.startsWith(prefix));
  const w = Math.max(...leaves.map(([k]) => k.length), 6);
  return [
    `kumo ${VERSION}: a self-hosted Cloud Run`,
    '',
    'Usage: kumo COMMAND [flags]',
    '',
    `  ${'server'.padEnd(w)}  run the kumo server (kumo server --help)`,
    ...leaves.map(([k, l]) => `  ${k.padEnd(w)}  ${l.summary}`),
    '',
    'Environment: KUMO_SERVER (default http://127.0.0.1:8080), KUMO_HOME (default ./.kumo).',
  ].join('\n');
}

async function runServer(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`Usage: kumo server [flags]\n\n${helpFor(SERVER_FLAGS)}\n`);
    return 0;
  }
  const cfg = serverConfig(argv, process.env);
  const server = await startServer(cfg);
  await new Promise<void>((resolve) => {
    const onSignal = (sig: string) => {
      console.log(`kumo: ${sig}: stopping every instance...`);
      server.stop().then(resolve, (err: unknown) => {
        console.error('kumo: error while stopping:', err);
        resolve();
      });
    };
    process.once('SIGINT', () => onSignal('SIGINT'));
    process.once('SIGTERM', () => onSignal('SIGTERM'));
  });
  console.log('kumo: stopped');
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [first] = argv;
  if (!first || first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(`${help('')}\n`);
    return 0;
  }
  if (first === 'version' || first === '--version') {
    process.stdout.write(`kumo ${VERSION}\n`);
    return 0;
  }
  if (first === 'server') return runServer(argv.slice(1));
  // The longest command path that matches, then flags and positionals.
  let key = '';
  let rest = argv;
  for (let n = Math.min(4, argv.length); n > 0; n--) {
    const k = argv.slice(0, n).join(' ');
    if (TREE[k]) {
      key = k;
      rest = argv.slice(n);
      break;
    }
  }
  const leaf = TREE[key];
  if (!leaf) {
    const prefix = argv.filter((a) => !a.startsWith('-')).join(' ');
    const near = Object.keys(TREE).filter((k) => k.startsWith(argv[0] ?? ''));
    process.stderr.write(`ERROR: (kumo) unknown command "${prefix}"${near.length > 0 ? `; did you mean one of:\n${near.map((k) => `  kumo ${k}`).join('\n')}` : ''}\n\n${near.length > 0 ? '' : help('')}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`Usage: ${leaf.usage}\n\n${leaf.summary}\n\n${helpFor(leaf.flags)}\n`);
    return 0;
  }
  try {
    const args = parseFlags(rest, leaf.flags);
    return await leaf.run({
      args,
      env: process.env,
      format: parseFormat(str(args, 'format')),
      out: (t) => process.stdout.write(t),
      err: (t) => process.stderr.write(t),
      client: () => clientFrom(process.env),
    });
  } catch (err) {
    const e = err instanceof KumoError ? err : new KumoError('INTERNAL', err instanceof Error ? (err.stack ?? err.message) : String(err));
    const violations = e.fields.violations && e.fields.violations.length > 1 ? `\n${e.fields.violations.map((v) => `  - ${v.field}: ${v.description}`).join('\n')}` : '';
    process.stderr.write(`ERROR: (kumo.${key.replace(/ /g, '.')}) ${e.fields.violations && e.fields.violations.length > 1 ? 'the request has problems:' : e.message}${violations}\n`);
    return e.code === 'INVALID_ARGUMENT' && !e.fields.violations ? 2 : 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const e = err instanceof KumoError ? err : undefined;
    process.stderr.write(`ERROR: (kumo) ${e ? e.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
