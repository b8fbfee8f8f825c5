// `npm run fuzz`: the long fuzz run (issue 13) — by default 1,000,000 inputs per protocol against an ispd
// process with two workers, checks after every batch (test/fuzz/harness.ts). Not part of `npm test` (the
// bounded run is test/protocol/fuzz.test.ts). Environment: FUZZ_INPUTS, FUZZ_SEED, FUZZ_BATCH,
// FUZZ_PROTOCOLS (ldap,dns), FUZZ_FAULTS (file for inputs that caused faults). Exit code 1 when a fault was found.

import { fuzzDns, fuzzLdap, rssMiB, type FuzzReport, type FuzzTarget } from './harness';
import { startIspd } from '../support/ispd-process';

const inputs = Number(process.env.FUZZ_INPUTS ?? 1_000_000);
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 0x7fffffff);
const batch = Number(process.env.FUZZ_BATCH ?? 20_000);
const protocols = (process.env.FUZZ_PROTOCOLS ?? 'ldap,dns').split(',');
const faultFile = process.env.FUZZ_FAULTS ?? 'fuzz-faults.txt';
/** FUZZ_MINUTES: stop (after the current batch) once this many minutes have passed, and report how far it got. */
const deadline = process.env.FUZZ_MINUTES ? Date.now() + Number(process.env.FUZZ_MINUTES) * 60000 : undefined;

function line(r: FuzzReport): string {
  const rate = Math.round(r.inputs / ((Date.now() - startedAt) / 1000));
  return `${r.protocol}: ${r.inputs} inputs (${rate}/s), ${r.responses} responses, ${r.batches} batches, ${r.faults.length} faults, slow closes ${r.slowCloses}, RSS ${rssMiB(r.pids)} MiB (${r.rssStartMiB} at start)`;
}

let startedAt = Date.now();

async function main(): Promise<void> {
  console.log(`fuzz: ${inputs} inputs per protocol (${protocols.join(', ')}), seed ${seed}, batches of ${batch}; faults → ${faultFile}`);
  const ispd = await startIspd({
    config: ['--set', 'ldap.workers=2', '--set', 'ldap.anonymousRead=true', '--set', 'dns.rrl.exempt=127.0.0.1/32', '--log-level', 'error'],
    startTimeoutMs: 60000,
  });
  const target: FuzzTarget = { ldapPort: ispd.ldapPort, dnsPort: ispd.dnsPort, pid: ispd.pid, output: ispd.output };
  let faults = 0;
  // Stopped by a signal: stop the server too (it is our child, and would be left serving).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void ispd.stop().finally(() => process.exit(1));
    });
  }
  try {
    for (const protocol of protocols) {
      startedAt = Date.now();
      const run = protocol === 'dns' ? fuzzDns : fuzzLdap;
      const report = await run(target, { inputs, seed, batch, faultFile, deadline, onBatch: (r) => console.log(`  ${line(r)}`) });
      await new Promise((r) => setTimeout(r, 3000));
      console.log(
        `${protocol} done: ${report.inputs} inputs in ${Math.round(report.ms / 1000)} s, kinds ${JSON.stringify(report.kinds)}, ${report.responses} responses, ` +
          `faults ${report.faults.length}, slow closes ${report.slowCloses}, processes ${report.pids.join(',')}, RSS ${report.rssStartMiB} → ${report.rssWarmMiB} after the first batch → ${report.rssEndMiB} MiB (${rssMiB(report.pids)} MiB 3 s later)`,
      );
      for (const f of report.faults) console.log(`  FAULT ${f}`);
      faults += report.faults.length;
    }
  } finally {
    await ispd.stop();
  }
  process.exitCode = faults > 0 ? 1 : 0;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
