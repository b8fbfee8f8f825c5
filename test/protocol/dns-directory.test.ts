// The DNS server over the real store and directory (in this process): writes through the directory are in
// the next DNS answer, with the serial raised in the same transaction, for each kind of write.

import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { importLdif } from '../../src/cli/import';
import { Progress } from '../../src/cli/progress';
import { loadConfig } from '../../src/config/load';
import { SYSTEM_CONTEXT } from '../../src/directory/operations';
import { installSerialHook, startDnsServer } from '../../src/dns';
import type { DnsServer } from '../../src/dns/server';
import { createMetrics } from '../../src/metrics';
import { openStore, type Store } from '../../src/server';
import { encodeQuery } from '../support/dns-query';

const DEMO_LDIF = path.resolve(__dirname, '../../../src/provision/demo-data.ldif');
const ZONE_DN = 'dc=example,dc=com,ou=DNS,o=ispman';

interface Answer {
  rcode: number;
  aa: boolean;
  answers: number;
  /** The A addresses in the answer. */
  addresses: string[];
  serial?: number;
}

describe('dns server over the directory (in-process store)', function () {
  this.timeout(30000);
  let dir: string;
  let store: Store;
  let dns: DnsServer;
  let socket: dgram.Socket;
  let nextId = 1;
  const metrics = createMetrics();

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ispd-dns-'));
    const config = loadConfig(['--db', path.join(dir, 'ispd.sqlite')], {});
    store = openStore(config);
    const devNull = fs.createWriteStream('/dev/null') as unknown as NodeJS.WriteStream;
    await importLdif(store, fs.createReadStream(DEMO_LDIF), 'demo', { relaxed: false, progress: new Progress('import', devNull) });
    dns = await startDnsServer({ directory: store.directory, backend: store.backend, listen: { host: '127.0.0.1', port: 0 }, pollIntervalMs: 0, metrics, notifyMode: 'explicit' });
    socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  });

  after(async () => {
    socket?.close();
    await dns?.close();
    store?.backend.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** One UDP question, decoded just enough for these assertions. */
  function ask(name: string, type: number): Promise<Answer> {
    const id = nextId++ & 0xffff;
    const query = encodeQuery(name, type, { id, flags: 0 });
    const msg = query;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer for ${name}`)), 3000);
      const onMessage = (m: Buffer) => {
        if (m.readUInt16BE(0) !== id) return;
        clearTimeout(timer);
        socket.removeListener('message', onMessage);
        resolve(decode(m));
      };
      socket.on('message', onMessage);
      socket.send(msg, dns.address().port, '127.0.0.1');
    });
  }

  function decode(m: Buffer): Answer {
    const an = m.readUInt16BE(6);
    let pos = 12;
    const skipName = () => {
      while (m[pos] !== 0 && (m[pos] & 0xc0) !== 0xc0) pos += m[pos] + 1;
      pos += m[pos] === 0 ? 1 : 2;
    };
    skipName();
    pos += 4;
    const addresses: string[] = [];
    let serial: number | undefined;
    for (let i = 0; i < an; i++) {
      skipName();
      const type = m.readUInt16BE(pos);
      const rdlen = m.readUInt16BE(pos + 8);
      const rd = pos + 10;
      if (type === 1) addresses.push([...m.subarray(rd, rd + 4)].join('.'));
      if (type === 6) {
        pos = rd;
        skipName();
        skipName();
        serial = m.readUInt32BE(pos);
      }
      pos = rd + rdlen;
    }
    return { rcode: m[3] & 0xf, aa: (m[2] & 0x04) !== 0, answers: an, addresses: addresses.sort(), serial };
  }

  const serial = async (zone: string) => (await ask(zone, 6)).serial!;

  it('serves the demo zones of all layouts from the store', async () => {
    assert.deepEqual((await ask('www.example.com', 1)).addresses, ['192.0.2.10']);
    assert.equal((await ask('4unet.net', 6)).rcode, 0);
    assert.ok(dns.zones().length >= 3);
  });

  it('modify: the next answer has the new address and a higher serial', async () => {
    const before = await serial('example.com');
    await store.directory.modify(`relativeDomainName=www,aRecord=192.0.2.10,ou=aRecord,${ZONE_DN}`, [{ operation: 'add', attribute: 'aRecord', values: ['192.0.2.77'] }], SYSTEM_CONTEXT);
    assert.deepEqual((await ask('www.example.com', 1)).addresses, ['192.0.2.10', '192.0.2.77']);
    assert.ok((await serial('example.com')) > before);
  });

  it('pTRRecord flags: the generated reverse zone follows, with a higher serial', async () => {
    const www = `relativeDomainName=www,aRecord=192.0.2.10,ou=aRecord,${ZONE_DN}`;
    const reverse = '2.0.192.in-addr.arpa';
    const before = await serial(reverse);
    assert.equal((await ask('77.2.0.192.in-addr.arpa', 12)).rcode, 3);
    await store.directory.modify(www, [{ operation: 'add', attribute: 'pTRRecord', values: ['192.0.2.77'] }], SYSTEM_CONTEXT);
    const ptr = await ask('77.2.0.192.in-addr.arpa', 12);
    assert.equal(ptr.rcode, 0);
    assert.equal(ptr.answers, 1);
    assert.ok((await serial(reverse)) > before);
    await store.directory.modify(www, [{ operation: 'delete', attribute: 'pTRRecord', values: ['192.0.2.77'] }], SYSTEM_CONTEXT);
    assert.equal((await ask('77.2.0.192.in-addr.arpa', 12)).rcode, 3);
    assert.equal((await ask('10.2.0.192.in-addr.arpa', 12)).answers, 1);
  });

  it('add and delete a record entry', async () => {
    const dn = `relativeDomainName=new,aRecord=192.0.2.78,ou=aRecord,${ZONE_DN}`;
    assert.equal((await ask('new.example.com', 1)).rcode, 3);
    await store.directory.add(`aRecord=192.0.2.78,ou=aRecord,${ZONE_DN}`, { objectClass: ['ispmanBranch'], aRecord: ['192.0.2.78'] }, SYSTEM_CONTEXT);
    await store.directory.add(dn, { objectClass: ['top', 'dNSZone'], relativeDomainName: ['new'], zoneName: ['example.com'], aRecord: ['192.0.2.78'] }, SYSTEM_CONTEXT);
    assert.deepEqual((await ask('new.example.com', 1)).addresses, ['192.0.2.78']);
    const s1 = await serial('example.com');
    await store.directory.delete(dn, SYSTEM_CONTEXT);
    assert.equal((await ask('new.example.com', 1)).rcode, 3);
    assert.ok((await serial('example.com')) > s1);
  });

  it("the article's layout: a new record value is answered, under an ispd-owned serial that goes up", async () => {
    const before = await serial('4unet.net');
    await store.directory.modify('cn=arecords, ou=dnsdata, domain=4unet.net, o=ispman', [{ operation: 'add', attribute: 'record', values: ['www, 193.247.80.50'] }], SYSTEM_CONTEXT);
    assert.deepEqual((await ask('www.4unet.net', 1)).addresses, ['193.247.80.50']);
    assert.ok((await serial('4unet.net')) > before);
  });

  it('a new zone appears when its SOA entry is added, and goes (REFUSED) when it is removed', async () => {
    assert.equal((await ask('fresh.test', 6)).rcode, 5);
    const soaDn = 'relativeDomainName=@,ou=DNS,o=ispman';
    await store.directory.add(soaDn, { objectClass: ['top', 'dNSZone'], relativeDomainName: ['@'], zoneName: ['fresh.test'], sOARecord: ['ns1.fresh.test. hostmaster.fresh.test. 1 3H 30M 1W 1D'] }, SYSTEM_CONTEXT);
    const answer = await ask('fresh.test', 6);
    assert.equal(answer.rcode, 0);
    assert.equal(answer.aa, true);
    await store.directory.delete(soaDn, SYSTEM_CONTEXT);
    assert.equal((await ask('fresh.test', 6)).rcode, 5);
  });

  it("ISPMan's touchSOA (delete the SOA entry, add it back with a new serial) does not take the zone away", async () => {
    const soaDn = 'relativeDomainName=@,sOARecord=ns1.example.net. dnsmaster.example.com. 2009010101 3H 30M 1W 1D,ou=sOARecord,dc=example,dc=com,ou=DNS,o=ispman';
    const entry = store.backend.getByDnNorm(store.directory.dn.normalize(soaDn))!;
    const soaValue = Object.entries(entry.attrs).find(([k]) => k.toLowerCase() === 'soarecord')![1][0];
    const current = Number(soaValue.split(/\s+/)[2]);
    await store.directory.delete(soaDn, SYSTEM_CONTEXT);
    const between = await ask('www.example.com', 1);
    assert.equal(between.rcode, 0, 'still served while the SOA entry is being replaced');
    const next = soaValue.replace(String(current), String(current + 1));
    await store.directory.add(soaDn, { objectClass: ['top', 'dNSZone'], relativeDomainName: ['@'], zoneName: ['example.com'], sOARecord: [next] }, SYSTEM_CONTEXT);
    assert.equal(await serial('example.com'), current + 1);
  });

  it('a rename (modifyDN) is followed too', async () => {
    const from = `relativeDomainName=webmail,cNAMERecord=www.example.com.,ou=cNAMERecord,${ZONE_DN}`;
    const before = await ask('webmail.example.com', 1);
    assert.equal(before.rcode, 0);
    await store.directory.modifyDN(from, 'relativeDomainName=mail2', true, undefined, SYSTEM_CONTEXT);
    assert.equal((await ask('webmail.example.com', 1)).rcode, 3);
    assert.equal((await ask('mail2.example.com', 1)).rcode, 0);
  });

  it('writes by another process on the same store are picked up by polling the change log', async () => {
    const other = openStore(loadConfig(['--db', path.join(dir, 'ispd.sqlite')], {}));
    installSerialHook(other.directory);
    const polling = await startDnsServer({ backend: store.backend, listen: { host: '127.0.0.1', port: 0 }, pollIntervalMs: 100, notifyMode: 'explicit' });
    try {
      const before = polling.zones().find((z) => z.origin === 'example.com')!.serial;
      await other.directory.modify(`relativeDomainName=www,aRecord=192.0.2.10,ou=aRecord,${ZONE_DN}`, [{ operation: 'add', attribute: 'aRecord', values: ['192.0.2.99'] }], SYSTEM_CONTEXT);
      const deadline = Date.now() + 5000;
      let zone = polling.zones().find((z) => z.origin === 'example.com')!;
      while (zone.serial === before && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        zone = polling.zones().find((z) => z.origin === 'example.com')!;
      }
      assert.ok(zone.serial > before, 'serial raised by the other writer, seen through the change log');
      const a = zone.nodes.get('www.example.com')!.get(1)!;
      assert.ok(a.rdatas.some((r) => r.type === 1 && r.address === '192.0.2.99'));
    } finally {
      await polling.close();
      other.backend.close();
    }
  });

  it('a DNS copy behind the pruned change-log horizon reloads in full and misses nothing', async () => {
    // Not told of commits and not polling: it falls behind while the log is pruned past its position.
    const reloads: boolean[] = [];
    const lagging = await startDnsServer({ backend: store.backend, listen: { host: '127.0.0.1', port: 0 }, pollIntervalMs: 0, notifyMode: 'explicit', observer: { onReload: (r) => reloads.push(r.full) } });
    try {
      reloads.length = 0;
      const www = `relativeDomainName=www,aRecord=192.0.2.10,ou=aRecord,${ZONE_DN}`;
      const before = lagging.zones().find((z) => z.origin === 'example.com')!.serial;
      await store.directory.modify(www, [{ operation: 'add', attribute: 'aRecord', values: ['192.0.2.101'] }], SYSTEM_CONTEXT);
      await store.directory.modify(www, [{ operation: 'add', attribute: 'aRecord', values: ['192.0.2.102'] }], SYSTEM_CONTEXT);
      await store.directory.modify(www, [{ operation: 'delete', attribute: 'aRecord', values: ['192.0.2.101'] }], SYSTEM_CONTEXT);
      assert.ok(store.backend.pruneChanges({ maxAgeMs: 0, maxRecords: 1 }) > 0);
      assert.equal(store.backend.changeLogSize(), 1);
      lagging.sync();
      assert.deepEqual(reloads, [true], 'one full reload, not a partial replay of the one record left');
      const zone = lagging.zones().find((z) => z.origin === 'example.com')!;
      const addresses = zone.nodes.get('www.example.com')!.get(1)!.rdatas.map((r) => (r.type === 1 ? r.address : '')).sort();
      assert.ok(addresses.includes('192.0.2.102') && !addresses.includes('192.0.2.101'), addresses.join(' '));
      assert.ok(zone.serial > before);
      // From the newest record on, it follows change by change again.
      reloads.length = 0;
      await store.directory.modify(www, [{ operation: 'delete', attribute: 'aRecord', values: ['192.0.2.102'] }], SYSTEM_CONTEXT);
      lagging.sync();
      assert.deepEqual(reloads, [false]);
    } finally {
      await lagging.close();
    }
  });

  it('counts queries for Prometheus', async () => {
    await metrics.scrape();
    const text = await metrics.registry.metrics();
    assert.match(text, /ispd_dns_queries_total\{qtype="A",rcode="NOERROR",transport="udp"\} \d+/);
    assert.match(text, /ispd_dns_zones \d+/);
  });
});
