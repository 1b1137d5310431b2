/**
 * Header handling for the proxy, on raw header arrays (no header objects are built on the hot
 * path): one pass over the client's headers picks out what the router needs and builds the list
 * sent upstream, without hop-by-hop headers and with X-Forwarded-* and Forwarded added.
 */

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export interface InboundHeaders {
  host: string | undefined;
  authorization: string | undefined;
  contentLength: number | undefined;
  chunked: boolean;
  /** Header names the client listed in `Connection` (also hop-by-hop). */
  connectionTokens: string | undefined;
  upgrade: string | undefined;
  traceparent: string | undefined;
  cloudTraceContext: string | undefined;
  userAgent: string | undefined;
  referer: string | undefined;
}

/** A fresh record with nothing seen yet (always the same shape, for the engines' hot paths). */
export function emptyInbound(): InboundHeaders {
  return {
    host: undefined,
    authorization: undefined,
    contentLength: undefined,
    chunked: false,
    connectionTokens: undefined,
    upgrade: undefined,
    traceparent: undefined,
    cloudTraceContext: undefined,
    userAgent: undefined,
    referer: undefined,
  };
}

export function scanHeaders(raw: string[]): InboundHeaders {
  const out = emptyInbound();
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const len = name.length;
    // cheap length pre-checks before the case-insensitive compare
    if (len === 4 && name.toLowerCase() === 'host') out.host = raw[i + 1];
    else if (len === 13 && name.toLowerCase() === 'authorization') out.authorization = raw[i + 1];
    else if (len === 14 && name.toLowerCase() === 'content-length') out.contentLength = Number(raw[i + 1]);
    else if (len === 17 && name.toLowerCase() === 'transfer-encoding') out.chunked = true;
    else if (len === 10 && name.toLowerCase() === 'connection') out.connectionTokens = raw[i + 1];
    else if (len === 7 && name.toLowerCase() === 'upgrade') out.upgrade = raw[i + 1];
    else if (len === 11 && name.toLowerCase() === 'traceparent') out.traceparent = raw[i + 1];
    else if (len === 21 && name.toLowerCase() === 'x-cloud-trace-context') out.cloudTraceContext = raw[i + 1];
    else if (len === 10 && name.toLowerCase() === 'user-agent') out.userAgent = raw[i + 1];
    else if (len === 7 && name.toLowerCase() === 'referer') out.referer = raw[i + 1];
  }
  return out;
}

function connectionListed(tokens: string | undefined): Set<string> | undefined {
  if (!tokens) return undefined;
  const set = new Set<string>();
  for (const t of tokens.split(',')) {
    const v = t.trim().toLowerCase();
    if (v && v !== 'close' && v !== 'keep-alive' && v !== 'upgrade') set.add(v);
  }
  return set.size > 0 ? set : undefined;
}

export interface ForwardInfo {
  remoteAddress: string;
  host: string;
  proto: 'http' | 'https';
}

/**
 * The header list sent to the instance. `keepUpgrade` keeps Connection/Upgrade for WebSocket
 * handshakes. `trace`, when given, replaces the client's trace headers (kumo's span is the parent).
 */
export function upstreamHeaders(
  raw: string[],
  h: InboundHeaders,
  fwd: ForwardInfo,
  keepUpgrade = false,
  trace?: { traceparent: string; 'x-cloud-trace-context': string },
): string[] {
  const listed = connectionListed(h.connectionTokens);
  const out: string[] = [];
  let xff: string | undefined;
  let forwarded: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      if (!(keepUpgrade && (lower === 'upgrade' || lower === 'connection'))) continue;
    }
    if (listed?.has(lower)) continue;
    if (lower === 'x-forwarded-for') {
      xff = xff ? `${xff}, ${raw[i + 1]}` : raw[i + 1];
      continue;
    }
    if (lower === 'forwarded') {
      forwarded = forwarded ? `${forwarded}, ${raw[i + 1]}` : raw[i + 1];
      continue;
    }
    // kumo answers `Expect: 100-continue` itself (Node does), so it is not passed on.
    if (lower === 'x-forwarded-proto' || lower === 'x-forwarded-host' || lower === 'expect') continue;
    if (trace && (lower === 'traceparent' || lower === 'x-cloud-trace-context')) continue;
    out.push(name, raw[i + 1] as string);
  }
  if (trace) out.push('traceparent', trace.traceparent, 'x-cloud-trace-context', trace['x-cloud-trace-context']);
  const ip = fwd.remoteAddress.startsWith('::ffff:') ? fwd.remoteAddress.slice(7) : fwd.remoteAddress;
  const forIp = ip.includes(':') ? `"[${ip}]"` : ip;
  out.push(
    'x-forwarded-for',
    xff ? `${xff}, ${ip}` : ip,
    'x-forwarded-proto',
    fwd.proto,
    'x-forwarded-host',
    fwd.host,
    'forwarded',
    `${forwarded ? `${forwarded}, ` : ''}for=${forIp};host=${fwd.host};proto=${fwd.proto}`,
  );
  return out;
}

/** Response headers from the instance, as a flat list for `writeHead`, without hop-by-hop ones. */
export function downstreamHeaders(raw: Buffer[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as Buffer).toString('latin1');
    if (HOP_BY_HOP.has(name.toLowerCase())) continue;
    out.push(name, (raw[i + 1] as Buffer).toString('latin1'));
  }
  return out;
}
