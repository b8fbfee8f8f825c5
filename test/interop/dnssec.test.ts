// DNSSEC against real validators: `ispd dnssec enable` on a running server, then unbound (stub zones at ispd on
// loopback, the zones' DS as trust anchors) validates positive, NXDOMAIN, NODATA, wildcard and CNAME answers with
// AD; a wrong trust anchor makes unbound refuse the answers (SERVFAIL); dnssec-verify accepts the AXFR.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeResult, requirePrograms, runClient } from '../support/clients';
import { ISPD_CLI, startIspd, type IspdHandle } from '../support/ispd-process';
import { pickFreePort } from '../support/ports';
import { makeTempDir, startServerProcess, type ServerProcess } from '../support/server-process';

const ZONES = ['example.com', '4unet.net'];

async function dig(port: number, ...args: string[]): Promise<string> {
  const r = await runClient('dig', ['@127.0.0.1', '-p', String(port), '+tries=1', '+time=3', ...args], { timeoutMs: 15000 });
  assert.equal(r.code, 0, describeResult(r));
  return r.stdout;
}

async function startUnbound(dir: string, name: string, dnsPort: number, anchors: string[]): Promise<{ port: number; proc: ServerProcess }> {
  const port = await pickFreePort({ udp: true });
  const conf = path.join(dir, `${name}.conf`);
  fs.writeFileSync(conf, [
    'server:', '  interface: 127.0.0.1', `  port: ${port}`, '  do-daemonize: no', '  username: ""', '  chroot: ""', `  directory: "${dir}"`,
    `  pidfile: "${dir}/${name}.pid"`, '  use-syslog: no', `  logfile: "${dir}/${name}.log"`, '  num-threads: 1', '  do-not-query-localhost: no',
    '  access-control: 127.0.0.0/8 allow', '  module-config: "validator iterator"', '  qname-minimisation: no', '  val-log-level: 2',
    // only loopback: no root hints are ever used for the zones below (stub zones), and nothing else is asked
    ...anchors.map((a) => `  trust-anchor: "${a}"`),
    ...ZONES.flatMap((z) => ['stub-zone:', `  name: "${z}"`, `  stub-addr: 127.0.0.1@${dnsPort}`]),
    '',
  ].join('\n'));
  const check = await runClient('unbound-checkconf', [conf]);
  assert.equal(check.code, 0, describeResult(check));
  const proc = await startServerProcess({ executable: 'unbound', args: ['-d', '-c', conf], host: '127.0.0.1', port, startTimeoutMs: 15000, cwd: dir });
  return { port, proc };
}

describe('interop: DNSSEC (ispd dnssec enable, unbound validating, dnssec-verify)', function () {
  this.timeout(120000);
  let ispd: IspdHandle;
  let dir: string;
  const procs: ServerProcess[] = [];
  let anchors: string[] = [];

  before(async function () {
    requirePrograms(this, 'dig', 'unbound', 'dnssec-verify');
    dir = makeTempDir('dnssec-interop');
    ispd = await startIspd({ config: ['--set', 'dns.allowTransfer=127.0.0.1/32'] });
    for (const zone of ZONES) {
      const r = await runClient(process.execPath, [ISPD_CLI, 'dnssec', 'enable', zone, '--db', ispd.dbFile], { timeoutMs: 30000 });
      assert.equal(r.code, 0, describeResult(r));
      anchors.push(...r.stdout.split('\n').filter((l) => /\tIN\tDS\t/.test(l)).map((l) => l.replace(/\t/g, ' ')));
    }
    assert.equal(anchors.length, 2);
    // the running server follows the change log: wait for the DNSKEY sets
    for (const zone of ZONES) {
      const started = Date.now();
      while (!/DNSKEY/.test(await dig(ispd.dnsPort, '+norec', zone, 'DNSKEY'))) {
        if (Date.now() - started > 20000) throw new Error(`${zone} not signed`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  });

  after(async () => {
    for (const p of procs) await p.stop();
    await ispd?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('unbound with the DS as trust anchor validates positive, NXDOMAIN, NODATA and CNAME answers (AD)', async () => {
    const u = await startUnbound(dir, 'unbound-good', ispd.dnsPort, anchors);
    procs.push(u.proc);
    const cases: Array<[string, string, string]> = [
      ['www.example.com', 'A', 'NOERROR'],
      ['nope.example.com', 'A', 'NXDOMAIN'],
      ['www.example.com', 'MX', 'NOERROR'],
      ['ftp.example.com', 'A', 'NOERROR'],
      ['4unet.net', 'MX', 'NOERROR'],
    ];
    for (const [name, type, status] of cases) {
      const out = await dig(u.port, '+dnssec', name, type);
      assert.match(out, new RegExp(`status: ${status}`), `${name} ${type}\n${out}`);
      assert.match(out, /flags: qr rd ra ad;/, `${name} ${type} validated (AD)\n${out}`);
    }
  });

  it('with a wrong trust anchor (another key) unbound refuses the answers: SERVFAIL, no AD', async () => {
    const wrong = anchors.map((a) => a.replace(/[0-9A-F]{64}$/, (d) => d.slice(0, 63) + (d.endsWith('0') ? '1' : '0')));
    const u = await startUnbound(dir, 'unbound-bad', ispd.dnsPort, wrong);
    procs.push(u.proc);
    const out = await dig(u.port, '+dnssec', 'www.example.com', 'A');
    assert.match(out, /status: SERVFAIL/, out);
  });

  it('dnssec-verify accepts every zone ispd transfers', async () => {
    for (const zone of ZONES) {
      const axfr = await dig(ispd.dnsPort, 'axfr', zone);
      const file = path.join(dir, `${zone}.axfr`);
      fs.writeFileSync(file, axfr);
      const v = await runClient('dnssec-verify', ['-o', zone, file], { timeoutMs: 30000 });
      assert.equal(v.code, 0, describeResult(v));
      assert.match(v.stdout + v.stderr, /Zone fully signed/);
    }
  });
});
