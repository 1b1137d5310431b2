import { describe, expect, it } from 'vitest';
import { containerProcess, resolveUser } from './process.js';

const image = { entrypoint: ['/entry'], cmd: ['--serve'], env: ['PATH=/img/bin', 'MODE=image', 'PORT=1'], workingDir: '/srv', user: '', exposedPorts: [8080] };

describe('containerProcess', () => {
  it('runs Entrypoint + Cmd, with Kubernetes override rules', () => {
    expect(containerProcess({ image, platformEnv: {}, env: {}, port: 8080 }).args).toEqual(['/entry', '--serve']);
    expect(containerProcess({ image, args: ['--other'], platformEnv: {}, env: {}, port: 8080 }).args).toEqual(['/entry', '--other']);
    expect(containerProcess({ image, command: ['/bin/sh'], platformEnv: {}, env: {}, port: 8080 }).args).toEqual(['/bin/sh']);
    expect(containerProcess({ image, command: ['/bin/sh'], args: ['-c', 'x'], platformEnv: {}, env: {}, port: 8080 }).args).toEqual(['/bin/sh', '-c', 'x']);
  });

  it('layers env: image, then platform, then revision, then PORT', () => {
    const p = containerProcess({ image, platformEnv: { MODE: 'platform', GOOGLE_CLOUD_PROJECT: 'p' }, env: { MODE: 'revision', K_SERVICE: 's' }, port: 8080 });
    expect(p.env).toContain('MODE=revision');
    expect(p.env).toContain('PATH=/img/bin');
    expect(p.env).toContain('GOOGLE_CLOUD_PROJECT=p');
    expect(p.env).toContain('PORT=8080');
    expect(p.env).not.toContain('PORT=1');
    expect(p.cwd).toBe('/srv');
  });

  it('fails with the fix when there is nothing to run', () => {
    expect(() => containerProcess({ image: { ...image, entrypoint: [], cmd: [] }, platformEnv: {}, env: {}, port: 8080 })).toThrow(/--command/);
  });
});

describe('resolveUser', () => {
  const passwd = 'root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n';
  const group = 'root:x:0:\napp:x:1001:\nextra:x:2000:app\n';
  it('reads names and numbers', () => {
    expect(resolveUser('')).toEqual({ uid: 0, gid: 0, additionalGids: [] });
    expect(resolveUser('app', passwd, group)).toEqual({ uid: 1000, gid: 1001, additionalGids: [2000] });
    expect(resolveUser('1000:extra', passwd, group)).toMatchObject({ uid: 1000, gid: 2000 });
    expect(resolveUser('4242:4343')).toMatchObject({ uid: 4242, gid: 4343 });
  });
  it('refuses a name the image does not define', () => {
    expect(() => resolveUser('ghost', passwd, group)).toThrow(/not in its \/etc\/passwd/);
    expect(() => resolveUser('app:ghosts', passwd, group)).toThrow(/not in its \/etc\/group/);
  });
});
