/**
 * docker login / push / pull against a real `kumo server`, through a dockerd this suite starts for
 * itself (`--bridge=none --iptables=false`, its own socket, data and exec roots). The registry is
 * the server's front door reached as `localhost:<port>`, the everyday `docker push localhost:8080/…`
 * path, and the password is `$(kumo auth print-access-token)`.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KUMO_BIN } from '../helpers/kumo.js';
import { run, tempDir } from './harness.js';
import { call } from './http-client.js';
import type { BuiltImage } from './oci-layout.js';
import { busyboxImage, writeOciLayout } from './oci-layout.js';
import type { RegistryServer } from './server.js';
import { startRegistryServer } from './server.js';

const haveDocker = existsSync('/usr/sbin/dockerd') || existsSync('/usr/bin/dockerd');
if (!haveDocker) console.warn('dockerd is not installed (apt-get install docker.io): skipping the docker tests');
let r: RegistryServer;
let work: string;
let dockerd: ChildProcess | undefined;
let sock: string;
let image: BuiltImage;
let registryHost: string;

const docker = (...args: string[]) =>
  run('docker', ['-H', `unix://${sock}`, ...args], { env: { ...process.env, DOCKER_CONFIG: join(work, 'client') }, maxBuffer: 16 * 1024 * 1024 });

async function waitForDocker(deadlineMs: number): Promise<void> {
  for (;;) {
    try {
      await docker('version', '--format', '{{.Server.Version}}');
      return;
    } catch (err) {
      if (Date.now() > deadlineMs || dockerd?.exitCode !== null) throw err;
      await new Promise((res) => setTimeout(res, 250));
    }
  }
}

beforeAll(async () => {
  if (!haveDocker) return;
  r = await startRegistryServer();
  registryHost = r.localhost;
  work = tempDir('dockerd');
  // A short socket path (unix sockets are limited to ~100 bytes).
  sock = join(work, 'd.sock');
  mkdirSync(join(work, 'client'), { recursive: true });
  dockerd = spawn(
    'dockerd',
    [
      '--bridge=none',
      '--iptables=false',
      '-H',
      `unix://${sock}`,
      '--data-root',
      join(work, 'data'),
      '--exec-root',
      join(work, 'exec'),
      '--pidfile',
      join(work, 'dockerd.pid'),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  dockerd.stderr?.on('data', (c: Buffer) => {
    log = (log + c.toString()).slice(-4000);
  });
  try {
    await waitForDocker(Date.now() + 60_000);
  } catch (err) {
    throw new Error(`dockerd did not start: ${String(err)}\n${log}`, { cause: err });
  }
  image = await busyboxImage();
  const layout = join(work, 'layout');
  writeOciLayout(layout, image, 'v1');
  const archive = join(work, 'busybox.tar');
  await run('skopeo', ['copy', `oci:${layout}:v1`, `docker-archive:${archive}:kumo-test/busybox:v1`]);
  await docker('load', '-i', archive);
}, 120_000);

afterAll(async () => {
  if (!haveDocker) return;
  if (dockerd && dockerd.exitCode === null) {
    const exited = new Promise((res) => dockerd?.once('exit', res));
    dockerd.kill('SIGTERM');
    const timer = setTimeout(() => dockerd?.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }
  await r?.close();
  if (work) rmSync(work, { recursive: true, force: true });
}, 60_000);

describe.skipIf(!haveDocker)('docker against kumo', () => {
  it('refuses docker login with a wrong password, accepts oauth2accesstoken + an access token', async () => {
    const bad = await docker('login', registryHost, '-u', 'oauth2accesstoken', '-p', 'not-a-token').then(
      () => undefined,
      (e: unknown) => e as { stderr: string },
    );
    expect(bad?.stderr).toMatch(/unauthorized|denied|401/i);
    // What a user types, word for word (with `kumo` being this build's CLI).
    const login = await run(
      'bash',
      ['-c', `kumo() { "${process.execPath}" "${KUMO_BIN}" "$@"; }; docker -H "unix://${sock}" login ${registryHost} -u oauth2accesstoken -p "$(kumo auth print-access-token)"`],
      { env: { ...process.env, DOCKER_CONFIG: join(work, 'client'), KUMO_HOME: r.home, KUMO_SERVER: r.base } },
    );
    expect(login.stdout).toContain('Login Succeeded');
  });

  it('also takes the token on --password-stdin', async () => {
    const login = spawn('docker', ['-H', `unix://${sock}`, 'login', registryHost, '-u', 'oauth2accesstoken', '--password-stdin'], {
      env: { ...process.env, DOCKER_CONFIG: join(work, 'client-stdin') },
    });
    let out = '';
    login.stdout.on('data', (c: Buffer) => (out += c.toString()));
    login.stderr.on('data', (c: Buffer) => (out += c.toString()));
    login.stdin.end(r.token);
    const code = await new Promise((res) => login.once('exit', res));
    expect(out).toContain('Login Succeeded');
    expect(code).toBe(0);
  });

  it('pushes with progress, pulls back the same digest, and runs the image', async () => {
    const target = `${registryHost}/dock/busybox:v1`;
    await docker('tag', 'kumo-test/busybox:v1', target);
    const push = await docker('push', target);
    expect(push.stdout).toMatch(/Pushed/);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1];
    expect(digest).toBeDefined();
    const head = await call(r, 'HEAD', '/v2/dock/busybox/manifests/v1');
    expect(head.headers.get('docker-content-digest')).toBe(digest);
    expect(head.headers.get('content-type')).toBe('application/vnd.docker.distribution.manifest.v2+json');

    await docker('rmi', target, 'kumo-test/busybox:v1');
    const pull = await docker('pull', target);
    expect(pull.stdout).toContain(`Digest: ${digest ?? ''}`);
    const repoDigests = (await docker('image', 'inspect', '--format', '{{json .RepoDigests}}', target)).stdout;
    expect(repoDigests).toContain(`${registryHost}/dock/busybox@${digest ?? ''}`);

    const out = await docker('run', '--rm', '--network', 'none', target);
    expect(out.stdout.trim()).toBe('hello from kumo');

    // The same layers pushed to another repository are mounted, not uploaded again.
    const second = `${registryHost}/dock/copy:v1`;
    await docker('tag', target, second);
    const again = await docker('push', second);
    expect(again.stdout).toMatch(/Mounted from dock\/busybox|Layer already exists/);
    const described = JSON.parse(r.kumoCli(['images', 'describe', 'dock/copy', '--format', 'json'])) as { versions: { digest: string; tags: string[] }[] };
    expect(described.versions).toEqual([expect.objectContaining({ digest, tags: ['v1'] })]);
  });
});
