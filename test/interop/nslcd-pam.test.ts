import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { clientsAreMandatory, describeResult, findProgram, requirePrograms, runClient, type ClientResult } from '../support/clients';
import { renderConfig } from '../support/configs';
import { EtcGuard, addNsswitchSource } from '../support/etc-guard';
import { startServerProcess, type ServerProcess } from '../support/server-process';
import { startTarget, type LdapTarget } from '../support/target';

const NSLCD_CONF = '/etc/nslcd.conf';
const NSSWITCH_CONF = '/etc/nsswitch.conf';
const PAM_SERVICE = 'ispd-test';
const PAM_SERVICE_FILE = `/etc/pam.d/${PAM_SERVICE}`;
const NSLCD_RUN_DIR = '/run/nslcd';
const NSLCD_SOCKET = `${NSLCD_RUN_DIR}/socket`;
const PAM_LDAP_MODULES = ['/lib/x86_64-linux-gnu/security/pam_ldap.so', '/usr/lib/x86_64-linux-gnu/security/pam_ldap.so', '/lib/security/pam_ldap.so'];
const NSS_LDAP_LIBRARIES = ['/lib/x86_64-linux-gnu/libnss_ldap.so.2', '/usr/lib/x86_64-linux-gnu/libnss_ldap.so.2'];

/** Waits for nslcd's socket: nslcd -d creates it once it is ready to answer. */
async function waitForFile(file: string, timeoutMs: number, isAlive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(file)) {
    if (!isAlive()) throw new Error(`nslcd exited before creating ${file}`);
    if (Date.now() > deadline) throw new Error(`${file} did not appear within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * nslcd (nss-pam-ldapd) with Debian's stock options, libnss-ldapd and libpam-ldapd, driven with
 * getent, id and pamtester. nslcd reads only /etc/nslcd.conf and talks to NSS/PAM over
 * /run/nslcd/socket, so the test edits /etc (nslcd.conf, nsswitch.conf, pam.d/ispd-test) through an
 * EtcGuard that restores every file afterwards, even when a test fails.
 */
describe('interop: nslcd + libnss-ldapd + libpam-ldapd (getent, id, pamtester)', function () {
  this.timeout(90000);
  let server: LdapTarget | undefined;
  let nslcd: ServerProcess | undefined;
  let etc: EtcGuard | undefined;

  before(async function () {
    requirePrograms(this, 'nslcd', 'pamtester', 'getent', 'id');
    const pamModule = PAM_LDAP_MODULES.find((file) => fs.existsSync(file));
    const nssLibrary = NSS_LDAP_LIBRARIES.find((file) => fs.existsSync(file));
    if (!pamModule || !nssLibrary) requirePrograms(this, pamModule ?? 'pam_ldap.so (libpam-ldapd)', nssLibrary ?? 'libnss_ldap.so.2 (libnss-ldapd)');
    if (process.getuid?.() !== 0) {
      if (clientsAreMandatory()) throw new Error('the nslcd/PAM test edits /etc and must run as root (CI=true)');
      console.warn('    skipped: the nslcd/PAM test must run as root');
      this.skip();
    }
    // nslcd's socket path is fixed: a running nslcd (the system's, or another test run) would answer instead
    const running = spawnSync(findProgram('nslcd') ?? 'nslcd', ['-c']);
    if (running.status === 0) throw new Error('an nslcd is already running (nslcd -c); stop it first, this test starts its own');

    server = await startTarget();
    etc = new EtcGuard();
    const nslcdUser = spawnSync('id', ['-u', 'nslcd'], { encoding: 'utf8' });
    const nslcdGroup = spawnSync('id', ['-g', 'nslcd'], { encoding: 'utf8' });
    if (nslcdUser.status !== 0) throw new Error('user nslcd does not exist (Debian package nslcd creates it)');
    etc.write(NSLCD_CONF, renderConfig('nslcd/nslcd.conf', { LDAP_URI: server.ldapUrl, BASE: 'o=ispman' }), 0o640);
    etc.edit(NSSWITCH_CONF, (content) => addNsswitchSource(content, ['passwd', 'group'], 'ldap'));
    etc.write(PAM_SERVICE_FILE, renderConfig('nslcd/pam.d-ispd-test', {}), 0o644);
    etc.ensureDir(NSLCD_RUN_DIR, { uid: Number(nslcdUser.stdout.trim()), gid: Number(nslcdGroup.stdout.trim()) });

    const nslcdPath = findProgram('nslcd') ?? 'nslcd';
    let alive = true;
    // -d: stay in the foreground and log to stderr, so the test owns the process and sees why a lookup failed
    nslcd = await startServerProcess({ executable: nslcdPath, args: ['-d'], host: '', port: 0, startTimeoutMs: 0, waitForPort: false });
    nslcd.child.once('exit', () => (alive = false));
    await waitForFile(NSLCD_SOCKET, 15000, () => alive);
  });

  after(async () => {
    if (nslcd) await nslcd.stop();
    etc?.restore();
    if (server) await server.stop();
  });

  /** On failure, nslcd's own debug log says which LDAP operation went wrong. */
  const explain = (result: ClientResult): string => `${describeResult(result)}\n  nslcd log (tail):\n${nslcd?.output().split('\n').slice(-40).join('\n')}`;

  const pamtester = (user: string, password: string): Promise<ClientResult> =>
    runClient('pamtester', ['-v', PAM_SERVICE, user, 'authenticate', 'acct_mgmt'], { input: `${password}\n`, timeoutMs: 30000 });

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
