import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeResult, requirePrograms, runClient, type ClientResult } from '../support/clients';
import { renderConfig } from '../support/configs';
import { makeTempDir } from '../support/server-process';
import { startTarget, type LdapTarget } from '../support/target';

/** Debian's postfix-ldap plugin; without it postmap does not know the ldap: table type. */
const POSTFIX_LDAP_PLUGIN = '/usr/lib/postfix/postfix-ldap.so';

/**
 * Postfix 3.7 `postmap -q` with ldap: tables configured as ISPMan 1.4 ships them, plus the
 * article's mailacceptinggeneralid → maildrop lookup, each with LDAP version 2 and 3.
 * postmap exits 0 with the result on stdout when found, and 1 with nothing on stdout or stderr
 * when not found; a lookup error also exits 1 but says "fatal: … query error" on stderr, which
 * is why every "not found" below also asserts an empty stderr.
 */
/**
 * Writes a Postfix configuration file dated a minute back: Postfix waits about 2 s before reading
 * main.cf or a table file modified in the last moments (it may be being rewritten).
 */
function writeAged(file: string, content: string): void {
  fs.writeFileSync(file, content);
  const aMinuteAgo = new Date(Date.now() - 60000);
  fs.utimesSync(file, aMinuteAgo, aMinuteAgo);
}

describe('interop: Postfix postmap with ldap: tables', function () {
  this.timeout(60000);
  let server: LdapTarget;
  let dir: string;

  before(async function () {
    requirePrograms(this, 'postmap', POSTFIX_LDAP_PLUGIN);
    server = await startTarget();
    dir = makeTempDir('interop-postfix');
    writeAged(path.join(dir, 'main.cf'), renderConfig('postfix/main.cf', {}));
  });

  after(async () => {
    if (server) await server.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  function table(name: string, version: 2 | 3, port = server.ldapPort): string {
    const file = path.join(dir, `${name}-v${version}-${port}.cf`);
    if (!fs.existsSync(file)) {
      writeAged(file, renderConfig(`postfix/${name}.cf`, { LDAP_HOST: '127.0.0.1', LDAP_PORT: port, LDAP_VERSION: version }));
    }
    return file;
  }

  const postmap = (key: string, cfFile: string): Promise<ClientResult> =>
    runClient('postmap', ['-c', dir, '-q', key, `ldap:${cfFile}`], { timeoutMs: 20000 });

  /** Postfix joins multiple results with commas; their order follows the server's attribute order. */
  const resultSet = (result: ClientResult): string[] => result.stdout.trim().split(',').map((value) => value.trim()).sort();

  async function expectFound(name: string, version: 2 | 3, key: string, expected: string[]): Promise<void> {
    const result = await postmap(key, table(name, version));
    assert.equal(result.code, 0, describeResult(result));
    assert.equal(result.stderr, '', describeResult(result));
    assert.deepEqual(resultSet(result), [...expected].sort(), describeResult(result));
  }

  async function expectNotFound(name: string, version: 2 | 3, key: string): Promise<void> {
    const result = await postmap(key, table(name, version));
    assert.equal(result.code, 1, describeResult(result));
    assert.equal(result.stdout, '', describeResult(result));
    assert.equal(result.stderr, '', `"not found" must not be a lookup error:\n${describeResult(result)}`);
  }

  for (const version of [3, 2] as const) {
    describe(`version = ${version}`, () => {
      describe('ISPMan virtual alias map (|(mailLocalAddress=%s)(mailAlias=%s)) → mailForwardingAddress, mailRoutingAddress', () => {
        it('a mailbox with forwards returns the forwards and the routing address', () =>
          expectFound('ldap-virtual-alias-maps', version, 'john@example.com', ['john@elsewhere.org', 'john2@elsewhere.org', 'john@example.com']));
        it('an alias in mixed case finds the same user', () =>
          expectFound('ldap-virtual-alias-maps', version, 'JD@Example.COM', ['john@elsewhere.org', 'john2@elsewhere.org', 'john@example.com']));
        it('a mailbox without forwards returns its routing address', () => expectFound('ldap-virtual-alias-maps', version, 'Bob@Example.com', ['bob@example.com']));
        it('a mail group (ispmanMailGroup) expands to its members', () =>
          expectFound('ldap-virtual-alias-maps', version, 'orders@EXAMPLE.COM', ['john@example.com', 'bob@example.com']));
        it('a user of the smtp domain forwarding elsewhere', () =>
          expectFound('ldap-virtual-alias-maps', version, 'frank@example.net', ['frank@example.com', 'frank@example.net']));
        it('an unknown address is "not found", not an error', () => expectNotFound('ldap-virtual-alias-maps', version, 'nobody@example.com'));
      });

      describe('ISPMan transport map (mailLocalAddress=%s) → mailHost as lmtp:[%s]', () => {
        it('a mailbox is routed to its mail store', () => expectFound('ldap-transport-maps', version, 'alice@example.com', ['lmtp:[mail2.example.net]']));
        it('the address is matched case-insensitively', () => expectFound('ldap-transport-maps', version, 'ALICE@example.COM', ['lmtp:[mail2.example.net]']));
        // ispman.schema declares mailAlias SUP mailLocalAddress, so a filter on mailLocalAddress matches
        // aliases too (RFC 4512 subtypes; OpenLDAP does this): mail to an alias goes to the owner's store
        it('an alias matches too (mailAlias is a subtype of mailLocalAddress)', () =>
          expectFound('ldap-transport-maps', version, 'postmaster@example.com', ['lmtp:[mail2.example.net]']));
        it('a mail group has no mailHost: not found', () => expectNotFound('ldap-transport-maps', version, 'sales@example.com'));
        it('an unknown address is "not found"', () => expectNotFound('ldap-transport-maps', version, 'nobody@example.net'));
      });

      describe('ISPMan relay domains (ispmanDomainMailDeliveryMethod local or smtp) → ispmanDomain', () => {
        it('the local-delivery domain', () => expectFound('ldap-relay-domains', version, 'example.com', ['example.com']));
        it('the smtp-delivery domain, asked in upper case', () => expectFound('ldap-relay-domains', version, 'EXAMPLE.NET', ['example.net']));
        it('an article-era domain is no ispmanDomain: not found', () => expectNotFound('ldap-relay-domains', version, 'developer.ch'));
        it('an unknown domain is "not found"', () => expectNotFound('ldap-relay-domains', version, 'nosuch.example'));
      });

      describe("the article's (mailacceptinggeneralid=%s) → maildrop", () => {
        it('bob@developer.ch goes to bob@mail5.developer.ch', () => expectFound('article-maildrop', version, 'bob@developer.ch', ['bob@mail5.developer.ch']));
        it('the address is matched case-insensitively', () => expectFound('article-maildrop', version, 'Bob@Developer.CH', ['bob@mail5.developer.ch']));
        it('an unknown address is "not found"', () => expectNotFound('article-maildrop', version, 'alice@developer.ch'));
      });
    });
  }

  it('bind = no: Postfix searches without any bind request (LDAPv3 allows it)', async () => {
    const file = path.join(dir, 'article-maildrop-nobind.cf');
    writeAged(file, `${renderConfig('postfix/article-maildrop.cf', { LDAP_HOST: '127.0.0.1', LDAP_PORT: server.ldapPort, LDAP_VERSION: 3 })}bind = no\n`);
    const result = await postmap('bob@developer.ch', file);
    assert.equal(result.code, 0, describeResult(result));
    assert.equal(result.stdout.trim(), 'bob@mail5.developer.ch', describeResult(result));
  });

  it('(control) a server that cannot be reached is a lookup error, which the "not found" checks would catch', async () => {
    const closedPort = 1; // tcpmux: nothing listens there on a test machine
    const result = await postmap('john@example.com', table('ldap-virtual-alias-maps', 3, closedPort));
    assert.equal(result.code, 1, describeResult(result));
    assert.match(result.stderr, /fatal: .*query error/, describeResult(result));
  });
});
