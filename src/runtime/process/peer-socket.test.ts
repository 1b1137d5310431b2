import { createServer, connect } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { peerProcesses, procAddress, socketInode } from './peer-socket.js';

const TABLE = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0100007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 98765 1 0000000000000000 20 4 30 10 -1
`;

describe('the peer socket of a loopback connection', () => {
  it('writes addresses as /proc/net/tcp and tcp6 do', () => {
    expect(procAddress('127.0.0.1', 'tcp')).toBe('0100007F');
    expect(procAddress('::ffff:127.0.0.1', 'tcp')).toBe('0100007F');
    expect(procAddress('127.0.0.1', 'tcp6')).toBe('0000000000000000FFFF00000100007F');
    expect(procAddress('::1', 'tcp6')).toBe('00000000000000000000000001000000');
    expect(procAddress('::1', 'tcp')).toBeUndefined();
  });

  it('finds the inode of the socket with these two ends, and no other', () => {
    // The client's socket 127.0.0.1:54321 -> 127.0.0.1:8080.
    expect(socketInode(TABLE, '0100007F:D431', '0100007F:1F90')).toBe(98765);
    expect(socketInode(TABLE, '0100007F:1F90', '0100007F:D431')).toBeUndefined();
  });

  it('names this process as the holder of a connection it made to itself', async () => {
    const accepted = new Promise<Socket>((resolve) => {
      const server = createServer((s) => {
        server.close();
        resolve(s);
      });
      server.listen(0, '127.0.0.1', () => {
        const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
        client.on('error', () => undefined);
        void accepted.then(() => setTimeout(() => client.destroy(), 500));
      });
    });
    const s = await accepted;
    const pids = await peerProcesses({ localAddress: s.localAddress, localPort: s.localPort, remoteAddress: s.remoteAddress, remotePort: s.remotePort });
    expect(pids).toEqual([process.pid]);
    s.destroy();
  });
});
