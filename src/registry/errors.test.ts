import { describe, expect, it } from 'vitest';
import { KumoError } from '../shared/errors.js';
import { RegistryError, ociErrorOf } from './errors.js';

describe('ociErrorOf', () => {
  it('keeps the OCI code, status and detail of a RegistryError', () => {
    const e = new RegistryError('BLOB_UPLOAD_INVALID', 'out of order', { status: 416, detail: { offset: 3 } });
    expect(ociErrorOf(e)).toEqual({ status: 416, code: 'BLOB_UPLOAD_INVALID', message: 'out of order', detail: { offset: 3 } });
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(ociErrorOf(new RegistryError('MANIFEST_UNKNOWN', 'm')).status).toBe(404);
  });

  it('maps kumo codes: auth failures are 401 UNAUTHORIZED, explained system errors keep their message', () => {
    expect(ociErrorOf(new KumoError('PERMISSION_DENIED', 'expired'))).toEqual({ status: 401, code: 'UNAUTHORIZED', message: 'expired' });
    expect(ociErrorOf(new KumoError('UNAVAILABLE', 'disk full'))).toEqual({ status: 503, code: 'UNKNOWN', message: 'disk full' });
    expect(ociErrorOf(new KumoError('INVALID_ARGUMENT', 'bad'))).toMatchObject({ status: 400 });
  });

  it('never leaks an unexpected error or its stack', () => {
    const reply = ociErrorOf(new TypeError('secret detail at /src/x.ts:1'));
    expect(reply).toEqual({ status: 500, code: 'UNKNOWN', message: 'internal registry error; see the kumo server log' });
    expect(ociErrorOf(new KumoError('INTERNAL', 'db exploded')).message).not.toContain('db exploded');
  });
});
