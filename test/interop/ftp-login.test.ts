// FTP logins with ISPMan's own FTP server (issue 12 part 8): pure-ftpd-ldap, configured as ISPMan ships
// it (binds as uid=ispman,ou=admins,o=ispman and compares the userPassword hash itself), lets the
// account `ispd domain add` creates log in with curl's FTP client and puts it in its home directory;
// a wrong password is refused. That needs the built-in ACL to let ISPMan's admins read userPassword, as
// ISPMan's slapd does. With an acl.file that gives a service account of its own read access to the
// hashes instead (README: "Services that check password hashes themselves"), the same login works
// for that account and the admin sees no hash.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeResult, findProgram, requirePrograms, runClient, type ClientResult } from '../support/clients';
import { renderConfig } from '../support/configs';
import { ISPD_CLI, startIspd, type IspdHandle } from '../support/ispd-process';
import { pickFreePort } from '../support/ports';
import { makeTempDir, startServerProcess, type ServerProcess } from '../support/server-process';
import { ADMIN } from './fixtures';

const DOMAIN = 'ftp-test.example';
const PASSWORD = 'Ftp-Domain-Secret-1';
const SERVICE = { dn: 'uid=pureftpd,ou=services,o=ispman', password: 'pureftpd-secret' };

/** The stricter policy of the README: a pure-ftpd service account reads hashes, admins only set them. */
const STRICT_ACL = `rules:
  - to: { attrs: [userPassword, ispmanControlPanelPassword] }
    by:
      - { who: self, access: write, writeOnly: true }
      - { who: admins, access: write, writeOnly: true }
      - { dn: "${SERVICE.dn}", access: read }
      - { who: anyone, access: auth }
  - to: { subtree: "o=ispman" }
    by:
      - { who: admins, access: write }
      - { who: domainOwner, access: write }
      - { who: users, access: read }
      - { who: anonymous, access: read }
`;

interface Setup {
  ispd: IspdHandle;
  ftpd: ServerProcess;
  ftpPort: number;
  homes: string;
}

describe('interop: FTP logins with pure-ftpd-ldap as ISPMan ships it (curl)', function () {
  this.timeout(120000);
  let dir: string | undefined;
  const setups: Setup[] = [];

  before(async function () {
    requirePrograms(this, 'pure-ftpd-ldap', 'curl', 'ldapsearch', 'ldapadd');
    dir = makeTempDir('ftp-login');
    fs.chmodSync(dir, 0o755);
  });

  after(async () => {
    for (const setup of setups) {
      await setup.ftpd.stop();
      await setup.ispd.stop();
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const ispdCli = (ispd: IspdHandle, args: string[], settings: string[]): Promise<ClientResult> =>
    runClient(process.execPath, [ISPD_CLI, ...args, '--db', ispd.dbFile, ...settings.flatMap((setting) => ['--set', setting])], { timeoutMs: 60000 });

  /** ispd, `ispd domain add`, and pure-ftpd-ldap binding as `bind`; `name` keeps the setups apart. */
  async function start(name: string, bind: { dn: string; password: string }, extraConfig: string[] = []): Promise<Setup> {
    const homes = path.join(dir!, name, 'homes');
    fs.mkdirSync(homes, { recursive: true, mode: 0o755 });
    fs.chmodSync(path.dirname(homes), 0o755);
    const ispd = await startIspd({ config: ['--set', 'ldap.workers=1', ...extraConfig] });
    // pure-ftpd checks {crypt}, {md5}, {smd5}, {sha}, {ssha} and cleartext, not ispd's default {SSHA512}:
    // ISPMan's own default userPassHashMethod is crypt.
    const settings = [`provision.homeDirectory=${homes}`, 'auth.passwordScheme={CRYPT}'];
    const added = await ispdCli(ispd, ['domain', 'add', DOMAIN, '--password', PASSWORD], settings);
    assert.equal(added.code, 0, describeResult(added));
    const ldapConf = path.join(dir!, name, 'pure-ftpd-ldap.conf');
    fs.writeFileSync(ldapConf, renderConfig('pure-ftpd/ldap.conf', { LDAP_HOST: '127.0.0.1', LDAP_PORT: ispd.ldapPort, BIND_DN: bind.dn, BIND_PW: bind.password }), { mode: 0o600 });
    const ftpPort = await pickFreePort();
    const passivePort = await pickFreePort();
    // foreground (no -B); -A chroot to the home, -j create it on first login, -E no anonymous FTP,
    // -H no reverse lookups, passive data connections on one loopback port
    const ftpd = await startServerProcess({
      executable: findProgram('pure-ftpd-ldap') ?? 'pure-ftpd-ldap',
      args: ['-l', `ldap:${ldapConf}`, '-S', `127.0.0.1,${ftpPort}`, '-p', `${passivePort}:${passivePort}`, '-P', '127.0.0.1', '-A', '-j', '-E', '-H'],
      host: '127.0.0.1',
      port: ftpPort,
      startTimeoutMs: 15000,
    });
    const setup = { ispd, ftpd, ftpPort, homes };
    setups.push(setup);
    return setup;
  }

  const curl = (setup: Setup, user: string, password: string, args: string[], url = '/'): Promise<ClientResult> =>
    runClient('curl', ['-sS', '-v', '--max-time', '20', '--user', `${user}:${password}`, ...args, `ftp://127.0.0.1:${setup.ftpPort}${url}`], { timeoutMs: 40000 });

  const transcripts: string[] = [];
  const record = (title: string, result: ClientResult): void => {
    transcripts.push(`      --- ${title} (exit ${result.code})\n${result.stderr.split('\n').filter((line) => /^[<>] /.test(line) && !/^> PASS/.test(line)).map((line) => `        ${line}`).join('\n')}`);
  };
  after(() => {
    if (transcripts.length) console.log(`      curl FTP transcripts:\n${transcripts.join('\n')}`);
  });

  /** Logs in, uploads a file, lists it: the file must land in the domain's homeDirectory, owned by its uidNumber. */
  async function expectLoginLandsInHome(setup: Setup, what: string): Promise<void> {
    const file = path.join(dir!, `upload-${setups.indexOf(setup)}.txt`);
    fs.writeFileSync(file, `uploaded through pure-ftpd-ldap (${what})\n`);
    const upload = await curl(setup, DOMAIN, PASSWORD, ['-T', file], '/hello.txt');
    record(`curl -T hello.txt as ${DOMAIN} (${what})`, upload);
    assert.equal(upload.code, 0, describeResult(upload));
    assert.match(upload.stderr, /< 230/, describeResult(upload));
    assert.match(upload.stderr, /< 257 "\/" is your current location/, `chrooted to its home\n${describeResult(upload)}`);
    const home = path.join(setup.homes, DOMAIN);
    const stored = path.join(home, 'hello.txt');
    assert.ok(fs.existsSync(stored), `${stored} was not written\n${describeResult(upload)}`);
    const entry = await runClient('ldapsearch', ['-x', '-LLL', '-H', setup.ispd.ldapUrl, '-D', ADMIN.dn, '-w', ADMIN.password, '-b', `ispmanDomain=${DOMAIN},o=ispman`, '-s', 'base', 'uidNumber', 'homeDirectory']);
    assert.match(entry.stdout, new RegExp(`homeDirectory: ${home.replace(/[.]/g, '\\.')}`), describeResult(entry));
    const uidNumber = Number(/uidNumber: (\d+)/.exec(entry.stdout)?.[1]);
    assert.equal(fs.statSync(stored).uid, uidNumber, 'the file belongs to the domain account');
    const list = await curl(setup, DOMAIN, PASSWORD, ['--list-only']);
    record(`curl --list-only as ${DOMAIN} (${what})`, list);
    assert.equal(list.code, 0, describeResult(list));
    assert.ok(list.stdout.split(/\r?\n/).includes('hello.txt'), describeResult(list));
  }

  it('the built-in ACL: pure-ftpd binds as uid=ispman,ou=admins (ISPMan\'s own setup); the account from `ispd domain add` logs in and lands in its home', async () => {
    const setup = await start('builtin', ADMIN);
    await expectLoginLandsInHome(setup, 'built-in ACL');
  });

  it('a wrong password is refused (530), and so is an unknown account', async () => {
    const setup = setups[0];
    const wrong = await curl(setup, DOMAIN, `${PASSWORD}-wrong`, ['--list-only']);
    record(`curl with a wrong password as ${DOMAIN}`, wrong);
    assert.equal(wrong.code, 67, describeResult(wrong)); // curl: login denied
    assert.match(wrong.stderr, /< 530/, describeResult(wrong));
    const unknown = await curl(setup, 'no-such-domain.example', PASSWORD, ['--list-only']);
    assert.equal(unknown.code, 67, describeResult(unknown));
  });

  it('a stricter acl.file: a pure-ftpd service account reads the hashes and logs the domain in; the admin no longer sees them', async () => {
    const aclFile = path.join(dir!, 'acl.yaml');
    fs.writeFileSync(aclFile, STRICT_ACL, { mode: 0o644 });
    const setup = await start('strict', SERVICE, ['--set', `acl.file=${aclFile}`]);
    // the service account, under ou=services (the built-in admin creates it before the policy matters)
    const add = await runClient('ldapadd', ['-x', '-H', setup.ispd.ldapUrl, '-D', ADMIN.dn, '-w', ADMIN.password], {
      input: `dn: ou=services,o=ispman\nobjectClass: organizationalUnit\nou: services\n\ndn: ${SERVICE.dn}\nobjectClass: account\nobjectClass: simpleSecurityObject\nuid: pureftpd\nuserPassword: ${SERVICE.password}\n`,
    });
    assert.equal(add.code, 0, describeResult(add));
    await expectLoginLandsInHome(setup, 'acl.file with a service account');
    const adminView = await runClient('ldapsearch', ['-x', '-LLL', '-H', setup.ispd.ldapUrl, '-D', ADMIN.dn, '-w', ADMIN.password, '-b', `ispmanDomain=${DOMAIN},o=ispman`, '-s', 'base', 'userPassword', 'uid']);
    assert.equal(adminView.code, 0, describeResult(adminView));
    assert.match(adminView.stdout, /uid: /, describeResult(adminView));
    assert.doesNotMatch(adminView.stdout, /userPassword/i, describeResult(adminView));
  });
});
