import { strict as assert } from 'node:assert';
import { comparableDn, describeResult, parseLdif, requirePrograms, runClient, type ClientResult } from '../support/clients';
import { startTarget, type LdapTarget } from '../support/target';

/** OpenLDAP's ldapsearch (ldap-utils) against the demo directory, with simple binds only (-x). */
describe('interop: ldapsearch (ldap-utils)', function () {
  this.timeout(60000);
  let server: LdapTarget;

  before(async function () {
    requirePrograms(this, 'ldapsearch');
    server = await startTarget();
  });

  after(async () => {
    if (server) await server.stop();
  });

  const ldapsearch = (...args: string[]): Promise<ClientResult> =>
    runClient('ldapsearch', ['-x', '-H', server.ldapUrl, '-o', 'nettimeout=10', '-o', 'ldif-wrap=no', ...args], { timeoutMs: 20000 });

  const ALL_USERS = [
    'uid=john_example_com,ou=users,ispmanDomain=example.com,o=ispman',
    'uid=bob_example_com,ou=users,ispmanDomain=example.com,o=ispman',
    'uid=alice_example_com,ou=users,ispmanDomain=example.com,o=ispman',
    'uid=carol_example_com,ou=users,ispmanDomain=example.com,o=ispman',
    'uid=dave_example_com,ou=users,ispmanDomain=example.com,o=ispman',
    'uid=erin_example_net,ou=users,ispmanDomain=example.net,o=ispman',
    'uid=frank_example_net,ou=users,ispmanDomain=example.net,o=ispman',
    'uid=grace_example_net,ou=users,ispmanDomain=example.net,o=ispman',
  ];
  /** DNs compared case- and space-insensitively: servers may keep the case the entry was loaded with. */
  const normalizeDn = comparableDn;
  const dnsOf = (result: ClientResult): string[] => parseLdif(result.stdout).map((entry) => normalizeDn(entry.dn));

  it('base scope returns exactly the base entry, with both uid values', async () => {
    const result = await ldapsearch('-LLL', '-b', 'uid=bob_example_com,ou=users,ispmanDomain=example.com,o=ispman', '-s', 'base', '(objectClass=*)', 'uid', 'mailLocalAddress');
    assert.equal(result.code, 0, describeResult(result));
    const entries = parseLdif(result.stdout);
    assert.equal(entries.length, 1, describeResult(result));
    assert.deepEqual([...(entries[0].attributes.get('uid') ?? [])].sort(), ['bob@example.com', 'bob_example_com']);
    assert.deepEqual(entries[0].attributes.get('maillocaladdress'), ['bob@example.com']);
  });

  it('base scope with a DN written with ", " separators and other case finds the same entry', async () => {
    const result = await ldapsearch('-LLL', '-b', 'UID=Bob_Example_Com, OU=Users, ispmanDomain=EXAMPLE.COM, O=ISPMAN', '-s', 'base', '(objectClass=*)', '1.1');
    assert.equal(result.code, 0, describeResult(result));
    assert.deepEqual(dnsOf(result), [normalizeDn(ALL_USERS[1])]);
  });

  it('one-level scope returns the children only', async () => {
    const result = await ldapsearch('-LLL', '-b', 'o=ispman', '-s', 'one', '(objectClass=*)', '1.1');
    assert.equal(result.code, 0, describeResult(result));
    assert.deepEqual(
      dnsOf(result).sort(),
      ['domain=4unet.net,o=ispman', 'domain=developer.ch,o=ispman', 'ispmandomain=example.com,o=ispman', 'ispmandomain=example.net,o=ispman', 'ou=admins,o=ispman', 'ou=dns,o=ispman'].sort(),
    );
  });

  it('one-level scope with a filter', async () => {
    const result = await ldapsearch('-LLL', '-b', 'ou=users,ispmanDomain=example.net,o=ispman', '-s', 'one', '(objectClass=ispmanDomainUser)', 'uid');
    assert.equal(result.code, 0, describeResult(result));
    assert.deepEqual(dnsOf(result).sort(), ALL_USERS.slice(5).map(normalizeDn).sort());
  });

  it('subtree scope finds every user in every domain', async () => {
    const result = await ldapsearch('-LLL', '-b', 'o=ispman', '-s', 'sub', '(objectClass=ispmanDomainUser)', '1.1');
    assert.equal(result.code, 0, describeResult(result));
    assert.deepEqual(dnsOf(result).sort(), ALL_USERS.map(normalizeDn).sort());
  });

  it('subtree scope matches mail attributes case-insensitively (ISPMan alias lookup)', async () => {
    const result = await ldapsearch('-LLL', '-b', 'o=ispman', '(|(mailLocalAddress=INFO@Example.COM)(mailAlias=INFO@Example.COM))', 'mailRoutingAddress');
    assert.equal(result.code, 0, describeResult(result));
    const entries = parseLdif(result.stdout);
    assert.deepEqual(entries.map((entry) => normalizeDn(entry.dn)), [normalizeDn(ALL_USERS[0])]);
    assert.deepEqual(entries[0].attributes.get('mailroutingaddress'), ['john@example.com']);
  });

  it('a filter on an attribute type matches its subtypes (mailAlias SUP mailLocalAddress)', async () => {
    const result = await ldapsearch('-LLL', '-b', 'o=ispman', '(mailLocalAddress=abuse@example.com)', '1.1');
    assert.equal(result.code, 0, describeResult(result));
    assert.deepEqual(dnsOf(result), [normalizeDn(ALL_USERS[2])]);
  });

  it('requesting an attribute type returns its subtypes too (mailForwardingAddress SUP mailRoutingAddress)', async () => {
    const result = await ldapsearch('-LLL', '-b', ALL_USERS[0], '-s', 'base', '(objectClass=*)', 'mailRoutingAddress');
    assert.equal(result.code, 0, describeResult(result));
    const attributes = parseLdif(result.stdout)[0]?.attributes;
    assert.deepEqual(attributes?.get('mailroutingaddress'), ['john@example.com'], describeResult(result));
    assert.deepEqual([...(attributes?.get('mailforwardingaddress') ?? [])].sort(), ['john2@elsewhere.org', 'john@elsewhere.org'], describeResult(result));
  });

  it('subtree scope under the DNS branch returns the dNSZone records of a zone', async () => {
    const result = await ldapsearch('-LLL', '-b', 'dc=example,dc=com,ou=DNS,o=ispman', '(&(objectClass=dNSZone)(relativeDomainName=www))', 'aRecord', 'aAAARecord', 'pTRRecord');
    assert.equal(result.code, 0, describeResult(result));
    const values = parseLdif(result.stdout).flatMap((entry) => [...(entry.attributes.get('arecord') ?? []), ...(entry.attributes.get('aaaarecord') ?? [])]);
    assert.deepEqual(values.sort(), ['192.0.2.10', '2001:db8::10'].sort());
  });

  it('a base search on a DN that does not exist gives noSuchObject (32)', async () => {
    const result = await ldapsearch('-LLL', '-b', 'uid=nobody,ou=users,ispmanDomain=example.com,o=ispman', '-s', 'base', '(objectClass=*)');
    assert.equal(result.code, 32, describeResult(result));
  });

  it('the root DSE names the naming context, LDAPv3, the paged results control and the subschema entry', async () => {
    const result = await ldapsearch('-LLL', '-b', '', '-s', 'base', '+');
    assert.equal(result.code, 0, describeResult(result));
    const entries = parseLdif(result.stdout);
    assert.equal(entries.length, 1, describeResult(result));
    const dse = entries[0].attributes;
    assert.deepEqual((dse.get('namingcontexts') ?? []).map(normalizeDn), ['o=ispman']);
    assert.ok(dse.get('supportedldapversion')?.includes('3'), describeResult(result));
    assert.ok(dse.get('supportedcontrol')?.includes('1.2.840.113556.1.4.319'), describeResult(result));
    assert.deepEqual((dse.get('subschemasubentry') ?? []).map((dn) => dn.toLowerCase()), ['cn=subschema']);
  });

  it('the subschema entry publishes the object classes of the loaded schema files', async () => {
    const result = await ldapsearch('-LLL', '-b', 'cn=Subschema', '-s', 'base', '(objectClass=subschema)', 'objectClasses');
    assert.equal(result.code, 0, describeResult(result));
    const definitions = parseLdif(result.stdout)[0]?.attributes.get('objectclasses') ?? [];
    const find = (name: string): string | undefined => definitions.find((definition) => definition.includes(`NAME '${name}'`));
    // one class from each schema file of ISPMan's set
    for (const name of ['person', 'posixAccount', 'inetOrgPerson', 'dNSZone', 'PureFTPdUser', 'ispmanDomainUser', 'radiusprofile']) {
      assert.ok(find(name), `objectClasses lacks ${name}:\n${describeResult(result)}`);
    }
    assert.match(find('ispmanDomainUser') ?? '', /^\( 1\.3\.6\.1\.4\.1\.8833\.2\.2\.1104 /);
    assert.match(find('ispmanDomainUser') ?? '', /SUP \( inetOrgPerson \$ PureFTPdUser \) STRUCTURAL/);
  });

  it('paged results (-E pr=2/noprompt) return every entry over several pages', async () => {
    const result = await ldapsearch('-b', 'o=ispman', '-E', 'pr=2/noprompt', '(objectClass=ispmanDomainUser)', '1.1');
    assert.equal(result.code, 0, describeResult(result));
    const pages = result.stdout.split('\n').filter((line) => line.startsWith('# search result')).length;
    assert.ok(pages >= 4, `expected at least 4 pages for 8 entries, got ${pages}\n${describeResult(result)}`);
    const dns = dnsOf(result);
    assert.equal(new Set(dns).size, dns.length, `an entry came twice:\n${describeResult(result)}`);
    assert.deepEqual(dns.sort(), ALL_USERS.map(normalizeDn).sort());
    // every page but the last carries a non-empty cookie; the last an empty one
    const cookies = result.stdout.split('\n').filter((line) => line.startsWith('pagedresults: cookie='));
    assert.equal(cookies.length, pages, describeResult(result));
    assert.equal(cookies[cookies.length - 1], 'pagedresults: cookie=', describeResult(result));
  });

  it('-z 2 gives sizeLimitExceeded (exit 4) with 2 entries', async () => {
    const result = await ldapsearch('-LLL', '-z', '2', '-b', 'o=ispman', '(objectClass=ispmanDomainUser)', '1.1');
    assert.equal(result.code, 4, describeResult(result));
    assert.match(result.stderr, /Size limit exceeded/, describeResult(result));
    const dns = dnsOf(result);
    assert.equal(dns.length, 2, describeResult(result));
    for (const dn of dns) assert.ok(ALL_USERS.map(normalizeDn).includes(dn), dn);
  });

  const userBinds: Array<[scheme: string, dn: string, password: string]> = [
    ['{SSHA}', 'uid=bob_example_com,ou=users,ispmanDomain=example.com,o=ispman', 'bob-secret'],
    ['{CRYPT} DES', 'uid=alice_example_com,ou=users,ispmanDomain=example.com,o=ispman', 'alice-pw'],
    ['{CRYPT} $6$', 'uid=carol_example_com,ou=users,ispmanDomain=example.com,o=ispman', 'carol-secret'],
    ['{MD5}', 'uid=dave_example_com,ou=users,ispmanDomain=example.com,o=ispman', 'dave-secret'],
    ['{SHA}', 'uid=erin_example_net,ou=users,ispmanDomain=example.net,o=ispman', 'erin-secret'],
    ['{SSHA512}', 'uid=frank_example_net,ou=users,ispmanDomain=example.net,o=ispman', 'frank-secret'],
    ['cleartext', 'uid=grace_example_net,ou=users,ispmanDomain=example.net,o=ispman', 'grace-secret'],
    ['{SSHA} admin', 'uid=ispman,ou=admins,o=ispman', 'ispman-admin'],
    ['{CRYPT} domain FTP login', 'ispmanDomain=example.com,o=ispman', 'example-com-ftp'],
  ];
  for (const [scheme, dn, password] of userBinds) {
    it(`a simple bind with the right password succeeds: ${scheme}`, async () => {
      const result = await ldapsearch('-LLL', '-D', dn, '-w', password, '-b', dn, '-s', 'base', '(objectClass=*)', '1.1');
      assert.equal(result.code, 0, describeResult(result));
      assert.deepEqual(dnsOf(result), [normalizeDn(dn)]);
    });
  }

  it('a bind DN written with ", " separators and other case binds the same user', async () => {
    const result = await ldapsearch('-LLL', '-D', 'UID=bob_example_com, ou=Users, ispmanDomain=example.com, o=ispman', '-w', 'bob-secret', '-b', 'o=ispman', '-s', 'base', '1.1');
    assert.equal(result.code, 0, describeResult(result));
  });

  it('a wrong password gives invalidCredentials (exit 49)', async () => {
    const result = await ldapsearch('-LLL', '-D', 'uid=bob_example_com,ou=users,ispmanDomain=example.com,o=ispman', '-w', 'not-bobs-password', '-b', 'o=ispman', '-s', 'base', '1.1');
    assert.equal(result.code, 49, describeResult(result));
    assert.match(result.stderr, /Invalid credentials \(49\)/);
  });

  it('a wrong password for a {CRYPT} user gives 49', async () => {
    const result = await ldapsearch('-LLL', '-D', 'uid=alice_example_com,ou=users,ispmanDomain=example.com,o=ispman', '-w', 'alice-pX', '-b', 'o=ispman', '-s', 'base', '1.1');
    assert.equal(result.code, 49, describeResult(result));
  });

  it('{CRYPT} DES compares the first 8 characters only, as crypt(3) does (slapd and pam agree)', async () => {
    const result = await ldapsearch('-LLL', '-D', 'uid=alice_example_com,ou=users,ispmanDomain=example.com,o=ispman', '-w', 'alice-pw-and-more', '-b', 'o=ispman', '-s', 'base', '1.1');
    assert.equal(result.code, 0, describeResult(result));
  });

  it('a bind as a DN that does not exist also gives 49 (no user enumeration)', async () => {
    const result = await ldapsearch('-LLL', '-D', 'uid=nobody_example_com,ou=users,ispmanDomain=example.com,o=ispman', '-w', 'whatever', '-b', 'o=ispman', '-s', 'base', '1.1');
    assert.equal(result.code, 49, describeResult(result));
    assert.match(result.stderr, /Invalid credentials \(49\)/);
  });

  it('an entry whose userPassword is the article placeholder accepts no password', async () => {
    const result = await ldapsearch('-LLL', '-D', 'ou=dnsdata, domain=4unet.net, o=ispman', '-w', 'XXffGGHH', '-b', 'o=ispman', '-s', 'base', '1.1');
    assert.equal(result.code, 49, describeResult(result));
  });

  it('anonymous readers do not see userPassword', async () => {
    const result = await ldapsearch('-LLL', '-b', 'uid=bob_example_com,ou=users,ispmanDomain=example.com,o=ispman', '-s', 'base', '(objectClass=*)', 'userPassword', 'uid');
    assert.equal(result.code, 0, describeResult(result));
    const entry = parseLdif(result.stdout)[0];
    assert.ok(entry, describeResult(result));
    assert.equal(entry.attributes.has('userpassword'), false, describeResult(result));
    assert.ok(entry.attributes.has('uid'));
  });
});
