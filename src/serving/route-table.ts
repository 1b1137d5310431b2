/**
 * What the router needs per service, kept in memory and replaced whole on every change: the
 * resolved traffic targets, their revisions, and who may invoke. Lookups are one Map get.
 */
import type { Revision } from './revision.types.js';
import type { Service } from './service.types.js';
import { resolveTraffic } from './traffic.js';
import type { ResolvedTarget } from './traffic.js';
import type { UrlBase } from './naming.js';
import { serviceUrl, tagUrl } from './naming.js';

export interface RouteEntry {
  service: string;
  targets: ResolvedTarget[];
  revisions: Map<string, Revision>;
  /** `roles/run.invoker` members; `allUsers` makes the service public. */
  invokers: Set<string>;
  public: boolean;
  /** Token audiences accepted for this service: its URLs, with and without a trailing slash. */
  audiences: string[];
  url: string;
}

export class RouteTable {
  private readonly entries = new Map<string, RouteEntry>();
  private readonly listeners: (() => void)[] = [];

  constructor(private readonly urlBase: UrlBase) {}

  /** Called after every change (runtimes keep the service host names in instances' /etc/hosts). */
  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  /** Every host name that reaches a service: `NAME.DOMAIN` and `TAG---NAME.DOMAIN`. */
  hostNames(): string[] {
    const out: string[] = [];
    for (const e of this.entries.values()) {
      out.push(`${e.service}.${this.urlBase.domain}`);
      for (const t of e.targets) if (t.tag) out.push(`${t.tag}---${e.service}.${this.urlBase.domain}`);
    }
    return out.sort();
  }

  resolve(service: Service): ResolvedTarget[] {
    return resolveTraffic(service.spec.traffic, service.status.latestReadyRevisionName);
  }

  set(service: Service, revisions: Map<string, Revision>, invokers: Set<string>): void {
    const name = service.metadata.name;
    const url = serviceUrl(name, this.urlBase);
    const targets = this.resolve(service);
    const urls = [url, ...targets.filter((t) => t.tag).map((t) => tagUrl(t.tag ?? '', name, this.urlBase))];
    this.entries.set(name, {
      service: name,
      targets: targets.filter((t) => revisions.has(t.revisionName)),
      revisions,
      invokers,
      public: invokers.has('allUsers'),
      audiences: urls.flatMap((u) => [u, `${u}/`]),
      url,
    });
    for (const fn of this.listeners) fn();
  }

  remove(service: string): void {
    this.entries.delete(service);
    for (const fn of this.listeners) fn();
  }

  get(service: string): RouteEntry | undefined {
    return this.entries.get(service);
  }

  names(): string[] {
    return [...this.entries.keys()].sort();
  }
}
