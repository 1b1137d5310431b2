/**
 * The OCI runtime config (`config.json`) for one instance. Pure. Namespaces pid/mount/ipc/uts
 * always, plus the prepared network namespace unless the instance shares the host's network.
 * Capabilities are Docker's default set without NET_RAW (no crafted packets to other instances);
 * /proc and /sys are masked as runc's own template does. The root is writable: it is an overlay
 * whose upper layer lives in memory.
 */
import type { ContainerProcess } from '../image/process.js';

const CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

const MASKED = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
];
const READONLY = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export interface BundleInput {
  process: ContainerProcess;
  hostname: string;
  /** Path of the prepared network namespace, or undefined to share the host's. */
  netnsPath: string | undefined;
  cgroupsPath: string;
  /** Files bind-mounted read-only over the image's. */
  hostsFile: string;
  resolvConf: string;
  /** Size of /dev/shm in bytes (counts against the memory limit, like the root). */
  shmBytes: number;
  annotations: Record<string, string>;
  /** Prestart hooks (the start gate). */
  hooks: { path: string; args: string[] }[];
  /** Open-file limit (kumo's own hard limit: a container cannot be given more than its creator has). */
  maxOpenFiles: number;
}

export function runtimeConfig(b: BundleInput): Record<string, unknown> {
  const namespaces: { type: string; path?: string }[] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (b.netnsPath) namespaces.push({ type: 'network', path: b.netnsPath });
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: b.process.user.uid, gid: b.process.user.gid, additionalGids: b.process.user.additionalGids },
      args: b.process.args,
      env: b.process.env,
      cwd: b.process.cwd,
      capabilities: { bounding: CAPABILITIES, effective: CAPABILITIES, permitted: CAPABILITIES },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: b.maxOpenFiles, soft: b.maxOpenFiles }],
      noNewPrivileges: false,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: b.hostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${b.shmBytes}`] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
      { destination: '/etc/hosts', type: 'bind', source: b.hostsFile, options: ['rbind', 'ro'] },
      { destination: '/etc/resolv.conf', type: 'bind', source: b.resolvConf, options: ['rbind', 'ro'] },
    ],
    linux: {
      namespaces,
      cgroupsPath: b.cgroupsPath,
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      maskedPaths: MASKED,
      readonlyPaths: READONLY,
    },
    hooks: { prestart: b.hooks },
    annotations: b.annotations,
  };
}
