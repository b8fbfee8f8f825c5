// Issue 13: the bounded fuzz run of `npm test` — 20,000 inputs per protocol (test/fuzz/: structure-aware
// mutations of valid LDAP PDUs and DNS messages, TCP framing, random bytes) against an ispd process with two
// workers. After every batch a valid LDAP search and valid DNS queries over UDP and TCP are answered
// correctly, the primary and its workers are the same processes, and the server logged no error; no text
// sent to a client carries runtime or library error text; memory after the run is near its warmed-up size.
// The long run (1,000,000 per protocol) is `npm run fuzz` (test/fuzz/run.ts).

import assert from 'node:assert/strict';
import { fuzzDns, fuzzLdap, type FuzzReport, type FuzzTarget } from '../fuzz/harness';
import { startIspd, type IspdHandle } from '../support/ispd-process';

const INPUTS = 20_000;
const SEED = Number(process.env.FUZZ_SEED ?? 20261205);

function summary(r: FuzzReport): string {
  return `${r.inputs} ${r.protocol} inputs in ${(r.ms / 1000).toFixed(1)} s (${JSON.stringify(r.kinds)}), ${r.responses} responses, RSS ${r.rssStartMiB} → ${r.rssWarmMiB} (warm) → ${r.rssEndMiB} MiB, seed ${r.seed}`;
}

describe('fuzzing: 20,000 inputs per protocol against ispd with two workers', function () {
  this.timeout(600000);
  let ispd: IspdHandle;
  let target: FuzzTarget;

  before(async () => {
    ispd = await startIspd({ config: ['--set', 'ldap.workers=2', '--set', 'ldap.anonymousRead=true', '--set', 'dns.rrl.exempt=127.0.0.1/32', '--log-level', 'error'], startTimeoutMs: 60000 });
    target = { ldapPort: ispd.ldapPort, dnsPort: ispd.dnsPort, pid: ispd.pid, output: ispd.output };
  });

  after(async () => {
    await ispd?.stop();
  });

  for (const [protocol, run] of [['LDAP', fuzzLdap], ['DNS', fuzzDns]] as const) {
    it(`${protocol}: every batch is followed by correct answers, the same processes, no error logged, no internal text sent`, async () => {
      const report = await run(target, { inputs: INPUTS, seed: SEED, batch: 5000 });
      console.log(`      ${summary(report)}`);
      assert.deepEqual(report.faults, []);
      assert.equal(report.inputs, INPUTS);
      assert.equal(report.batches, 4);
      assert.equal(report.pids.length, 3, 'the primary and two workers');
      assert.ok(report.slowCloses === 0, `${report.slowCloses} connections not closed by the server 5 s after the client finished`);
      // A leak of a few hundred bytes per input would show; the warm-up growth (JIT, heap sizing) is excluded.
      assert.ok(report.rssEndMiB <= report.rssWarmMiB + 96, `RSS grew from ${report.rssWarmMiB} to ${report.rssEndMiB} MiB`);
    });
  }
});
