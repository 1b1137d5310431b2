/**
 * The app the container tests deploy (run by the image's own `node`): it reports its environment
 * and addresses, reads files, calls URLs and raw addresses from inside, burns CPU, counts timer ticks (to see
 * a frozen instance), and eats memory inside a request. `/call` makes any HTTP call (method, body,
 * token) and `/grpc` a unary gRPC call on the wire (node's http2: no client library in the image),
 * so tests can see what kumo answers a caller inside an instance. `version` is baked in so two
 * pushes of one tag are told apart.
 */
export function containerApp(version: string): string {
  return `
const http = require('http'), http2 = require('http2'), net = require('net'), os = require('os'), fs = require('fs');
const VERSION = ${JSON.stringify(version)};
let ticks = 0;
setInterval(() => { ticks++; }, 10);
process.on('SIGTERM', () => process.exit(0));
const addresses = () => Object.values(os.networkInterfaces()).flat().filter((a) => a.family === 'IPv4').map((a) => a.address);
http.createServer(async (req, res) => {
  const u = new URL(req.url, 'http://x');
  const q = (k) => u.searchParams.get(k);
  const reply = (o) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(o)); };
  if (u.pathname === '/env') return reply({ env: process.env, addresses: addresses(), hostname: os.hostname(), version: VERSION });
  if (u.pathname === '/fetch') {
    try {
      const headers = q('token') ? { authorization: 'Bearer ' + q('token') } : {};
      const r = await fetch(q('url'), { headers, signal: AbortSignal.timeout(5000) });
      reply({ status: r.status, body: await r.text() });
    } catch (e) { reply({ error: String((e.cause && e.cause.code) || e) }); }
    return;
  }
  if (u.pathname === '/call') {
    try {
      const headers = { 'content-type': 'application/json', ...(q('token') ? { authorization: 'Bearer ' + q('token') } : {}) };
      const r = await fetch(q('url'), { method: q('method') || 'GET', headers, body: q('body') || undefined, signal: AbortSignal.timeout(10000) });
      reply({ status: r.status, body: await r.text() });
    } catch (e) { reply({ error: String((e.cause && e.cause.code) || e) }); }
    return;
  }
  if (u.pathname === '/grpc') {
    // One unary call: HEADERS, one length-prefixed message (base64 in ?body), then the status from the trailers.
    let replied = false;
    const once = (o) => { if (!replied) { replied = true; reply(o); } };
    const session = http2.connect('http://' + q('host') + ':' + q('port'));
    session.on('error', (e) => once({ error: String(e.code || e) }));
    const msg = Buffer.from(q('body') || '', 'base64');
    const frame = Buffer.alloc(5 + msg.length); frame.writeUInt32BE(msg.length, 1); msg.copy(frame, 5);
    const req = session.request({ ':method': 'POST', ':path': q('path'), 'content-type': 'application/grpc', te: 'trailers', ...(q('token') ? { authorization: 'Bearer ' + q('token') } : {}) });
    let status, message, bytes = 0;
    const take = (h) => { if (h['grpc-status'] !== undefined) { status = Number(h['grpc-status']); message = decodeURIComponent(h['grpc-message'] || ''); } };
    req.on('response', take); req.on('trailers', take);
    req.on('data', (c) => { bytes += c.length; });
    req.on('close', () => { session.close(); once({ status, message, bytes }); });
    req.on('error', () => undefined);
    req.end(frame);
    return;
  }
  if (u.pathname === '/connect') {
    const s = net.connect({ host: q('host'), port: Number(q('port')) });
    const t = setTimeout(() => { s.destroy(); reply({ ok: false, error: 'timeout' }); }, 1000);
    s.on('connect', () => { clearTimeout(t); s.destroy(); reply({ ok: true }); });
    s.on('error', (e) => { clearTimeout(t); reply({ ok: false, error: e.code }); });
    return;
  }
  if (u.pathname === '/burn') {
    const ms = Number(q('ms')); const c0 = process.cpuUsage(); const t0 = Date.now();
    while (Date.now() - t0 < ms) {}
    const c = process.cpuUsage(c0);
    return reply({ cpuMs: (c.user + c.system) / 1000, wallMs: Date.now() - t0 });
  }
  if (u.pathname === '/ticks') return reply({ ticks });
  if (u.pathname === '/read') {
    try { return reply({ content: fs.readFileSync(q('path'), 'utf8') }); } catch (e) { return reply({ error: e.code }); }
  }
  if (u.pathname === '/eat') {
    // Inside the request, so CPU is on while it eats: 8 MiB at a time, touched, kept.
    const kept = [];
    const step = () => { for (let i = 0; i < 4; i++) { const b = Buffer.alloc(8 << 20); b.fill(1); kept.push(b); } setImmediate(step); };
    return step();
  }
  reply({ service: process.env.K_SERVICE, revision: process.env.K_REVISION, port: process.env.PORT, version: VERSION });
}).listen(Number(process.env.PORT), '0.0.0.0', () => console.log('app ' + VERSION + ' listening on ' + process.env.PORT));
`;
}
