/**
 * The Google API port as `kumo server` runs it today: Cloud Run Admin (v1 + v2) and
 * google.longrunning.Operations over the serving control plane, plus any further plugins
 * (Pub/Sub, Tasks, Scheduler later). One call for the composition root.
 */
import type { ServingControl } from '../serving/control.js';
import { createOperationsPlugin } from './operations.js';
import type { GoogleApiPlugin } from './plugin.types.js';
import { createRunApi } from './run/plugin.js';
import { createGoogleApiServer } from './server.js';
import type { GoogleApiServer, GoogleApiServerOptions } from './server.js';

export interface GoogleApiOptions extends Omit<GoogleApiServerOptions, 'plugins'> {
  control: ServingControl;
  /** Further Google services; they must not serve google.longrunning.Operations themselves. */
  plugins?: readonly GoogleApiPlugin[];
}

export function createGoogleApi(o: GoogleApiOptions): GoogleApiServer {
  const run = createRunApi({ control: o.control });
  const operations = createOperationsPlugin({
    source: o.control,
    present: (op) => run.presentOperation(op),
    httpRules: run.operationHttpRules,
  });
  const { control: _control, plugins = [], ...server } = o;
  return createGoogleApiServer({ ...server, plugins: [run.plugin, operations, ...plugins] });
}
