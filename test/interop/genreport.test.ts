// ISC's EDNS compliance tester (genreport, the DNS Flag Day tool) against a running ispd: every "full" test
// (header flags, opcodes, unknown types, TCP, EDNS versions, options, flags, DO, truncation) and every
// "type" test (one query per registered type) must come back `ok` for every zone ispd serves.
//
// genreport is built from the source vendored in test/tools/genreport (MPL-2.0, with its licence), the way its
// README says, into a temporary directory kept per source version (the build takes ~40 s; reruns reuse it).

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeResult, requirePrograms, runClient } from '../support/clients';
import { startIspd, type IspdHandle } from '../support/ispd-process';
import { REPO_ROOT } from '../support/server-process';

const SOURCE = path.join(REPO_ROOT, 'test', 'tools', 'genreport');
/** The zones of the demo data (forward, the article layout, a generated reverse zone). */
const ZONES: Array<[zone: string, ns: string]> = [
  ['example.com', 'ns1.example.net'],
  ['4unet.net', 'ns1.4unet.net'],
  ['example.net', 'ns1.example.net'],
  ['2.0.192.in-addr.arpa', 'ns1.example.net'],
];

/** Builds genreport once per source version; returns the binary's path. */
async function buildGenreport(): Promise<string> {
  const hash = createHash('sha256').update(fs.readFileSync(path.join(SOURCE, 'genreport.c'))).update(fs.readFileSync(path.join(SOURCE, 'configure.ac'))).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), `ispd-genreport-${hash}`);
  const binary = path.join(dir, 'genreport');
  if (fs.existsSync(binary)) return binary;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ispd-genreport-build-'));
  try {
    fs.cpSync(SOURCE, work, { recursive: true });
    // The vendored files may be read-only (a checkout without write bits); the build writes beside them.
    for (const f of fs.readdirSync(work, { recursive: true }) as string[]) fs.chmodSync(path.join(work, f), 0o755);
    fs.chmodSync(work, 0o755);
    const steps: Array<[string, string[]]> = [
      ['autoreconf', ['-fis']],
      ['./configure', []],
      // README: plain `make` fails to link ns_makecanon on Debian 12.
      ['make', ['LIBS=-lresolv -lssl -lcrypto']],
    ];
    for (const [program, args] of steps) {
      const r = await runClient(program, args, { cwd: work, timeoutMs: 240000 });
      assert.equal(r.code, 0, `building genreport: ${describeResult(r)}`);
    }
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(work, 'genreport'), binary + '.tmp');
    fs.chmodSync(binary + '.tmp', 0o755);
    fs.renameSync(binary + '.tmp', binary);
    return binary;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Per zone: test name → result ("ok", or the failure tags such as "rd" or "timeout"). */
function parseReport(out: string): Map<string, Map<string, string>> {
  const zones = new Map<string, Map<string, string>>();
  for (const line of out.split('\n')) {
    const m = /^(\S+)\. @\S+ \(\S+\): (.*)$/.exec(line.trim());
    if (!m) continue;
    const results = zones.get(m[1]) ?? new Map<string, string>();
    for (const item of m[2].split(/\s+/)) {
      const eq = item.indexOf('=');
      if (eq > 0) results.set(item.slice(0, eq), item.slice(eq + 1));
    }
    zones.set(m[1], results);
  }
  return zones;
}

export function assertAllOk(report: Map<string, Map<string, string>>, expectTests: string[], out: string): void {
  for (const [zone] of ZONES) {
    const results = report.get(zone);
    assert.ok(results, `genreport reported on ${zone}:\n${out}`);
    for (const t of expectTests) assert.ok(results.has(t), `${zone}: genreport ran ${t}:\n${out}`);
    const bad = [...results].filter(([, r]) => r !== 'ok');
    assert.deepEqual(bad, [], `${zone}: every genreport test ok:\n${out}`);
  }
}

describe('interop: ISC genreport (EDNS compliance) against ispd', function () {
  this.timeout(300000);
  let ispd: IspdHandle;
  let genreport: string;
  const input = ZONES.map(([zone, ns]) => `${zone} ${ns} 127.0.0.1`).join('\n') + '\n';

  before(async function () {
    requirePrograms(this, 'autoreconf', 'make');
    genreport = await buildGenreport();
    ispd = await startIspd({ config: ['--set', 'ldap.workers=1'] });
  });

  after(async () => {
    await ispd?.stop();
  });

  it('every full test (flags, opcodes, unknown type, TCP, EDNS) is ok, opcodeflg included', async () => {
    // -s: serial mode (the parallel mode crashes past ~16 lines); -f: the full set.
    const r = await runClient(genreport, ['-P', String(ispd.dnsPort), '-s', '-f'], { input, timeoutMs: 120000 });
    assert.equal(r.code, 0, describeResult(r));
    assertAllOk(parseReport(r.stdout), ['dns', 'aa', 'ad', 'cd', 'ra', 'rd', 'tc', 'zflag', 'opcode', 'opcodeflg', 'type666', 'tcp', 'edns', 'edns1', 'edns@512', 'ednsopt', 'edns1opt', 'do', 'docd', 'edns1do', 'ednsflags', 'optlist', 'ednsnsid', 'ednscookie', 'ednsexpire', 'ednssubnet', 'edns1nsid', 'edns1cookie', 'edns1expire', 'edns1subnet', 'signed', 'ednstcp'], r.stdout);
  });

  it('every type test (one query per registered type) is ok', async () => {
    const r = await runClient(genreport, ['-P', String(ispd.dnsPort), '-t'], { input, timeoutMs: 120000 });
    assert.equal(r.code, 0, describeResult(r));
    assertAllOk(parseReport(r.stdout), ['A', 'NS', 'SOA', 'MX', 'TXT', 'AAAA', 'SRV', 'DS', 'RRSIG', 'NSEC', 'DNSKEY', 'NSEC3', 'CAA', 'TYPE1000'], r.stdout);
  });
});
