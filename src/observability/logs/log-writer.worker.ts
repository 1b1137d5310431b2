/**
 * The log writer thread: SQLite inserts (and the JSON parsing they need) happen here, so a busy
 * service's request log never stalls the router's event loop. Messages: a batch of JSON lines,
 * a prune, or a close; every message is answered with its sequence number once done.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../../store/database.js';
import { rowWriter } from './log-rows.js';

export type WriterMessage = { seq: number; lines: string } | { seq: number; pruneBeforeMs: number } | { seq: number; close: true };

const { file } = workerData as { file: string };
const db = openDatabase(file);
const write = rowWriter(db);
const prune = db.prepare('DELETE FROM logs WHERE time_ms < ?');

parentPort?.on('message', (m: WriterMessage) => {
  try {
    if ('lines' in m) write(m.lines);
    else if ('pruneBeforeMs' in m) prune.run(m.pruneBeforeMs);
    else {
      db.close();
      parentPort?.postMessage({ seq: m.seq });
      parentPort?.close();
      return;
    }
    parentPort?.postMessage({ seq: m.seq });
  } catch (err) {
    parentPort?.postMessage({ seq: m.seq, error: (err as Error).message });
  }
});
