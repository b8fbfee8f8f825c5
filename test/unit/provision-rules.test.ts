// ISPMan 1.4's provisioning rules as src/provision applies them (ispman-model.md §3, §6), without a store.

import assert from 'node:assert/strict';
import { csvFields, readUserCsv } from '../../src/cli/user';
import { recordDn, recordWrites, soaWithSerial, zoneBranchWrites } from '../../src/provision/dns-entries';
import { checkTemplate, DEFAULT_DNS_TEMPLATE, domainRecords, parseTemplateLine } from '../../src/provision/dns-template';
import { ProvisionError } from '../../src/provision/errors';
import { expandCommand } from '../../src/provision/jobs';
import { createUid, DomainNames, mailQuotaKB, normalizeDomain, parseAddress } from '../../src/provision/names';
import { maildropOf } from '../../src/provision/users';

describe('provision rules', () => {
  it('builds uids as UserMan create_uid does', () => {
    assert.equal(createUid('bob', 'example.com'), 'bob_example_com');
    assert.equal(createUid('john.doe', 'example.co.uk'), 'john_doe_example_co_uk');
    assert.equal(createUid('bob_example_com', 'example.com'), 'bob_example_com');
  });

  it('accepts addresses and domains ISPMan accepts, lower-cased, and names what is wrong otherwise', () => {
    assert.deepEqual(parseAddress(' Bob.Smith@Example.COM '), { user: 'bob.smith', domain: 'example.com', address: 'bob.smith@example.com' });
    assert.equal(normalizeDomain('Example.com.'), 'example.com');
    for (const [bad, why] of [
      ['bob', /expected user@domain/],
      ['@example.com', /nothing before the @/],
      ['b ob@example.com', /may hold only letters/],
      ['bob@localhost', /at least two labels/],
      ['bob@-x.com', /not a host label/],
      ['bob..x@example.com', /may hold only/],
    ] as const) {
      assert.throws(() => parseAddress(bad), (e: Error) => e instanceof ProvisionError && why.test(e.message), bad);
    }
    assert.throws(() => normalizeDomain('bad_name.test'), /"bad_name" is not a host label/);
  });

  it('names the DNs of a domain as ISPMan does', () => {
    const n = new DomainNames('o=ispman', 'example.co.uk');
    assert.equal(n.dn, 'ispmanDomain=example.co.uk,o=ispman');
    assert.equal(n.userDn('bob_example_co_uk'), 'uid=bob_example_co_uk,ou=users,ispmanDomain=example.co.uk,o=ispman');
    assert.equal(n.zoneDn, 'dc=example,dc=co,dc=uk,ou=DNS,o=ispman');
    assert.deepEqual(zoneBranchWrites(n).map((w) => w.dn), ['ou=DNS,o=ispman', 'dc=uk,ou=DNS,o=ispman', 'dc=co,dc=uk,ou=DNS,o=ispman', 'dc=example,dc=co,dc=uk,ou=DNS,o=ispman']);
    assert.equal(mailQuotaKB(50), '51200');
  });

  it('fills the DNS template and stores each record in ISPMan dnszone layout, branches shared', () => {
    checkTemplate(DEFAULT_DNS_TEMPLATE);
    const records = domainRecords(DEFAULT_DNS_TEMPLATE, { domain: 'shop.test', webaddress: '192.0.2.7' }, [() => [{ owner: '_dmarc', type: 'TXT', value: 'v=DMARC1; p=none' }]]);
    assert.deepEqual(records.filter((r) => r.type === 'A').map((r) => `${r.owner} ${r.value}`), ['@ 192.0.2.7', 'www 192.0.2.7']);
    assert.deepEqual(records.find((r) => r.type === 'TXT'), { owner: '@', type: 'TXT', value: 'v=spf1 mx -all' });
    assert.equal(records[records.length - 1].owner, '_dmarc');
    assert.equal(soaWithSerial('ns1. hm. 3H 30M 1W 1D', 2026120501), 'ns1. hm. 2026120501 3H 30M 1W 1D');
    const n = new DomainNames('o=ispman', 'shop.test');
    assert.equal(recordDn(n, { owner: 'www', type: 'A', value: '192.0.2.7' }), 'relativeDomainName=www,aRecord=192.0.2.7,ou=aRecord,dc=shop,dc=test,ou=DNS,o=ispman');
    const writes = recordWrites(n, records.filter((r) => r.type === 'A'));
    // ou=aRecord and aRecord=192.0.2.7 once, then the two records.
    assert.deepEqual(writes.map((w) => w.dn.split(',')[0]), ['ou=aRecord', 'aRecord=192.0.2.7', 'relativeDomainName=@', 'relativeDomainName=www']);
    assert.throws(() => checkTemplate(['@ NS ns1.']), /exactly one SOA/);
    assert.throws(() => checkTemplate(['@ SOA a. b. 1 2 3 4', '@ NS x.', 'www A ${nope}']), /unknown variable/);
    assert.throws(() => parseTemplateLine('@ SRV x'), /type SRV/);
  });

  it('keeps the article maildrop equal to what the ISPMan virtual map answers', () => {
    assert.deepEqual(maildropOf('bob@shop.test', ['bob@elsewhere.example']), ['bob@elsewhere.example', 'bob@shop.test']);
    assert.deepEqual(maildropOf(undefined, []), []);
  });

  it('fills post-add command placeholders shell-quoted', () => {
    assert.equal(expandCommand('doveadm mailbox create -u %u INBOX', { address: 'bob@shop.test', uid: 'bob_shop_test', domain: 'shop.test' }), 'doveadm mailbox create -u bob@shop.test INBOX');
    assert.equal(expandCommand('echo %n %h 100%%', { address: 'a@b.c', uid: "x'y", domain: 'b.c', mailHost: 'm1' }), `echo 'x'\\''y' m1 100%`);
  });

  it('reads CSV users, naming the line of a mistake', () => {
    assert.deepEqual(csvFields('a@b.c,"p,w ""x""",,5'), ['a@b.c', 'p,w "x"', '', '5']);
    const users = readUserCsv('address,password\nA@shop.test,pw,mail1,10,x@shop.test;y@shop.test,f@else.test\n\n# comment\nb@shop.test\n', 'u.csv');
    assert.deepEqual(users.map((u) => [u.line, u.address, u.quotaMB, u.aliases]), [[2, 'a@shop.test', 10, ['x@shop.test', 'y@shop.test']], [5, 'b@shop.test', undefined, []]]);
    assert.throws(() => readUserCsv('a@shop.test\na@shop.test\n', 'u.csv'), /u\.csv line 2: a@shop\.test is already on line 1/);
    assert.throws(() => readUserCsv('a@shop.test,x,,many\n', 'u.csv'), /u\.csv line 1: invalid quota/);
  });
});
