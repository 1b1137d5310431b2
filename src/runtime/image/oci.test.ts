import { describe, expect, it } from 'vitest';
import { isIndex, pickPlatform, toResolvedImage } from './oci.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;

describe('OCI manifests', () => {
  it('picks linux/amd64 from an index and lists what there is otherwise', () => {
    const index = JSON.stringify({
      schemaVersion: 2,
      manifests: [
        { digest: d('a'), size: 1, platform: { os: 'linux', architecture: 'arm64' } },
        { digest: d('b'), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
      ],
    });
    expect(isIndex(index)).toBe(true);
    expect(pickPlatform('x', index).digest).toBe(d('b'));
    const armOnly = JSON.stringify({ manifests: [{ digest: d('a'), size: 1, platform: { os: 'linux', architecture: 'arm64' } }] });
    expect(() => pickPlatform('x', armOnly)).toThrow(/no linux\/amd64 image \(platforms: linux\/arm64\)/);
  });

  it('reads the config a runtime needs, Docker schema2 included', () => {
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: d('c'), size: 10 },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: d('e'), size: 100 }],
    });
    const config = JSON.stringify({ os: 'linux', architecture: 'amd64', config: { Entrypoint: ['/app'], Env: ['A=1'], ExposedPorts: { '8080/tcp': {} }, User: '1000' } });
    expect(isIndex(manifest)).toBe(false);
    const img = toResolvedImage('localhost:8080/hello:v1', 'hello', d('f'), manifest, config);
    expect(img).toMatchObject({ repository: 'hello', digest: d('f'), config: { entrypoint: ['/app'], cmd: [], env: ['A=1'], user: '1000', exposedPorts: [8080] } });
    expect(img.layers).toEqual([{ digest: d('e'), mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 100 }]);
  });

  it('refuses layers that are not filesystems and images for other systems', () => {
    const art = JSON.stringify({ config: { digest: d('c'), size: 1 }, layers: [{ mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', digest: d('e'), size: 1 }] });
    expect(() => toResolvedImage('x', 'x', d('f'), art, '{}')).toThrow(/not a container filesystem layer/);
    const ok = JSON.stringify({ config: { digest: d('c'), size: 1 }, layers: [] });
    expect(() => toResolvedImage('x', 'x', d('f'), ok, JSON.stringify({ os: 'windows' }))).toThrow(/built for "windows"/);
    expect(() => toResolvedImage('x', 'x', d('f'), 'not json', '{}')).toThrow(/not a JSON object/);
  });
});
