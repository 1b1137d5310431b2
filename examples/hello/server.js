// kumo's example service. Reads PORT like every Cloud Run app and answers with its revision.
// Endpoints for trying kumo (and for its tests): /slow?ms=N, /stream (server-sent events),
// /ws (WebSocket echo), /echo (returns the request body), /headers, /env, /burn?ms=N,
// /memory?mb=N (allocates and holds memory).
'use strict';
const http = require('http');
const crypto = require('crypto');

const port = Number(process.env.PORT || 8080);
const revision = process.env.K_REVISION || 'local';
const held = [];

function json(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  switch (url.pathname) {
    case '/':
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`Hello from ${process.env.K_SERVICE || 'hello'}, revision ${revision}\n`);
      return;
    case '/slow': {
      const ms = Math.min(Number(url.searchParams.get('ms') || 1000), 3_600_000);
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`slept ${ms} ms in ${revision} (pid ${process.pid})\n`);
      }, ms);
      return;
    }
    case '/stream': {
      const count = Number(url.searchParams.get('count') || 5);
      const every = Number(url.searchParams.get('every') || 100);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let i = 0;
      const t = setInterval(() => {
        res.write(`data: ${JSON.stringify({ i, at: Date.now() })}\n\n`);
        if (++i >= count) {
          clearInterval(t);
          res.end();
        }
      }, every);
      req.on('close', () => clearInterval(t));
      return;
    }
    case '/echo': {
      let n = 0;
      const chunks = [];
      req.on('data', (c) => {
        n += c.length;
        if (n <= 1 << 20) chunks.push(c);
      });
      req.on('end', () => json(res, 200, { bytes: n, body: Buffer.concat(chunks).toString('utf8').slice(0, 1000) }));
      return;
    }
    case '/headers':
      json(res, 200, req.headers);
      return;
    case '/env':
      json(res, 200, { pid: process.pid, env: process.env });
      return;
    case '/burn': {
      const until = Date.now() + Math.min(Number(url.searchParams.get('ms') || 1000), 60_000);
      let x = 0;
      while (Date.now() < until) x += Math.sqrt(x + 1);
      json(res, 200, { burnedMs: Number(url.searchParams.get('ms') || 1000), cpuUsec: process.cpuUsage().user, x: x > 0 });
      return;
    }
    case '/memory': {
      const mb = Number(url.searchParams.get('mb') || 10);
      for (let i = 0; i < mb; i++) held.push(Buffer.alloc(1 << 20, 1));
      json(res, 200, { heldMb: held.length });
      return;
    }
    default:
      json(res, 404, { error: `no route ${url.pathname}` });
  }
});

// A small WebSocket echo server on /ws, without dependencies.
server.on('upgrade', (req, socket) => {
  if (new URL(req.url, 'http://x').pathname !== '/ws' || !req.headers['sec-websocket-key']) {
    socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    return;
  }
  const accept = crypto.createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      if (buf.length < 2) return;
      const opcode = buf[0] & 0x0f;
      let len = buf[1] & 0x7f;
      let off = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
      const masked = (buf[1] & 0x80) !== 0;
      const maskOff = off;
      if (masked) off += 4;
      if (buf.length < off + len) return;
      const payload = Buffer.from(buf.subarray(off, off + len));
      if (masked) for (let i = 0; i < len; i++) payload[i] ^= buf[maskOff + (i % 4)];
      buf = buf.subarray(off + len);
      if (opcode === 8) { socket.end(Buffer.from([0x88, 0])); return; }
      if (opcode === 1 || opcode === 2) {
        const reply = Buffer.from(`${revision}: ${payload.toString('utf8')}`);
        const head = reply.length < 126 ? Buffer.from([0x81, reply.length]) : Buffer.from([0x81, 126, reply.length >> 8, reply.length & 255]);
        socket.write(Buffer.concat([head, reply]));
      }
    }
  });
  socket.on('error', () => socket.destroy());
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
server.listen(port, '0.0.0.0', () => console.log(`hello listening on ${port} as ${revision}`));
