/**
 * Cloud Run resource names (`projects/P/locations/L/services/S[/revisions/R]`) and the checks that
 * tie them to the one project kumo serves. Any region name is accepted; `-` means every region.
 */
import type { Revision } from '../../serving/revision.types.js';
import type { Service } from '../../serving/service.types.js';
import { KEYS } from '../../serving/service.types.js';
import { KumoError, invalidArgument } from '../../shared/errors.js';

export interface Scope {
  project: string;
  region: string;
}

export interface ParsedName {
  project: string;
  location: string;
  service: string;
  revision?: string;
}

const REGION = /^([a-z][a-z0-9-]{0,62}|-)$/;

/** Check a project the caller named against the one kumo serves. */
export function checkProject(project: string, scope: Scope, field: string): void {
  if (project !== scope.project && project !== '-') {
    throw new KumoError('NOT_FOUND', `project "${project}" is not served here: this kumo serves project "${scope.project}" (gcloud: \`gcloud config set project ${scope.project}\`)`, { field });
  }
}

function checkLocation(location: string, field: string): void {
  if (!REGION.test(location)) throw invalidArgument([{ field, description: `"${location}" is not a region name (lowercase letters, digits and dashes, e.g. us-central1)` }]);
}

/** `projects/P/locations/L` → its parts. */
export function parseParent(parent: unknown, scope: Scope, field = 'parent'): { project: string; location: string } {
  const m = typeof parent === 'string' ? /^projects\/([^/]+)\/locations\/([^/]+)$/.exec(parent) : null;
  if (!m) throw invalidArgument([{ field, description: 'must be projects/PROJECT/locations/REGION' }]);
  const [, project, location] = m as unknown as [string, string, string];
  checkProject(project, scope, field);
  checkLocation(location, field);
  return { project, location };
}

/** `projects/P/locations/L/services/S[/revisions/R]` → its parts. */
export function parseName(name: unknown, scope: Scope, kind: 'service' | 'revision', field = 'name'): ParsedName {
  const re = kind === 'service'
    ? /^projects\/([^/]+)\/locations\/([^/]+)\/services\/([^/]+)$/
    : /^projects\/([^/]+)\/locations\/([^/]+)\/services\/([^/]+)\/revisions\/([^/]+)$/;
  const m = typeof name === 'string' ? re.exec(name) : null;
  if (!m) {
    throw invalidArgument([{ field, description: kind === 'service' ? 'must be projects/PROJECT/locations/REGION/services/SERVICE' : 'must be projects/PROJECT/locations/REGION/services/SERVICE/revisions/REVISION' }]);
  }
  const [, project, location, service, revision] = m as unknown as [string, string, string, string, string | undefined];
  checkProject(project, scope, field);
  checkLocation(location, field);
  return { project, location, service, ...(revision ? { revision } : {}) };
}

export function locationOf(obj: Service | Revision, scope: Scope): string {
  return obj.metadata.labels[KEYS.location] ?? scope.region;
}

/** The service, if it lives in `location` (`-` matches every region). */
export function inLocation<T extends Service | Revision>(obj: T, location: string, scope: Scope): T {
  const at = locationOf(obj, scope);
  if (location !== '-' && location !== at) {
    const kind = obj.kind === 'Service' ? 'service' : 'revision';
    throw new KumoError('NOT_FOUND', `${kind} ${obj.metadata.name} is in region ${at}, not ${location}`, { [kind]: obj.metadata.name });
  }
  return obj;
}

export function serviceName(scope: Scope, location: string, service: string): string {
  return `projects/${scope.project}/locations/${location}/services/${service}`;
}
