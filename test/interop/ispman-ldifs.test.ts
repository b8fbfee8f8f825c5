import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { desCrypt } from '../../src/auth/crypt';
import { comparableDn, describeResult, parseLdif, requirePrograms, runClient } from '../support/clients';
import { makeTempDir } from '../support/server-process';
import { SLAPD_ROOT_DN, SLAPD_ROOT_PASSWORD } from '../support/slapd-process';
import { startTarget, targetKind, type LdapTarget } from '../support/target';
import { ADMIN, FIXTURES_DIR } from './fixtures';

const ISPMAN_LDIF_DIR = path.join(FIXTURES_DIR, 'ispman-ldif');

/** ISPMan 1.4 install-data/ldifs/Makefile: `cat $(CONFLDIFS) > ispman_install.ldif`, in this order. */
const CONFLDIFS = [
  'base.ldif',
  'conf.ldif', 'conf.ftp_vars.ldif', 'conf.dns_vars.ldif', 'conf.ldap_vars.ldif',
  'conf.mail_vars.ldif', 'conf.sys_vars.ldif', 'conf.account_vars.ldif',
  'conf.apache_vars.ldif', 'conf.webmail_vars.ldif', 'conf.db_vars.ldif',
  'counters.ldif', 'hosts.ldif', 'dns.ldif', 'hostgroups.ldif',
  'domainServices.ldif', 'radiusprofiles.ldif', 'processes.ldif',
];

/** What ISPMan's installer asks for; the admin's password is ADMIN's, so the tests can bind as ISPMan would. */
const INSTALL_VALUES: Record<string, string> = {
  ldapBaseDN: 'o=ispman',
  ldapHost: '127.0.0.1',
  ldapRootPass: ADMIN.password,
  rootEmail: 'root@example.com',
  imapAdminUsername: 'cyrus',
  imapAdminPass: 'cyrus-secret',
  installDir: '/opt/ispman',
  domain: 'example.com',
};

/** The installer's substitutions: %%name%% values, and @@randcrypt('x')@@ as a DES crypt of x with a fixed salt. */
function fillPlaceholders(text: string): string {
  const filled = text
    .replace(/%%(\w+)%%/g, (placeholder, name: string) => {
      if (!(name in INSTALL_VALUES)) throw new Error(`no value for ${placeholder}`);
      return INSTALL_VALUES[name];
    })
    .replace(/@@randcrypt\('([^']*)'\)@@/g, (_, clear: string) => desCrypt(Buffer.from(clear), 'is'));
  assert.doesNotMatch(filled, /%%|@@/, 'a placeholder is left');
  return filled;
}

/** LDIF records (comments dropped), each starting with its dn: line. */
function records(text: string): string[] {
  return text
    .replace(/\r\n/g, '\n')
    .split(/\n\s*\n/)
    .map((block) => block.split('\n').filter((line) => !line.startsWith('#')).join('\n').trim())
    .filter((block) => /^dn:/i.test(block));
}

const dnOf = (record: string): string => comparableDn(/^dn:\s*(.*)$/im.exec(record)![1]);

/**
 * ISPMan's install LDIFs, filled in as its installer does and concatenated in its Makefile's order, loaded
 * with ldapadd as ISPMan's admin into a directory that holds only what the admin needs to bind (the base
 * entry, ou=admins and uid=ispman, loaded offline as an operator bootstraps). Then ISPMan's constructed
 * sample domain on top. Every entry must arrive as written.
 */
describe("interop: ISPMan's install LDIFs load through ldapadd", function () {
  this.timeout(90000);
  let dir: string | undefined;
  let server: LdapTarget | undefined;
  let install: string[] = [];
  const BOOTSTRAP = 3; // o=ispman, ou=admins, uid=ispman: the first three records of base.ldif

  before(async function () {
    requirePrograms(this, 'ldapadd', 'ldapsearch', 'ldapwhoami');
    dir = makeTempDir('ispman-ldif');
    install = records(fillPlaceholders(CONFLDIFS.map((file) => fs.readFileSync(path.join(ISPMAN_LDIF_DIR, file), 'utf8')).join('\n')));
    const bootstrap = path.join(dir, 'bootstrap.ldif');
    fs.writeFileSync(bootstrap, `${install.slice(0, BOOTSTRAP).join('\n\n')}\n`);
    server = await startTarget({ ldif: bootstrap });
  });

  after(async () => {
    await server?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const writer = () => (targetKind() === 'slapd' ? { dn: SLAPD_ROOT_DN, password: SLAPD_ROOT_PASSWORD } : ADMIN);
  const ldap = (program: string, args: string[], input?: string) =>
    runClient(program, ['-x', '-o', 'nettimeout=10', '-H', server!.ldapUrl, '-D', writer().dn, '-w', writer().password, ...args], { timeoutMs: 60000, input });

  async function storedEntries(): Promise<Map<string, Map<string, string[]>>> {
    const result = await ldap('ldapsearch', ['-LLL', '-o', 'ldif-wrap=no', '-b', 'o=ispman', '(objectClass=*)', '*']);
    assert.equal(result.code, 0, describeResult(result));
    return new Map(parseLdif(result.stdout).map((entry) => [comparableDn(entry.dn), entry.attributes]));
  }

  it('the admin of the bootstrap binds with the {crypt} password the installer made', async () => {
    const who = await runClient('ldapwhoami', ['-x', '-H', server!.ldapUrl, '-D', ADMIN.dn, '-w', ADMIN.password]);
    assert.equal(who.code, 0, describeResult(who));
  });

  it(`ldapadd of the rest of ispman_install.ldif (${CONFLDIFS.length} files) succeeds entry by entry`, async () => {
    assert.ok(install.length > 100, `only ${install.length} records`);
    const result = await ldap('ldapadd', [], `${install.slice(BOOTSTRAP).join('\n\n')}\n`);
    assert.equal(result.code, 0, describeResult(result));
    assert.equal(result.stdout.match(/^adding new entry/gm)?.length, install.length - BOOTSTRAP, describeResult(result));
  });

  it('every entry is there with every value as written', async () => {
    const stored = await storedEntries();
    for (const record of install) {
      const [expected] = parseLdif(record);
      const attributes = stored.get(dnOf(record));
      assert.ok(attributes, `missing ${expected.dn}`);
      for (const [name, values] of expected.attributes) {
        if (name === 'objectclass' || name === 'userpassword') continue; // class-name spelling; passwords are not readable as written
        // "ispmanMinUid:  10000": ldapadd drops every space after the colon (the parser here only one); trailing ones are kept
        assert.deepEqual([...(attributes.get(name) ?? [])].sort(), values.map((value) => value.trimStart()).sort(), `${expected.dn}: ${name}`);
      }
    }
  });

  it("ISPMan's (constructed) sample domain loads on top, DNS zone entries included", async () => {
    const present = new Set(install.map(dnOf));
    const sample = records(fs.readFileSync(path.join(ISPMAN_LDIF_DIR, 'sample-example.com.ldif'), 'utf8')).filter((record) => !present.has(dnOf(record)));
    assert.ok(sample.length > 5);
    const result = await ldap('ldapadd', [], `${sample.join('\n\n')}\n`);
    assert.equal(result.code, 0, describeResult(result));
    const stored = await storedEntries();
    for (const record of sample) assert.ok(stored.has(dnOf(record)), `missing ${dnOf(record)}`);
    const zone = await ldap('ldapsearch', ['-LLL', '-b', 'ou=DNS,o=ispman', '(&(objectClass=dNSZone)(zoneName=example.com))', 'relativeDomainName']);
    assert.equal(zone.code, 0, describeResult(zone));
    assert.ok(parseLdif(zone.stdout).length > 0, describeResult(zone));
  });
});
