import { strict as assert } from 'node:assert';
import { runClient, type ClientResult } from '../support/clients';
import { pamLogin, requireNslcd, startNslcd, type Nslcd } from '../support/nslcd';
import { startTarget, type LdapTarget } from '../support/target';

/**
 * nslcd (nss-pam-ldapd) with Debian's stock options, libnss-ldapd and libpam-ldapd, driven with
 * getent, id and pamtester (set up by test/support/nslcd.ts, which edits /etc through an EtcGuard
 * that restores every file afterwards, even when a test fails).
 */
describe('interop: nslcd + libnss-ldapd + libpam-ldapd (getent, id, pamtester)', function () {
  this.timeout(90000);
  let server: LdapTarget | undefined;
  let nslcd: Nslcd | undefined;

  before(async function () {
    requireNslcd(this);
    server = await startTarget();
    nslcd = await startNslcd({ ldapUrl: server.ldapUrl });
  });

  after(async () => {
    await nslcd?.stop();
    if (server) await server.stop();
  });

  /** On failure, nslcd's own debug log says which LDAP operation went wrong. */
  const explain = (result: ClientResult): string => nslcd?.explain(result) ?? String(result);

  const pamtester = pamLogin;

  it('getent passwd resolves an ISPMan user through nslcd', async () => {
    const result = await runClient('getent', ['passwd', 'bob_example_com'], { timeoutMs: 20000 });
    assert.equal(result.code, 0, explain(result));
    const fields = result.stdout.trim().split(':');
    assert.equal(fields[0], 'bob_example_com', explain(result));
    assert.deepEqual(fields.slice(2), ['10002', '10000', 'Bob Builder', '/ispman/domains/example.com/users/bob_example_com', '/bin/sh'], explain(result));
  });

  it('getent passwd resolves the second uid value (user@domain login)', async () => {
    const result = await runClient('getent', ['passwd', 'alice@example.com'], { timeoutMs: 20000 });
    assert.equal(result.code, 0, explain(result));
    assert.match(result.stdout, /^alice@example\.com:[^:]*:10003:10000:/, explain(result));
  });

  it('getent passwd by uid number', async () => {
    const result = await runClient('getent', ['passwd', '10101'], { timeoutMs: 20000 });
    assert.equal(result.code, 0, explain(result));
    assert.match(result.stdout, /^erin_example_net:[^:]*:10101:10100:Erin Brown:/, explain(result));
  });

  it('getent group resolves the domain posixGroup with its members', async () => {
    const result = await runClient('getent', ['group', 'example.com'], { timeoutMs: 20000 });
    assert.equal(result.code, 0, explain(result));
    const [name, , gid, members] = result.stdout.trim().split(':');
    assert.equal(name, 'example.com');
    assert.equal(gid, '10000');
    assert.deepEqual(members.split(',').sort(), ['alice_example_com', 'bob_example_com', 'carol_example_com', 'dave_example_com', 'john_example_com']);
  });

  it('getent passwd enumerates every posixAccount of the directory (paged search), one line per uid value', async () => {
    const result = await runClient('getent', ['passwd'], { timeoutMs: 30000 });
    assert.equal(result.code, 0, explain(result));
    const names = new Set(result.stdout.split('\n').map((line) => line.split(':')[0]));
    const expected = [
      ...['john', 'bob', 'alice', 'carol', 'dave'].flatMap((user) => [`${user}_example_com`, `${user}@example.com`]),
      ...['erin', 'frank', 'grace'].flatMap((user) => [`${user}_example_net`, `${user}@example.net`]),
      'example.com', // the domains' FTP accounts (ISPMan: posixAccount on the domain entry)
      'example.net',
      '4unet.net', // the article's dnsdata branch is a posixAccount too
    ];
    for (const name of expected) assert.ok(names.has(name), `getent passwd lacks ${name}\n${explain(result)}`);
  });

  it('getent group enumerates both domain groups', async () => {
    const result = await runClient('getent', ['group'], { timeoutMs: 30000 });
    assert.equal(result.code, 0, explain(result));
    const groups = new Map(result.stdout.split('\n').map((line) => line.split(':')).map(([name, , gid, members]) => [name, { gid, members: (members ?? '').split(',').sort() }]));
    assert.equal(groups.get('example.com')?.gid, '10000', explain(result));
    // nslcd lists members in its own order
    assert.deepEqual(groups.get('example.net'), { gid: '10100', members: ['erin_example_net', 'frank_example_net', 'grace_example_net'] }, explain(result));
  });

  it('an unknown user is not found (exit 2), not an error', async () => {
    const result = await runClient('getent', ['passwd', 'nobody_example_com'], { timeoutMs: 20000 });
    assert.equal(result.code, 2, explain(result));
    assert.equal(result.stdout, '');
  });

  it('id shows the uid, the primary group and the group memberships', async () => {
    const result = await runClient('id', ['bob_example_com'], { timeoutMs: 20000 });
    assert.equal(result.code, 0, explain(result));
    assert.equal(result.stdout.trim(), 'uid=10002(bob_example_com) gid=10000(example.com) groups=10000(example.com)', explain(result));
  });

  it('id for a user of the other domain', async () => {
    const result = await runClient('id', ['-Gn', 'grace_example_net'], { timeoutMs: 20000 });
    assert.equal(result.code, 0, explain(result));
    assert.equal(result.stdout.trim(), 'example.net', explain(result));
  });

  const logins: Array<[scheme: string, user: string, password: string]> = [
    ['{SSHA}', 'bob_example_com', 'bob-secret'],
    ['{CRYPT} DES', 'alice_example_com', 'alice-pw'],
    ['{CRYPT} $6$', 'carol_example_com', 'carol-secret'],
  ];
  for (const [scheme, user, password] of logins) {
    it(`pamtester accepts the right password: ${scheme} user ${user}`, async () => {
      const result = await pamtester(user, password);
      assert.equal(result.code, 0, explain(result));
      assert.match(result.stdout + result.stderr, /successfully authenticated/, explain(result));
      assert.match(result.stdout + result.stderr, /account management done/, explain(result));
    });

    it(`pamtester rejects a wrong password: ${scheme} user ${user}`, async () => {
      // the change is at the front: DES crypt only looks at the first 8 characters
      const result = await pamtester(user, `X${password}`);
      assert.notEqual(result.code, 0, explain(result));
      assert.match(result.stdout + result.stderr, /Authentication failure/, explain(result));
    });
  }

  it('pamtester accepts the user@domain login with the right password', async () => {
    const result = await pamtester('bob@example.com', 'bob-secret');
    assert.equal(result.code, 0, explain(result));
  });

  it('pamtester rejects a user that does not exist', async () => {
    const result = await pamtester('nobody_example_com', 'whatever');
    assert.notEqual(result.code, 0, explain(result));
    assert.match(result.stdout + result.stderr, /User not known|Authentication failure/, explain(result));
  });
});
