import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { importLdif } from '../../src/cli/import';
import { Progress } from '../../src/cli/progress';
import { loadConfig } from '../../src/config/load';
import { SYSTEM_CONTEXT } from '../../src/directory/operations';
import { classifyEntry } from '../../src/dns/build';
import { installSerialHook, nextSerial, SerialBump, SerialFormat } from '../../src/dns/serial';
import { openStore, type Store } from '../../src/server';

const DEMO_LDIF = path.resolve(__dirname, '../../../src/provision/demo-data.ldif');
const EXAMPLE_SOA = 'relativeDomainName=@,sOARecord=ns1.example.net. dnsmaster.example.com. 2009010101 3H 30M 1W 1D,ou=sOARecord,dc=example,dc=com,ou=DNS,o=ispman';
const ARTICLE_SOA = 'cn=soarecords, ou=dnsdata, domain=4unet.net, o=ispman';

function today(now = new Date()): number {
  return now.getUTCFullYear() * 1000000 + (now.getUTCMonth() + 1) * 10000 + now.getUTCDate() * 100;
}

describe('dns serials', () => {
  describe('nextSerial', () => {
    const now = new Date('2026-11-25T12:00:00Z');
    it('YYYYMMDDnn like ISPMan: a new day starts at 01, the same day counts up', () => {
      assert.equal(nextSerial(2009010101, 'date', now), 2026112501);
      assert.equal(nextSerial(2026112501, 'date', now), 2026112502);
      assert.equal(nextSerial(1732530000, 'date', now), 2026112501, 'time() serials of new ISPMan zones');
    });
    it('never goes down, even past nn=99 or with a serial from the future', () => {
      assert.equal(nextSerial(2026112599, 'date', now), 2026112600);
      assert.equal(nextSerial(2030010101, 'date', now), 2030010102);
    });
    it('counter format', () => {
      assert.equal(nextSerial(7, 'counter', now), 8);
    });
  });

  describe('serial hook inside the directory write transaction', function () {
    this.timeout(30000);
    let dir: string;
    let store: Store;
    let bumps: SerialBump[];

    async function open(format: SerialFormat): Promise<void> {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ispd-dns-'));
      const config = loadConfig(['--db', path.join(dir, 'ispd.sqlite')], {});
      store = openStore(config);
      const devNull = fs.createWriteStream('/dev/null') as unknown as NodeJS.WriteStream;
      await importLdif(store, fs.createReadStream(DEMO_LDIF), 'demo', { relaxed: false, progress: new Progress('import', devNull) });
      bumps = [];
      installSerialHook(store.directory, { format, onBump: (b) => bumps.push(b) });
    }

    afterEach(() => {
      store?.backend.close();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    const serialOf = (dn: string): number | undefined => {
      const e = store.backend.getByDnNorm(store.directory.dn.normalize(dn));
      assert.ok(e, `${dn} exists`);
      return classifyEntry({ dn: e.dn, attributes: e.attrs })?.serial;
    };

    it('a record change raises the dNSZone SOA serial in the same transaction, every time', async () => {
      await open('date');
      assert.equal(serialOf(EXAMPLE_SOA), 2009010101);
      const www = 'relativeDomainName=www,aRecord=192.0.2.10,ou=aRecord,dc=example,dc=com,ou=DNS,o=ispman';
      await store.directory.modify(www, [{ operation: 'replace', attribute: 'tXTRecord', values: ['changed'] }], SYSTEM_CONTEXT);
      assert.equal(serialOf(EXAMPLE_SOA), today() + 1);
      await store.directory.modify(www, [{ operation: 'delete', attribute: 'tXTRecord', values: [] }], SYSTEM_CONTEXT);
      assert.equal(serialOf(EXAMPLE_SOA), today() + 2);
      // the rest of the SOA value keeps its spelling (BIND tokens)
      const soa = store.backend.getByDnNorm(store.directory.dn.normalize(EXAMPLE_SOA))!;
      assert.equal(Object.entries(soa.attrs).find(([k]) => k.toLowerCase() === 'soarecord')![1][0], `ns1.example.net. dnsmaster.example.com. ${today() + 2} 3H 30M 1W 1D`);
      assert.deepEqual(bumps.map((b) => b.zone), ['example.com', 'example.com']);
    });

    it('adding and deleting a record entry raise it too', async () => {
      await open('date');
      const dn = 'relativeDomainName=new,aRecord=192.0.2.123,ou=aRecord,dc=example,dc=com,ou=DNS,o=ispman';
      await store.directory.add('aRecord=192.0.2.123,ou=aRecord,dc=example,dc=com,ou=DNS,o=ispman', { objectClass: ['ispmanBranch'], aRecord: ['192.0.2.123'] }, SYSTEM_CONTEXT);
      assert.equal(serialOf(EXAMPLE_SOA), 2009010101, 'a branch entry is no zone data');
      await store.directory.add(dn, { objectClass: ['top', 'dNSZone'], relativeDomainName: ['new'], zoneName: ['example.com'], aRecord: ['192.0.2.123'] }, SYSTEM_CONTEXT);
      assert.equal(serialOf(EXAMPLE_SOA), today() + 1);
      await store.directory.delete(dn, SYSTEM_CONTEXT);
      assert.equal(serialOf(EXAMPLE_SOA), today() + 2);
    });

    it("an explicit serial raise on the SOA entry is kept as written (ISPMan's touchSOA)", async () => {
      await open('date');
      await store.directory.modify(EXAMPLE_SOA, [{ operation: 'replace', attribute: 'sOARecord', values: ['ns1.example.net. dnsmaster.example.com. 2031010105 3H 30M 1W 1D'] }], SYSTEM_CONTEXT);
      assert.equal(serialOf(EXAMPLE_SOA), 2031010105);
      assert.deepEqual(bumps, []);
      // an SOA edit that does not raise the serial (refresh changed) gets one
      await store.directory.modify(EXAMPLE_SOA, [{ operation: 'replace', attribute: 'sOARecord', values: ['ns1.example.net. dnsmaster.example.com. 2031010105 4H 30M 1W 1D'] }], SYSTEM_CONTEXT);
      assert.equal(serialOf(EXAMPLE_SOA), 2031010106);
      // and one that lowers it is lifted above the old value: serials never go down
      await store.directory.modify(EXAMPLE_SOA, [{ operation: 'replace', attribute: 'sOARecord', values: ['ns1.example.net. dnsmaster.example.com. 5 4H 30M 1W 1D'] }], SYSTEM_CONTEXT);
      assert.equal(serialOf(EXAMPLE_SOA), 2031010107);
    });

    it("the article's soarecords gets an ispd-owned serial on the first change", async function () {
      await open('date');
      if (!store.schema.attributeType('ispdZoneSerial')) {
        // Until schema/ispd.schema defines ispdZoneSerial the serial is not stored (the DNS server raises it
        // in memory instead) and the entry stays valid for later LDAP writes.
        await store.directory.modify('cn=arecords, ou=dnsdata, domain=4unet.net, o=ispman', [{ operation: 'add', attribute: 'record', values: ['www, 193.247.80.45'] }], SYSTEM_CONTEXT);
        assert.equal(serialOf(ARTICLE_SOA), undefined);
        await store.directory.modify(ARTICLE_SOA, [{ operation: 'replace', attribute: 'refresh', values: ['7200'] }], SYSTEM_CONTEXT);
        this.skip();
      }
      assert.equal(serialOf(ARTICLE_SOA), undefined);
      await store.directory.modify('cn=arecords, ou=dnsdata, domain=4unet.net, o=ispman', [{ operation: 'add', attribute: 'record', values: ['www, 193.247.80.45'] }], SYSTEM_CONTEXT);
      assert.equal(serialOf(ARTICLE_SOA), today() + 1);
      await store.directory.modify('cn=cnames, ou=dnsdata, domain=4unet.net, o=ispman', [{ operation: 'delete', attribute: 'record', values: ['ftp, www'] }], SYSTEM_CONTEXT);
      assert.equal(serialOf(ARTICLE_SOA), today() + 2);
    });

    it('counter format', async () => {
      await open('counter');
      await store.directory.modify('relativeDomainName=www,aRecord=192.0.2.10,ou=aRecord,dc=example,dc=com,ou=DNS,o=ispman', [{ operation: 'replace', attribute: 'tXTRecord', values: ['x'] }], SYSTEM_CONTEXT);
      assert.equal(serialOf(EXAMPLE_SOA), 2009010102);
    });

    it('writes outside zone data leave serials alone', async () => {
      await open('date');
      await store.directory.modify('uid=bob_example_com,ou=users,ispmanDomain=example.com,o=ispman', [{ operation: 'replace', attribute: 'cn', values: ['Bob B'] }], SYSTEM_CONTEXT);
      assert.equal(serialOf(EXAMPLE_SOA), 2009010101);
      assert.deepEqual(bumps, []);
    });
  });
});
