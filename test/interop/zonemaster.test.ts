// Zonemaster (Debian's zonemaster-cli) against ispd, offline: ispd and Zonemaster run together in a new network
// namespace (`unshare -n`, only lo up), so not one packet can leave the machine; ispd listens on 127.0.0.1:53
// there (Zonemaster only speaks to port 53), the root hints name ispd, and --ns gives the delegation.
// No ERROR or CRITICAL may remain but those this loopback setup causes, each named below with its reason.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeResult, requirePrograms, runClient } from '../support/clients';
import { ISPD_CLI } from '../support/ispd-process';
import { DEMO_LDIF, makeTempDir } from '../support/server-process';

/** ERROR tags this setup causes, and why; anything else at ERROR or CRITICAL fails the test. */
const SETUP_CAUSED: Record<string, string> = {
  // The demo data and the test address: ns1/ns2 have documentation addresses (RFC 5737/3849), and the
  // delegation given with --ns is 127.0.0.1.
  NAMESERVER_IP_PRIVATE_NETWORK: 'name server addresses are loopback (the test) or documentation ranges (the demo data)',
  DEL_NS_SAME_IP: 'both name servers are delegated to the one loopback address',
  SAME_IP_ADDRESS: 'both name servers answer on the one loopback address',
  NOT_ENOUGH_IPV6_NS_CHILD: 'run with --no-ipv6; the demo data gives ns1 a documentation IPv6 address only',
  // The root hints, the parent and the child are all the same ispd on 127.0.0.1: asked as the parent, ispd
  // answers authoritatively for the child zone instead of with a referral, so the "parent" and "child" views
  // Zonemaster builds (NS set, DS/DNSKEY expectations) do not match.
  NOT_ENOUGH_NS_CHILD: 'parent and child are the same server (no referral to compare with)',
  EXTRA_NAME_PARENT: 'parent and child are the same server (no referral to compare with)',
  TOTAL_NAME_MISMATCH: 'parent and child are the same server (no referral to compare with)',
  NO_RESPONSE_DNSKEY: 'parent and child are the same server; the zone is unsigned and its DNSKEY query is answered NODATA (checked with dig)',
};

describe('interop: Zonemaster (offline, in its own network namespace) against ispd', function () {
  this.timeout(240000);
  let dir: string;

  before(async function () {
    requirePrograms(this, 'zonemaster-cli', 'unshare', 'ip');
    if (process.getuid?.() !== 0) {
      if (process.env.CI === 'true') throw new Error('the Zonemaster test needs root (unshare -n, port 53 inside the namespace)');
      this.skip();
    }
    dir = makeTempDir('zonemaster');
    const load = await runClient(process.execPath, [ISPD_CLI, 'import', '--db', path.join(dir, 'ispd.sqlite'), DEMO_LDIF], { timeoutMs: 60000 });
    assert.equal(load.code, 0, describeResult(load));
  });

  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('example.com: no ERROR or CRITICAL but those the loopback setup causes', async () => {
    fs.writeFileSync(path.join(dir, 'hints'), '.  3600000 NS ns1.example.net.\nns1.example.net. 3600000 A 127.0.0.1\n');
    const script = [
      'set -e',
      'ip link set lo up',
      // The namespace has no route off the host at all; NOTIFY goes nowhere.
      `"${process.execPath}" "${ISPD_CLI}" serve --db "${dir}/ispd.sqlite" --ldap 127.0.0.1:0 --dns 127.0.0.1:53 --metrics off --set ldap.workers=1 --set dns.notify= > "${dir}/ispd.log" 2>&1 &`,
      'PID=$!',
      'for i in $(seq 1 100); do if (exec 3<>/dev/tcp/127.0.0.1/53) 2>/dev/null; then break; fi; sleep 0.2; done',
      'set +e',
      `timeout 180 zonemaster-cli --no-ipv6 --hints "${dir}/hints" --ns ns1.example.net/127.0.0.1 --ns ns2.example.net/127.0.0.1 --level ERROR --raw --show-module --no-count example.com`,
      'STATUS=$?',
      'kill $PID; wait $PID',
      'exit $STATUS',
    ].join('\n');
    fs.writeFileSync(path.join(dir, 'run.sh'), script);
    const r = await runClient('unshare', ['-n', 'bash', path.join(dir, 'run.sh')], { timeoutMs: 220000 });
    assert.equal(r.code, 0, describeResult(r) + '\n' + fs.readFileSync(path.join(dir, 'ispd.log'), 'utf8').slice(-2000));
    const findings = r.stdout
      .split('\n')
      .map((line) => /^\s*[\d.]+\s+(ERROR|CRITICAL)\s+(\S+)\s+(\S+)/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ level: m[1], module: m[2], tag: m[3] }));
    assert.ok(r.stdout.includes('ADDRESS'), `Zonemaster ran its tests:\n${r.stdout}`);
    const unexplained = findings.filter((f) => f.level === 'CRITICAL' || !(f.tag in SETUP_CAUSED));
    assert.deepEqual(unexplained, [], r.stdout);
  });
});
