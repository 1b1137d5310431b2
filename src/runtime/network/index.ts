export { NetworkPool } from './pool.js';
export type { NetworkPoolOptions, InstanceNetwork } from './pool.js';
export { GatewayListeners } from './gateway.js';
export type { GatewayPort } from './gateway.js';
export { parseRange, instanceAddress, contains } from './cidr.js';
export type { AddressRange } from './cidr.js';
export { hostsFile, resolvConf, googleEnv } from './hosts.js';
export type { KumoEndpoints } from './hosts.js';
