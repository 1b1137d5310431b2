/**
 * The dashboard's pages, in navigation order. Adding a page is a page file under `pages/` and
 * its entry here (`load`); an entry without `load` is a page whose API kumo does not have yet:
 * the navigation shows it marked "not yet", never with made-up data.
 */
import type { ComponentType } from 'preact';
import type { Loc } from './lib/router.js';
// The first page a user sees is in the main bundle (no second round trip before it paints).
import * as services from './pages/services.js';

export interface PageProps {
  loc: Loc;
  /** The path below the entry's own (`/services/hello` → `hello`). */
  rest: string;
}

export interface PageModule {
  Page: ComponentType<PageProps>;
}

export interface NavEntry {
  path: string;
  title: string;
  group: 'Serving' | 'Build and store' | 'Events' | 'Security' | 'This kumo';
  /** The page's code, loaded on first visit (its own chunk)… */
  load?: () => Promise<PageModule>;
  /** …or already in the main bundle (the first page). */
  module?: PageModule;
  /** What the page will show, for the "not yet" notice. */
  about: string;
}

export const NAV: readonly NavEntry[] = [
  { path: '/services', title: 'Services', group: 'Serving', about: 'services, revisions, traffic, metrics and logs', module: services },
  { path: '/jobs', title: 'Jobs', group: 'Serving', about: 'Cloud Run jobs and their executions' },
  { path: '/domains', title: 'Domain mappings', group: 'Serving', about: 'custom domains mapped to services' },
  { path: '/images', title: 'Images', group: 'Build and store', about: "the registry's repositories, tags and digests", load: () => import('./pages/images.js') },
  { path: '/builds', title: 'Builds', group: 'Build and store', about: 'Cloud Build builds and their logs' },
  { path: '/pubsub', title: 'Pub/Sub', group: 'Events', about: 'topics, subscriptions and their backlog' },
  { path: '/tasks', title: 'Cloud Tasks', group: 'Events', about: 'queues and their tasks' },
  { path: '/scheduler', title: 'Scheduler', group: 'Events', about: 'Cloud Scheduler jobs and their runs' },
  { path: '/secrets', title: 'Secrets', group: 'Security', about: 'Secret Manager secrets and versions' },
  { path: '/billing', title: 'Billing', group: 'This kumo', about: 'usage and cost by service and day', load: () => import('./pages/billing.js') },
  { path: '/server', title: 'Server', group: 'This kumo', about: 'runtime, memory budget, version and ports', load: () => import('./pages/server.js') },
];

/** The entry a path belongs to (`/` is Services) and the rest of the path. */
export function entryFor(path: string): { entry: NavEntry | undefined; rest: string } {
  const p = path === '/' ? '/services' : path;
  for (const entry of NAV) {
    if (p === entry.path) return { entry, rest: '' };
    if (p.startsWith(`${entry.path}/`)) return { entry, rest: decodeURIComponent(p.slice(entry.path.length + 1)) };
  }
  return { entry: undefined, rest: '' };
}
