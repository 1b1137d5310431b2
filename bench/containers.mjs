// Container set-up for the benchmarks that run through a real kumo server: the Node.js hello image
// (this machine's `node` and the shared libraries `ldd` lists, plus examples/hello/server.js, as
// the tests build theirs), pushed into kumo's registry with skopeo; a private dockerd; and the
// processes kumo keeps per runc or Docker instance, for memory figures.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import { ROOT } from './lib.mjs';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

function tarOf(entries) {
  return new Promise((resolve, reject) => {
    const pack = tar.pack();
    const chunks = [];
    pack.on('data', (c) => chunks.push(c));
    pack.on('end', () => resolve(Buffer.concat(chunks)));
    pack.on('error', reject);
    const mtime = new Date(1_700_000_000_000);
    for (const e of entries) {
      if (e.content === undefined) pack.entry({ name: e.name, type: 'directory', mode: e.mode ?? 0o755, mtime });
      else pack.entry({ name: e.name, mode: e.mode ?? 0o644, mtime }, e.content);
    }
    pack.finalize();
  });
}

/** An OCI layout at `dir` holding the Node.js hello image, tagged `hello:v1`. */
export async function buildHelloImage(dir) {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = (bytes) => {
    const hex = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(join(dir, 'blobs', 'sha256', hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  const node = realpathSync(process.execPath);
  const libs = execFileSync('ldd', [node], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /(\/\S+)\s+\(0x/.exec(l)?.[1])
    .filter(Boolean);
  const entries = [];
  const dirs = new Set();
  const add = (dest, bytes, mode) => {
    const parts = dest.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const d = `${parts.slice(0, i).join('/')}/`;
      if (dirs.has(d)) continue;
      dirs.add(d);
      entries.push({ name: d });
    }
    entries.push({ name: parts.join('/'), content: bytes, mode });
  };
  add('/usr/bin/node', readFileSync(node), 0o755);
  for (const lib of libs) add(lib, readFileSync(realpathSync(lib)), 0o755);
  add('/etc/passwd', Buffer.from('root:x:0:0:root:/root:/bin/sh\n'), 0o644);
  add('/app/server.js', readFileSync(join(ROOT, 'examples', 'hello', 'server.js')), 0o644);
  const layer = put(await tarOf(entries));
  const config = put(
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Entrypoint: ['/usr/bin/node'], Cmd: ['/app/server.js'], WorkingDir: '/app', Env: ['PATH=/usr/bin:/bin'], ExposedPorts: { '8080/tcp': {} } },
        rootfs: { type: 'layers', diff_ids: [layer.digest] },
      }),
    ),
  );
  const manifest = put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
      }),
    ),
  );
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: OCI_MANIFEST, ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }] }));
  return `oci:${dir}:v1`;
}

/** Copy a skopeo source (`oci:DIR:TAG`, `docker://…`) into kumo's registry as `REPO:TAG`; returns the reference to deploy. */
export function pushToKumo(kumo, source, target) {
  const token = kumo.cli(['auth', 'print-access-token']).trim();
  const dest = `localhost:${kumo.port}/${target}`;
  execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', `oauth2accesstoken:${token}`, source, `docker://${dest}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  return dest;
}

function dockerAnswers(socketPath) {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 500 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** A dockerd of the bench's own: no bridge, no iptables, its own socket, data and exec roots. */
export async function startDockerd() {
  const dir = mkdtempSync(join(tmpdir(), 'kumo-bench-dockerd-'));
  const socket = join(dir, 'docker.sock');
  const child = spawn(
    'dockerd',
    ['--bridge=none', '--iptables=false', '--ip-forward=false', '--ip-masq=false', '-H', `unix://${socket}`, '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'dockerd.pid')],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 30_000;
  while (!(await dockerAnswers(socket))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('dockerd did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    socket,
    async stop() {
      if (child.exitCode === null) {
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await done;
      }
      if (existsSync(join(dir, 'exec'))) execFileSync('sh', ['-c', `grep -o " ${dir}[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l`]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A free /24 inside 10.213.0.0/16 that nothing on this host routes (another kumo may own the default range). */
export function freeCidr() {
  const routes = execFileSync('ip', ['-4', '-o', 'route', 'show', 'table', 'all'], { encoding: 'utf8' });
  for (let i = 0; i < 200; i++) {
    const third = 10 + Math.floor(Math.random() * 240);
    if (!routes.includes(`10.213.${third}.`)) return `10.213.${third}.0/24`;
  }
  throw new Error('no free 10.213.x.0/24 range');
}

function stat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

function descendants(pid) {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    if (Number(stat(Number(name))?.[1]) === pid) out.push(Number(name), ...descendants(Number(name)));
  }
  return out;
}

/** Proportional set size (kB) of a process. */
export function pssKb(pid) {
  try {
    return Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * For each running instance of `service`: the app's pids and the processes kumo keeps beside it
 * (runc: the shell wrapper and the foreground `runc run`; docker: containerd's shim).
 */
export async function instanceProcesses(kind, home, service, dockerSocket) {
  const out = [];
  if (kind === 'runc') {
    const bundles = join(home, 'run', 'runc', 'bundles');
    for (const id of readdirSync(bundles)) {
      let rec;
      try {
        rec = JSON.parse(readFileSync(join(bundles, id, 'instance.json'), 'utf8'));
      } catch {
        continue;
      }
      if (rec.service !== service || !rec.instanceId) continue;
      const app = Number(readFileSync(join(bundles, id, 'pid'), 'utf8'));
      const appTree = [app, ...descendants(app)];
      out.push({ app: appTree, kumo: [rec.wrapperPid, ...descendants(rec.wrapperPid)].filter((p) => !appTree.includes(p)) });
    }
  } else if (kind === 'docker') {
    const { default: Docker } = await import('dockerode');
    const engine = new Docker({ socketPath: dockerSocket });
    for (const c of await engine.listContainers({ filters: { label: [`dev.kumo.service=${service}`] } })) {
      const app = (await engine.getContainer(c.Id).inspect()).State.Pid;
      out.push({ app: [app, ...descendants(app)], kumo: [Number(stat(app)?.[1])] });
    }
  }
  return out;
}
