import { describe, expect, it } from 'vitest';
import type { InstanceIdentity } from '../shared/origin.js';
import { OriginResolver } from './origin.js';

const web: InstanceIdentity = { runtime: 'runc', instanceId: 'web-00001-abc-x1', service: 'web', revision: 'web-00001-abc' };
const src: InstanceIdentity = { runtime: 'process', instanceId: 'src-00001-abc-y2', service: 'src', revision: 'src-00001-abc' };

function resolver(o: { hostNetwork?: boolean; owners?: number[] | undefined }) {
  const r = new OriginResolver({ peerProcesses: async () => o.owners });
  r.add({ instanceAt: (a) => (a === '10.213.0.2' ? web : undefined) });
  r.add({ hasHostNetworkInstances: () => o.hostNetwork ?? false, instanceOfProcess: (pid) => (pid === 4242 ? src : undefined) });
  return r;
}
const loop = { localAddress: '127.0.0.1', localPort: 8085, remoteAddress: '127.0.0.1', remotePort: 40000 };

describe('OriginResolver', () => {
  it("names the instance that holds a connection's source address", async () => {
    expect(await resolver({}).resolve({ ...loop, localAddress: '10.213.0.1', remoteAddress: '::ffff:10.213.0.2' })).toEqual({ kind: 'instance', address: '10.213.0.2', ...web });
  });

  it('treats an address no instance holds as remote, even inside the range', async () => {
    expect(await resolver({}).resolve({ ...loop, remoteAddress: '10.213.0.9' })).toEqual({ kind: 'remote', address: '10.213.0.9' });
  });

  it('takes loopback for the host while no instance runs on the host network, without looking at processes', async () => {
    let asked = false;
    const r = new OriginResolver({ peerProcesses: async () => ((asked = true), [1]) });
    r.add({ hasHostNetworkInstances: () => false });
    expect(await r.resolve(loop)).toEqual({ kind: 'host', address: '127.0.0.1' });
    expect(asked).toBe(false);
  });

  it('looks at who owns the peer socket while instances share the host network', async () => {
    expect(await resolver({ hostNetwork: true, owners: [77, 4242] }).resolve(loop)).toEqual({ kind: 'instance', address: '127.0.0.1', ...src });
    expect(await resolver({ hostNetwork: true, owners: [77] }).resolve(loop)).toEqual({ kind: 'host', address: '127.0.0.1' });
  });

  it('fails closed: a loopback peer whose socket owner cannot be found is remote, not host', async () => {
    expect(await resolver({ hostNetwork: true, owners: undefined }).resolve(loop)).toEqual({ kind: 'remote', address: '127.0.0.1' });
  });
});
