/**
 * The dashboard room: its server side (sign-in, sessions, the shell and assets) and, under
 * `app/`, the browser app Vite builds into `dist/web/public`. The page reaches kumo through the
 * same `/api` routes as the CLI, with its session cookie instead of a token.
 */
import { randomBytes } from 'node:crypto';
import { loadAssets } from './server/assets.js';
import { Sessions } from './server/sessions.js';
import type { SessionPolicy } from './server/sessions.js';
import { createWeb } from './server/web.js';
import type { Web } from './server/web.js';

export type { Web } from './server/web.js';
export { Sessions, DEFAULT_SESSION_POLICY } from './server/sessions.js';
export type { Session, SessionPolicy } from './server/sessions.js';
export { loadAssets, BUILT_ASSETS_DIR } from './server/assets.js';
export { CSRF_HEADER } from './server/guard.js';

export interface DashboardOptions {
  now(): number;
  /** The front door's port (known once it listens): the session cookie is named after it. */
  port(): number;
  /** Where the built assets are (default: dist/web/public beside this module). */
  assetsDir?: string;
  policy?: SessionPolicy;
}

export function createDashboard(o: DashboardOptions): Web {
  return createWeb({
    sessions: new Sessions((n) => randomBytes(n).toString('base64url'), o.policy),
    assets: loadAssets(o.assetsDir),
    cookieName: () => `kumo_session_${o.port()}`,
    now: () => o.now(),
  });
}
