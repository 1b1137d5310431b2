/**
 * What an instance sees in /etc/hosts and /etc/resolv.conf, and the variables that point Google's
 * client libraries at kumo. Pure.
 *
 * Of Google's Node.js libraries only Pub/Sub reads an emulator variable (`PUBSUB_EMULATOR_HOST`,
 * else `CLOUDSDK_API_ENDPOINT_OVERRIDES_PUBSUB`); Cloud Tasks, Scheduler and Run clients read none
 * (they take `servicePath`/`port`), so kumo also sets `KUMO_API_HOST`/`KUMO_API_PORT` for them and
 * the `CLOUDSDK_API_ENDPOINT_OVERRIDES_*` that gcloud reads.
 */

const HOST_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export function hostsFile(o: { hostname: string; address: string | undefined; gateway: string; names: string[] }): string {
  const names = [...new Set(o.names.map((n) => n.toLowerCase()).filter((n) => HOST_NAME.test(n)))].sort();
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  if (o.address) lines.push(`${o.address}\t${o.hostname}`);
  lines.push(`${o.gateway}\tkumo.internal`);
  // One name per line keeps every line short, whatever the number of services.
  for (const n of names) lines.push(`${o.gateway}\t${n}`);
  return `${lines.join('\n')}\n`;
}

/** No DNS server is reachable from an instance; names come from /etc/hosts. */
export function resolvConf(): string {
  return '# kumo: service names (NAME.localhost) resolve through /etc/hosts\noptions ndots:0\n';
}

export interface KumoEndpoints {
  project: string;
  /** How the instance reaches kumo's router, e.g. `10.213.0.1` and 8080. */
  host: string;
  routerPort: number;
  apiPort: number;
}

export function googleEnv(e: KumoEndpoints): Record<string, string> {
  const api = `${e.host}:${e.apiPort}`;
  return {
    GOOGLE_CLOUD_PROJECT: e.project,
    GCLOUD_PROJECT: e.project,
    PUBSUB_EMULATOR_HOST: api,
    PUBSUB_PROJECT_ID: e.project,
    CLOUDSDK_CORE_PROJECT: e.project,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_PUBSUB: `http://${api}/`,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDTASKS: `http://${api}/`,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDSCHEDULER: `http://${api}/`,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN: `http://${api}/`,
    KUMO_API_HOST: e.host,
    KUMO_API_PORT: String(e.apiPort),
    KUMO_ROUTER: `http://${e.host}:${e.routerPort}`,
  };
}
