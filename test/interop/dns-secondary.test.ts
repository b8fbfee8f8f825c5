// ispd as the primary of real DNS software: NSD as a secondary (transfer after NOTIFY, IXFR after a change,
// the same answers), unbound as a resolver with stub zones pointing at ispd, and the whole path
// ldapmodify → ispd's next DNS answer → the secondary shortly after.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeResult, requirePrograms, runClient } from '../support/clients';
import { startIspd, type IspdHandle } from '../support/ispd-process';
import { pickFreePort } from '../support/ports';
import { makeTempDir, startServerProcess, type ServerProcess } from '../support/server-process';

const ADMIN_DN = 'uid=ispman,ou=admins,o=ispman';
const ADMIN_PASSWORD = 'ispman-admin';
const WWW_DN = 'relativeDomainName=www,aRecord=192.0.2.10,ou=aRecord,dc=example,dc=com,ou=DNS,o=ispman';
const ZONES = ['example.com', '4unet.net', 'example.net'];

async function dig(port: number, ...args: string[]): Promise<string> {
  const r = await runClient('dig', ['@127.0.0.1', '-p', String(port), '+tries=1', '+time=2', ...args], { timeoutMs: 15000 });
  assert.equal(r.code, 0, describeResult(r));
  return r.stdout;
}

async function short(port: number, name: string, type: string, recursion = false): Promise<string[]> {
  return (await dig(port, recursion ? '+rec' : '+norec', '+short', name, type)).split('\n').filter(Boolean).sort();
}

async function serialAt(port: number, zone: string): Promise<number | undefined> {
  const out = await dig(port, '+norec', '+short', zone, 'SOA');
  const f = out.trim().split(/\s+/);
  return f.length >= 3 ? Number(f[2]) : undefined;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('interop: ispd as DNS primary (NSD secondary, unbound stub, ldapmodify → dig)', function () {
  this.timeout(120000);
  let ispd: IspdHandle;
  let nsd: ServerProcess | undefined;
  let unbound: ServerProcess | undefined;
  let nsdPort: number;
  let unboundPort: number;
  let dir: string;

  before(async function () {
    requirePrograms(this, 'dig', 'kdig', 'nsd', 'unbound', 'ldapmodify');
    dir = makeTempDir('dns-interop');
    nsdPort = await pickFreePort({ udp: true });
    unboundPort = await pickFreePort({ udp: true });
    ispd = await startIspd({ config: ['--set', 'ldap.anonymousRead=true', '--set', `dns.notify=127.0.0.1:${nsdPort}`, '--set', 'dns.allowTransfer=127.0.0.1/32'] });

    const nsdConf = path.join(dir, 'nsd.conf');
    fs.writeFileSync(
      nsdConf,
      [
        'server:',
        `  ip-address: 127.0.0.1`,
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
        ...ZONES.flatMap((z) => ['zone:', `  name: "${z}"`, `  zonefile: "${z}.zone"`, '  allow-notify: 127.0.0.1 NOKEY', `  request-xfr: 127.0.0.1@${ispd.dnsPort} NOKEY`]),
        '',
      ].join('\n'),
    );
    const check = await runClient('nsd-checkconf', [nsdConf]);
    assert.equal(check.code, 0, describeResult(check));
    nsd = await startServerProcess({ executable: 'nsd', args: ['-d', '-c', nsdConf], host: '127.0.0.1', port: nsdPort, startTimeoutMs: 15000, cwd: dir });

    const unboundConf = path.join(dir, 'unbound.conf');
    fs.writeFileSync(
      unboundConf,
      [
        'server:',
        '  interface: 127.0.0.1',
        `  port: ${unboundPort}`,
        '  do-daemonize: no',
        '  username: ""',
        '  chroot: ""',
        `  directory: "${dir}"`,
        `  pidfile: "${dir}/unbound.pid"`,
        '  use-syslog: no',
        `  logfile: "${dir}/unbound.log"`,
        '  num-threads: 1',
        '  do-not-query-localhost: no',
        '  access-control: 127.0.0.0/8 allow',
        '  module-config: "iterator"',
        '  qname-minimisation: no',
        ...ZONES.flatMap((z) => ['stub-zone:', `  name: "${z}"`, `  stub-addr: 127.0.0.1@${ispd.dnsPort}`]),
        '',
      ].join('\n'),
    );
    const ucheck = await runClient('unbound-checkconf', [unboundConf]);
    assert.equal(ucheck.code, 0, describeResult(ucheck));
    unbound = await startServerProcess({ executable: 'unbound', args: ['-d', '-c', unboundConf], host: '127.0.0.1', port: unboundPort, startTimeoutMs: 15000, cwd: dir });
  });

  after(async () => {
    await nsd?.stop();
    await unbound?.stop();
    await ispd?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the demo data with dig and kdig over UDP and TCP: types and outcomes', async () => {
    const cases: Array<[string, string, string, string[]]> = [
      ['www.example.com', 'A', 'NOERROR', ['192.0.2.10']],
      ['www.example.com', 'AAAA', 'NOERROR', ['2001:db8::10']],
      ['example.com', 'MX', 'NOERROR', ['10 mail1.example.net.', '20 mail2.example.net.']],
      ['example.com', 'NS', 'NOERROR', ['ns1.example.net.', 'ns2.example.net.']],
      ['example.com', 'TXT', 'NOERROR', ['"v=spf1 mx -all"']],
      ['ftp.example.com', 'A', 'NOERROR', ['192.0.2.10', 'www.example.com.']],
      ['10.2.0.192.in-addr.arpa', 'PTR', 'NOERROR', ['www.example.com.']],
      ['smtp.example.net', 'AAAA', 'NOERROR', ['2001:db8::27', 'mail3.example.net.']],
      ['4unet.net', 'NS', 'NOERROR', ['ns1.4unet.net.', 'ns2.4unet.net.']],
      ['4unet.net', 'MX', 'NOERROR', ['10 mx1.4unet.net.', '100 mx2.4unet.net.']],
      ['ns1.4unet.net', 'A', 'NOERROR', ['193.247.80.43']],
      ['ftp.4unet.net', 'A', 'NOERROR', ['www.4unet.net.', 'www.4unet.net.']],
      ['nope.example.com', 'A', 'NXDOMAIN', []],
      ['www.example.com', 'MX', 'NOERROR', []],
      ['www.example.org', 'A', 'REFUSED', []],
    ];
    for (const [name, type, status, expected] of cases) {
      for (const transport of ['+notcp', '+tcp']) {
        const out = await dig(ispd.dnsPort, '+norec', transport, name, type);
        assert.match(out, new RegExp(`status: ${status}`), out);
        const answers = (await dig(ispd.dnsPort, '+norec', transport, '+short', name, type)).split('\n').filter(Boolean).sort();
        assert.deepEqual(answers, expected, `${name} ${type} ${transport}`);
        const k = await runClient('kdig', ['@127.0.0.1', '-p', String(ispd.dnsPort), '+norec', transport === '+tcp' ? '+tcp' : '+notcp', '+retry=0', name, type], { timeoutMs: 15000 });
        assert.match(k.stdout, new RegExp(`status: ${status}`), describeResult(k));
      }
    }
  });

  it('NSD transfers every zone from ispd and answers the same', async () => {
    for (const zone of ZONES) {
      const primary = await serialAt(ispd.dnsPort, zone);
      assert.ok(primary, `ispd serves ${zone}`);
      await waitFor(`NSD to load ${zone}`, async () => (await serialAt(nsdPort, zone)) === primary);
    }
    const questions: Array<[string, string]> = [
      ['example.com', 'SOA'], ['example.com', 'NS'], ['example.com', 'MX'], ['www.example.com', 'A'], ['www.example.com', 'AAAA'],
      ['example.com', 'TXT'], ['ftp.example.com', 'A'], ['4unet.net', 'MX'], ['4unet.net', 'NS'], ['ns1.4unet.net', 'A'], ['ftp.4unet.net', 'CNAME'],
    ];
    for (const [name, type] of questions) {
      assert.deepEqual(await short(nsdPort, name, type), await short(ispd.dnsPort, name, type), `${name} ${type}`);
    }
    const nx = await dig(nsdPort, '+norec', 'nope.example.com', 'A');
    assert.match(nx, /status: NXDOMAIN/);
  });

  it('unbound with stub zones resolves hosted names through ispd and gets NXDOMAIN for missing ones', async () => {
    assert.deepEqual(await short(unboundPort, 'www.example.com', 'A', true), await short(ispd.dnsPort, 'www.example.com', 'A'));
    assert.deepEqual(await short(unboundPort, '4unet.net', 'MX', true), ['10 mx1.4unet.net.', '100 mx2.4unet.net.']);
    const nx = await dig(unboundPort, 'missing.example.com', 'A');
    assert.match(nx, /status: NXDOMAIN/, nx);
  });

  it('an ldapmodify of an A record is in the next dig answer with a higher serial, and on NSD shortly after', async () => {
    const before = (await serialAt(ispd.dnsPort, 'example.com'))!;
    const ldif = `dn: ${WWW_DN}\nchangetype: modify\nadd: aRecord\naRecord: 192.0.2.222\n`;
    const mod = await runClient('ldapmodify', ['-x', '-H', ispd.ldapUrl, '-D', ADMIN_DN, '-w', ADMIN_PASSWORD], { input: ldif, timeoutMs: 15000 });
    assert.equal(mod.code, 0, describeResult(mod));
    // the very next query
    assert.deepEqual(await short(ispd.dnsPort, 'www.example.com', 'A'), ['192.0.2.10', '192.0.2.222']);
    const after = (await serialAt(ispd.dnsPort, 'example.com'))!;
    assert.ok(after > before, `serial ${before} → ${after}`);
    // NOTIFY → NSD asks for the change (IXFR first, as NSD does) and serves it
    await waitFor('NSD to follow the change', async () => (await serialAt(nsdPort, 'example.com')) === after, 20000);
    assert.deepEqual(await short(nsdPort, 'www.example.com', 'A'), ['192.0.2.10', '192.0.2.222']);
    const log = fs.readFileSync(path.join(dir, 'nsd.log'), 'utf8');
    assert.match(log, /notify/i, 'NSD logged the NOTIFY');
  });

  it('ispd zone export prints the served zone, and named-checkzone accepts it', async function () {
    requirePrograms(this, 'named-checkzone');
    const out = await runClient(process.execPath, [path.join(__dirname, '../../src/cli/main.js'), 'zone', 'export', 'example.com', '--db', ispd.dbFile], { timeoutMs: 15000 });
    assert.equal(out.code, 0, describeResult(out));
    const file = path.join(dir, 'example.com.export');
    fs.writeFileSync(file, out.stdout);
    const check = await runClient('named-checkzone', ['example.com', file]);
    assert.equal(check.code, 0, describeResult(check));
    assert.match(check.stdout, /OK/);
  });
});
