/**
 * Network namespaces for instances, prepared ahead so a cold start never waits for one. Each is a
 * named netns (`/run/netns/kumo-<tag>-<i>`) holding one end of a veth pair, with a `/32` address
 * from kumo's range and a single route: to the gateway address, which sits on the host's
 * loopback. No default route and no route to any other instance, so instances cannot reach each
 * other (they also lack CAP_NET_ADMIN/NET_RAW to change that); an nftables table drops whatever
 * else arrives on the veths, so from inside only kumo's router and API ports on the gateway answer.
 * The same table ties each veth to its instance's address: a packet from veth i must come from
 * address i, so the peer address of a connection names the instance that made it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KumoError } from '../../shared/errors.js';
import { processStartTime } from '../process/proc.js';
import type { AddressRange } from './cidr.js';
import { contains, instanceAddress, parseRange } from './cidr.js';
import { run } from './exec.js';

const NETNS_DIR = '/run/netns';

export interface NetworkPoolOptions {
  /** Range kumo owns, e.g. `10.213.0.0/16`. */
  cidr: string;
  /** Short tag naming this kumo home's namespaces and veths (6 hex digits). */
  tag: string;
  /** Where the pool records which server owns its namespaces. */
  stateDir: string;
  /** Gateway ports an instance may reach (router, Google API port). */
  allowedPorts: number[];
  /** Namespaces kept ready (default 2). */
  size?: number;
  /** Names of namespaces that running instances use (checked before deleting leftovers). */
  inUse?: () => Set<string>;
  onError?: (err: Error) => void;
}

export interface InstanceNetwork {
  name: string;
  path: string;
  address: string;
  gateway: string;
  hostVeth: string;
}

export class NetworkPool {
  readonly range: AddressRange;
  private readonly ready: InstanceNetwork[] = [];
  private readonly taken = new Set<number>();
  private initPromise: Promise<void> | undefined;
  private filling: Promise<void> | undefined;
  private closed = false;
  private readonly poolId = randomBytes(6).toString('hex');
  /** Set when nftables could not be used; the isolation sentence says so. */
  filterWarning: string | undefined;
  /** Set when the nftables table is in place (its per-veth address set needs one element per namespace). */
  private filtering = false;

  constructor(private readonly o: NetworkPoolOptions) {
    this.range = parseRange(o.cidr);
    if (!/^[a-z0-9]{1,6}$/.test(o.tag)) throw new KumoError('INVALID_ARGUMENT', `network tag "${o.tag}" must be 1-6 lowercase letters or digits`);
  }

  get gateway(): string {
    return this.range.gateway;
  }

  init(): Promise<void> {
    this.initPromise ??= this.setUp();
    return this.initPromise;
  }

  private get prefix(): string {
    return `kumo-${this.o.tag}-`;
  }

  private ownerFile(): string {
    return join(this.o.stateDir, 'network-owner.json');
  }

  private existing(): Map<string, number> {
    const out = new Map<string, number>();
    if (!existsSync(NETNS_DIR)) return out;
    for (const name of readdirSync(NETNS_DIR)) {
      if (!name.startsWith(this.prefix)) continue;
      const i = Number(name.slice(this.prefix.length));
      if (Number.isInteger(i)) out.set(name, i);
    }
    return out;
  }

  private async setUp(): Promise<void> {
    mkdirSync(this.o.stateDir, { recursive: true });
    await this.checkRangeIsOurs();
    // Namespaces a crashed server prepared but never used; a live owner's are left alone.
    let previousOwnerAlive = false;
    try {
      const rec = JSON.parse(readFileSync(this.ownerFile(), 'utf8')) as { pid: number; startTime: string; poolId: string };
      previousOwnerAlive = rec.poolId !== this.poolId && processStartTime(rec.pid) === rec.startTime;
    } catch {
      // no previous owner
    }
    if (!previousOwnerAlive) {
      const used = this.o.inUse?.() ?? new Set<string>();
      for (const name of this.existing().keys()) if (!used.has(name)) await this.destroy(name);
      writeFileSync(this.ownerFile(), JSON.stringify({ pid: process.pid, startTime: processStartTime(process.pid) ?? '', poolId: this.poolId }));
    }
    await run('ip', ['addr', 'replace', `${this.range.gateway}/32`, 'dev', 'lo']);
    // Addresses of the range no instance holds fail here instead of following the default route off the host.
    await run('ip', ['route', 'replace', 'unreachable', this.range.cidr]);
    await this.installFilter();
    this.refill();
  }

  /** Fail closed when another kumo (or anything else) already routes addresses of this range. */
  private async checkRangeIsOurs(): Promise<void> {
    const routes = await run('ip', ['-4', '-o', 'route', 'show', 'table', 'main']);
    for (const line of routes.split('\n')) {
      const [dst, , dev] = line.trim().split(/\s+/);
      if (!dst || !dev || dst === 'unreachable') continue;
      const ip = dst.split('/')[0] ?? '';
      if (contains(this.range, ip) && !dev.startsWith(`k${this.o.tag}-`)) {
        throw new KumoError(
          'FAILED_PRECONDITION',
          `the instance network ${this.range.cidr} is already in use on this host (route ${line.trim()}); another kumo server may use it: pick another range with --network-cidr`,
          { field: 'network.cidr' },
        );
      }
    }
  }

  private vethOf(i: number): string {
    return `k${this.o.tag}-${i}`;
  }

  /** `"k<tag>-i" . <address i>`: the one source address packets from veth i may carry. */
  private addressElement(i: number): string {
    return `"${this.vethOf(i)}" . ${instanceAddress(this.range, i)}`;
  }

  private async installFilter(): Promise<void> {
    const veths = `k${this.o.tag}-*`;
    const ports = this.o.allowedPorts.filter((p) => p > 0).join(', ');
    const existing = [...this.existing().values()].map((i) => this.addressElement(i));
    const rules = [
      `table inet kumo_${this.o.tag} {}`,
      `delete table inet kumo_${this.o.tag}`,
      `table inet kumo_${this.o.tag} {`,
      '  set instance_addresses {',
      '    type ifname . ipv4_addr',
      existing.length > 0 ? `    elements = { ${existing.join(', ')} }` : '',
      '  }',
      '  chain input {',
      '    type filter hook input priority 0; policy accept;',
      // Anti-spoofing: an instance cannot pass for another one (or for the host) by its source address.
      `    iifname "${veths}" iifname . ip saddr != @instance_addresses drop`,
      `    iifname "${veths}" ct state established,related accept`,
      ports ? `    iifname "${veths}" ip daddr ${this.range.gateway} tcp dport { ${ports} } accept` : '',
      `    iifname "${veths}" drop`,
      '  }',
      '  chain forward {',
      '    type filter hook forward priority 0; policy accept;',
      `    iifname "${veths}" drop`,
      `    oifname "${veths}" drop`,
      '  }',
      '}',
    ];
    try {
      await run('nft', ['-f', '-'], rules.filter(Boolean).join('\n'));
      this.filtering = true;
    } catch (err) {
      this.filterWarning = `nftables is not usable (${(err as Error).message.split('\n')[0] ?? ''}), so other ports on ${this.range.gateway} are reachable from instances and their source addresses are not checked`;
      this.o.onError?.(new Error(this.filterWarning));
    }
  }

  private refill(): void {
    if (this.closed || this.filling) return;
    const want = this.o.size ?? 2;
    this.filling = (async () => {
      while (!this.closed && this.ready.length < want) {
        const net = await this.create();
        if (this.closed) await this.destroy(net.name);
        else this.ready.push(net);
      }
    })()
      .catch((err: unknown) => this.o.onError?.(err instanceof Error ? err : new Error(String(err))))
      .finally(() => {
        this.filling = undefined;
      });
  }

  private nextIndex(): number {
    const used = new Set([...this.existing().values(), ...this.taken]);
    let i = 0;
    // A deleted namespace's veth goes away asynchronously: skip indexes whose veth is still there.
    while (used.has(i) || existsSync(`/sys/class/net/k${this.o.tag}-${i}`)) i++;
    this.taken.add(i);
    return i;
  }

  private async create(): Promise<InstanceNetwork> {
    const i = this.nextIndex();
    const name = `${this.prefix}${i}`;
    const address = instanceAddress(this.range, i);
    const gw = this.range.gateway;
    const veth = this.vethOf(i);
    const script = [
      'set -e',
      `ip netns add ${name}`,
      `ip netns exec ${name} sh -c 'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6'`,
      `ip link add ${veth} type veth peer name eth0 netns ${name}`,
      `echo 1 > /proc/sys/net/ipv6/conf/${veth}/disable_ipv6`,
      `echo 0 > /proc/sys/net/ipv4/conf/${veth}/forwarding`,
      `ip link set ${veth} up`,
      `ip route add ${address}/32 dev ${veth} src ${gw}`,
      `ip -n ${name} link set lo up`,
      `ip -n ${name} addr add ${address}/32 dev eth0`,
      `ip -n ${name} link set eth0 up`,
      `ip -n ${name} route add ${gw}/32 dev eth0 src ${address}`,
      // Before anything runs inside: the veth's one allowed source address.
      this.filtering ? `nft add element inet kumo_${this.o.tag} instance_addresses '{ ${this.addressElement(i)} }'` : '',
    ]
      .filter(Boolean)
      .join('\n');
    try {
      await run('sh', ['-c', script]);
    } catch (err) {
      await this.destroy(name);
      throw new KumoError('UNAVAILABLE', `could not prepare the instance network ${name}: ${(err as Error).message}`, {}, { cause: err });
    } finally {
      this.taken.delete(i);
    }
    return { name, path: join(NETNS_DIR, name), address, gateway: gw, hostVeth: veth };
  }

  /** A prepared network; creates one on the spot only when none is ready. */
  async acquire(): Promise<InstanceNetwork> {
    await this.init();
    const net = this.ready.shift() ?? (await this.create());
    this.refill();
    return net;
  }

  /** Delete a namespace (with its veth pair and route). */
  async destroy(name: string): Promise<void> {
    if (!name.startsWith(this.prefix)) return;
    if (!existsSync(join(NETNS_DIR, name))) return;
    const path = join(NETNS_DIR, name);
    for (let attempt = 0; attempt < 5 && existsSync(path); attempt++) {
      try {
        await run('ip', ['netns', 'delete', name]);
        // Deleted: a namespace of the same name that exists now is a new one the pool just made.
        return;
      } catch (err) {
        // Another clean-up of the same instance may be deleting it right now.
        await new Promise((r) => setTimeout(r, 20));
        if (attempt === 4 && existsSync(path)) this.o.onError?.(new Error(`could not delete network namespace ${name}: ${(err as Error).message}`));
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.filling;
    for (const net of this.ready.splice(0)) await this.destroy(net.name);
    if (!this.initPromise) return;
    await this.initPromise.catch(() => undefined);
    if (this.existing().size > 0) return;
    await run('nft', ['delete', 'table', 'inet', `kumo_${this.o.tag}`]).catch(() => undefined);
    await run('ip', ['route', 'del', 'unreachable', this.range.cidr]).catch(() => undefined);
    await run('ip', ['addr', 'del', `${this.range.gateway}/32`, 'dev', 'lo']).catch(() => undefined);
    try {
      const rec = JSON.parse(readFileSync(this.ownerFile(), 'utf8')) as { poolId: string };
      if (rec.poolId === this.poolId) rmSync(this.ownerFile(), { force: true });
    } catch {
      // not ours or gone
    }
  }
}
