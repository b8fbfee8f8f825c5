// The LDAP adapter inside the real ispd (startServer: SQLite store with the demo data, real directory,
// ACLs, schema), driven by OpenLDAP's clients and ldapts. Expected answers were checked against slapd
// on the same data (test/support/slapd-process.ts).

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { describeResult, parseLdif, requirePrograms, runClient } from '../support/clients';
import { ADMIN_DN, ADMIN_PASSWORD, GRACE_DN, GRACE_PASSWORD, startTestServer, type TestServer } from './ldap-harness';
import { RawClient, makeSelfSignedCert, rawConnect, readUntilClose, request } from './ldap-tools';

const NOTICE_OID = Buffer.from('1.3.6.1.4.1.1466.20036');

/** Attribute names as ldapsearch printed them (parseLdif lowercases them), in order, without the DN. */
function attributeNames(ldif: string): string[] {
  const names: string[] = [];
  for (const line of ldif.replace(/\r?\n /g, '').split('\n')) {
    const match = /^([A-Za-z][\w;-]*)::? ?/.exec(line);
    if (match && match[1].toLowerCase() !== 'dn' && !names.includes(match[1])) names.push(match[1]);
  }
  return names;
}

describe('ldap adapter in the real server', function () {
  this.timeout(30000);

  describe('reads, binds and extended operations', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer();
    });
    after(async () => {
      await server?.stop();
    });

    const ldap = (program: string, args: string[]) => runClient(program, ['-x', '-H', server.url, ...args]);

    it('root DSE: objectClass only by default, the operational attributes with + or by name', async function () {
      requirePrograms(this, 'ldapsearch');
      const plain = await ldap('ldapsearch', ['-LLL', '-b', '', '-s', 'base']);
      assert.equal(plain.code, 0, describeResult(plain));
      assert.deepEqual(attributeNames(plain.stdout), ['objectClass']);

      const all = await ldap('ldapsearch', ['-LLL', '-b', '', '-s', 'base', '+']);
      const [full] = parseLdif(all.stdout);
      assert.deepEqual(full.attributes.get('namingcontexts'), ['o=ispman']);
      assert.deepEqual(full.attributes.get('subschemasubentry'), ['cn=Subschema']);
      assert.ok(full.attributes.get('supportedldapversion')?.includes('3'));
      assert.ok(full.attributes.get('supportedcontrol')?.includes('1.2.840.113556.1.4.319'));
      assert.ok(full.attributes.get('supportedextension')?.includes('1.3.6.1.4.1.4203.1.11.3'));
      assert.ok(full.attributes.get('supportedextension')?.includes('1.3.6.1.4.1.4203.1.11.1'));
      assert.deepEqual(full.attributes.get('supportedfeatures'), ['1.3.6.1.1.14', '1.3.6.1.4.1.4203.1.5.1']);
      assert.equal(full.attributes.get('vendorname')?.[0], 'ispd');
      assert.ok(!full.attributes.has('objectclass'));
      assert.ok(attributeNames(all.stdout).includes('supportedLDAPVersion'));

      const named = await ldap('ldapsearch', ['-LLL', '-b', '', '-s', 'base', 'namingContexts']);
      assert.deepEqual(attributeNames(named.stdout), ['namingContexts']);

      const unmatched = await ldap('ldapsearch', ['-LLL', '-b', '', '-s', 'base', '(vendorName=nobody)']);
      assert.equal(unmatched.code, 0);
      assert.equal(parseLdif(unmatched.stdout).length, 0);
    });

    it('search results keep attribute-name case and the DN as stored', async function () {
      requirePrograms(this, 'ldapsearch');
      const result = await ldap('ldapsearch', ['-LLL', '-b', 'o=ispman', '(mailLocalAddress=GRACE@example.net)', 'mailLocalAddress', 'mailRoutingAddress', 'uidNumber']);
      assert.equal(result.code, 0, describeResult(result));
      const entries = parseLdif(result.stdout);
      assert.equal(entries.length, 1);
      assert.equal(entries[0].dn, GRACE_DN);
      assert.deepEqual(attributeNames(result.stdout).sort(), ['mailLocalAddress', 'mailRoutingAddress', 'uidNumber']);
    });

    it('pages with the paged results control (ldapsearch -E pr=2/noprompt)', async function () {
      requirePrograms(this, 'ldapsearch');
      const whole = await ldap('ldapsearch', ['-LLL', '-b', 'o=ispman', '(objectClass=posixAccount)', 'dn']);
      const paged = await ldap('ldapsearch', ['-LLL', '-b', 'o=ispman', '-E', 'pr=2/noprompt', '(objectClass=posixAccount)', 'dn']);
      assert.equal(paged.code, 0, describeResult(paged));
      const dns = (text: string) => parseLdif(text).map((e) => e.dn).sort();
      assert.ok(dns(whole.stdout).length > 2);
      assert.deepEqual(dns(paged.stdout), dns(whole.stdout));
    });

    it('simple binds: right password, wrong password (49), anonymous; WhoAmI answers each', async function () {
      requirePrograms(this, 'ldapwhoami');
      const good = await ldap('ldapwhoami', ['-D', GRACE_DN, '-w', GRACE_PASSWORD]);
      assert.equal(good.code, 0, describeResult(good));
      assert.equal(good.stdout.trim(), `dn:${GRACE_DN}`);
      const bad = await ldap('ldapwhoami', ['-D', GRACE_DN, '-w', 'wrong']);
      assert.equal(bad.code, 49, describeResult(bad));
      const anonymous = await ldap('ldapwhoami', []);
      assert.equal(anonymous.stdout.trim(), 'anonymous');
    });

    it("binds with nslcd's (non-critical) ppolicy control; a critical unknown control gives 12", async function () {
      requirePrograms(this, 'ldapwhoami', 'ldapsearch');
      const ppolicy = await ldap('ldapwhoami', ['-e', 'ppolicy', '-D', GRACE_DN, '-w', GRACE_PASSWORD]);
      assert.equal(ppolicy.code, 0, describeResult(ppolicy));
      const critical = await ldap('ldapsearch', ['-b', 'o=ispman', '-s', 'base', '-e', '!1.2.3.4.5', 'dn']);
      assert.match(critical.stdout, /result: 12 Critical extension is unavailable/, describeResult(critical));
      const deref = await ldap('ldapsearch', ['-b', 'o=ispman', '-s', 'base', '-e', '1.3.6.1.4.1.4203.666.5.16', 'dn']);
      assert.equal(deref.code, 0, describeResult(deref));
      const manageDsaIT = await ldap('ldapsearch', ['-MM', '-b', 'o=ispman', '-s', 'base', 'dn']);
      assert.equal(manageDsaIT.code, 0, describeResult(manageDsaIT));
      const criticalPaged = await ldap('ldapsearch', ['-b', 'o=ispman', '-E', '!pr=2/noprompt', '(objectClass=posixAccount)', 'dn']);
      assert.equal(criticalPaged.code, 0, describeResult(criticalPaged));
    });

    it('LDAPv2 binds (old Postfix configs) are accepted', async function () {
      requirePrograms(this, 'ldapsearch');
      const v2 = await runClient('ldapsearch', ['-P', '2', '-x', '-H', server.url, '-D', GRACE_DN, '-w', GRACE_PASSWORD, '-b', GRACE_DN, '-s', 'base', 'uid']);
      assert.equal(v2.code, 0, describeResult(v2));
    });

    it('compare: TRUE, FALSE, and noSuchObject with the matched DN', async function () {
      requirePrograms(this, 'ldapcompare');
      const yes = await ldap('ldapcompare', [GRACE_DN, 'mailLocalAddress:grace@example.net']);
      assert.equal(yes.code, 6, describeResult(yes));
      assert.match(yes.stdout, /TRUE/);
      const no = await ldap('ldapcompare', [GRACE_DN, 'mailLocalAddress:nobody@example.net']);
      assert.equal(no.code, 5, describeResult(no));
      const missing = await ldap('ldapcompare', ['uid=nobody,ou=users,ispmanDomain=example.net,o=ispman', 'uid:nobody']);
      assert.equal(missing.code, 32, describeResult(missing));
      assert.match(missing.stderr + missing.stdout, /Matched DN: ou=users, ?ispmanDomain=example.net, ?o=ispman/i);
    });

    it('answers an unknown extended operation and SASL binds as slapd does', async () => {
      const client = new Client({ url: server.url });
      try {
        await assert.rejects(client.exop('1.2.3.4.5.6'), (err: { code?: number }) => err.code === 2);
        await assert.rejects(client.bind('PLAIN', 'x'), (err: { code?: number }) => err.code === 7);
      } finally {
        await client.unbind().catch(() => undefined);
      }
    });

    it('garbage, a 100 MB length prefix and a malformed PDU: notice, disconnect, counted; others keep being served', async () => {
      const inputs = [
        Buffer.from('\x16\x03\x01 not ldap at all'),
        Buffer.from([0x30, 0x84, 0x06, 0x40, 0x00, 0x00]),
        Buffer.from([0x30, 0x07, 0x02, 0x01, 0x01, 0x60, 0x03, 0x02, 0x05, 0x03]),
      ];
      const before = await server.counter('ispd_ldap_protocol_errors_total');
      for (const input of inputs) {
        const socket = await rawConnect(server.port);
        const reply = readUntilClose(socket);
        socket.write(input);
        const { data, closed } = await reply;
        assert.ok(closed, `closed after ${input.toString('hex')}`);
        assert.ok(data.includes(NOTICE_OID), 'Notice of Disconnection');
      }
      assert.equal(await server.counter('ispd_ldap_protocol_errors_total'), before + 3);
      assert.ok(server.logs().some((line) => String(line.msg).includes('protocol error')));
      const client = new Client({ url: server.url });
      const { searchEntries } = await client.search('o=ispman', { scope: 'base' });
      assert.equal(searchEntries.length, 1);
      await client.unbind();
    });

    it('survives 600 mutated requests of every kind (no crash, others still served)', async () => {
      // Deterministic PRNG so a failure can be replayed.
      let seed = 0x1f2e3d4c;
      const random = (): number => {
        seed ^= seed << 13;
        seed ^= seed >>> 17;
        seed ^= seed << 5;
        return (seed >>> 0) / 0x100000000;
      };
      const seeds = [
        request.bind(1, GRACE_DN, GRACE_PASSWORD),
        request.search(2, 'o=ispman', '(&(objectClass=posixAccount)(|(uid=grace*)(mailLocalAddress=*@example.net)))', ['uid', '+']),
        request.extended(3, '1.3.6.1.4.1.4203.1.11.3'),
        request.abandon(4, 2),
        request.add(5, 'uid=fuzz,ou=users,ispmanDomain=example.net,o=ispman', { objectClass: ['account'], uid: ['fuzz'] }),
        request.modify(6, GRACE_DN, 'replace', 'mailQuota', ['1']),
        request.compare(7, GRACE_DN, 'uid', 'grace_example_net'),
      ];
      const mutate = (pdu: Buffer): Buffer => {
        const copy = Buffer.from(pdu);
        const flips = 1 + Math.floor(random() * 4);
        for (let i = 0; i < flips; i++) copy[Math.floor(random() * copy.length)] = Math.floor(random() * 256);
        return random() < 0.2 ? copy.subarray(0, Math.floor(random() * copy.length)) : copy;
      };
      const one = async (pdu: Buffer): Promise<void> => {
        const socket = await rawConnect(server.port);
        const reply = readUntilClose(socket, 200);
        socket.write(pdu);
        await reply;
        socket.destroy();
      };
      for (let round = 0; round < 30; round++) {
        await Promise.all(Array.from({ length: 20 }, () => one(mutate(seeds[Math.floor(random() * seeds.length)]))));
      }
      const client = new Client({ url: server.url });
      const { searchEntries } = await client.search('o=ispman', { scope: 'base' });
      assert.equal(searchEntries.length, 1);
      await client.unbind();
      const unexpected = server.logs().filter((line) => line.level === 'error');
      assert.deepEqual(unexpected, [], 'no operation ended in an unexpected exception');
    });

    it('a truncated PDU, then the client closes: closed cleanly, nothing counted', async () => {
      const before = await server.counter('ispd_ldap_protocol_errors_total');
      const socket = await rawConnect(server.port);
      const whole = request.search(2, 'o=ispman');
      const reply = readUntilClose(socket);
      socket.end(whole.subarray(0, 10));
      assert.ok((await reply).closed);
      assert.equal(await server.counter('ispd_ldap_protocol_errors_total'), before);
      const raw = await RawClient.connect(server.port);
      raw.send(request.search(3, 'o=ispman', '(objectClass=*)', ['1.1']));
      const responses = await raw.until('SearchResultDone', 3);
      assert.ok(responses.length > 10);
      raw.close();
    });
  });

  describe('writes', () => {
    let server: TestServer;
    let admin: Client;
    before(async () => {
      server = await startTestServer();
      admin = new Client({ url: server.url });
      await admin.bind(ADMIN_DN, ADMIN_PASSWORD);
    });
    after(async () => {
      await admin?.unbind().catch(() => undefined);
      await server?.stop();
    });

    const userDn = 'uid=zoe_example_net,ou=users,ispmanDomain=example.net,o=ispman';

    it('add, modify, modifyDN and delete, with names and UTF-8 values kept', async () => {
      const zoe = {
        objectClass: ['posixAccount', 'ispmanDomainUser', 'radiusprofile'],
        uid: ['zoe_example_net', 'zoe@example.net'],
        cn: ['Zoë Ærø'],
        sn: ['Ærø'],
        givenName: ['Zoë'],
        uidNumber: ['10200'],
        gidNumber: ['10100'],
        homeDirectory: ['/ispman/domains/example.net/users/zoe_example_net'],
        ispmanDomain: ['example.net'],
        ispmanUserId: ['zoe'],
        mailLocalAddress: ['zoe@example.net'],
      };
      await admin.add(userDn, zoe);
      await admin.modify(userDn, [
        new Change({ operation: 'replace', modification: new Attribute({ type: 'mailRoutingAddress', values: ['zoe@mail3.example.net'] }) }),
      ]);
      const { searchEntries } = await admin.search(userDn, { scope: 'base', attributes: ['cn', 'mailRoutingAddress', 'mailLocalAddress'] });
      assert.equal(searchEntries[0].cn, 'Zoë Ærø');
      assert.equal(searchEntries[0].mailRoutingAddress, 'zoe@mail3.example.net');
      assert.equal(searchEntries[0].mailLocalAddress, 'zoe@example.net');

      await assert.rejects(admin.add(userDn, zoe), (err: { code?: number }) => err.code === 68);
      await admin.modifyDN(userDn, 'uid=zoe2_example_net');
      const renamed = 'uid=zoe2_example_net,ou=users,ispmanDomain=example.net,o=ispman';
      const moved = await admin.search(renamed, { scope: 'base', attributes: ['uid'] });
      assert.equal(moved.searchEntries.length, 1);
      await admin.del(renamed);
      await assert.rejects(admin.del(renamed), (err: { code?: number }) => err.code === 32);
    });

    it('increment (RFC 4525) reaches the directory', async function () {
      requirePrograms(this, 'ldapmodify');
      const ldif = `dn: ${GRACE_DN}\nchangetype: modify\nincrement: uidNumber\nuidNumber: 5\n-\n`;
      const result = await runClient('ldapmodify', ['-x', '-H', server.url, '-D', ADMIN_DN, '-w', ADMIN_PASSWORD], { input: ldif });
      assert.equal(result.code, 0, describeResult(result));
      const { searchEntries } = await admin.search(GRACE_DN, { scope: 'base', attributes: ['uidNumber'] });
      assert.equal(searchEntries[0].uidNumber, '10108');
    });

    it('Password Modify: ldappasswd with a new password, then with a generated one', async function () {
      requirePrograms(this, 'ldappasswd', 'ldapwhoami');
      const frank = 'uid=frank_example_net,ou=users,ispmanDomain=example.net,o=ispman';
      const set = await runClient('ldappasswd', ['-x', '-H', server.url, '-D', frank, '-w', 'frank-secret', '-s', 'frank-new']);
      assert.equal(set.code, 0, describeResult(set));
      const old = await runClient('ldapwhoami', ['-x', '-H', server.url, '-D', frank, '-w', 'frank-secret']);
      assert.equal(old.code, 49, describeResult(old));
      const generated = await runClient('ldappasswd', ['-x', '-H', server.url, '-D', frank, '-w', 'frank-new']);
      assert.equal(generated.code, 0, describeResult(generated));
      const match = /New password: (\S+)/.exec(generated.stdout);
      assert.ok(match, describeResult(generated));
      const login = await runClient('ldapwhoami', ['-x', '-H', server.url, '-D', frank, '-w', match[1]]);
      assert.equal(login.code, 0, describeResult(login));
    });
  });

  describe('TLS', () => {
    let server: TestServer;
    let certDir: string;
    let cert: ReturnType<typeof makeSelfSignedCert>;
    before(async function () {
      requirePrograms(this, 'openssl');
      certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ispd-ldap-cert-'));
      cert = makeSelfSignedCert(certDir);
      server = await startTestServer({
        env: {
          ISPD_TLS__CERT: cert.certFile,
          ISPD_TLS__KEY: cert.keyFile,
          ISPD_LDAPS__LISTEN: '127.0.0.1:0',
          ISPD_LDAP__REQUIRE_TLS_FOR_BIND: 'true',
        },
      });
    });
    after(async () => {
      await server?.stop();
      if (certDir) fs.rmSync(certDir, { recursive: true, force: true });
    });

    const tlsEnv = () => ({ ...process.env, LDAPTLS_CACERT: cert.certFile, LDAPTLS_REQCERT: 'demand' });

    it('StartTLS (ldapsearch -ZZ, ldapwhoami -ZZ) and the root DSE announcing it', async function () {
      requirePrograms(this, 'ldapsearch', 'ldapwhoami');
      const search = await runClient('ldapsearch', ['-ZZ', '-x', '-LLL', '-H', server.url, '-b', '', '-s', 'base', 'supportedExtension'], { env: tlsEnv() });
      assert.equal(search.code, 0, describeResult(search));
      assert.ok(parseLdif(search.stdout)[0].attributes.get('supportedextension')?.includes('1.3.6.1.4.1.1466.20037'));
      const who = await runClient('ldapwhoami', ['-ZZ', '-x', '-H', server.url, '-D', GRACE_DN, '-w', GRACE_PASSWORD], { env: tlsEnv() });
      assert.equal(who.code, 0, describeResult(who));
      assert.equal(who.stdout.trim(), `dn:${GRACE_DN}`);
    });

    it('requireTlsForBind: a password bind over plain TCP gets confidentialityRequired (13)', async function () {
      requirePrograms(this, 'ldapwhoami');
      const plain = await runClient('ldapwhoami', ['-x', '-H', server.url, '-D', GRACE_DN, '-w', GRACE_PASSWORD]);
      assert.equal(plain.code, 13, describeResult(plain));
    });

    it('LDAPS (ldaps://)', async function () {
      requirePrograms(this, 'ldapwhoami');
      // RunningServer exposes no LDAPS address: the listener's start-up log line has it.
      const line = server.logs().find((l) => l.msg === 'ldap: listening') as { ldaps?: { port: number } } | undefined;
      assert.ok(line?.ldaps, 'the LDAPS listener is up');
      const who = await runClient('ldapwhoami', ['-x', '-H', `ldaps://127.0.0.1:${line.ldaps.port}`, '-D', GRACE_DN, '-w', GRACE_PASSWORD], { env: tlsEnv() });
      assert.equal(who.code, 0, describeResult(who));
    });
  });
});
