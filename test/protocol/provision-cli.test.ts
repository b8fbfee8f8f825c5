// Issue 12 parts 1-5: the real `ispd domain|user|alias|forward|vhost|farm` commands against the store of a
// real running ispd, checked from outside with ldapsearch, ldapwhoami, dig and postmap (ISPMan 1.4's Postfix
// maps and the article's mailacceptinggeneralid -> maildrop map).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describeResult, findProgram, parseLdif, requirePrograms, runClient, type ClientResult } from '../support/clients';
import { ISPD_CLI, startIspd, type IspdHandle } from '../support/ispd-process';

const POSTFIX_LDAP_PLUGIN = '/usr/lib/postfix/postfix-ldap.so';

describe('protocol: provisioning with the ispd CLI against a running ispd', function () {
  this.timeout(180_000);
  let ispd: IspdHandle;
  let scratch: string;
  /** The settings the server and the commands share (same store, same DNS address). */
  const shared = () => ['--db', ispd.dbFile, '--dns', `127.0.0.1:${ispd.dnsPort}`, '--set', 'provision.mailStores=mail1.isp.test,mail2.isp.test,mail3.isp.test'];

  const cli = (args: string[]): Promise<ClientResult> => runClient(process.execPath, [ISPD_CLI, ...args, ...shared()], { timeoutMs: 60_000 });
  const ok = async (args: string[]): Promise<ClientResult> => {
    const r = await cli(args);
    assert.equal(r.code, 0, describeResult(r));
    return r;
  };
  /** A help-desk error: exit 2, one line on stderr naming the problem. */
  const refused = async (args: string[], pattern: RegExp): Promise<void> => {
    const r = await cli(args);
    assert.equal(r.code, 2, describeResult(r));
    assert.equal(r.stderr.trim().split('\n').length, 1, describeResult(r));
    assert.match(r.stderr, pattern);
  };
  const dig = async (name: string, type: string): Promise<{ status: string; answers: string[] }> => {
    const r = await runClient('dig', ['+norec', '+time=2', '+tries=1', `@127.0.0.1`, '-p', String(ispd.dnsPort), name, type]);
    const status = /status: (\w+)/.exec(r.stdout)?.[1] ?? 'none';
    const short = await runClient('dig', ['+short', '+norec', '+time=2', '+tries=1', `@127.0.0.1`, '-p', String(ispd.dnsPort), name, type]);
    return { status, answers: short.stdout.trim().split('\n').filter(Boolean) };
  };
  const ldapsearch = async (filter: string, ...attrs: string[]) => {
    const r = await runClient('ldapsearch', ['-x', '-LLL', '-o', 'ldif-wrap=no', '-H', ispd.ldapUrl, '-b', 'o=ispman', filter, ...attrs]);
    assert.equal(r.code, 0, describeResult(r));
    return parseLdif(r.stdout);
  };
  const postmap = async (map: string, key: string): Promise<string> => {
    const cf = path.join(scratch, `${map}.cf`);
    const r = await runClient('postmap', ['-c', scratch, '-q', key, `ldap:${cf}`]);
    assert.equal(r.stderr, '', describeResult(r));
    return r.stdout.trim().split(',').map((v) => v.trim()).join(',');
  };

  before(async function () {
    requirePrograms(this, 'ldapsearch', 'ldapwhoami', 'dig');
    ispd = await startIspd({ config: ['--set', 'ldap.anonymousRead=true', '--set', 'ldap.workers=2'] });
    scratch = fs.mkdtempSync(path.join(ispd.dir, 'maps-'));
    // Postfix waits ~2 s before reading files changed in the last moments: date them a minute back.
    const aged = (file: string, text: string) => {
      fs.writeFileSync(file, text);
      const then = new Date(Date.now() - 60_000);
      fs.utimesSync(file, then, then);
    };
    aged(path.join(scratch, 'main.cf'), 'compatibility_level = 3.6\n');
    const common = `server_host = 127.0.0.1\nserver_port = ${ispd.ldapPort}\nversion = 3\nsearch_base = o=ispman\nbind = no\n`;
    aged(path.join(scratch, 'virtual.cf'), common + 'query_filter = (|(mailLocalAddress=%s)(mailAlias=%s))\nresult_attribute = mailForwardingAddress, mailRoutingAddress\n');
    aged(path.join(scratch, 'transport.cf'), common + 'query_filter = (mailLocalAddress=%s)\nresult_attribute = mailHost\nresult_format = lmtp:[%s]\n');
    aged(path.join(scratch, 'maildrop.cf'), common + 'query_filter = (mailacceptinggeneralid=%s)\nresult_attribute = maildrop\n');
    aged(path.join(scratch, 'relay.cf'), common + 'query_filter = (&(objectclass=ispmanDomain)(ispmanDomain=%s)(|(ispmanDomainMailDeliveryMethod=local)(ispmanDomainMailDeliveryMethod=smtp)))\nresult_attribute = ispmanDomain\n');
  });

  after(async () => {
    await ispd?.stop();
  });

  it('domain add: the domain entry, its group and branches over LDAP, its zone over DNS when the command returns', async () => {
    const r = await ok(['domain', 'add', 'shop.test', '--password', 'ftp-secret', '--mailhost', 'mail2.isp.test']);
    assert.match(r.stdout, /domain shop\.test added \(primary, uidNumber \d+, gidNumber \d+, 10 DNS records, serial \d{10}\)/);
    // No wait here: the command returned, so DNS answers.
    const soa = await dig('shop.test', 'SOA');
    assert.equal(soa.status, 'NOERROR');
    assert.match(soa.answers[0], /^ns1\.isp\.example\. hostmaster\.isp\.example\. \d{10} 10800 1800 604800 86400$/);
    assert.deepEqual((await dig('www.shop.test', 'A')).answers, ['192.0.2.80']);
    assert.deepEqual((await dig('shop.test', 'A')).answers, ['192.0.2.80']);
    assert.deepEqual((await dig('shop.test', 'MX')).answers.sort(), ['10 mx1.isp.example.', '20 mx2.isp.example.']);
    assert.deepEqual((await dig('shop.test', 'NS')).answers.sort(), ['ns1.isp.example.', 'ns2.isp.example.']);
    assert.deepEqual((await dig('shop.test', 'TXT')).answers, ['"v=spf1 mx -all"']);
    assert.deepEqual((await dig('ftp.shop.test', 'CNAME')).answers, ['www.shop.test.']);
    assert.deepEqual((await dig('mail.shop.test', 'CNAME')).answers, ['mx1.isp.example.']);

    const [domain] = await ldapsearch('(ispmanDomain=shop.test)', 'objectClass', 'uid', 'cn', 'homeDirectory', 'gidNumber', 'ispmanDomainType', 'ispmanDomainDefaultMailDropHost');
    assert.deepEqual(domain.attributes.get('objectclass')!.sort(), ['PureFTPdUser', 'ispmanDomain', 'posixAccount']);
    assert.deepEqual(domain.attributes.get('uid'), ['shop.test']);
    assert.deepEqual(domain.attributes.get('homedirectory'), ['/var/www/shop.test']);
    const [group] = await ldapsearch('(&(objectClass=posixGroup)(cn=shop.test))', 'gidNumber');
    assert.deepEqual(group.attributes.get('gidnumber'), domain.attributes.get('gidnumber'));
    assert.equal((await ldapsearch('(&(objectClass=ispmanBranch)(|(ou=users)(ou=httpdata)))')).filter((e) => /ispmanDomain=shop\.test/i.test(e.dn)).length, 2);
    // The customer's FTP login is the domain entry itself.
    const who = await runClient('ldapwhoami', ['-x', '-H', ispd.ldapUrl, '-D', 'ispmanDomain=shop.test,o=ispman', '-w', 'ftp-secret']);
    assert.equal(who.code, 0, describeResult(who));
    if (findProgram('postmap') && fs.existsSync(POSTFIX_LDAP_PLUGIN)) assert.equal(await postmap('relay', 'shop.test'), 'shop.test');
  });

  it('user add: ISPMan uid convention, counter uidNumber, routing attributes, the article map kept equal', async function () {
    const pw = path.join(scratch, 'pw');
    fs.writeFileSync(pw, 'bob-secret\n');
    const r = await ok(['user', 'add', 'Bob@shop.test', '--password-file', pw, '--alias', 'info@shop.test,sales@shop.test', '--forward', 'bob@elsewhere.example']);
    assert.match(r.stdout, /user bob@shop\.test added \(uid bob_shop_test, uidNumber \d+, mail store mail2\.isp\.test\)/);
    const [bob] = await ldapsearch('(uid=bob@shop.test)', 'uid', 'uidNumber', 'gidNumber', 'mailLocalAddress', 'mailRoutingAddress', 'mailHost', 'mailAlias', 'mailForwardingAddress', 'mailacceptinggeneralid', 'maildrop', 'mailQuota');
    assert.equal(bob.dn.replace(/\s/g, ''), 'uid=bob_shop_test,ou=users,ispmanDomain=shop.test,o=ispman');
    assert.deepEqual(bob.attributes.get('uid')!.sort(), ['bob@shop.test', 'bob_shop_test']);
    assert.deepEqual(bob.attributes.get('mailroutingaddress'), ['bob@shop.test']);
    assert.deepEqual(bob.attributes.get('mailhost'), ['mail2.isp.test']);
    assert.deepEqual(bob.attributes.get('mailquota'), ['51200']);
    assert.deepEqual(bob.attributes.get('mailacceptinggeneralid')!.sort(), ['bob@shop.test', 'info@shop.test', 'sales@shop.test']);
    assert.deepEqual(bob.attributes.get('maildrop')!.sort(), ['bob@elsewhere.example', 'bob@shop.test']);
    const [counter] = await ldapsearch('(cn=uidcounter)', 'ispmanCurrUid');
    assert.deepEqual(counter.attributes.get('ispmancurruid'), bob.attributes.get('uidnumber'));
    const who = await runClient('ldapwhoami', ['-x', '-H', ispd.ldapUrl, '-D', bob.dn, '-w', 'bob-secret']);
    assert.equal(who.code, 0, describeResult(who));

    if (!findProgram('postmap') || !fs.existsSync(POSTFIX_LDAP_PLUGIN)) return;
    // Both map styles answer the same for the address and its alias.
    assert.deepEqual((await postmap('virtual', 'info@shop.test')).split(',').sort(), ['bob@elsewhere.example', 'bob@shop.test']);
    assert.deepEqual((await postmap('maildrop', 'info@shop.test')).split(',').sort(), ['bob@elsewhere.example', 'bob@shop.test']);
    assert.equal(await postmap('transport', 'bob@shop.test'), 'lmtp:[mail2.isp.test]');
  });

  it('refuses with one line and exit code 2, and creates nothing', async () => {
    await refused(['domain', 'add', 'shop.test'], /domain shop\.test already exists/);
    await refused(['domain', 'add', 'bad_name.test'], /invalid domain name "bad_name\.test"/);
    await refused(['user', 'add', 'bob@shop.test'], /user bob@shop\.test already exists/);
    await refused(['user', 'add', 'x@missing.test'], /domain missing\.test does not exist/);
    await refused(['user', 'add', 'b ob@shop.test'], /invalid address "b ob@shop\.test"/);
    await refused(['user', 'add', 'carol@shop.test', '--alias', 'info@shop.test'], /address info@shop\.test is already in use/);
    await refused(['user', 'add', 'carol@shop.test', '--mailhost', 'elsewhere.test'], /mail store elsewhere\.test is not in the mail farm/);
    assert.equal((await ldapsearch('(uid=carol@shop.test)')).length, 0);

    await ok(['domain', 'add', 'small.test', '--max-accounts', '1', '--type', 'nodns']);
    await ok(['user', 'add', 'one@small.test', '--password', 'x']);
    await refused(['user', 'add', 'two@small.test', '--password', 'x'], /domain small\.test has reached its limit of 1 accounts/);
    assert.equal((await ldapsearch('(|(ispmanDomain=small.test)(cn=small.test))', '1.1')).length, 3, 'domain, group, one user');
    assert.equal((await dig('small.test', 'SOA')).status, 'REFUSED', 'nodns: no zone');
  });

  it('alias and forward add|del keep both map styles equal; an alias is unique across the tree', async () => {
    await ok(['user', 'add', 'carol@shop.test', '--password', 'c']);
    await refused(['alias', 'add', 'carol@shop.test', 'sales@shop.test'], /address sales@shop\.test is already in use/);
    await ok(['alias', 'del', 'sales@shop.test']);
    await ok(['alias', 'add', 'carol@shop.test', 'sales@shop.test']);
    await ok(['forward', 'add', 'carol@shop.test', 'carol@elsewhere.example']);
    let [carol] = await ldapsearch('(uid=carol@shop.test)', 'mailAlias', 'mailacceptinggeneralid', 'mailForwardingAddress', 'maildrop', 'mailRoutingAddress');
    assert.deepEqual(carol.attributes.get('mailalias'), ['sales@shop.test']);
    assert.deepEqual(carol.attributes.get('mailacceptinggeneralid')!.sort(), ['carol@shop.test', 'sales@shop.test']);
    assert.deepEqual(carol.attributes.get('maildrop')!.sort(), [...carol.attributes.get('mailforwardingaddress')!, ...carol.attributes.get('mailroutingaddress')!].sort());
    await ok(['forward', 'del', 'carol@shop.test', 'carol@elsewhere.example']);
    [carol] = await ldapsearch('(uid=carol@shop.test)', 'maildrop', 'mailForwardingAddress');
    assert.equal(carol.attributes.get('mailforwardingaddress'), undefined);
    assert.equal(carol.attributes.get('maildrop')!.length, 1);
    const [bob] = await ldapsearch('(uid=bob@shop.test)', 'mailacceptinggeneralid');
    assert.deepEqual(bob.attributes.get('mailacceptinggeneralid')!.sort(), ['bob@shop.test', 'info@shop.test']);
  });

  it('spreads new users over the mail farm and reports it; a bulk CSV load shows progress', async () => {
    const before = await ok(['farm', 'status']);
    const count = (text: string, store: string) => Number(new RegExp(`${store.replace(/\./g, '\\.')}\\t(\\d+) users`).exec(text)?.[1]);
    // A domain without a default mail store: its users go to the least loaded store.
    await ok(['domain', 'add', 'farm.test']);
    const csv = path.join(scratch, 'users.csv');
    fs.writeFileSync(csv, 'address,password,mailhost,quota,aliases,forwards\n' + Array.from({ length: 30 }, (_, i) => `u${i}@farm.test,pw${i},,10,,`).join('\n') + '\n');
    const r = await ok(['user', 'add', '--csv', csv]);
    assert.match(r.stderr, /30 users added from/);
    const after = await ok(['farm', 'status']);
    const stores = ['mail1.isp.test', 'mail2.isp.test', 'mail3.isp.test'];
    const loads = stores.map((s) => count(after.stdout, s));
    // The 30 new users fill the emptiest stores first: afterwards the loads are at most one apart.
    assert.equal(loads.reduce((a, b) => a + b, 0) - stores.map((s) => count(before.stdout, s)).reduce((a, b) => a + b, 0), 30, after.stdout);
    assert.ok(Math.max(...loads) - Math.min(...loads) <= 1, after.stdout);
    assert.equal((await ldapsearch('(&(objectClass=ispmanDomainUser)(ispmanDomain=farm.test)(mailQuota=10240))', '1.1')).length, 30);
    // A bad line stops the run before anything is written.
    fs.writeFileSync(csv, 'v1@farm.test,x\nnot an address\n');
    await refused(['user', 'add', '--csv', csv], /line 2: invalid address/);
    assert.equal((await ldapsearch('(uid=v1@farm.test)')).length, 0);
  });

  it('runs the post-add command; a failure is reported, kept in the queue and retried', async () => {
    const flag = path.join(scratch, 'flag');
    const log = path.join(scratch, 'created.log');
    const hook = ['--set', `provision.postAdd=test -f ${flag} && echo %u %h >> ${log}`];
    const r = await ok(['user', 'add', 'dave@shop.test', '--password', 'd', ...hook]);
    assert.match(r.stderr, /warning: .* failed \(exit code 1\); kept in the queue/);
    assert.match((await ok(['farm', 'status'])).stdout, /queued commands: 1\n {2}#\d+ failed dave@shop\.test/);
    fs.writeFileSync(flag, '');
    const retry = await ok(['farm', 'retry']);
    assert.match(retry.stdout, /ran: test -f/);
    assert.match(fs.readFileSync(log, 'utf8'), /^dave@shop\.test mail\d\.isp\.test\n$/);
    assert.match((await ok(['farm', 'status'])).stdout, /queued commands: 0/);
  });

  it('vhost add|del with its A record; user del; domain del removes everything, DNS stops at once', async () => {
    await ok(['vhost', 'add', 'shop.test', 'blog', '--address', '192.0.2.55']);
    assert.deepEqual((await dig('blog.shop.test', 'A')).answers, ['192.0.2.55']);
    assert.equal((await ldapsearch('(ispmanVhostName=blog)', 'uid')).length, 1);
    await ok(['vhost', 'del', 'shop.test', 'blog']);
    assert.equal((await dig('blog.shop.test', 'A')).status, 'NXDOMAIN');

    await ok(['user', 'del', 'carol@shop.test']);
    assert.equal((await ldapsearch('(uid=carol@shop.test)')).length, 0);

    const r = await ok(['domain', 'del', 'shop.test']);
    assert.match(r.stdout, /domain shop\.test deleted \(\d+ entries, \d+ users\)/);
    assert.equal((await dig('shop.test', 'SOA')).status, 'REFUSED');
    assert.equal((await ldapsearch('(|(ispmanDomain=shop.test)(zoneName=shop.test)(mailAlias=info@shop.test))', '1.1')).length, 0);
    const list = await ok(['domain', 'list']);
    assert.doesNotMatch(list.stdout, /shop\.test/);
    assert.match(list.stdout, /^small\.test\tnodns\tlocal\tactive$/m);
  });
});
