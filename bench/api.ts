/**
 * `npm run bench:api`: a cheap read (GetService) through the official @google-cloud/run client,
 * over gRPC and over REST, against the Google API port of a real `kumo server` process (auth,
 * transcoding, the serving control plane on SQLite). The peer, measured in the same run, is a bare server on the same
 * transport that answers with pre-encoded bytes: the difference is what kumo's port costs.
 * Prints calls/s and p99 for each, the median of 5 alternating runs.
 */
import * as grpc from '@grpc/grpc-js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KEYS } from '../src/serving/service.types.js';
import { loadProtos, protoDirOf } from '../src/googleapi/protos.js';
import { encodeFromJson } from '../src/googleapi/binary-codec.js';
import { grpcClients, restClients } from '../test/googleapi/fixtures/clients.js';
import type { Clients } from '../test/googleapi/fixtures/clients.js';
import { startKumoApi } from '../test/googleapi/fixtures/kumo.js';

const RUNS = 5;
const DURATION_MS = Number(process.env['BENCH_MS'] ?? 2000);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 16);

interface Result {
  perSec: number;
  p99Ms: number;
}

async function measure(call: () => Promise<unknown>): Promise<Result> {
  const latencies: number[] = [];
  const end = performance.now() + DURATION_MS;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const t = performance.now();
      await call();
      latencies.push(performance.now() - t);
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = performance.now() - start;
  latencies.sort((a, b) => a - b);
  return { perSec: (latencies.length / elapsed) * 1000, p99Ms: latencies[Math.floor(latencies.length * 0.99)] ?? 0 };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** A bare gRPC + REST server answering GetService with bytes encoded once. */
async function startPeer(serviceJson: Record<string, unknown>): Promise<{ port: number; restPort: number; close(): Promise<void> }> {
  const root = loadProtos([{ includeDirs: [protoDirOf('@google-cloud/run')], files: ['google/cloud/run/v2/service.proto'] }]);
  const bytes = Buffer.from(encodeFromJson(root, root.lookupType('google.cloud.run.v2.Service'), serviceJson as never));
  const text = JSON.stringify(serviceJson);
  const id = (b: Buffer): Buffer => b;
  const server = new grpc.Server();
  server.addService({ GetService: { path: '/google.cloud.run.v2.Services/GetService', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id } },
    { GetService: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, bytes) });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const http = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    port,
    restPort: (http.address() as AddressInfo).port,
    async close() {
      server.forceShutdown();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

async function main(): Promise<void> {
  const api = await startKumoApi();
  const name = `projects/${api.project}/locations/us-central1/services/bench`;
  const kumoGrpc = grpcClients(api.port, api.token);
  const kumoRest = restClients(api.port, api.token);
  const [op] = await kumoGrpc.services.createService(
    { parent: `projects/${api.project}/locations/us-central1`, serviceId: 'bench', service: { template: { annotations: { [KEYS.source]: await api.source() }, containers: [{}] } } },
    kumoGrpc.call,
  );
  await op.promise();
  const raw = (await fetch(`http://127.0.0.1:${api.port}/v2/${name}`, { headers: { authorization: `Bearer ${api.token}` } }).then((r) => r.json())) as Record<string, unknown>;
  const peer = await startPeer(raw);
  const peerGrpc = grpcClients(peer.port, api.token);
  const peerRest = restClients(peer.restPort, api.token);

  const get = (c: Clients) => () => c.services.getService({ name }, c.call);
  const cases: [string, () => Promise<unknown>][] = [
    ['kumo gRPC', get(kumoGrpc)],
    ['peer gRPC', get(peerGrpc)],
    ['kumo REST', get(kumoRest)],
    ['peer REST', get(peerRest)],
  ];
  for (const [, fn] of cases) for (let i = 0; i < 200; i++) await fn(); // warm up
  const results = new Map<string, Result[]>(cases.map(([label]) => [label, []]));
  for (let run = 0; run < RUNS; run++) {
    for (const [label, fn] of cases) results.get(label)?.push(await measure(fn));
  }
  console.log(`GetService with @google-cloud/run@3, ${CONCURRENCY} in flight, ${RUNS} alternating runs of ${DURATION_MS} ms, median`);
  console.log('case        calls/s    p99 ms');
  for (const [label] of cases) {
    const r = results.get(label) ?? [];
    console.log(`${label.padEnd(10)} ${median(r.map((x) => x.perSec)).toFixed(0).padStart(8)} ${median(r.map((x) => x.p99Ms)).toFixed(2).padStart(9)}`);
  }
  const ratio = (a: string, b: string): string => (median((results.get(a) ?? []).map((x) => x.perSec)) / median((results.get(b) ?? []).map((x) => x.perSec))).toFixed(2);
  console.log(`kumo/peer throughput: gRPC ${ratio('kumo gRPC', 'peer gRPC')}, REST ${ratio('kumo REST', 'peer REST')}`);

  for (const c of [kumoGrpc, kumoRest, peerGrpc, peerRest]) await c.close();
  await peer.close();
  await api.close();
}

await main();
