import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { describeResult, parseLdif, requirePrograms, runClient, type ClientResult } from '../support/clients';
import { ISPD_CLI } from '../support/ispd-process';
import { pickFreePort } from '../support/ports';
import { DEMO_LDIF, REPO_ROOT, makeTempDir, startServerProcess, type ServerProcess } from '../support/server-process';
import { SLAPD_ROOT_DN, SLAPD_ROOT_PASSWORD } from '../support/slapd-process';
import { storedValues } from '../support/stored';
import { startTarget, targetKind, type LdapTarget } from '../support/target';
import { ADMIN, FIXTURES_DIR } from './fixtures';

const ADMIN_DN = ADMIN.dn;
const ADMIN_PASSWORD = ADMIN.password;
const BOB = 'uid=bob_example_com,ou=users,ispmanDomain=example.com,o=ispman';
const USERS_COM = 'ou=users,ispmanDomain=example.com,o=ispman';
const USERS_NET = 'ou=users,ispmanDomain=example.net,o=ispman';

/**
 * Who administers the directory over LDAP: ISPMan's admin on ispd; on slapd (ISPD_TEST_TARGET=slapd)
 * the rootdn, since the reference slapd.conf carries ISPMan's ACL, under which only the rootdn writes.
 */
function writer(): { dn: string; password: string } {
  return targetKind() === 'slapd' ? { dn: SLAPD_ROOT_DN, password: SLAPD_ROOT_PASSWORD } : { dn: ADMIN_DN, password: ADMIN_PASSWORD };
}

/** Result codes ldapadd/ldapmodify -c printed on stderr, in order ("ldap_add: Object class violation (65)"). */
function printedResultCodes(stderr: string): number[] {
  return [...stderr.matchAll(/^ldap_(?:add|modify|delete|rename): .*\((\d+)\)$/gm)].map((match) => Number(match[1]));
}

/** ldappasswd exits 1 on any failure; the result code is in its "Result: Insufficient access (50)" line. */
function ldappasswdResultCode(result: ClientResult): number | null {
  const match = /^Result: .*\((\d+)\)$/m.exec(result.stdout + result.stderr);
  return match ? Number(match[1]) : result.code;
}

/** An entry as the next reader sees it: attribute name (lower case) → sorted values. */
type Seen = Record<string, string[]> | undefined;

/**
 * OpenLDAP's write tools against the server, each change checked by a search on a new connection
 * (every ldap* run is its own process and connection). Expected codes and answers were checked against
 * slapd on the same data with ISPD_TEST_TARGET=slapd; where ispd deliberately differs, the test says so.
 */
describe('interop: writes with OpenLDAP tools (ldapadd, ldapmodify, ldapdelete, ldapmodrdn, ldappasswd, ldapwhoami, ldapcompare)', function () {
  this.timeout(120000);
  let server: LdapTarget | undefined;

  before(async function () {
    requirePrograms(this, 'ldapadd', 'ldapmodify', 'ldapdelete', 'ldapmodrdn', 'ldappasswd', 'ldapwhoami', 'ldapcompare', 'ldapsearch');
    server = await startTarget();
  });

  after(async () => {
    await server?.stop();
  });

  const tool = (program: string, args: string[], input?: string): Promise<ClientResult> =>
    runClient(program, ['-x', '-o', 'nettimeout=10', '-H', server!.ldapUrl, ...args], { timeoutMs: 30000, input });
  const asWriter = (program: string, args: string[], input?: string): Promise<ClientResult> =>
    tool(program, ['-D', writer().dn, '-w', writer().password, ...args], input);

  /** Reads one entry (all user and operational attributes) as the writer, on a new connection. */
  async function read(dn: string, attributes: string[] = ['*', '+']): Promise<Seen> {
    const result = await asWriter('ldapsearch', ['-LLL', '-o', 'ldif-wrap=no', '-b', dn, '-s', 'base', '(objectClass=*)', ...attributes]);
    if (result.code === 32) return undefined;
    assert.equal(result.code, 0, describeResult(result));
    const [entry] = parseLdif(result.stdout);
    const out: Record<string, string[]> = {};
    for (const [name, values] of entry.attributes) out[name] = [...values].sort();
    return out;
  }

  /** DNs (lower case, no spaces) found under `base` by a subtree search on a new connection. */
  async function dnsUnder(base: string, filter = '(objectClass=*)'): Promise<string[]> {
    const result = await asWriter('ldapsearch', ['-LLL', '-o', 'ldif-wrap=no', '-b', base, filter, '1.1']);
    if (result.code === 32) return [];
    assert.equal(result.code, 0, describeResult(result));
    return parseLdif(result.stdout).map((entry) => entry.dn.toLowerCase().replace(/,\s+/g, ',')).sort();
  }

  const zoe = (uid: string, number: number, extra = ''): string => `dn: uid=${uid},${USERS_NET}
objectClass: posixAccount
objectClass: ispmanDomainUser
uid: ${uid}
uid: ${uid.replace('_example_net', '@example.net')}
cn: Zoe ${uid}
sn: Zoe
uidNumber: ${number}
gidNumber: 10100
homeDirectory: /ispman/domains/example.net/users/${uid}
loginShell: /bin/false
ispmanDomain: example.net
ispmanUserId: ${uid.replace('_example_net', '')}
mailLocalAddress: ${uid.replace('_example_net', '@example.net')}
mailQuota: 1000
${extra}`;

  describe('ldapadd', () => {
    const dn = `uid=zoe_example_net,${USERS_NET}`;

    it('adds an ISPMan user; the next search on another connection sees it with its operational attributes', async () => {
      const added = await asWriter('ldapadd', [], zoe('zoe_example_net', 10300, 'userPassword: zoe-secret\n'));
      assert.equal(added.code, 0, describeResult(added));
      const entry = await read(dn);
      assert.ok(entry, `${dn} not found after ldapadd`);
      assert.deepEqual(entry.uid, ['zoe@example.net', 'zoe_example_net']);
      assert.deepEqual(entry.maillocaladdress, ['zoe@example.net']);
      assert.deepEqual(entry.structuralobjectclass, ['ispmanDomainUser']);
      assert.equal(entry.creatorsname?.[0].toLowerCase(), writer().dn.toLowerCase());
      assert.equal(entry.modifiersname?.[0].toLowerCase(), writer().dn.toLowerCase());
      assert.match(entry.createtimestamp?.[0] ?? '', /^\d{14}Z$/);
      assert.deepEqual(entry.modifytimestamp, entry.createtimestamp);
      assert.match(entry.entryuuid?.[0] ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.match(entry.entrycsn?.[0] ?? '', /^\d{14}\.\d{6}Z#[0-9a-f]{6}#[0-9a-f]{3}#[0-9a-f]{6}$/);
      assert.deepEqual(entry.hassubordinates, ['FALSE']);
      assert.deepEqual(entry.subschemasubentry?.map((v) => v.toLowerCase()), ['cn=subschema']);
      // found by the indexed attributes too, not only by its DN
      assert.deepEqual(await dnsUnder('o=ispman', '(mailLocalAddress=ZOE@example.net)'), [dn.toLowerCase()]);
      assert.deepEqual(await dnsUnder('o=ispman', '(&(objectClass=posixAccount)(uidNumber=10300))'), [dn.toLowerCase()]);
    });

    it('the clear-text password given in the add binds, and ispd stored it hashed ({SSHA512})', async function () {
      const who = await tool('ldapwhoami', ['-D', dn, '-w', 'zoe-secret']);
      assert.equal(who.code, 0, describeResult(who));
      assert.equal(who.stdout.trim().toLowerCase(), `dn:${dn.toLowerCase()}`);
      if (targetKind() === 'slapd') return; // slapd stores clear text unless ppolicy's hash_cleartext is on
      const stored = await storedValues(server!.dbFile!, dn, 'userPassword');
      assert.match(stored[0] ?? '', /^\{SSHA512\}[A-Za-z0-9+/]+=*$/);
    });

    it('an add by an ordinary user is refused (50) and leaves nothing behind', async () => {
      const result = await tool('ldapadd', ['-D', BOB, '-w', 'bob-secret'], zoe('zoe2_example_net', 10301));
      assert.equal(result.code, 50, describeResult(result));
      assert.equal(await read(`uid=zoe2_example_net,${USERS_NET}`), undefined);
    });

    it('ldapadd -c of a file with deliberate errors: each error gets the code slapd gives, the good entries are added', async () => {
      const result = await asWriter('ldapadd', ['-c', '-f', path.join(FIXTURES_DIR, 'add-errors.ldif')]);
      const expected = [
        65, // 1 missing MUST
        65, // 2 attribute not allowed
        65, // 3 two structural chains
        17, // 4 undefined attribute type
        21, // 5 Integer syntax
        68, // 6 already exists
        32, // 7 parent missing
        34, // 8 RDN type undefined: the DN does not parse
        64, // 8b RDN attribute without an equality rule
        65, // 9 RDN attribute not allowed by the classes
        19, // 10 SINGLE-VALUE
        19, // 11 NO-USER-MODIFICATION
        65, // 12 no structural class
        21, // 13 undefined object class
        20, // 14 a value given twice
        21, // 14a IA5 String with a non-ASCII character
        21, // 14b empty Directory String
        21, // 14c DN syntax
        21, // 14d Numeric String
        21, // 14e Integer (mailQuota)
      ];
      assert.deepEqual(printedResultCodes(result.stderr), expected, describeResult(result));
      assert.match(result.stderr, /No such object \(32\)\n\s*matched DN: ispmanDomain=example\.com,\s?o=ispman/i, describeResult(result));
      assert.deepEqual(await dnsUnder('ou=ok15,ispmanDomain=example.com,o=ispman'), ['ou=ok15,ispmandomain=example.com,o=ispman', 'ou=ok16,ou=ok15,ispmandomain=example.com,o=ispman']);
      // none of the wrong entries is there
      const stray = (await dnsUnder('ispmanDomain=example.com,o=ispman')).filter((found) => /^(uid|ou|cn)=e\d|^facsimile/.test(found));
      assert.deepEqual(stray, []);
    });
  });

  describe('ldapmodify', () => {
    const dn = `uid=mod_example_net,${USERS_NET}`;
    before(async () => {
      const added = await asWriter('ldapadd', [], zoe('mod_example_net', 10310, 'mailAlias: one@example.net\nmailAlias: two@example.net\n'));
      assert.equal(added.code, 0, describeResult(added));
    });

    it('add, delete (a value and a whole attribute), replace and increment in one run; each visible to the next search', async () => {
      const before = await read(dn);
      await new Promise((resolve) => setTimeout(resolve, 1100)); // modifyTimestamp has one-second resolution
      const ldif = `dn: ${dn}
changetype: modify
add: mailAlias
mailAlias: three@example.net
-
delete: mailAlias
mailAlias: ONE@example.net
-
replace: loginShell
loginShell: /bin/bash
-
increment: uidNumber
uidNumber: 5
-
increment: mailQuota
mailQuota: -250
-

dn: ${dn}
changetype: modify
delete: mailQuota
-
add: mailForwardingAddress
mailForwardingAddress: mod@elsewhere.org
`;
      const result = await asWriter('ldapmodify', [], ldif);
      assert.equal(result.code, 0, describeResult(result));
      const after = await read(dn);
      assert.deepEqual(after?.mailalias, ['three@example.net', 'two@example.net']);
      assert.deepEqual(after?.loginshell, ['/bin/bash']);
      assert.deepEqual(after?.uidnumber, ['10315']);
      assert.equal(after?.mailquota, undefined);
      assert.deepEqual(after?.mailforwardingaddress, ['mod@elsewhere.org']);
      assert.deepEqual(after?.entryuuid, before?.entryuuid, 'entryUUID never changes');
      assert.deepEqual(after?.createtimestamp, before?.createtimestamp);
      assert.ok((after?.modifytimestamp?.[0] ?? '') > (before?.modifytimestamp?.[0] ?? ''), 'modifyTimestamp moved on');
      assert.notDeepEqual(after?.entrycsn, before?.entrycsn);
      assert.deepEqual(await dnsUnder('o=ispman', '(uidNumber=10315)'), [dn.toLowerCase()], 'the index follows the increment');
      assert.deepEqual(await dnsUnder('o=ispman', '(mailAlias=one@example.net)'), [], 'the index forgets a deleted value');
    });

    it('userPassword written by ldapmodify: clear text is stored hashed, a value already hashed is kept as given', async () => {
      const clear = await asWriter('ldapmodify', [], `dn: ${dn}\nchangetype: modify\nreplace: userPassword\nuserPassword: mod-secret\n-\n`);
      assert.equal(clear.code, 0, describeResult(clear));
      assert.equal((await tool('ldapwhoami', ['-D', dn, '-w', 'mod-secret'])).code, 0);
      if (targetKind() === 'ispd') assert.match((await storedValues(server!.dbFile!, dn, 'userPassword'))[0] ?? '', /^\{SSHA512\}/);
      // {SSHA} of "postfix-secret" (test/interop/fixtures/services.ldif)
      const hashed = '{SSHA}o1ogLKLEuYhKph2/vsS6+429HyRxXdSZkubpbg==';
      const given = await asWriter('ldapmodify', [], `dn: ${dn}\nchangetype: modify\nreplace: userPassword\nuserPassword: ${hashed}\n-\n`);
      assert.equal(given.code, 0, describeResult(given));
      if (targetKind() === 'ispd') assert.deepEqual(await storedValues(server!.dbFile!, dn, 'userPassword'), [hashed]);
      assert.equal((await tool('ldapwhoami', ['-D', dn, '-w', 'postfix-secret'])).code, 0);
    });

    it('increment is atomic under 8 concurrent ldapmodify processes (no lost update)', async () => {
      const perProcess = 10;
      const ldif = Array.from({ length: perProcess }, () => `dn: ${dn}\nchangetype: modify\nincrement: uidNumber\nuidNumber: 1\n-\n`).join('\n');
      const before = Number((await read(dn, ['uidNumber']))?.uidnumber?.[0]);
      const runs = await Promise.all(Array.from({ length: 8 }, () => asWriter('ldapmodify', [], ldif)));
      for (const run of runs) assert.equal(run.code, 0, describeResult(run));
      const after = Number((await read(dn, ['uidNumber']))?.uidnumber?.[0]);
      assert.equal(after, before + 8 * perProcess);
    });

    it('a modify with one good and one bad change fails as a whole (19) and changes nothing', async () => {
      const before = await read(dn);
      const ldif = `dn: ${dn}\nchangetype: modify\nreplace: loginShell\nloginShell: /bin/zsh\n-\nadd: mailAlias\nmailAlias: four@example.net\n-\nadd: uidNumber\nuidNumber: 1\n-\n`;
      const result = await asWriter('ldapmodify', [], ldif);
      assert.equal(result.code, 19, describeResult(result));
      assert.deepEqual(await read(dn), before);
    });

    it('ldapmodify -c of a file with deliberate errors: the codes slapd gives, the entry untouched but for the last good change', async () => {
      const before = await read(BOB);
      const result = await asWriter('ldapmodify', ['-c', '-f', path.join(FIXTURES_DIR, 'modify-errors.ldif')]);
      const expected = [
        20, // 1 value exists
        16, // 2 no such value
        16, // 3 no such attribute
        19, // 4 NO-USER-MODIFICATION
        21, // 5 syntax
        19, // 6 SINGLE-VALUE
        65, // 7 MUST removed
        65, // 8 not allowed
        // 9: removing the RDN value. slapd answers namingViolation (64); RFC 4511 4.6 says notAllowedOnRDN (67), which ispd follows.
        targetKind() === 'slapd' ? 64 : 67,
        17, // 10 undefined type
        32, // 11 no such entry
        19, // 12 increment of a non-integer attribute
        21, // 13 increment by a non-integer
        19, // 14 good + bad change: the bad one decides
        65, // 15 structural class removed
        69, // 15a structural class changed
        69, // 15b structural class replaced by its superclass
        2, // 15c increment with two values
      ];
      assert.deepEqual(printedResultCodes(result.stderr), expected, describeResult(result));
      assert.match(result.stderr, /No such object \(32\)\n\s*matched DN: ou=users,\s?ispmanDomain=example\.com,\s?o=ispman/i, describeResult(result));
      const after = await read(BOB);
      assert.deepEqual(after?.description, ['still here after 18 errors']);
      assert.deepEqual((await read('ou=admins,o=ispman', ['objectClass']))?.objectclass?.map((name) => name.toLowerCase()), ['ispmanbranch']);
      const unchanged = (entry: Seen): Seen => {
        const copy = { ...entry };
        for (const name of ['description', 'modifytimestamp', 'modifiersname', 'entrycsn']) delete copy[name];
        return copy;
      };
      assert.deepEqual(unchanged(after), unchanged(before));
    });

    it('Boolean syntax (radiusStripUserName of radiusprofile): TRUE is taken, yes is invalidAttributeSyntax (21)', async () => {
      const bad = await asWriter('ldapmodify', [], `dn: ${BOB}\nchangetype: modify\nreplace: radiusStripUserName\nradiusStripUserName: yes\n-\n`);
      assert.equal(bad.code, 21, describeResult(bad));
      const good = await asWriter('ldapmodify', [], `dn: ${BOB}\nchangetype: modify\nreplace: radiusStripUserName\nradiusStripUserName: TRUE\n-\n`);
      assert.equal(good.code, 0, describeResult(good));
      assert.deepEqual((await read(BOB, ['radiusStripUserName']))?.radiusstripusername, ['TRUE']);
    });

    it('a user may change its own entry only where the ACL says so (50 otherwise), and a refused change changes nothing', async () => {
      const before = await read(BOB);
      const result = await tool('ldapmodify', ['-D', BOB, '-w', 'bob-secret'], `dn: ${BOB}\nchangetype: modify\nreplace: mailQuota\nmailQuota: 999999\n-\n`);
      assert.equal(result.code, 50, describeResult(result));
      assert.deepEqual(await read(BOB), before);
    });
  });

  describe('ldapcompare', () => {
    it('sees a value written on another connection at once: FALSE (5) before, TRUE (6) after', async () => {
      const dn = `uid=zoe_example_net,${USERS_NET}`;
      const before = await tool('ldapcompare', [dn, 'mailAlias:zed@example.net']);
      assert.equal(before.code, 16, `no mailAlias yet: noSuchAttribute\n${describeResult(before)}`);
      const added = await asWriter('ldapmodify', [], `dn: ${dn}\nchangetype: modify\nadd: mailAlias\nmailAlias: zed@example.net\n-\n`);
      assert.equal(added.code, 0, describeResult(added));
      const yes = await tool('ldapcompare', [dn, 'mailAlias:ZED@example.net']);
      assert.equal(yes.code, 6, describeResult(yes));
      assert.match(yes.stdout, /TRUE/);
      const no = await tool('ldapcompare', [dn, 'mailAlias:zzz@example.net']);
      assert.equal(no.code, 5, describeResult(no));
      assert.match(no.stdout, /FALSE/);
    });
  });

  describe('ldapmodrdn', () => {
    const team = 'ou=team,ispmanDomain=example.com,o=ispman';
    before(async () => {
      const ldif = [
        `dn: ${team}\nobjectClass: organizationalUnit\nou: team\n`,
        `dn: cn=lead,${team}\nobjectClass: organizationalRole\ncn: lead\n`,
        `dn: ou=sub,${team}\nobjectClass: organizationalUnit\nou: sub\n`,
        `dn: cn=deep,ou=sub,${team}\nobjectClass: organizationalRole\ncn: deep\n`,
        zoe('ren_example_net', 10320),
      ].join('\n');
      const added = await asWriter('ldapadd', [], ldif);
      assert.equal(added.code, 0, describeResult(added));
    });

    it('a new RDN keeping the old value (no -r): both values stay; the old DN is gone', async () => {
      const result = await asWriter('ldapmodrdn', [`uid=ren_example_net,${USERS_NET}`, 'uid=ren2_example_net']);
      assert.equal(result.code, 0, describeResult(result));
      const entry = await read(`uid=ren2_example_net,${USERS_NET}`);
      assert.deepEqual(entry?.uid, ['ren2_example_net', 'ren@example.net', 'ren_example_net']);
      assert.equal(await read(`uid=ren_example_net,${USERS_NET}`), undefined);
    });

    it('-r deletes the old RDN value', async () => {
      const result = await asWriter('ldapmodrdn', ['-r', `uid=ren2_example_net,${USERS_NET}`, 'uid=ren3_example_net']);
      assert.equal(result.code, 0, describeResult(result));
      const entry = await read(`uid=ren3_example_net,${USERS_NET}`);
      assert.deepEqual(entry?.uid, ['ren3_example_net', 'ren@example.net', 'ren_example_net']);
      assert.equal(entry?.modifiersname?.[0].toLowerCase(), writer().dn.toLowerCase());
    });

    it('-s moves an entry to a new superior (another domain), found there by filter', async () => {
      const result = await asWriter('ldapmodrdn', ['-r', '-s', USERS_COM, `uid=ren3_example_net,${USERS_NET}`, 'uid=ren_example_com']);
      assert.equal(result.code, 0, describeResult(result));
      assert.deepEqual(await dnsUnder('o=ispman', '(uidNumber=10320)'), [`uid=ren_example_com,${USERS_COM}`.toLowerCase()]);
    });

    it('-s moves a whole subtree: every child is found at the new place and none at the old', async () => {
      const moved = 'ou=crew,ispmandomain=example.net,o=ispman';
      const result = await asWriter('ldapmodrdn', ['-r', '-s', 'ispmanDomain=example.net,o=ispman', team, 'ou=crew']);
      assert.equal(result.code, 0, describeResult(result));
      assert.deepEqual(await dnsUnder(moved), [moved, `cn=deep,ou=sub,${moved}`, `cn=lead,${moved}`, `ou=sub,${moved}`].sort());
      assert.deepEqual(await dnsUnder(team), []);
      assert.deepEqual(await dnsUnder('o=ispman', '(cn=deep)'), [`cn=deep,ou=sub,${moved}`]);
      const deep = await read(`cn=deep,ou=sub,${moved}`, ['+']);
      assert.deepEqual(deep?.entrydn?.map((v) => v.toLowerCase().replace(/,\s+/g, ',')), [`cn=deep,ou=sub,${moved}`]);
      const child = await tool('ldapsearch', ['-LLL', '-b', moved, '-s', 'one', '(objectClass=*)', '1.1']);
      assert.equal(parseLdif(child.stdout).length, 2, describeResult(child));
    });

    it('errors: target exists (68), entry missing (32), new superior missing (32), below itself (53), non-leaf delete (66)', async () => {
      const crew = 'ou=crew,ispmanDomain=example.net,o=ispman';
      const exists = await asWriter('ldapmodrdn', [`cn=lead,${crew}`, 'ou=sub']);
      assert.equal(exists.code, 68, describeResult(exists));
      const missing = await asWriter('ldapmodrdn', [`cn=nobody,${crew}`, 'cn=x']);
      assert.equal(missing.code, 32, describeResult(missing));
      const noSuperior = await asWriter('ldapmodrdn', ['-s', 'ou=nowhere,o=ispman', `cn=lead,${crew}`, 'cn=lead']);
      assert.equal(noSuperior.code, 32, describeResult(noSuperior));
      const belowItself = await asWriter('ldapmodrdn', ['-s', `ou=sub,${crew}`, crew, 'ou=crew']);
      assert.equal(belowItself.code, 53, describeResult(belowItself));
      const nonLeaf = await asWriter('ldapdelete', [crew]);
      assert.equal(nonLeaf.code, 66, describeResult(nonLeaf));
      assert.equal((await dnsUnder(crew)).length, 4, 'nothing of the subtree was touched');
    });
  });

  describe('ldapdelete', () => {
    it('deletes a leaf (gone for the next search), then 32 for it; -r removes a subtree leaf by leaf', async () => {
      const dn = `uid=zoe_example_net,${USERS_NET}`;
      const deleted = await asWriter('ldapdelete', [dn]);
      assert.equal(deleted.code, 0, describeResult(deleted));
      assert.equal(await read(dn), undefined);
      assert.deepEqual(await dnsUnder('o=ispman', '(mailLocalAddress=zoe@example.net)'), []);
      const again = await asWriter('ldapdelete', [dn]);
      assert.equal(again.code, 32, describeResult(again));
      const subtree = 'ou=crew,ispmanDomain=example.net,o=ispman';
      const recursive = await asWriter('ldapdelete', ['-r', subtree]);
      assert.equal(recursive.code, 0, describeResult(recursive));
      assert.deepEqual(await dnsUnder(subtree), []);
    });

    it('a user cannot delete its own entry (50)', async () => {
      const result = await tool('ldapdelete', ['-D', BOB, '-w', 'bob-secret', BOB]);
      assert.equal(result.code, 50, describeResult(result));
      assert.ok(await read(BOB));
    });
  });

  describe('ldappasswd and ldapwhoami', () => {
    const erin = 'uid=erin_example_net,ou=users,ispmanDomain=example.net,o=ispman';

    it('a user sets its own password (-s): the new one binds, the old one does not, ldapwhoami names the user', async () => {
      const set = await tool('ldappasswd', ['-D', erin, '-w', 'erin-secret', '-s', 'erin-new']);
      assert.equal(set.code, 0, describeResult(set));
      const old = await tool('ldapwhoami', ['-D', erin, '-w', 'erin-secret']);
      assert.equal(old.code, 49, describeResult(old));
      const who = await tool('ldapwhoami', ['-D', erin, '-w', 'erin-new']);
      assert.equal(who.code, 0, describeResult(who));
      assert.equal(who.stdout.trim().toLowerCase(), `dn:${erin.toLowerCase()}`);
      if (targetKind() === 'ispd') {
        const stored = await storedValues(server!.dbFile!, erin, 'userPassword');
        assert.match(stored[0] ?? '', /^\{SSHA512\}/, 'Password Modify stores the configured scheme');
        assert.equal(stored.length, 1);
      }
    });

    it('without -s the server generates a password, ldappasswd prints it, and it binds', async () => {
      const generated = await tool('ldappasswd', ['-D', erin, '-w', 'erin-new']);
      assert.equal(generated.code, 0, describeResult(generated));
      const match = /New password: (\S+)/.exec(generated.stdout);
      assert.ok(match, describeResult(generated));
      const who = await tool('ldapwhoami', ['-D', erin, '-w', match[1]]);
      assert.equal(who.code, 0, describeResult(who));
      const old = await tool('ldapwhoami', ['-D', erin, '-w', 'erin-new']);
      assert.equal(old.code, 49, describeResult(old));
      const reset = await asWriter('ldappasswd', ['-s', 'erin-secret', erin]);
      assert.equal(reset.code, 0, `the administrator resets another user's password\n${describeResult(reset)}`);
      assert.equal((await tool('ldapwhoami', ['-D', erin, '-w', 'erin-secret'])).code, 0);
    });

    it('with a wrong old password (-a) nothing changes', async () => {
      const wrong = await tool('ldappasswd', ['-D', erin, '-w', 'erin-secret', '-a', 'not-erins', '-s', 'erin-other']);
      assert.equal(ldappasswdResultCode(wrong), 53, describeResult(wrong)); // unwillingToPerform, as slapd
      assert.equal((await tool('ldapwhoami', ['-D', erin, '-w', 'erin-secret'])).code, 0);
      const right = await tool('ldappasswd', ['-D', erin, '-w', 'erin-secret', '-a', 'erin-secret', '-s', 'erin-secret2']);
      assert.equal(right.code, 0, describeResult(right));
      assert.equal((await tool('ldapwhoami', ['-D', erin, '-w', 'erin-secret2'])).code, 0);
    });

    it("a user cannot set another user's password (50); anonymous ldapwhoami answers anonymous", async () => {
      const other = await tool('ldappasswd', ['-D', erin, '-w', 'erin-secret2', '-s', 'taken-over', BOB]);
      assert.equal(ldappasswdResultCode(other), 50, describeResult(other));
      assert.equal((await tool('ldapwhoami', ['-D', BOB, '-w', 'bob-secret'])).code, 0);
      const anonymous = await tool('ldapwhoami', []);
      assert.equal(anonymous.code, 0, describeResult(anonymous));
      assert.equal(anonymous.stdout.trim(), 'anonymous');
    });
  });

  describe('the naming context is the limit', () => {
    it('renaming the suffix entry or moving an entry out of it: affectsMultipleDSAs (71); nothing moved', async () => {
      const base = await asWriter('ldapmodrdn', ['o=ispman', 'o=elsewhere']);
      assert.equal(base.code, 71, describeResult(base));
      const out = await asWriter('ldapmodrdn', ['-s', 'dc=org', USERS_NET, 'ou=users']);
      assert.equal(out.code, 71, describeResult(out));
      assert.ok(await read('o=ispman', ['o']));
      assert.ok(await read(USERS_NET, ['ou']));
      assert.equal((await tool('ldapwhoami', ['-D', ADMIN_DN, '-w', ADMIN_PASSWORD])).code, 0, 'the admin still binds');
    });

    it('add, modify, delete and modrdn of a DN outside it: unwillingToPerform (53), no global superior knowledge', async () => {
      const outside = 'dc=example,dc=org';
      const add = await asWriter('ldapadd', [], `dn: ${outside}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: x\n`);
      const modify = await asWriter('ldapmodify', [], `dn: ${outside}\nchangetype: modify\nreplace: o\no: y\n-\n`);
      const remove = await asWriter('ldapdelete', [outside]);
      const rename = await asWriter('ldapmodrdn', [outside, 'dc=x']);
      for (const result of [add, modify, remove, rename]) {
        assert.equal(result.code, 53, describeResult(result));
        assert.match(result.stdout + result.stderr, /no global superior knowledge/, describeResult(result));
      }
    });

    it('an anonymous Password Modify is refused with strongerAuthRequired (8)', async () => {
      const result = await tool('ldappasswd', ['-s', 'anything', BOB]);
      assert.equal(ldappasswdResultCode(result), 8, describeResult(result));
      assert.equal((await tool('ldapwhoami', ['-D', BOB, '-w', 'bob-secret'])).code, 0);
    });
  });

  describe('concurrent writers', () => {
    it('8 ldapadd processes adding 10 distinct entries each: all 80 are there', async () => {
      const branch = 'ou=load,ispmanDomain=example.net,o=ispman';
      const made = await asWriter('ldapadd', [], `dn: ${branch}\nobjectClass: organizationalUnit\nou: load\n`);
      assert.equal(made.code, 0, describeResult(made));
      const runs = await Promise.all(
        Array.from({ length: 8 }, (_, writerIndex) =>
          asWriter('ldapadd', [], Array.from({ length: 10 }, (__, i) => `dn: cn=w${writerIndex}-${i},${branch}\nobjectClass: organizationalRole\ncn: w${writerIndex}-${i}\n`).join('\n')),
        ),
      );
      for (const run of runs) assert.equal(run.code, 0, describeResult(run));
      assert.equal((await dnsUnder(branch, '(objectClass=organizationalRole)')).length, 80);
    });

    it('adds below a subtree while it is moved back and forth: every acknowledged add is found at the subtree\'s final place, nothing is lost or orphaned', async () => {
      const parents = ['ispmanDomain=example.com,o=ispman', 'ispmanDomain=example.net,o=ispman'];
      const made = await asWriter('ldapadd', [], `dn: ou=moving,${parents[0]}\nobjectClass: organizationalUnit\nou: moving\n`);
      assert.equal(made.code, 0, describeResult(made));
      const writers = parents.map((parent, p) =>
        asWriter('ldapadd', ['-c'], Array.from({ length: 25 }, (_, i) => `dn: cn=m${p}-${i},ou=moving,${parent}\nobjectClass: organizationalRole\ncn: m${p}-${i}\n`).join('\n')),
      );
      const mover = (async () => {
        for (let i = 0; i < 10; i++) {
          const moved = await asWriter('ldapmodrdn', ['-s', parents[(i + 1) % 2], `ou=moving,${parents[i % 2]}`, 'ou=moving']);
          assert.equal(moved.code, 0, describeResult(moved));
        }
      })();
      const [adds] = await Promise.all([Promise.all(writers), mover]);
      let acknowledged = 0;
      for (const run of adds) {
        const failures = printedResultCodes(run.stderr);
        for (const code of failures) assert.equal(code, 32, `an add failed other than by a parent moved away\n${describeResult(run)}`);
        acknowledged += 25 - failures.length;
      }
      const finalPlace = `ou=moving,${parents[0]}`.toLowerCase(); // 10 moves: back where it started
      const found = await dnsUnder('o=ispman', '(&(objectClass=organizationalRole)(cn=m*))');
      assert.equal(found.length, acknowledged, `found ${found.length}, acknowledged ${acknowledged}`);
      for (const dn of found) assert.ok(dn.endsWith(`,${finalPlace}`), `${dn} is not below ${finalPlace}`);
      assert.equal((await dnsUnder(finalPlace, '(objectClass=organizationalRole)')).length, acknowledged, 'a subtree search from the moved entry finds them all');
    });
  });
});

/**
 * kill -9 right after an acknowledged add: the entry is there after a restart on the same file (SQLite
 * WAL with synchronous=FULL). ispd only: it needs the server's process.
 */
describe('interop: an acknowledged write survives kill -9 of ispd', function () {
  this.timeout(90000);
  let dir: string | undefined;
  let serverProcess: ServerProcess | undefined;

  before(function () {
    requirePrograms(this, 'ldapadd', 'ldapsearch');
    if (targetKind() === 'slapd') this.skip();
    dir = makeTempDir('writes');
  });

  after(async () => {
    await serverProcess?.stop(1000);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function serve(dbFile: string): Promise<{ process: ServerProcess; url: string }> {
    const port = await pickFreePort();
    const started = await startServerProcess({
      executable: process.execPath,
      args: [ISPD_CLI, 'serve', '--db', dbFile, '--ldap', `127.0.0.1:${port}`, '--dns', 'off', '--metrics', 'off'],
      host: '127.0.0.1',
      port,
      startTimeoutMs: 15000,
      cwd: dir,
    });
    return { process: started, url: `ldap://127.0.0.1:${port}/` };
  }

  it('ldapadd answered success, SIGKILL, restart: the entries are there', async () => {
    const dbFile = path.join(dir!, 'ispd.sqlite');
    const load = await runClient(process.execPath, [ISPD_CLI, 'import', '--db', dbFile, DEMO_LDIF], { timeoutMs: 60000 });
    assert.equal(load.code, 0, describeResult(load));
    const first = await serve(dbFile);
    serverProcess = first.process;
    const ldif = Array.from({ length: 20 }, (_, i) => `dn: cn=durable${i},ispmanDomain=example.net,o=ispman\nobjectClass: organizationalRole\ncn: durable${i}\n`).join('\n');
    const added = await runClient('ldapadd', ['-x', '-H', first.url, '-D', ADMIN_DN, '-w', ADMIN_PASSWORD], { input: ldif, timeoutMs: 20000 });
    assert.equal(added.code, 0, describeResult(added));
    const exited = new Promise((resolve) => first.process.child.once('exit', resolve));
    first.process.child.kill('SIGKILL');
    await exited;
    serverProcess = undefined;

    const second = await serve(dbFile);
    serverProcess = second.process;
    const found = await runClient('ldapsearch', ['-x', '-LLL', '-H', second.url, '-D', ADMIN_DN, '-w', ADMIN_PASSWORD, '-b', 'ispmanDomain=example.net,o=ispman', '(cn=durable*)', '1.1'], { timeoutMs: 20000 });
    assert.equal(found.code, 0, describeResult(found));
    assert.equal(parseLdif(found.stdout).length, 20, describeResult(found));
  });
});

/**
 * Write rates, measured and printed, not asserted (machines differ): adds/s and modifies/s over a timed
 * run with several ldapts connections bound as the admin, against ispd with SQLite synchronous=FULL (the
 * shipped setting: every commit waits for fsync of the WAL) and with synchronous=NORMAL (commits survive a
 * process crash but not a power loss), to show what durability costs. Started through
 * fixtures/serve-synchronous.ts so that both runs share one code path. Runs only when
 * ISPD_WRITE_RATE_SECONDS is set (e.g. 10): it takes 4 × that long.
 */
describe('measure: write rate of ispd (adds/s, modifies/s; synchronous FULL vs NORMAL)', function () {
  const seconds = Number(process.env.ISPD_WRITE_RATE_SECONDS ?? 0);
  const connections = Number(process.env.ISPD_WRITE_RATE_CONNECTIONS ?? 8);
  this.timeout(60000 + seconds * 4 * 1000 * 2);
  const results: Array<{ mode: string; adds: number; modifies: number; addErrors: number; modifyErrors: number }> = [];

  before(function () {
    if (!(seconds > 0) || targetKind() === 'slapd') this.skip();
  });

  after(() => {
    if (results.length === 0) return;
    console.log(`      write rate, ${connections} connections, ${seconds} s per run (${new Date().toISOString()}):`);
    for (const r of results) {
      console.log(`        synchronous=${r.mode.padEnd(6)}  adds/s ${(r.adds / seconds).toFixed(0).padStart(6)}   modifies/s ${(r.modifies / seconds).toFixed(0).padStart(6)}   (errors: ${r.addErrors + r.modifyErrors})`);
    }
  });

  for (const mode of ['FULL', 'NORMAL']) {
    it(`synchronous=${mode}`, async () => {
      const dir = makeTempDir('writes-rate');
      let server: ServerProcess | undefined;
      const clients: Client[] = [];
      try {
        const dbFile = path.join(dir, 'ispd.sqlite');
        const load = await runClient(process.execPath, [ISPD_CLI, 'import', '--db', dbFile, DEMO_LDIF], { timeoutMs: 60000 });
        assert.equal(load.code, 0, describeResult(load));
        const port = await pickFreePort();
        server = await startServerProcess({
          executable: process.execPath,
          args: [path.join(REPO_ROOT, 'dist', 'test', 'interop', 'fixtures', 'serve-synchronous.js'), mode, '--db', dbFile, '--ldap', `127.0.0.1:${port}`, '--dns', 'off', '--metrics', 'off', '--log-level', 'warn'],
          host: '127.0.0.1',
          port,
          startTimeoutMs: 15000,
          cwd: dir,
        });
        const url = `ldap://127.0.0.1:${port}`;
        for (let i = 0; i < connections; i++) {
          const client = new Client({ url, timeout: 10000 });
          await client.bind(ADMIN_DN, ADMIN_PASSWORD);
          clients.push(client);
        }
        const branch = 'ou=rate,ispmanDomain=example.net,o=ispman';
        await clients[0].add(branch, { objectClass: ['organizationalUnit'], ou: ['rate'] });
        const added: string[][] = clients.map(() => []);
        const result = { mode, adds: 0, modifies: 0, addErrors: 0, modifyErrors: 0 };

        let deadline = Date.now() + seconds * 1000;
        await Promise.all(
          clients.map(async (client, c) => {
            for (let i = 0; Date.now() < deadline; i++) {
              const dn = `cn=r${c}-${i},${branch}`;
              try {
                await client.add(dn, { objectClass: ['organizationalRole'], cn: [`r${c}-${i}`], description: ['0'] });
                added[c].push(dn);
                result.adds++;
              } catch {
                result.addErrors++;
              }
            }
          }),
        );
        deadline = Date.now() + seconds * 1000;
        await Promise.all(
          clients.map(async (client, c) => {
            for (let i = 0; Date.now() < deadline; i++) {
              const dn = added[c][i % added[c].length];
              try {
                await client.modify(dn, [new Change({ operation: 'replace', modification: new Attribute({ type: 'description', values: [String(i)] }) })]);
                result.modifies++;
              } catch {
                result.modifyErrors++;
              }
            }
          }),
        );
        results.push(result);
        assert.equal(result.addErrors + result.modifyErrors, 0, 'writes failed during the run');
        assert.ok(result.adds > 0 && result.modifies > 0);
      } finally {
        await Promise.all(clients.map((client) => client.unbind().catch(() => undefined)));
        await server?.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
