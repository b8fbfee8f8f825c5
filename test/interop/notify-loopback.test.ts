// Issue 12 part 10: nothing leaves the machine. ispd with the demo data (the article's 4unet.net names public
// name servers) runs in a network namespace with loopback and one veth link carrying the default route; the
// packets counted on that link are every packet that would have left. With notifyMode explicit (what the demo
// and the tests use) none does; with BIND's default `yes` the NOTIFY to 4unet.net's name servers does, which
// shows the count can see a leak.

import assert from 'node:assert/strict';
import path from 'node:path';
import { clientsAreMandatory, describeResult, findProgram, runClient } from '../support/clients';
import { makeTempDir, REPO_ROOT } from '../support/server-process';

const SETUP = [
  'ip link set lo up',
  'ip link add v0 type veth peer name v1',
  // No IPv6 on the link: its autoconfiguration would send packets of its own.
  'echo 1 > /proc/sys/net/ipv6/conf/v0/disable_ipv6 2>/dev/null || true',
  'echo 1 > /proc/sys/net/ipv6/conf/v1/disable_ipv6 2>/dev/null || true',
  'ip addr add 10.99.0.1/24 dev v0',
  'ip link set v0 up',
  'ip link set v1 up',
  'ip route add default via 10.99.0.2 dev v0',
].join(' && ');

describe('interop: NOTIFY stays on loopback (dns.notifyMode)', function () {
  this.timeout(120_000);

  before(function () {
    const missing = ['unshare', 'ip'].filter((p) => !findProgram(p));
    const root = process.getuid?.() === 0;
    if (missing.length === 0 && root) return;
    const reason = `needs root, unshare and ip (missing: ${[...missing, ...(root ? [] : ['root'])].join(', ')})`;
    if (clientsAreMandatory()) throw new Error(`${reason}; CI=true, so this is a failure`);
    this.skip();
  });

  const run = async (mode: string): Promise<number> => {
    const dir = makeTempDir('notify-netns');
    const helper = path.join(REPO_ROOT, 'dist', 'test', 'interop', 'fixtures', 'notify-netns.js');
    const r = await runClient('unshare', ['-n', '--', 'sh', '-c', `${SETUP} && exec "${process.execPath}" "${helper}" ${mode} "${dir}"`], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, describeResult(r));
    const line = JSON.parse(r.stdout.trim().split('\n').pop()!) as { mode: string; packets: number };
    return line.packets;
  };

  it('explicit (the demo and the tests): no packet leaves after a change to a zone with public NS hosts', async () => {
    assert.equal(await run('explicit'), 0);
  });

  it('no: none either', async () => {
    assert.equal(await run('no'), 0);
  });

  it('yes (BIND default): the NOTIFY to the public NS hosts is seen leaving, so the count can fail', async () => {
    assert.ok((await run('yes')) > 0);
  });
});
