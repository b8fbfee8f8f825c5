import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { describeResult, parseLdif, requirePrograms, runClient, type ClientResult } from '../support/clients';
import { startIspd, type IspdHandle } from '../support/ispd-process';
import { makeTempDir } from '../support/server-process';
import { ADMIN, BOB, DOMAIN_EXAMPLE_COM, JOHN, MAIL_SERVICE, demoWithServicesLdif, type Credentials } from './fixtures';

type Operation = 'read' | 'compare' | 'write';
const OPERATIONS: Operation[] = ['read', 'compare', 'write'];

interface AttributeGroup {
  title: string;
  entry: string;
  attributes: string[];
}

const DNS_WWW = 'relativeDomainName=www,aRecord=192.0.2.10,ou=aRecord,dc=example,dc=com,ou=DNS,o=ispman';
const GROUPS: AttributeGroup[] = [
  { title: 'userPassword', entry: BOB.dn, attributes: ['userPassword'] },
  { title: 'mail attributes', entry: BOB.dn, attributes: ['mailLocalAddress', 'mailRoutingAddress', 'mailAlias', 'mailHost'] },
  { title: 'posix attributes', entry: BOB.dn, attributes: ['uidNumber', 'homeDirectory', 'loginShell'] },
  { title: 'DNS entries', entry: DNS_WWW, attributes: ['aRecord', 'relativeDomainName', 'zoneName'] },
];

const IDENTITIES: Array<{ name: string; credentials?: Credentials }> = [
  { name: 'anonymous' },
  { name: 'the user itself (bob)', credentials: BOB },
  { name: 'another user (john)', credentials: JOHN },
  { name: 'domain account (example.com)', credentials: DOMAIN_EXAMPLE_COM },
  { name: 'admin (uid=ispman)', credentials: ADMIN },
  { name: 'mail service (uid=postfix)', credentials: MAIL_SERVICE },
];

/** Expected access as letters: r = read, c = compare, w = write, '-' = denied. Rows follow IDENTITIES, columns GROUPS. */
const SECURE_DEFAULT: string[][] = [
  // userPassword  mail     posix    DNS
  ['---', '---', '---', '---'], // anonymous
  ['--w', 'rc-', 'rc-', 'rc-'], // self: userPassword is write-only (usable for bind, never read or compared)
  ['---', 'rc-', 'rc-', 'rc-'], // another user
  ['--w', 'rcw', 'rcw', 'rc-'], // domain account: its own subtree only (DNS lives under ou=DNS)
  ['rcw', 'rcw', 'rcw', 'rcw'], // admin: write includes read, userPassword too (ISPMan's slapd; pure-ftpd binds as it)
  ['---', 'rc-', '---', '---'], // mail service: mail routing attributes only
];
/** With ldap.anonymousRead on, anonymous reads (and so compares) all but userPassword; nothing else changes. */
const WITH_ANONYMOUS_READ: string[][] = SECURE_DEFAULT.map((row, index) => (index === 0 ? ['---', 'rc-', 'rc-', 'rc-'] : row));

/**
 * The shipped default ACL, asserted with real ldapsearch / ldapcompare / ldapmodify runs, one
 * identity × operation × attribute at a time, against ispd on the demo data plus the mail service
 * identity. Once without ldap.anonymousRead (the secure default), once with it. Each group's
 * attributes must agree; the matrix is printed for the closing note.
 */
describe('interop: default ACL table (identities × read/compare/write × attribute groups)', function () {
  this.timeout(180000);
  let dir: string | undefined;
  const servers: Record<'secure' | 'anonymousRead', IspdHandle | undefined> = { secure: undefined, anonymousRead: undefined };

  before(async function () {
    requirePrograms(this, 'ldapsearch', 'ldapcompare', 'ldapmodify');
    dir = makeTempDir('acl');
    const ldif = demoWithServicesLdif(dir);
    [servers.secure, servers.anonymousRead] = await Promise.all([
      startIspd({ ldif }),
      startIspd({ ldif, config: ['--set', 'ldap.anonymousRead=true'] }),
    ]);
  });

  after(async () => {
    await Promise.all([servers.secure?.stop(), servers.anonymousRead?.stop()]);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const run = (server: IspdHandle, program: string, who: Credentials | undefined, args: string[], input?: string): Promise<ClientResult> =>
    runClient(program, ['-x', '-o', 'nettimeout=10', '-H', server.ldapUrl, ...(who ? ['-D', who.dn, '-w', who.password] : []), ...args], { timeoutMs: 20000, input });

  /** The values as the admin sees them: what compare asserts and what write puts back unchanged. */
  async function currentValues(server: IspdHandle, group: AttributeGroup): Promise<Map<string, string[]>> {
    // userPassword: compare asserts bob's clear password (slapd compares a clear value against the hash).
    if (group.attributes.length === 1 && group.attributes[0] === 'userPassword') return new Map([['userPassword', [BOB.password]]]);
    const result = await run(server, 'ldapsearch', ADMIN, ['-LLL', '-o', 'ldif-wrap=no', '-b', group.entry, '-s', 'base', '(objectClass=*)', ...group.attributes]);
    assert.equal(result.code, 0, describeResult(result));
    const [entry] = parseLdif(result.stdout);
    const values = new Map<string, string[]>();
    for (const attribute of group.attributes) {
      const found = entry.attributes.get(attribute.toLowerCase());
      assert.ok(found && found.length > 0, `${group.entry} has no ${attribute}`);
      values.set(attribute, found);
    }
    return values;
  }

  /** Whether `who` may do `operation` on one attribute; throws on an answer that is neither allow nor deny. */
  async function allowed(server: IspdHandle, who: Credentials | undefined, operation: Operation, entry: string, attribute: string, values: string[]): Promise<boolean> {
    if (operation === 'read') {
      const result = await run(server, 'ldapsearch', who, ['-LLL', '-o', 'ldif-wrap=no', '-b', entry, '-s', 'base', '(objectClass=*)', attribute]);
      // an entry the identity may not see at all answers like an empty result (or noSuchObject)
      if (result.code === 32) return false;
      assert.equal(result.code, 0, describeResult(result));
      const [seen] = parseLdif(result.stdout);
      return (seen?.attributes.get(attribute.toLowerCase()) ?? []).length > 0;
    }
    if (operation === 'compare') {
      const result = await run(server, 'ldapcompare', who, [entry, `${attribute}:${values[0]}`]);
      if (result.code === 6 || result.code === 5) return true; // compareTrue / compareFalse
      assert.ok(result.code === 50 || result.code === 32, `compare answered neither 5/6 nor 50\n${describeResult(result)}`);
      return false;
    }
    // write: replace with the same values (userPassword with bob's clear password, so later binds still work)
    const written = attribute === 'userPassword' ? [BOB.password] : values;
    const ldif = `dn: ${entry}\nchangetype: modify\nreplace: ${attribute}\n${written.map((value) => `${attribute}: ${value}`).join('\n')}\n-\n`;
    const result = await run(server, 'ldapmodify', who, [], ldif);
    if (result.code === 0) return true;
    assert.equal(result.code, 50, describeResult(result));
    return false;
  }

  /** Measures the whole matrix as letters, checking that every attribute of a group gets the same answer. */
  async function measure(server: IspdHandle): Promise<string[][]> {
    const values = new Map<AttributeGroup, Map<string, string[]>>();
    for (const group of GROUPS) values.set(group, await currentValues(server, group));
    return Promise.all(
      IDENTITIES.map(async (identity) => {
        const row: string[] = [];
        for (const group of GROUPS) {
          let cell = '';
          for (const operation of OPERATIONS) {
            const answers: boolean[] = [];
            for (const attribute of group.attributes) {
              answers.push(await allowed(server, identity.credentials, operation, group.entry, attribute, values.get(group)!.get(attribute)!));
            }
            assert.ok(answers.every((answer) => answer === answers[0]), `${identity.name} ${operation} ${group.title}: the attributes disagree (${group.attributes.map((a, i) => `${a}=${answers[i]}`).join(', ')})`);
            cell += answers[0] ? operation[0] : '-';
          }
          row.push(cell);
        }
        return row;
      }),
    );
  }

  function printMatrix(title: string, matrix: string[][]): void {
    const width = Math.max(...IDENTITIES.map((identity) => identity.name.length));
    const columns = GROUPS.map((group) => group.title);
    const lines = [
      `      ${title}   (r = read, c = compare, w = write, - = denied)`,
      `      ${''.padEnd(width)} | ${columns.map((column) => column.padEnd(16)).join(' | ')}`,
      `      ${'-'.repeat(width)}-+-${columns.map(() => '-'.repeat(16)).join('-+-')}`,
      ...IDENTITIES.map((identity, index) => `      ${identity.name.padEnd(width)} | ${matrix[index].map((cell) => cell.padEnd(16)).join(' | ')}`),
    ];
    console.log(lines.join('\n'));
  }

  it('the secure default (ldap.anonymousRead off): the matrix is as expected', async () => {
    const matrix = await measure(servers.secure!);
    printMatrix('default ACL, anonymousRead off', matrix);
    assert.deepEqual(matrix, SECURE_DEFAULT);
  });

  it('with ldap.anonymousRead on: anonymous reads and compares everything but userPassword; the rest is unchanged', async () => {
    const matrix = await measure(servers.anonymousRead!);
    printMatrix('default ACL, anonymousRead on', matrix);
    assert.deepEqual(matrix, WITH_ANONYMOUS_READ);
  });

  it('userPassword is never readable by a search filter for those without read access (no guessing by filter)', async () => {
    for (const server of [servers.secure!, servers.anonymousRead!]) {
      for (const who of [undefined, JOHN, MAIL_SERVICE]) {
        const result = await run(server, 'ldapsearch', who, ['-LLL', '-b', BOB.dn, '-s', 'base', '(userPassword=*)', '1.1']);
        assert.equal(result.code, 0, describeResult(result));
        assert.equal(parseLdif(result.stdout).length, 0, `a (userPassword=*) filter matched for ${who?.dn ?? 'anonymous'}\n${describeResult(result)}`);
      }
    }
  });

  it('the domain account writes inside its own domain only (add, rename, Password Modify)', async () => {
    const server = servers.secure!;
    const inside = `cn=helpdesk,ou=users,ispmanDomain=example.com,o=ispman`;
    const addInside = await run(server, 'ldapadd', DOMAIN_EXAMPLE_COM, [], `dn: ${inside}\nobjectClass: organizationalRole\ncn: helpdesk\n`);
    assert.equal(addInside.code, 0, describeResult(addInside));
    const addOutside = await run(server, 'ldapadd', DOMAIN_EXAMPLE_COM, [], `dn: cn=helpdesk,ou=users,ispmanDomain=example.net,o=ispman\nobjectClass: organizationalRole\ncn: helpdesk\n`);
    assert.equal(addOutside.code, 50, describeResult(addOutside));
    const addAdmin = await run(server, 'ldapadd', DOMAIN_EXAMPLE_COM, [], `dn: uid=evil,ou=admins,o=ispman\nobjectClass: ispmanSysadmin\nuid: evil\ncn: evil\nou: admins\nuserPassword: evil\nispmanSysadminLevel: 100\n`);
    assert.equal(addAdmin.code, 50, describeResult(addAdmin));
    const moveOut = await run(server, 'ldapmodrdn', DOMAIN_EXAMPLE_COM, ['-s', 'ou=users,ispmanDomain=example.net,o=ispman', inside, 'cn=helpdesk']);
    assert.equal(moveOut.code, 50, describeResult(moveOut));
    const resetOwn = await run(server, 'ldappasswd', DOMAIN_EXAMPLE_COM, ['-s', 'alice-pw', 'uid=alice_example_com,ou=users,ispmanDomain=example.com,o=ispman']);
    assert.equal(resetOwn.code, 0, describeResult(resetOwn));
    const resetOther = await run(server, 'ldappasswd', DOMAIN_EXAMPLE_COM, ['-s', 'taken', 'uid=grace_example_net,ou=users,ispmanDomain=example.net,o=ispman']);
    assert.match(resetOther.stdout + resetOther.stderr, /\(50\)/, describeResult(resetOther));
    const removed = await run(server, 'ldapdelete', DOMAIN_EXAMPLE_COM, [inside]);
    assert.equal(removed.code, 0, describeResult(removed));
  });

  it('a user cannot raise its own rights: no class, uid, rename, child entries or admin entries', async () => {
    const server = servers.secure!;
    const attempts: Array<[string, ClientResult]> = [
      ['add objectClass', await run(server, 'ldapmodify', BOB, [], `dn: ${BOB.dn}\nchangetype: modify\nadd: objectClass\nobjectClass: shadowAccount\n-\n`)],
      ['replace uid', await run(server, 'ldapmodify', BOB, [], `dn: ${BOB.dn}\nchangetype: modify\nadd: uid\nuid: ispman\n-\n`)],
      ['rename itself', await run(server, 'ldapmodrdn', BOB, [BOB.dn, 'uid=boss_example_com'])],
      ['add below itself', await run(server, 'ldapadd', BOB, [], `dn: cn=x,${BOB.dn}\nobjectClass: organizationalRole\ncn: x\n`)],
      ['add an admin', await run(server, 'ldapadd', BOB, [], `dn: uid=bob,ou=admins,o=ispman\nobjectClass: ispmanSysadmin\nuid: bob\ncn: bob\nou: admins\nuserPassword: x\nispmanSysadminLevel: 100\n`)],
    ];
    for (const [what, result] of attempts) assert.equal(result.code, 50, `${what}\n${describeResult(result)}`);
  });

  it('a filter on attributes the identity may not read matches nothing (the mail service cannot probe uidNumber)', async () => {
    const byUidNumber = await run(servers.secure!, 'ldapsearch', MAIL_SERVICE, ['-LLL', '-b', 'o=ispman', '(uidNumber=10002)', '1.1']);
    assert.equal(byUidNumber.code, 0, describeResult(byUidNumber));
    assert.equal(parseLdif(byUidNumber.stdout).length, 0, describeResult(byUidNumber));
    const notUidNumber = await run(servers.secure!, 'ldapsearch', MAIL_SERVICE, ['-LLL', '-b', 'o=ispman', '(&(mailLocalAddress=bob@example.com)(!(uidNumber=1)))', '1.1']);
    assert.equal(parseLdif(notUidNumber.stdout).length, 0, `(!(uidNumber=1)) must be undefined, not true\n${describeResult(notUidNumber)}`);
    const byMail = await run(servers.secure!, 'ldapsearch', MAIL_SERVICE, ['-LLL', '-b', 'o=ispman', '(mailLocalAddress=bob@example.com)', '1.1']);
    assert.deepEqual(parseLdif(byMail.stdout).map((entry) => entry.dn.toLowerCase().replace(/,\s+/g, ',')), [BOB.dn.toLowerCase()], describeResult(byMail));
  });

  it('anonymous without anonymousRead sees no entry at all', async () => {
    const result = await run(servers.secure!, 'ldapsearch', undefined, ['-LLL', '-b', 'o=ispman', '(objectClass=*)', '1.1']);
    assert.equal(parseLdif(result.stdout).length, 0, describeResult(result));
  });

  it('binds still work for everyone (userPassword is usable for auth by anonymous)', async () => {
    for (const who of [BOB, JOHN, DOMAIN_EXAMPLE_COM, ADMIN, MAIL_SERVICE]) {
      const result = await run(servers.secure!, 'ldapwhoami', who, []);
      assert.equal(result.code, 0, describeResult(result));
    }
  });
});
