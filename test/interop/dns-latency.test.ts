// The product's promise (issue 4): an LDAP modify is what DNS answers next. 100 changes through a real LDAP
// client against the ispd process; after each modify response, the very next DNS query must show the change
// under a higher serial. The delay from the LDAP response to that answer is printed (p50/p99), not asserted.

import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { Attribute, Change, Client } from 'ldapts';
import { startIspd, type IspdHandle } from '../support/ispd-process';
import { encodeQuery } from '../support/dns-query';

const WWW_DN = 'relativeDomainName=www,aRecord=192.0.2.10,ou=aRecord,dc=example,dc=com,ou=DNS,o=ispman';

describe('interop: LDAP modify → next DNS answer (ldapts client, ispd process)', function () {
  this.timeout(120000);
  let ispd: IspdHandle;
  let ldap: Client;
  let socket: dgram.Socket;
  let nextId = 1;

  before(async () => {
    ispd = await startIspd({ config: ['--set', 'ldap.anonymousRead=true'] });
    ldap = new Client({ url: ispd.ldapUrl, timeout: 10000 });
    await ldap.bind('uid=ispman,ou=admins,o=ispman', 'ispman-admin');
    socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  });

  after(async () => {
    socket?.close();
    await ldap?.unbind().catch(() => undefined);
    await ispd?.stop();
  });

  /** Sends one question and returns the raw answer. */
  function ask(name: string, type: number): Promise<Buffer> {
    const id = nextId++ & 0xffff;
    const query = encodeQuery(name, type, { id, flags: 0 });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no DNS answer')), 3000);
      const onMessage = (m: Buffer) => {
        if (m.readUInt16BE(0) !== id) return;
        clearTimeout(timer);
        socket.removeListener('message', onMessage);
        resolve(m);
      };
      socket.on('message', onMessage);
      socket.send(query, ispd.dnsPort, '127.0.0.1');
    });
  }

  const addresses = (m: Buffer): string[] => {
    // answers are compressed A records of 16 octets each after the question
    const out: string[] = [];
    for (let i = m.length - 4, n = m.readUInt16BE(6); n > 0; n--, i -= 16) out.push([...m.subarray(i, i + 4)].join('.'));
    return out.sort();
  };
  const serial = async (): Promise<number> => {
    const m = await ask('example.com', 6);
    return m.readUInt32BE(m.length - 20);
  };

  it('100 changes: each one is in the next DNS answer, with a higher serial', async () => {
    const delays: number[] = [];
    let last = await serial();
    for (let i = 0; i < 100; i++) {
      const address = `10.4.${i >> 8}.${(i & 255) + 1}`;
      await ldap.modify(WWW_DN, new Change({ operation: 'replace', modification: new Attribute({ type: 'aRecord', values: ['192.0.2.10', address] }) }));
      const answered = process.hrtime.bigint();
      const m = await ask('www.example.com', 1);
      delays.push(Number(process.hrtime.bigint() - answered) / 1e6);
      assert.deepEqual(addresses(m), [address, '192.0.2.10'].sort(), `change ${i} in the next answer`);
      const now = await serial();
      assert.ok(now > last, `serial ${last} → ${now}`);
      last = now;
    }
    delays.sort((a, b) => a - b);
    console.log(`      LDAP modify response → DNS answer with the change: p50 ${delays[49].toFixed(2)} ms, p99 ${delays[98].toFixed(2)} ms (one query each)`);
  });
});
