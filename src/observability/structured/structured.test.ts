import { randomFillSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { containerLogEntry, requestLogEntry, requestLogJson, rfc3339Micros, systemLogEntry } from './entries.js';
import { parseLogLine, parseSeverity } from './parse-line.js';
import { entryOf } from '../logs/log-rows.js';
import {
  parseCloudTraceContext,
  parseTraceparent,
  randomIdSource,
  traceContextFor,
  traceHeaders,
} from './trace.js';
import type { IdSource } from './trace.js';

const P = { project: 'demo' };
const T0 = Date.UTC(2025, 0, 2, 3, 4, 5, 678);

describe('parseLogLine', () => {
  it('keeps text lines as textPayload: stdout DEFAULT, stderr ERROR', () => {
    expect(parseLogLine('stdout', 'hello world', T0, P)).toEqual({ severity: 'DEFAULT', timeMs: T0, textPayload: 'hello world' });
    expect(parseLogLine('stderr', 'Traceback (most recent call last):', T0, P).severity).toBe('ERROR');
    expect(parseLogLine('stderr', 'x', T0, { ...P, stderrSeverity: 'DEFAULT' }).severity).toBe('DEFAULT');
    expect(parseLogLine('stdout', 'line\r', T0, P).textPayload).toBe('line');
  });

  it('lifts Cloud Logging special fields out of a JSON line', () => {
    const line = JSON.stringify({
      severity: 'warning',
      message: 'slow query',
      ms: 812,
      time: '2025-01-02T03:04:05.123456Z',
      httpRequest: { requestMethod: 'GET', requestUrl: '/q', status: 200, latency: '0.8s' },
      'logging.googleapis.com/trace': 'projects/demo/traces/4bf92f3577b34da6a3ce929d0e0e4736',
      'logging.googleapis.com/spanId': '00f067aa0ba902b7',
      'logging.googleapis.com/trace_sampled': true,
      'logging.googleapis.com/labels': { user: 'u1', shard: 3 },
      'logging.googleapis.com/insertId': 'abc',
      'logging.googleapis.com/sourceLocation': { file: 'app.js', line: 42, function: 'query' },
      'logging.googleapis.com/operation': { id: 'op1', producer: 'app', first: true },
    });
    const p = parseLogLine('stdout', line, T0, P);
    expect(p).toEqual({
      severity: 'WARNING',
      timeMs: Date.parse('2025-01-02T03:04:05.123Z'),
      httpRequest: { requestMethod: 'GET', requestUrl: '/q', status: 200, latency: '0.8s' },
      trace: 'projects/demo/traces/4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceSampled: true,
      labels: { user: 'u1', shard: '3' },
      insertId: 'abc',
      sourceLocation: { file: 'app.js', line: '42', function: 'query' },
      operation: { id: 'op1', producer: 'app', first: true },
      jsonPayload: { message: 'slow query', ms: 812 },
    });
  });

  it('qualifies a bare trace id, reads numeric severities and {seconds, nanos} timestamps', () => {
    const p = parseLogLine(
      'stderr',
      JSON.stringify({ severity: 200, 'logging.googleapis.com/trace': 'abc123', timestamp: { seconds: 1700000000, nanos: 500000000 } }),
      T0,
      P,
    );
    expect(p.severity).toBe('INFO');
    expect(p.trace).toBe('projects/demo/traces/abc123');
    expect(p.timeMs).toBe(1_700_000_000_500);
    expect(p.jsonPayload).toEqual({});
    // JSON without severity on stderr takes the stream's default.
    expect(parseLogLine('stderr', '{"message":"x"}', T0, P).severity).toBe('ERROR');
  });

  it('leaves unrecognised values in the payload and non-objects as text', () => {
    const p = parseLogLine('stdout', JSON.stringify({ severity: 'LOUD', 'logging.googleapis.com/labels': { a: { b: 1 } } }), T0, P);
    expect(p.severity).toBe('DEFAULT');
    expect(p.jsonPayload).toEqual({ severity: 'LOUD', 'logging.googleapis.com/labels': { a: { b: 1 } } });
    expect(parseLogLine('stdout', '[1,2]', T0, P).textPayload).toBe('[1,2]');
    expect(parseLogLine('stdout', '{"broken":', T0, P).textPayload).toBe('{"broken":');
  });

  it('truncates an over-long line', () => {
    const p = parseLogLine('stdout', 'x'.repeat(30), T0, { ...P, maxLineChars: 10 });
    expect(p.textPayload).toBe('xxxxxxxxxx… [truncated 20 characters]');
  });

  it('maps severity names, aliases and numbers', () => {
    expect(parseSeverity('Critical')).toBe('CRITICAL');
    expect(parseSeverity('warn')).toBe('WARNING');
    expect(parseSeverity('fatal')).toBe('CRITICAL');
    expect(parseSeverity(550)).toBe('ERROR');
    expect(parseSeverity('800')).toBe('EMERGENCY');
    expect(parseSeverity(-1)).toBeUndefined();
  });
});

const fixedIds = (traces: string[], spans: string[]): IdSource => ({
  traceId: () => traces.shift() ?? 'f'.repeat(32),
  spanId: () => spans.shift() ?? 'e'.repeat(16),
});

describe('trace context', () => {
  it('parses traceparent strictly (W3C)', () => {
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentId: '00f067aa0ba902b7',
      sampled: true,
    });
    expect(parseTraceparent('00-00000000000000000000000000000000-00f067aa0ba902b7-01')).toBeUndefined();
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01')).toBeUndefined();
    expect(parseTraceparent('00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01')).toBeUndefined();
    expect(parseTraceparent('ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBeUndefined();
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra')).toBeUndefined();
    expect(parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-future')?.sampled).toBe(false);
  });

  it('parses X-Cloud-Trace-Context with a decimal span', () => {
    expect(parseCloudTraceContext('105445aa7843bc8bf206b12000100000/1;o=1')).toEqual({
      traceId: '105445aa7843bc8bf206b12000100000',
      spanId: '0000000000000001',
      sampled: true,
    });
    expect(parseCloudTraceContext('105445AA7843BC8BF206B12000100000')).toEqual({ traceId: '105445aa7843bc8bf206b12000100000' });
    expect(parseCloudTraceContext('105445aa7843bc8bf206b12000100000/18446744073709551616;o=1')?.spanId).toBeUndefined();
    expect(parseCloudTraceContext('nope/1;o=1')).toBeUndefined();
  });

  it('prefers traceparent, falls back to X-Cloud-Trace-Context, else generates; always opens its own span', () => {
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const a = traceContextFor(tp, '105445aa7843bc8bf206b12000100000/1;o=0', fixedIds([], ['1111111111111111']));
    expect(a).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '1111111111111111', parentSpanId: '00f067aa0ba902b7', sampled: true, generated: false });
    const b = traceContextFor('garbage', '105445aa7843bc8bf206b12000100000/255;o=1', fixedIds([], ['2222222222222222']));
    expect(b).toMatchObject({ traceId: '105445aa7843bc8bf206b12000100000', parentSpanId: '00000000000000ff', sampled: true });
    const c = traceContextFor(undefined, undefined, fixedIds(['a'.repeat(32)], ['0000000000000010']));
    expect(c).toEqual({ traceId: 'a'.repeat(32), spanId: '0000000000000010', sampled: false, generated: true });
    expect(traceHeaders(c)).toEqual({
      traceparent: `00-${'a'.repeat(32)}-0000000000000010-00`,
      'x-cloud-trace-context': `${'a'.repeat(32)}/16;o=0`,
    });
    // What the app receives parses back to the same trace.
    expect(parseCloudTraceContext(traceHeaders(c)['x-cloud-trace-context'])?.traceId).toBe(c.traceId);
    expect(parseTraceparent(traceHeaders(a).traceparent)?.parentId).toBe('1111111111111111');
  });

  it('random ids come from a pooled buffer, are well formed and never all zero', () => {
    let fills = 0;
    const zeros = randomIdSource((buf) => {
      fills++;
      buf.fill(fills === 1 ? 0 : 7);
    }, 32);
    // The all-zero first pool is skipped; span ids keep their top 11 bits clear (exact decimals).
    expect(zeros.spanId()).toBe('0007070707070707');
    const big = { traceId: 'c'.repeat(32), spanId: 'ffffffffffffffff', sampled: true, generated: false };
    expect(traceHeaders(big)['x-cloud-trace-context']).toBe(`${'c'.repeat(32)}/18446744073709551615;o=1`);
    expect(traceHeaders({ ...big, spanId: '001fffffffffffff' })['x-cloud-trace-context']).toBe(`${'c'.repeat(32)}/9007199254740991;o=1`);
    const ids = randomIdSource((buf) => randomFillSync(buf));
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const t = ids.traceId();
      expect(t).toMatch(/^[0-9a-f]{32}$/);
      expect(ids.spanId()).toMatch(/^00[01][0-9a-f]{13}$/);
      seen.add(t);
    }
    expect(seen.size).toBe(1000);
  });
});

describe('log entries', () => {
  const origin = { service: 'hello', revision: 'hello-00001', instanceId: 'i1', insertId: 'k1' };
  it('formats timestamps with microseconds', () => {
    expect(rfc3339Micros(T0)).toBe('2025-01-02T03:04:05.678000Z');
    expect(rfc3339Micros(T0 + 0.25)).toBe('2025-01-02T03:04:05.678250Z');
  });

  it('builds a request log tied to the trace, with Cloud Run severities', () => {
    const trace = traceContextFor(undefined, undefined, fixedIds(['b'.repeat(32)], ['0000000000000abc']));
    const e = requestLogEntry(
      { project: 'demo', method: 'POST', url: 'http://hello.localhost:8080/x', status: 503, latencyMs: 12.5, requestBytes: 10, responseBytes: 20, userAgent: 'curl/8', remoteIp: '127.0.0.1', timeMs: T0, trace },
      origin,
    );
    expect(e).toMatchObject({
      kind: 'requests',
      severity: 'ERROR',
      trace: `projects/demo/traces/${'b'.repeat(32)}`,
      spanId: '0000000000000abc',
      httpRequest: { requestMethod: 'POST', status: 503, latency: '0.0125s', requestSize: '10', responseSize: '20', userAgent: 'curl/8', remoteIp: '127.0.0.1' },
    });
    const app = containerLogEntry('stdout', parseLogLine('stdout', JSON.stringify({ message: 'hi', 'logging.googleapis.com/trace': `projects/demo/traces/${'b'.repeat(32)}` }), T0, P), origin);
    expect(app.trace).toBe(e.trace);
    expect(app).toMatchObject({ kind: 'stdout', insertId: 'k1', timestamp: '2025-01-02T03:04:05.678000Z' });
  });

  it('writes system entries with Cloud Run start reasons', () => {
    expect(systemLogEntry({ event: 'start', reason: 'MANUAL_OR_CUSTOMER_MIN_INSTANCE' }, T0, origin).textPayload).toMatch(
      /^Starting new instance\. Reason: MANUAL_OR_CUSTOMER_MIN_INSTANCE - /,
    );
    expect(systemLogEntry({ event: 'crash', exitCode: 1, signal: null }, T0, origin)).toMatchObject({ severity: 'ERROR', textPayload: 'Container called exit(1).' });
    expect(systemLogEntry({ event: 'oom', limitBytes: 512 * 1024 ** 2 }, T0, origin).textPayload).toContain('512 MiB');
  });
});

describe('requestLogJson', () => {
  it('with the log columns restored, is the entry requestLogEntry builds, escaping what clients control', () => {
    const trace = { traceId: '0123456789abcdef0123456789abcdef', spanId: '00000000000000ff', sampled: true, generated: false };
    const facts = {
      project: 'kumo-project',
      method: 'POST',
      url: 'http://a.localhost:8080/x?q="quoted"\\back\u2028',
      status: 503,
      latencyMs: 12.5,
      requestBytes: 10,
      responseBytes: 0,
      userAgent: 'agent "with" quotes\ttab',
      remoteIp: '127.0.0.1',
      referer: 'http://ref/\n',
      protocol: 'HTTP/1.1',
      timeMs: 1_800_000_000_123,
      trace,
    };
    const origin = { service: 'a', revision: 'a-00001-abc', instanceId: 'a-00001-abc-xyz12', insertId: 'r1' };
    const full = requestLogEntry(facts, origin);
    const row = { id: 7, time_ms: facts.timeMs, service: 'a', revision: 'a-00001-abc', kind: 'requests', severity: 5, trace: full.trace ?? null, doc: requestLogJson(facts, origin) };
    expect(entryOf(row)).toEqual({ ...JSON.parse(JSON.stringify(full)), id: 7 });
    const bare = { project: facts.project, method: 'GET', url: '/', status: 200, latencyMs: 1, requestBytes: 0, responseBytes: 2, timeMs: facts.timeMs, trace };
    const bareFull = requestLogEntry(bare, { service: 'a', insertId: 'r2' });
    const bareRow = { id: 8, time_ms: bare.timeMs, service: 'a', revision: null, kind: 'requests', severity: 2, trace: bareFull.trace ?? null, doc: requestLogJson(bare, { service: 'a', insertId: 'r2' }) };
    expect(entryOf(bareRow)).toEqual({ ...JSON.parse(JSON.stringify(bareFull)), id: 8 });
  });
});
