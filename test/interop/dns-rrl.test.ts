// Issue 13: response rate limiting against real UDP clients from different loopback addresses, on an ispd
// process with two workers answering UDP. A flood of one question from 127.0.0.2 is limited (the slipped
// answers carry TC and no records), a client in another /24 (127.1.0.3) is answered in full meanwhile, dig
// from the limited address still gets its answer (over TCP after TC, and with +tcp), and /metrics counts it.

import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { describeResult, requirePrograms, runClient } from '../support/clients';
import { encodeQuery } from '../support/dns-query';
import { startIspd, type IspdHandle } from '../support/ispd-process';

const RATE = 10;

async function udpClient(address: string): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, address, () => resolve()));
  return socket;
}

/** Sends `n` queries (ids 1..n) from `socket` as fast as it can; collects the answers that arrive within 1.5 s. */
async function flood(socket: dgram.Socket, port: number, n: number): Promise<{ answers: Buffer[]; queryBytes: number }> {
  const answers: Buffer[] = [];
  const onMessage = (m: Buffer) => answers.push(m);
  socket.on('message', onMessage);
  let queryBytes = 0;
  for (let i = 1; i <= n; i++) {
    const q = encodeQuery('www.example.com', 1, { id: i, flags: 0, edns: { payload: 1232 } });
    queryBytes = q.length;
    socket.send(q, port, '127.0.0.1');
    if (i % 50 === 0) await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, 1500));
  socket.off('message', onMessage);
  return { answers, queryBytes };
}

describe('interop: DNS response rate limiting (real UDP clients, dig, ispd with 2 workers)', function () {
  this.timeout(120000);
  let ispd: IspdHandle;

  before(async function () {
    requirePrograms(this, 'dig');
    ispd = await startIspd({
      config: ['--set', 'ldap.workers=2', '--set', `dns.rrl.responsesPerSecond=${RATE}`, '--set', 'dns.rrl.slip=2', '--set', 'dns.rrl.exempt='],
    });
  });

  after(async () => {
    await ispd?.stop();
  });

  it('limits a flood from one /24, slips TC answers, leaves other prefixes and TCP alone', async () => {
    const attacker = await udpClient('127.0.0.2');
    const bystander = await udpClient('127.1.0.3');
    try {
      const { answers, queryBytes } = await flood(attacker, ispd.dnsPort, 400);
      const full = answers.filter((m) => (m[2] & 0x02) === 0);
      const slipped = answers.filter((m) => (m[2] & 0x02) !== 0);
      assert.ok(full.length >= RATE / 2 && full.length <= RATE * 3, `${full.length} full answers to 400 identical queries`);
      assert.ok(slipped.length >= 100, `${slipped.length} slipped answers`);
      assert.ok(answers.length < 300, `${answers.length} answers: the rest are dropped`);
      for (const m of slipped) {
        assert.equal(m.readUInt16BE(6), 0, 'no answer records in a slipped response');
        assert.ok(m.length <= queryBytes, 'a slipped response is no larger than the query');
      }
      for (const m of full) assert.ok(m.readUInt16BE(6) >= 1);

      // Another /24 is answered in full while 127.0.0.0/24 is limited (below the rate: each of the two
      // workers applies half of it, and the kernel need not split one client's datagrams evenly).
      const other = await flood(bystander, ispd.dnsPort, RATE / 2 - 1);
      assert.equal(other.answers.length, RATE / 2 - 1);
      for (const m of other.answers) assert.equal(m[2] & 0x02, 0, 'no TC for another prefix');

      // dig from the limited address: over TCP directly, and over UDP (a TC answer sends it to TCP).
      const dig = async (...args: string[]) => {
        const r = await runClient('dig', ['@127.0.0.1', '-p', String(ispd.dnsPort), '-b', '127.0.0.2', '+norec', '+tries=3', '+time=1', ...args], { timeoutMs: 20000 });
        assert.equal(r.code, 0, describeResult(r));
        assert.match(r.stdout, /www\.example\.com\.\s+\d+\s+IN\s+A\s+192\.0\.2\.10/, r.stdout);
      };
      await dig('+tcp', 'www.example.com', 'A');
      await flood(attacker, ispd.dnsPort, 100); // keep the prefix in debt
      await dig('www.example.com', 'A');
    } finally {
      attacker.close();
      bystander.close();
    }
    const metrics = await fetch(`http://127.0.0.1:${ispd.metricsPort}/metrics`).then((r) => r.text());
    const count = (action: string) => Number(new RegExp(`ispd_dns_rate_limited_total\\{action="${action}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
    assert.ok(count('slipped') >= 100, metrics);
    assert.ok(count('dropped') >= 100, metrics);
  });
});
