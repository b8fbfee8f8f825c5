import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeResult, requirePrograms, runClient, type ClientResult } from '../support/clients';
import { startIspd, type IspdHandle } from '../support/ispd-process';
import { pamLogin, requireNslcd, startNslcd, type Nslcd } from '../support/nslcd';
import { pickFreePort } from '../support/ports';
import { makeTempDir } from '../support/server-process';
import { makeSelfSignedCert } from '../protocol/ldap-tools';
import { MAIL_SERVICE, demoWithServicesLdif } from './fixtures';

const POSTFIX_LDAP_PLUGIN = '/usr/lib/postfix/postfix-ldap.so';

/**
 * Postfix and nslcd talking to ispd over TLS (StartTLS and LDAPS), with the certificate verified against
 * the test CA. ispd runs with ldap.requireTlsForBind, so a password bind that did not go through TLS
 * fails with confidentialityRequired: a successful bind below proves the client really used TLS.
 * (ldapsearch -ZZ, ldapwhoami over ldaps:// and the 13 for plain binds are in test/protocol/ldap-server.test.ts.)
 */
describe('interop: TLS clients (Postfix start_tls and ldaps, nslcd ssl start_tls)', function () {
  this.timeout(90000);
  let dir: string | undefined;
  let server: IspdHandle | undefined;
  let ldapsPort = 0;
  let certFile = '';

  before(async function () {
    requirePrograms(this, 'openssl');
    dir = makeTempDir('tls');
    // nslcd reads the CA file as user nslcd
    fs.chmodSync(dir, 0o755);
    certFile = makeSelfSignedCert(dir).certFile;
    fs.chmodSync(certFile, 0o644);
    ldapsPort = await pickFreePort();
    server = await startIspd({
      ldif: demoWithServicesLdif(dir),
      config: [
        '--set', `tls.cert=${certFile}`,
        '--set', `tls.key=${path.join(dir, 'key.pem')}`,
        '--set', `ldaps.listen=127.0.0.1:${ldapsPort}`,
        '--set', 'ldap.requireTlsForBind=true',
        // nslcd searches anonymously, as ISPMan deploys it
        '--set', 'ldap.anonymousRead=true',
      ],
    });
  });

  after(async () => {
    await server?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('Postfix (postmap -q) binding as the mail service identity', () => {
    let postfixDir = '';
    before(function () {
      requirePrograms(this, 'postmap', POSTFIX_LDAP_PLUGIN);
      postfixDir = path.join(dir!, 'postfix');
      fs.mkdirSync(postfixDir);
      writeAged(path.join(postfixDir, 'main.cf'), 'compatibility_level = 3.6\n');
    });

    /** ISPMan's virtual alias map with a bind and the given transport settings. */
    function table(name: string, transport: string): string {
      const file = path.join(postfixDir, `${name}.cf`);
      writeAged(
        file,
        `${transport}
version = 3
bind = yes
bind_dn = ${MAIL_SERVICE.dn}
bind_pw = ${MAIL_SERVICE.password}
search_base = o=ispman
query_filter = (|(mailLocalAddress=%s)(mailAlias=%s))
result_attribute = mailForwardingAddress, mailRoutingAddress
timeout = 10
`,
      );
      return file;
    }

    const postmap = (key: string, file: string): Promise<ClientResult> => runClient('postmap', ['-c', postfixDir, '-q', key, `ldap:${file}`], { timeoutMs: 20000 });

    it('start_tls = yes with tls_require_cert: the lookup answers', async () => {
      const file = table('starttls', `server_host = 127.0.0.1\nserver_port = ${server!.ldapPort}\nstart_tls = yes\ntls_ca_cert_file = ${certFile}\ntls_require_cert = yes`);
      const result = await postmap('JD@example.com', file);
      assert.equal(result.code, 0, describeResult(result));
      assert.equal(result.stderr, '', describeResult(result));
      assert.deepEqual(result.stdout.trim().split(',').map((value) => value.trim()).sort(), ['john2@elsewhere.org', 'john@elsewhere.org', 'john@example.com']);
    });

    it('ldaps:// in server_host: the lookup answers', async () => {
      const file = table('ldaps', `server_host = ldaps://127.0.0.1:${ldapsPort}\ntls_ca_cert_file = ${certFile}\ntls_require_cert = yes`);
      const result = await postmap('bob@example.com', file);
      assert.equal(result.code, 0, describeResult(result));
      assert.equal(result.stdout.trim(), 'bob@example.com', describeResult(result));
    });

    it('(control) without start_tls the bind is refused (confidentialityRequired): a lookup error', async () => {
      const file = table('plain', `server_host = 127.0.0.1\nserver_port = ${server!.ldapPort}\nstart_tls = no`);
      const result = await postmap('bob@example.com', file);
      assert.equal(result.code, 1, describeResult(result));
      assert.match(result.stderr, /Confidentiality required/i, describeResult(result));
    });

    it('(control) start_tls with a CA that did not sign the certificate fails', async () => {
      const otherDir = path.join(dir!, 'other-ca');
      fs.mkdirSync(otherDir);
      const otherCert = makeSelfSignedCert(otherDir).certFile;
      const file = table('wrongca', `server_host = 127.0.0.1\nserver_port = ${server!.ldapPort}\nstart_tls = yes\ntls_ca_cert_file = ${otherCert}\ntls_require_cert = yes`);
      const result = await postmap('bob@example.com', file);
      assert.equal(result.code, 1, describeResult(result));
      assert.equal(result.stdout, '', describeResult(result));
    });
  });

  describe('nslcd with ssl start_tls and tls_reqcert demand', () => {
    let nslcd: Nslcd | undefined;
    before(async function () {
      requireNslcd(this);
      nslcd = await startNslcd({
        ldapUrl: server!.ldapUrl,
        extraConfig: `ssl start_tls\ntls_reqcert demand\ntls_cacertfile ${certFile}`,
      });
    });
    after(async () => {
      await nslcd?.stop();
    });

    it('getent passwd resolves a user (its searches run over StartTLS)', async () => {
      const result = await runClient('getent', ['passwd', 'bob_example_com'], { timeoutMs: 20000 });
      assert.equal(result.code, 0, nslcd!.explain(result));
      assert.match(result.stdout, /^bob_example_com:[^:]*:10002:10000:/, nslcd!.explain(result));
      assert.match(nslcd!.output(), /ldap_start_tls_s\(\)/, 'nslcd did not start TLS');
    });

    it('pamtester logs in: the login bind went over TLS (ispd refuses password binds without it)', async () => {
      const good = await pamLogin('bob_example_com', 'bob-secret');
      assert.equal(good.code, 0, nslcd!.explain(good));
      const bad = await pamLogin('bob_example_com', 'Xbob-secret');
      assert.notEqual(bad.code, 0, nslcd!.explain(bad));
    });
  });
});

/** Postfix waits before reading a file modified in the last seconds; date it a minute back. */
function writeAged(file: string, content: string): void {
  fs.writeFileSync(file, content);
  const aMinuteAgo = new Date(Date.now() - 60000);
  fs.utimesSync(file, aMinuteAgo, aMinuteAgo);
}

