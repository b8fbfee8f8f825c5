// The article's own data stays editable (issue 12 part 9). Its ou=dnsdata entries have no structural
// object class, so they load only with `ispd import --relaxed` and every plain LDAP change to them fails
// the schema check (objectClassViolation). Two ways out, both checked here with real OpenLDAP clients:
// the Relax Rules control (`ldapmodify -e relax`, as with OpenLDAP), for administrators only, and the
// schema.checks: legacy setting, under which entries that already failed the checks may be changed
// while new and conforming entries stay checked. Each change must reach the DNS answer.

import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describeResult, parseLdif, requirePrograms, runClient, type ClientResult } from '../support/clients';
import { startIspd, type IspdHandle } from '../support/ispd-process';
import { FIXTURES_DIR } from './fixtures';

const ARTICLE_LDIF = path.join(FIXTURES_DIR, 'article-4unet-relaxed.ldif');
const ADMIN = { dn: 'uid=ispman,ou=admins,o=ispman', password: 'ispman-admin' };
const USER = { dn: 'uid=bob_4unet_net,ou=users,domain=4unet.net,o=ispman', password: 'bob-secret' };
const ARECORDS = 'cn=arecords, ou=dnsdata, domain=4unet.net, o=ispman';
const RELAX_OID = '1.3.6.1.4.1.4203.666.5.12';

const addRecord = (dn: string, record: string): string => `dn: ${dn}\nchangetype: modify\nadd: record\nrecord: ${record}\n-\n`;

describe('interop: Relax Rules control and schema.checks for the article\'s relaxed data (ldapmodify -e relax, dig)', function () {
  this.timeout(90000);
  let strict: IspdHandle | undefined;
  let legacy: IspdHandle | undefined;

  before(async function () {
    requirePrograms(this, 'ldapmodify', 'ldapsearch', 'dig');
    [strict, legacy] = await Promise.all([
      startIspd({ ldif: ARTICLE_LDIF, importFlags: ['--relaxed'], config: ['--set', 'ldap.workers=1'] }),
      startIspd({ ldif: ARTICLE_LDIF, importFlags: ['--relaxed'], config: ['--set', 'ldap.workers=1', '--set', 'schema.checks=legacy'] }),
    ]);
  });

  after(async () => {
    await Promise.all([strict?.stop(), legacy?.stop()]);
  });

  const ldapmodify = (server: IspdHandle, who: { dn: string; password: string }, ldif: string, extra: string[] = []): Promise<ClientResult> =>
    runClient('ldapmodify', ['-x', '-o', 'nettimeout=10', '-H', server.ldapUrl, '-D', who.dn, '-w', who.password, ...extra], { input: ldif, timeoutMs: 20000 });

  async function dig(server: IspdHandle, name: string, type: string): Promise<string[]> {
    const result = await runClient('dig', ['@127.0.0.1', '-p', String(server.dnsPort), '+tries=1', '+time=3', '+norec', '+short', name, type], { timeoutMs: 15000 });
    assert.equal(result.code, 0, describeResult(result));
    return result.stdout.split('\n').filter(Boolean).sort();
  }

  /** The addresses in the answer (dig +short also prints the CNAMEs of the article's `*` wildcard on the way). */
  const addresses = async (server: IspdHandle, name: string): Promise<string[]> => (await dig(server, name, 'A')).filter((line) => /^\d+\.\d+\.\d+\.\d+$/.test(line));

  const serial = async (server: IspdHandle): Promise<number> => Number((await dig(server, '4unet.net', 'SOA'))[0]?.split(/\s+/)[2]);

  it('the root DSE lists the Relax Rules control', async () => {
    const result = await runClient('ldapsearch', ['-x', '-LLL', '-H', strict!.ldapUrl, '-b', '', '-s', 'base', 'supportedControl']);
    assert.equal(result.code, 0, describeResult(result));
    assert.ok(parseLdif(result.stdout)[0].attributes.get('supportedcontrol')?.includes(RELAX_OID), describeResult(result));
  });

  it('strict (the default): a plain change to an ou=dnsdata entry is an object class violation, and DNS does not change', async () => {
    const before = await serial(strict!);
    const result = await ldapmodify(strict!, ADMIN, addRecord(ARECORDS, 'shop, 192.0.2.81'));
    assert.equal(result.code, 65, describeResult(result));
    assert.match(result.stderr, /Object class violation/, describeResult(result));
    assert.deepEqual(await addresses(strict!, 'shop.4unet.net'), [], 'shop.4unet.net has no address of its own');
    assert.equal(await serial(strict!), before);
  });

  it('an administrator\'s ldapmodify -e relax changes it, and the next DNS answer has the new record with a higher serial', async () => {
    const before = await serial(strict!);
    const result = await ldapmodify(strict!, ADMIN, addRecord(ARECORDS, 'www, 192.0.2.80'), ['-e', 'relax']);
    assert.equal(result.code, 0, describeResult(result));
    assert.deepEqual(await addresses(strict!, 'www.4unet.net'), ['192.0.2.80']);
    assert.ok((await serial(strict!)) > before, 'the SOA serial went up');
    // the SOA timers of the article's cn=soarecords entry are editable the same way
    const soa = await ldapmodify(strict!, ADMIN, 'dn: cn=soarecords, ou=dnsdata, domain=4unet.net, o=ispman\nchangetype: modify\nreplace: refresh\nrefresh: 7200\n-\n', ['-e', 'relax']);
    assert.equal(soa.code, 0, describeResult(soa));
    assert.equal((await dig(strict!, '4unet.net', 'SOA'))[0].split(/\s+/)[3], '7200');
  });

  it('the control is refused for anyone but an administrator (insufficient access), and nothing changes', async () => {
    const result = await ldapmodify(strict!, USER, addRecord(ARECORDS, 'evil, 192.0.2.66'), ['-e', 'relax']);
    assert.equal(result.code, 50, describeResult(result));
    assert.match(result.stderr, /Relax Rules control is for administrators/, describeResult(result));
    assert.ok(!(await addresses(strict!, 'evil.4unet.net')).includes('192.0.2.66'));
  });

  it('the changes NOTIFYed none of the article\'s public name servers (dns.notifyMode explicit)', async () => {
    const text = await (await fetch(`http://127.0.0.1:${strict!.metricsPort}/metrics`)).text();
    const sent = text.split('\n').filter((line) => line.startsWith('ispd_dns_notifies_total')).map((line) => Number(line.split(' ').pop()));
    assert.equal(sent.reduce((a, b) => a + b, 0), 0, text.split('\n').filter((line) => line.includes('notif')).join('\n'));
  });

  it('schema.checks: legacy lets a plain ldapmodify change the entries that failed the checks, and DNS follows', async () => {
    const result = await ldapmodify(legacy!, ADMIN, addRecord(ARECORDS, 'www, 192.0.2.82'));
    assert.equal(result.code, 0, describeResult(result));
    assert.deepEqual(await addresses(legacy!, 'www.4unet.net'), ['192.0.2.82']);
  });

  it('schema.checks: legacy still checks new entries and entries that passed (no new legacy data)', async () => {
    const add = await ldapmodify(legacy!, ADMIN, 'dn: cn=txtrecords, ou=dnsdata, domain=4unet.net, o=ispman\nchangetype: add\nobjectclass: top\nobjectclass: domainRelatedObject\ncn: txtrecords\n');
    assert.equal(add.code, 65, describeResult(add));
    const breakConforming = await ldapmodify(legacy!, ADMIN, `dn: ${USER.dn}\nchangetype: modify\ndelete: sn\n-\n`);
    assert.equal(breakConforming.code, 65, describeResult(breakConforming));
  });
});
