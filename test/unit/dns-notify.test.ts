import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { encodeNotify, Notifier, parseTarget } from '../../src/dns/notify';
import type { SoaData } from '../../src/dns/types';

const SOA: SoaData = { type: 6, mname: 'ns.t.test', rname: 'h.t.test', serial: 42, refresh: 3600, retry: 600, expire: 86400, minimum: 300 };

describe('dns NOTIFY sender', function () {
  this.timeout(20000);

  it('parses targets', () => {
    assert.deepEqual(parseTarget('192.0.2.1'), { host: '192.0.2.1', port: 53 });
    assert.deepEqual(parseTarget('192.0.2.1:5300'), { host: '192.0.2.1', port: 5300 });
    assert.deepEqual(parseTarget('[2001:db8::1]:53'), { host: '2001:db8::1', port: 53 });
    assert.deepEqual(parseTarget('2001:db8::1'), { host: '2001:db8::1', port: 53 });
  });

  it('encodes opcode NOTIFY, AA, the zone SOA question and the SOA in the answer', () => {
    const m = encodeNotify(0x1234, 't.test', SOA, 300);
    assert.equal(m.readUInt16BE(0), 0x1234);
    assert.equal(m[2], (4 << 3) | 0x04);
    assert.equal(m.readUInt16BE(4), 1);
    assert.equal(m.readUInt16BE(6), 1);
  });

  it('holds to the rate limit and still delivers every NOTIFY, each acknowledged once', async () => {
    const peer = dgram.createSocket('udp4');
    await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
    const received: string[] = [];
    peer.on('message', (msg, rinfo) => {
      received.push(msg.toString('latin1', 12, 20));
      const ack = Buffer.from(msg);
      ack[2] |= 0x80;
      peer.send(ack, rinfo.port, rinfo.address);
    });
    const acked = new Set<string>();
    const notifier = new Notifier({ ratePerSecond: 100, initialDelayMs: 5000, onAcknowledged: (zone) => acked.add(zone) });
    try {
      const target = { host: '127.0.0.1', port: peer.address().port };
      for (let i = 0; i < 250; i++) notifier.notify(`z${i}.test`, SOA, 300, [target]);
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(received.length <= 100, `${received.length} sent in the first second`);
      const deadline = Date.now() + 10000;
      while (acked.size < 250 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(acked.size, 250);
      assert.equal(received.length, 250, 'no resends once acknowledged');
      assert.equal(notifier.outstanding(), 0);
    } finally {
      notifier.close();
      peer.close();
    }
  });

  it('resends with backoff until the attempts run out', async () => {
    const peer = dgram.createSocket('udp4');
    await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
    let count = 0;
    peer.on('message', () => count++);
    let gaveUp = false;
    const notifier = new Notifier({ initialDelayMs: 20, maxAttempts: 4, onGiveUp: () => (gaveUp = true) });
    try {
      notifier.notify('t.test', SOA, 300, [{ host: '127.0.0.1', port: peer.address().port }]);
      const deadline = Date.now() + 5000;
      while (!gaveUp && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(gaveUp);
      assert.equal(count, 4);
    } finally {
      notifier.close();
      peer.close();
    }
  });
});
