/**
 * A service for the router's wire tests: it records every request it is given (so a test can
 * prove nothing was smuggled past the router), echoes requests, and answers with the framings
 * a proxy must handle (close-delimited, 1xx, 204, 304, HEAD).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SERVER = String.raw`
'use strict';
const http = require('http');
const seen = [];
const upstreamPorts = new Set();
let aborted = 0;
function json(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/__seen') return json(res, 200, { seen, aborted, upstreamPorts: upstreamPorts.size });
  seen.push(req.method + ' ' + req.url);
  upstreamPorts.add(req.socket.remotePort);
  switch (url.pathname) {
    case '/echo': {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => json(res, 200, { method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks).toString('latin1') }));
      return;
    }
    case '/slow': {
      const t = setTimeout(() => json(res, 200, { slept: true }), Number(url.searchParams.get('ms') || 1000));
      res.on('close', () => { if (!res.writableFinished) { aborted++; clearTimeout(t); } });
      return;
    }
    case '/close-delimited':
      req.socket.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the connection closes');
      return;
    case '/early-hints':
      res.writeEarlyHints({ link: '</a.css>; rel=preload' });
      setTimeout(() => json(res, 200, { after: 'hints' }), 20);
      return;
    case '/status': {
      const code = Number(url.searchParams.get('code'));
      res.writeHead(code, { 'content-length': '5', etag: '"x"' });
      res.end(code === 204 || code === 304 ? undefined : 'abcde');
      return;
    }
    case '/big': {
      // a large body written with backpressure; chunked unless ?length is given
      const total = Number(url.searchParams.get('bytes'));
      const headers = { 'content-type': 'application/octet-stream' };
      if (url.searchParams.has('length')) headers['content-length'] = total;
      res.writeHead(200, headers);
      const piece = Buffer.alloc(65536, 120);
      let sent = 0;
      const pump = () => {
        while (sent < total) {
          const n = Math.min(piece.length, total - sent);
          sent += n;
          if (!res.write(n === piece.length ? piece : piece.subarray(0, n))) return res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return;
    }
    case '/chunks': {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-hop': 'secret', connection: 'x-hop' });
      let i = 0;
      const t = setInterval(() => { res.write('part' + i + ';'); if (++i === 3) { clearInterval(t); res.end(); } }, 10);
      return;
    }
    default:
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
      res.end('ok');
  }
});
server.listen(process.env.PORT, '0.0.0.0');
`;

/** A folder holding the wire test service, for `kumo run deploy NAME --source DIR`. */
export function wireAppDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kumo-wire-app-'));
  writeFileSync(join(dir, 'server.js'), SERVER);
  return dir;
}
