import { storedValues } from '../support/stored';
import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import { describeResult, findProgram, parseLdif, requirePrograms, runClient, type ClientResult } from '../support/clients';
import { startIspd, type IspdHandle } from '../support/ispd-process';
import { PAM_SERVICE, pamLogin, requireNslcd, startNslcd, type Nslcd } from '../support/nslcd';
import { SLAPD_ROOT_DN, SLAPD_ROOT_PASSWORD, startSlapd, type SlapdHandle } from '../support/slapd-process';
import { ISPMAN_LIKE_FLAGS, targetKind } from '../support/target';
import { ADMIN } from './fixtures';

const DAVE = 'uid=dave_example_com,ou=users,ispmanDomain=example.com,o=ispman';
const PASSWORD_MODIFY_OID = '1.3.6.1.4.1.4203.1.11.1';

/** auth and account as in nslcd-pam.test.ts, plus password: chauthtok goes to pam_ldap, which asks nslcd. */
const PAM_WITH_PASSWORD = `# /etc/pam.d/${PAM_SERVICE}, written by ispd's passwd interop test and removed afterwards
auth     required  pam_ldap.so
account  required  pam_ldap.so
password required  pam_ldap.so
`;

/** Sum of a counter's samples whose labels include `label` (Prometheus text format from /metrics). */
function counterFromMetrics(text: string, name: string, label: string): number {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && line.includes(label))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

function fetchText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

/**
 * A user changes their password through PAM: pamtester chauthtok → pam_ldap → nslcd → the server
 * (nslcd sends a Password Modify extended operation, RFC 3062, bound as the user with the old password).
 * Afterwards only the new password logs in, and ispd stored it hashed with its configured scheme.
 */
describe('interop: a password change through PAM (pamtester chauthtok, pam_ldap, nslcd)', function () {
  this.timeout(120000);
  let ispd: IspdHandle | undefined;
  let slapd: SlapdHandle | undefined;
  let nslcd: Nslcd | undefined;

  before(async function () {
    requireNslcd(this);
    requirePrograms(this, 'setpriv', 'ldapsearch');
    if (targetKind() === 'slapd') slapd = await startSlapd();
    else ispd = await startIspd({ config: ISPMAN_LIKE_FLAGS });
    nslcd = await startNslcd({ ldapUrl: (ispd ?? slapd)!.ldapUrl, pamConfig: PAM_WITH_PASSWORD });
  });

  after(async () => {
    await nslcd?.stop();
    await Promise.all([ispd?.stop(), slapd?.stop()]);
  });

  const explain = (result: ClientResult): string => nslcd?.explain(result) ?? describeResult(result);
  /**
   * pamtester chauthtok run as the user itself (its uid and gid, resolved through nslcd), as passwd runs for
   * a user: pam_ldap asks for the current password, then the new one twice. Run as root, or as another
   * user, pam_ldap instead asks for the password of nslcd.conf's rootpwmoddn (an administrator's reset).
   */
  async function chauthtok(user: string, old: string, next: string, again = next): Promise<ClientResult> {
    const entry = await runClient('getent', ['passwd', user], { timeoutMs: 20000 });
    assert.equal(entry.code, 0, explain(entry));
    const [, , uid, gid] = entry.stdout.trim().split(':');
    return runClient('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', findProgram('pamtester') ?? 'pamtester', '-v', PAM_SERVICE, user, 'chauthtok'], {
      input: `${old}\n${next}\n${again}\n`,
      timeoutMs: 30000,
    });
  }

  async function passwordModifyCount(): Promise<number> {
    if (!ispd) return 0;
    return counterFromMetrics(await fetchText(`http://127.0.0.1:${ispd.metricsPort}/metrics`), 'ispd_ldap_operations_total', PASSWORD_MODIFY_OID);
  }

  it('the user logs in with the old password before the change', async () => {
    const login = await pamLogin('dave_example_com', 'dave-secret');
    assert.equal(login.code, 0, explain(login));
  });

  it('chauthtok with a wrong current password fails and changes nothing', async () => {
    const result = await chauthtok('dave_example_com', 'not-daves', 'dave-never');
    assert.notEqual(result.code, 0, explain(result));
    assert.equal((await pamLogin('dave_example_com', 'dave-secret')).code, 0);
    assert.notEqual((await pamLogin('dave_example_com', 'dave-never')).code, 0);
  });

  it('chauthtok with the current password sets the new one, through a Password Modify extended operation', async () => {
    const before = await passwordModifyCount();
    const result = await chauthtok('dave_example_com', 'dave-secret', 'dave-Changed-42');
    assert.equal(result.code, 0, explain(result));
    assert.match(result.stdout + result.stderr, /authentication token altered successfully/, explain(result));
    if (ispd) assert.equal(await passwordModifyCount(), before + 1, `nslcd changed the password without Password Modify\n${nslcd?.output().split('\n').slice(-30).join('\n')}`);
  });

  it('afterwards pamtester authenticates with the new password and refuses the old one', async () => {
    const fresh = await pamLogin('dave_example_com', 'dave-Changed-42');
    assert.equal(fresh.code, 0, explain(fresh));
    const old = await pamLogin('dave_example_com', 'dave-secret');
    assert.notEqual(old.code, 0, explain(old));
    assert.match(old.stdout + old.stderr, /Authentication failure/, explain(old));
  });

  it('the stored userPassword is hashed ({SSHA512}, ispd\'s default), one value, not the clear text', async () => {
    let stored: string[];
    if (slapd) {
      const result = await runClient('ldapsearch', ['-x', '-LLL', '-o', 'ldif-wrap=no', '-H', slapd.ldapUrl, '-D', SLAPD_ROOT_DN, '-w', SLAPD_ROOT_PASSWORD, '-b', DAVE, '-s', 'base', '(objectClass=*)', 'userPassword']);
      assert.equal(result.code, 0, describeResult(result));
      stored = parseLdif(result.stdout)[0]?.attributes.get('userpassword') ?? [];
    } else {
      // userPassword is write-only over LDAP in ispd: read the store
      stored = await storedValues(ispd!.dbFile, DAVE, 'userPassword');
    }
    assert.equal(stored.length, 1);
    assert.ok(!stored[0].includes('dave-Changed-42'), 'stored in clear text');
    // slapd without pw-sha2 as its password-hash setting stores {SSHA}; ispd's default is {SSHA512}
    assert.match(stored[0], slapd ? /^\{S?SHA/ : /^\{SSHA512\}[A-Za-z0-9+/]+=*$/);
  });
});

/**
 * Bind-time password handling with OpenLDAP's clients: rehash of a legacy hash on a successful bind
 * (auth.rehashOnBind), and failed-bind throttling per DN and address and per client address: slowed down,
 * never locked, counted in ispd_ldap_bind_throttled_total. ispd only (these are ispd options).
 */
describe('interop: rehash on bind and failed-bind throttling (ldapwhoami)', function () {
  this.timeout(60000);
  let ispd: IspdHandle | undefined;

  before(async function () {
    requirePrograms(this, 'ldapwhoami', 'ldapsearch');
    if (targetKind() === 'slapd') this.skip();
    ispd = await startIspd({
      config: [...ISPMAN_LIKE_FLAGS, '--set', 'auth.rehashOnBind=true', '--set', 'auth.throttle.perDn=3', '--set', 'auth.throttle.perAddress=8'],
    });
  });

  after(async () => {
    await ispd?.stop();
  });

  const whoami = (dn: string, password: string): Promise<ClientResult> => runClient('ldapwhoami', ['-x', '-H', ispd!.ldapUrl, '-D', dn, '-w', password], { timeoutMs: 20000 });
  async function storedPassword(dn: string): Promise<string> {
    return (await storedValues(ispd!.dbFile, dn, 'userPassword'))[0] ?? '';
  }
  /** ispd_ldap_bind_throttled_total has no labels: one sample line. */
  const throttled = async (): Promise<number> => Number(/^ispd_ldap_bind_throttled_total (\S+)$/m.exec(await fetchText(`http://127.0.0.1:${ispd!.metricsPort}/metrics`))?.[1] ?? NaN);

  it('a {MD5} password is rehashed to {SSHA512} by a successful bind, and still binds', async () => {
    assert.match(await storedPassword(DAVE), /^\{MD5\}/);
    const first = await whoami(DAVE, 'dave-secret');
    assert.equal(first.code, 0, describeResult(first));
    assert.match(await storedPassword(DAVE), /^\{SSHA512\}/);
    assert.equal((await whoami(DAVE, 'dave-secret')).code, 0);
    assert.equal((await whoami(DAVE, 'wrong')).code, 49);
  });

  it('after 3 wrong passwords for one DN from one address, its next bind waits (counted) and then checks the password; other DNs bind at once', async () => {
    const erin = 'uid=erin_example_net,ou=users,ispmanDomain=example.net,o=ispman';
    const before = await throttled();
    for (let i = 0; i < 3; i++) assert.equal((await whoami(erin, `wrong-${i}`)).code, 49);
    const started = Date.now();
    const slowed = await whoami(erin, 'erin-secret');
    assert.equal(slowed.code, 0, describeResult(slowed));
    // One second after the last failure, which was answered 250 ms after it was counted (auth.failedBindDelayMs).
    assert.ok(Date.now() - started >= 600, `the 4th attempt was not slowed down (${Date.now() - started} ms)`);
    assert.ok((await throttled()) > before, 'ispd_ldap_bind_throttled_total did not count it');
    const quick = Date.now();
    assert.equal((await whoami('uid=frank_example_net,ou=users,ispmanDomain=example.net,o=ispman', 'frank-secret')).code, 0);
    assert.ok(Date.now() - quick < 600, 'another DN was slowed down');
  });

  it('after 8 failures from one address, every bind from it is slowed down', async () => {
    // 4 failures from this address so far (dave 1, erin 3): 4 more reach perAddress = 8.
    for (let i = 0; i < 4; i++) await whoami(`uid=nobody${i}_example_net,ou=users,ispmanDomain=example.net,o=ispman`, 'x');
    const started = Date.now();
    const slowed = await whoami('uid=grace_example_net,ou=users,ispmanDomain=example.net,o=ispman', 'grace-secret');
    assert.equal(slowed.code, 0, describeResult(slowed));
    assert.ok(Date.now() - started >= 600, `not slowed down (${Date.now() - started} ms)`);
  });
});
