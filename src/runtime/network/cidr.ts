/**
 * The address range kumo owns for instance networks. The first host address is the gateway
 * (kept on the host's loopback, so every instance reaches kumo through it); instance `i` gets the
 * address after it, `/32` each, on a point-to-point veth. Pure.
 */
import { KumoError } from '../../shared/errors.js';

export interface AddressRange {
  cidr: string;
  /** First address of the range as a 32-bit number. */
  network: number;
  prefix: number;
  gateway: string;
  /** How many instance addresses the range holds. */
  capacity: number;
}

export function ipToNumber(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

export function numberToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

export function parseRange(cidr: string, field = 'network.cidr'): AddressRange {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr.trim());
  const ip = m ? ipToNumber(m[1] ?? '') : undefined;
  const prefix = m ? Number(m[2]) : NaN;
  if (ip === undefined || !(prefix >= 8 && prefix <= 29)) {
    throw new KumoError('INVALID_ARGUMENT', `${field} "${cidr}" must be an IPv4 range like 10.213.0.0/16 (prefix /8 to /29)`, { field });
  }
  const size = 2 ** (32 - prefix);
  const network = ip - (ip % size);
  if (network !== ip) {
    throw new KumoError('INVALID_ARGUMENT', `${field} "${cidr}" has host bits set; did you mean ${numberToIp(network)}/${prefix}?`, { field });
  }
  const first = Math.floor(network / 2 ** 24);
  if (first === 127 || first === 0 || first >= 224) {
    throw new KumoError('INVALID_ARGUMENT', `${field} "${cidr}" is not usable for instances; pick a private range such as 10.213.0.0/16`, { field });
  }
  // network, gateway and broadcast are not handed to instances
  return { cidr, network, prefix, gateway: numberToIp(network + 1), capacity: size - 3 };
}

export function instanceAddress(range: AddressRange, index: number): string {
  if (!Number.isInteger(index) || index < 0 || index >= range.capacity) {
    throw new KumoError('RESOURCE_EXHAUSTED', `the instance network ${range.cidr} has no free address left (${range.capacity} in use); use a larger range`);
  }
  return numberToIp(range.network + 2 + index);
}

export function contains(range: AddressRange, ip: string): boolean {
  const n = ipToNumber(ip);
  return n !== undefined && n >= range.network && n < range.network + 2 ** (32 - range.prefix);
}
