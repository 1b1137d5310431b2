/** Reads a pricing override file (JSON) for `kumo server --pricing FILE`. */
import { readFileSync } from 'node:fs';
import { KumoError } from '../../shared/errors.js';
import { parsePricingTable } from './pricing.js';
import type { PricingTable } from './pricing.js';

export function readPricingFile(path: string): PricingTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new KumoError('INVALID_ARGUMENT', `cannot read pricing file ${path}: ${(err as Error).message}`, { field: 'pricing' }, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new KumoError('INVALID_ARGUMENT', `pricing file ${path} is not JSON: ${(err as Error).message}`, { field: 'pricing' }, { cause: err });
  }
  return parsePricingTable(json);
}
