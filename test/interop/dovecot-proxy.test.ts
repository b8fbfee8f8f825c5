// Dovecot as the IMAP/POP proxy in front of the mail stores (issue 12 part 7), the setup the article was
// building: passdb ldap returns the user's mailHost as `host` with `proxy`, so each login is sent to the
// store the directory names. Users are provisioned with `ispd user add --mailhost`; `doveadm auth test`
// must name the right store for users on different stores, both with auth_bind (ispd checks the
// password) and in Dovecot's default mode (Dovecot binds as ISPMan's admin and checks the hash itself).

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeResult, findProgram, requirePrograms, runClient, type ClientResult } from '../support/clients';
import { renderConfig } from '../support/configs';
import { ISPD_CLI, startIspd, type IspdHandle } from '../support/ispd-process';
import { makeTempDir, startServerProcess, type ServerProcess } from '../support/server-process';
import { ADMIN } from './fixtures';

const DOVECOT_LDAP_PLUGIN = '/usr/lib/dovecot/modules/auth/libauthdb_ldap.so';
const DOMAIN = 'proxy-test.example';
const USERS = [
  { address: `ann@${DOMAIN}`, uid: 'ann_proxy-test_example', password: 'Ann-Secret-1', store: 'mail1.isp.example' },
  { address: `ben@${DOMAIN}`, uid: 'ben_proxy-test_example', password: 'Ben-Secret-2', store: 'mail3.isp.example' },
  { address: `cat@${DOMAIN}`, uid: 'cat_proxy-test_example', password: 'Cat-Secret-3', store: 'mail5.isp.example' },
];

interface Instance {
  dovecot: ServerProcess;
  configFile: string;
  dir: string;
}

describe('interop: Dovecot proxy with passdb ldap returning the mail store (doveadm auth test)', function () {
  this.timeout(120000);
  let ispd: IspdHandle | undefined;
  const instances: Record<'authBind' | 'password', Instance | undefined> = { authBind: undefined, password: undefined };

  before(async function () {
    requirePrograms(this, 'dovecot', 'doveadm', DOVECOT_LDAP_PLUGIN);
    // Dovecot's auth_bind search is anonymous, as against ISPMan's slapd
    ispd = await startIspd({ config: ['--set', 'ldap.anonymousRead=true', '--set', 'ldap.workers=1'] });
    const cli = async (args: string[]): Promise<void> => {
      const result = await runClient(process.execPath, [ISPD_CLI, ...args, '--db', ispd!.dbFile], { timeoutMs: 60000 });
      assert.equal(result.code, 0, describeResult(result));
    };
    await cli(['domain', 'add', DOMAIN]);
    for (const user of USERS) await cli(['user', 'add', user.address, '--password', user.password, '--mailhost', user.store]);
    instances.authBind = await startDovecot('dovecot-ldap-proxy.conf.ext', {});
    instances.password = await startDovecot('dovecot-ldap-proxy-password.conf.ext', { BIND_DN: ADMIN.dn, BIND_PW: ADMIN.password });
  });

  after(async () => {
    for (const instance of Object.values(instances)) {
      if (!instance) continue;
      await instance.dovecot.stop();
      fs.rmSync(instance.dir, { recursive: true, force: true });
    }
    if (ispd) await ispd.stop();
  });

  async function startDovecot(ldapConfig: string, vars: Record<string, string>): Promise<Instance> {
    const dir = makeTempDir('dovecot-proxy');
    // Dovecot's auth processes run as the unprivileged dovecot user and must read the ldap config
    fs.chmodSync(dir, 0o755);
    const configFile = path.join(dir, 'dovecot.conf');
    fs.writeFileSync(configFile, renderConfig('dovecot/dovecot.conf', { DIR: dir, INSTANCE: `ispd-test-${path.basename(dir)}` }));
    fs.writeFileSync(path.join(dir, 'dovecot-ldap.conf.ext'), renderConfig(`dovecot/${ldapConfig}`, { LDAP_URI: ispd!.ldapUrl, ...vars }), { mode: 0o644 });
    let alive = true;
    const dovecot = await startServerProcess({ executable: findProgram('dovecot') ?? 'dovecot', args: ['-F', '-c', configFile], host: '', port: 0, startTimeoutMs: 0, waitForPort: false });
    dovecot.child.once('exit', () => (alive = false));
    const authSocket = path.join(dir, 'run', 'auth-client');
    const deadline = Date.now() + 15000;
    while (!fs.existsSync(authSocket)) {
      if (!alive || Date.now() > deadline) {
        await dovecot.stop();
        throw new Error(`dovecot did not create ${authSocket}:\n${dovecot.output()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return { dovecot, configFile, dir };
  }

  const authTest = (instance: Instance, user: string, password: string, service = 'imap'): Promise<ClientResult> =>
    runClient('doveadm', ['-c', instance.configFile, 'auth', 'test', '-x', `service=${service}`, user, password], { timeoutMs: 30000 });

  const explain = (instance: Instance, result: ClientResult): string => {
    let log = '(no dovecot.log)';
    try {
      log = fs.readFileSync(path.join(instance.dir, 'dovecot.log'), 'utf8').split('\n').slice(-20).join('\n');
    } catch {
      // not written yet
    }
    return `${describeResult(result)}\n  dovecot.log (tail):\n${log}`;
  };

  /** The extra fields doveadm prints after "auth succeeded" (`  host=…`, `  proxy`, …). */
  const fields = (result: ClientResult): Map<string, string> =>
    new Map(result.stdout.split('\n').map((line) => line.trim()).filter((line) => line && !/auth succeeded|auth failed/.test(line)).map((line) => {
      const at = line.indexOf('=');
      return at < 0 ? [line, ''] : [line.slice(0, at), line.slice(at + 1)];
    }));

  for (const mode of ['authBind', 'password'] as const) {
    const title = mode === 'authBind' ? 'auth_bind = yes' : 'default mode (binds as uid=ispman,ou=admins, checks the hash)';
    describe(title, () => {
      for (const user of USERS) {
        it(`${user.address} is proxied to ${user.store} (imap and pop3, both login names)`, async () => {
          for (const [login, service] of [[user.address, 'imap'], [user.uid, 'pop3']] as const) {
            const result = await authTest(instances[mode]!, login, user.password, service);
            assert.equal(result.code, 0, explain(instances[mode]!, result));
            assert.match(result.stdout, /auth succeeded/, explain(instances[mode]!, result));
            const extra = fields(result);
            assert.equal(extra.get('host'), user.store, explain(instances[mode]!, result));
            assert.ok(extra.has('proxy'), explain(instances[mode]!, result));
          }
        });
      }

      it('a wrong password is refused and names no store', async () => {
        const result = await authTest(instances[mode]!, USERS[1].address, `${USERS[1].password}-wrong`);
        assert.equal(result.code, 77, explain(instances[mode]!, result));
        assert.match(result.stdout, /auth failed/, explain(instances[mode]!, result));
        assert.doesNotMatch(result.stdout, /host=/, explain(instances[mode]!, result));
      });
    });
  }
});
