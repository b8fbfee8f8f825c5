import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeResult, findProgram, requirePrograms, runClient, type ClientResult } from '../support/clients';
import { renderConfig } from '../support/configs';
import { makeTempDir, startServerProcess, type ServerProcess } from '../support/server-process';
import { startTarget, type LdapTarget } from '../support/target';

/** Debian's dovecot-ldap package provides the ldap passdb as a plugin. */
const DOVECOT_LDAP_PLUGIN = '/usr/lib/dovecot/modules/auth/libauthdb_ldap.so';

/**
 * Dovecot 2.3 authenticating against the directory with passdb ldap and auth_bind = yes, checked
 * with `doveadm auth test`. Dovecot runs as its own instance (own config, temporary base_dir, no
 * mail listeners), so nothing on the machine changes.
 */
describe('interop: Dovecot passdb ldap with auth_bind (doveadm auth test)', function () {
  this.timeout(60000);
  let server: LdapTarget | undefined;
  let dovecot: ServerProcess | undefined;
  let dir: string | undefined;
  let configFile = '';

  before(async function () {
    requirePrograms(this, 'dovecot', 'doveadm', DOVECOT_LDAP_PLUGIN);
    server = await startTarget();
    dir = makeTempDir('interop-dovecot');
    // Dovecot's auth processes run as the unprivileged dovecot user and must read the ldap config
    fs.chmodSync(dir, 0o755);
    configFile = path.join(dir, 'dovecot.conf');
    fs.writeFileSync(configFile, renderConfig('dovecot/dovecot.conf', { DIR: dir, INSTANCE: `ispd-test-${path.basename(dir)}` }));
    fs.writeFileSync(path.join(dir, 'dovecot-ldap.conf.ext'), renderConfig('dovecot/dovecot-ldap.conf.ext', { LDAP_URI: server.ldapUrl }), { mode: 0o644 });
    let alive = true;
    // -F: foreground, so the test owns the master process and SIGTERM stops the whole instance
    dovecot = await startServerProcess({ executable: findProgram('dovecot') ?? 'dovecot', args: ['-F', '-c', configFile], host: '', port: 0, startTimeoutMs: 0, waitForPort: false });
    dovecot.child.once('exit', () => (alive = false));
    const authSocket = path.join(dir, 'run', 'auth-client');
    const deadline = Date.now() + 15000;
    while (!fs.existsSync(authSocket)) {
      if (!alive || Date.now() > deadline) throw new Error(`dovecot did not create ${authSocket}:\n${dovecot.output()}\n${readLog()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  after(async () => {
    if (dovecot) await dovecot.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    if (server) await server.stop();
  });

  function readLog(): string {
    try {
      return fs.readFileSync(path.join(dir ?? '', 'dovecot.log'), 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '(no dovecot.log)';
    }
  }

  const authTest = (user: string, password: string): Promise<ClientResult> =>
    runClient('doveadm', ['-c', configFile, 'auth', 'test', '-x', 'service=imap', user, password], { timeoutMs: 30000 });
  const explain = (result: ClientResult): string => `${describeResult(result)}\n  dovecot.log (tail):\n${readLog()}`;

  const accounts: Array<[scheme: string, user: string, password: string]> = [
    ['{SSHA}', 'bob_example_com', 'bob-secret'],
    ['{CRYPT} DES', 'alice_example_com', 'alice-pw'],
    ['{SSHA512}', 'frank_example_net', 'frank-secret'],
    ['cleartext', 'grace_example_net', 'grace-secret'],
  ];
  for (const [scheme, user, password] of accounts) {
    it(`the right password is accepted: ${scheme} user ${user}`, async () => {
      const result = await authTest(user, password);
      assert.equal(result.code, 0, explain(result));
      assert.match(result.stdout, new RegExp(`passdb: ${user} auth succeeded`), explain(result));
    });

    it(`a wrong password is refused: ${scheme} user ${user}`, async () => {
      const result = await authTest(user, `wrong-${password}`);
      assert.equal(result.code, 77, explain(result));
      assert.match(result.stdout, /auth failed/, explain(result));
    });
  }

  it('the user@domain login (second uid value) is accepted with the right password', async () => {
    const result = await authTest('bob@example.com', 'bob-secret');
    assert.equal(result.code, 0, explain(result));
    assert.match(result.stdout, /auth succeeded/, explain(result));
  });

  it('an unknown user is refused', async () => {
    const result = await authTest('nobody_example_com', 'whatever');
    assert.equal(result.code, 77, explain(result));
    assert.match(result.stdout, /auth failed/, explain(result));
  });
});
