// TSIG (RFC 8945) between ispd and real DNS software: dig -y and kdig -y sign queries and transfers and check
// every signature ispd sends back (a multi-message AXFR included), with each algorithm BIND and NSD offer;
// an unknown key, a wrong secret and an unsigned or wrongly keyed transfer are refused; NSD as a secondary
// with a key transfers over TSIG and follows a change after ispd's signed NOTIFY (its allow-notify names the
// key, so an unsigned NOTIFY would be ignored).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeResult, requirePrograms, runClient } from '../support/clients';
import { startIspd, type IspdHandle } from '../support/ispd-process';
import { pickFreePort } from '../support/ports';
import { makeTempDir, startServerProcess, type ServerProcess } from '../support/server-process';

const ADMIN_DN = 'uid=ispman,ou=admins,o=ispman';
const ADMIN_PASSWORD = 'ispman-admin';
const WWW_DN = 'relativeDomainName=www,aRecord=192.0.2.10,ou=aRecord,dc=example,dc=com,ou=DNS,o=ispman';
const ALGORITHMS = ['hmac-md5', 'hmac-sha1', 'hmac-sha224', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512'];
const secret = (): string => randomBytes(32).toString('base64');
const XFR = `hmac-sha256:xfr-key:${secret()}`;
/** A key ispd knows that is not allowed to transfer. */
const QUERY_ONLY = `hmac-sha256:query-key:${secret()}`;
const PER_ALGORITHM = ALGORITHMS.map((a) => `${a}:${a}-key:${secret()}`);
/** Records added to www.example.com so that an AXFR takes several messages (each one signed). */
const EXTRA_A = 1500;

async function dig(port: number, ...args: string[]): Promise<string> {
  const r = await runClient('dig', ['@127.0.0.1', '-p', String(port), '+tries=1', '+time=5', ...args], { timeoutMs: 30000 });
  return r.stdout + r.stderr;
}

async function serialAt(port: number, zone: string): Promise<number | undefined> {
  const f = (await dig(port, '+norec', '+short', zone, 'SOA')).trim().split(/\s+/);
  return f.length >= 3 ? Number(f[2]) : undefined;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30000): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('interop: TSIG (dig -y, kdig -y, NSD secondary with a key)', function () {
  this.timeout(180000);
  let ispd: IspdHandle;
  let nsd: ServerProcess | undefined;
  let nsdPort: number;
  let dir: string;

  before(async function () {
    requirePrograms(this, 'dig', 'kdig', 'nsd', 'ldapmodify');
    dir = makeTempDir('dns-tsig');
    nsdPort = await pickFreePort({ udp: true });
    const keys = [XFR, QUERY_ONLY, ...PER_ALGORITHM].join(',');
    const transferKeys = ['xfr-key', ...ALGORITHMS.map((a) => `${a}-key`)].join(',');
    ispd = await startIspd({
      config: [
        '--set', 'ldap.workers=1',
        '--set', `dns.tsig.keys=${keys}`,
        '--set', `dns.tsig.transferKeys=${transferKeys}`,
        '--set', 'dns.tsig.notifyKey=xfr-key',
        '--set', `dns.notify=127.0.0.1:${nsdPort}`,
        '--set', 'dns.allowTransfer=127.0.0.1/32',
      ],
    });
    const ldif = `dn: ${WWW_DN}\nchangetype: modify\nadd: aRecord\n` + Array.from({ length: EXTRA_A }, (_, i) => `aRecord: 10.9.${i >> 8}.${i & 255}\n`).join('');
    const mod = await runClient('ldapmodify', ['-x', '-H', ispd.ldapUrl, '-D', ADMIN_DN, '-w', ADMIN_PASSWORD], { input: ldif, timeoutMs: 30000 });
    assert.equal(mod.code, 0, describeResult(mod));

    const [, xfrName, xfrSecret] = XFR.split(':');
    const nsdConf = path.join(dir, 'nsd.conf');
    fs.writeFileSync(
      nsdConf,
      [
        'server:',
        '  ip-address: 127.0.0.1',
        `  port: ${nsdPort}`,
        `  zonesdir: "${dir}"`,
        `  pidfile: "${dir}/nsd.pid"`,
        `  xfrdfile: "${dir}/xfrd.state"`,
        `  xfrdir: "${dir}"`,
        `  zonelistfile: "${dir}/zone.list"`,
        '  database: ""',
        '  username: ""',
        '  chroot: ""',
        `  logfile: "${dir}/nsd.log"`,
        '  verbosity: 2',
        '  server-count: 1',
        'remote-control:',
        '  control-enable: no',
        'key:',
        `  name: "${xfrName}"`,
        '  algorithm: hmac-sha256',
        `  secret: "${xfrSecret}"`,
        'zone:',
        '  name: "example.com"',
        '  zonefile: "example.com.zone"',
        `  allow-notify: 127.0.0.1 ${xfrName}`,
        `  request-xfr: 127.0.0.1@${ispd.dnsPort} ${xfrName}`,
        '',
      ].join('\n'),
    );
    const check = await runClient('nsd-checkconf', [nsdConf]);
    assert.equal(check.code, 0, describeResult(check));
    nsd = await startServerProcess({ executable: 'nsd', args: ['-d', '-c', nsdConf], host: '127.0.0.1', port: nsdPort, startTimeoutMs: 15000, cwd: dir });
  });

  after(async () => {
    await nsd?.stop();
    await ispd?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a signed query is answered signed, with each algorithm (dig -y checks the MAC)', async () => {
    for (const key of [XFR, QUERY_ONLY, ...PER_ALGORITHM]) {
      const out = await dig(ispd.dnsPort, '+norec', '-y', key, 'example.com', 'SOA');
      assert.match(out, /status: NOERROR/, out);
      // (dig splits a long MAC's base64 with spaces)
      assert.match(out, /TSIG PSEUDOSECTION:\n\S+\s+0\s+ANY\s+TSIG\s+\S+ \d+ 300 [1-9]\d* [^\n]* NOERROR 0/, out);
      assert.doesNotMatch(out, /could not be validated|failure/i, out);
    }
  });

  it('a signed AXFR of several messages verifies message by message (dig -y and kdig -y, every algorithm)', async () => {
    for (const key of [XFR, ...PER_ALGORITHM]) {
      const out = await dig(ispd.dnsPort, '-y', key, 'example.com', 'AXFR');
      assert.doesNotMatch(out, /Transfer failed|could not be validated|failure/i, out);
      const size = /XFR size: (\d+) records \(messages (\d+),/.exec(out);
      assert.ok(size, out.slice(-500));
      assert.ok(Number(size[1]) > EXTRA_A, `all records: ${size[0]}`);
      assert.ok(Number(size[2]) >= 2, `several messages: ${size[0]}`);
      assert.equal(out.match(/\tANY\tTSIG\t/g)?.length, Number(size[2]), 'every message carries a TSIG record');
      const k = await runClient('kdig', ['@127.0.0.1', '-p', String(ispd.dnsPort), '-y', key, 'example.com', 'AXFR'], { timeoutMs: 30000 });
      assert.equal(k.code, 0, describeResult(k));
      assert.doesNotMatch(k.stdout + k.stderr, /;; (ERROR|WARNING)/, describeResult(k));
    }
  });

  it('a signed IXFR is answered signed', async () => {
    const serial = (await serialAt(ispd.dnsPort, 'example.com'))!;
    const k = await runClient('kdig', ['@127.0.0.1', '-p', String(ispd.dnsPort), '-y', XFR, 'example.com', `IXFR=${serial - 1}`], { timeoutMs: 30000 });
    assert.equal(k.code, 0, describeResult(k));
    assert.match(k.stdout, /\tTSIG\t/, describeResult(k));
  });

  it('an unknown key gets NOTAUTH/BADKEY, a wrong secret NOTAUTH/BADSIG, and no transfer', async () => {
    const unknown = `hmac-sha256:nobody-key:${secret()}`;
    const badKey = await dig(ispd.dnsPort, '+norec', '-y', unknown, 'example.com', 'SOA');
    assert.match(badKey, /status: NOTAUTH/, badKey);
    assert.match(badKey, /nobody-key\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\. \d+ 300 0 \d+ BADKEY 0/, badKey);
    const wrongSecret = `hmac-sha256:xfr-key:${secret()}`;
    const badSig = await dig(ispd.dnsPort, '+norec', '-y', wrongSecret, 'example.com', 'SOA');
    assert.match(badSig, /status: NOTAUTH/, badSig);
    assert.match(badSig, /xfr-key\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\. \d+ 300 0 \d+ BADSIG 0/, badSig);
    for (const key of [unknown, wrongSecret]) {
      const axfr = await dig(ispd.dnsPort, '-y', key, 'example.com', 'AXFR');
      assert.match(axfr, /Transfer failed/, axfr);
      assert.doesNotMatch(axfr, /\tIN\tA\t/, axfr);
      const k = await runClient('kdig', ['@127.0.0.1', '-p', String(ispd.dnsPort), '-y', key, 'example.com', 'AXFR'], { timeoutMs: 30000 });
      assert.notEqual(k.code, 0, describeResult(k));
      assert.match(k.stdout + k.stderr, /BADKEY|BADSIG/, describeResult(k));
    }
  });

  it('with dns.tsig.transferKeys, an unsigned AXFR and one signed with another known key are REFUSED', async () => {
    const unsigned = await dig(ispd.dnsPort, 'example.com', 'AXFR');
    assert.match(unsigned, /Transfer failed/, unsigned);
    const k = await runClient('kdig', ['@127.0.0.1', '-p', String(ispd.dnsPort), 'example.com', 'AXFR'], { timeoutMs: 30000 });
    assert.match(k.stdout + k.stderr, /REFUSED/, describeResult(k));
    const other = await runClient('kdig', ['@127.0.0.1', '-p', String(ispd.dnsPort), '-y', QUERY_ONLY, 'example.com', 'AXFR'], { timeoutMs: 30000 });
    assert.match(other.stdout + other.stderr, /REFUSED/, describeResult(other));
  });

  it('NSD as a secondary with the key transfers the zone over TSIG and follows a signed NOTIFY', async () => {
    const primary = (await serialAt(ispd.dnsPort, 'example.com'))!;
    await waitFor('NSD to load example.com over TSIG', async () => (await serialAt(nsdPort, 'example.com')) === primary);
    const count = (await dig(nsdPort, '+norec', '+short', 'www.example.com', 'A')).trim().split('\n').length;
    assert.equal(count, EXTRA_A + 1, 'NSD has the whole multi-message transfer');
    const ldif = `dn: ${WWW_DN}\nchangetype: modify\nadd: aRecord\naRecord: 192.0.2.77\n`;
    const mod = await runClient('ldapmodify', ['-x', '-H', ispd.ldapUrl, '-D', ADMIN_DN, '-w', ADMIN_PASSWORD], { input: ldif, timeoutMs: 15000 });
    assert.equal(mod.code, 0, describeResult(mod));
    const after = (await serialAt(ispd.dnsPort, 'example.com'))!;
    assert.ok(after > primary);
    // NSD's refresh timer is hours away: only the NOTIFY (accepted because it is signed with the key) brings it.
    await waitFor('NSD to follow the signed NOTIFY', async () => (await serialAt(nsdPort, 'example.com')) === after);
    const log = fs.readFileSync(path.join(dir, 'nsd.log'), 'utf8');
    assert.doesNotMatch(log, /bad tsig|tsig.*(fail|error)|refused/i, log);
  });
});
