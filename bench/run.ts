// `npm run bench`: ispd against the servers an ISP would otherwise run, on one machine and one dataset, in
// one run (issue 5, design §10). See bench/README.md for how to run it and read the output.
//
//   1. generate (or reuse from .bench/) the dataset: N domains x M users, ISPMan 1.4 shape, with zones;
//   2. load it: `ispd import` and slapadd (both timed on the same LDIF), zone files for NSD;
//   3. start ispd, slapd (back-mdb), PowerDNS (LDAP backend on that slapd) and NSD on free loopback ports;
//   4. check answers (every LDAP answer is checked by ldload; DNS answers against the model on a sample);
//   5. alternate ispd and reference runs, R rounds of every scenario, and take medians;
//   6. LDAP write -> DNS answer latency, resident memory, and the 500,000-user dataset for scaling;
//   7. print the table and JSON, write .bench/results.json, stop everything and remove the work directory.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { REPO_ROOT } from '../test/support/server-process';
import { measureAmplification, type Amplification } from './amplification';
import { checkDnsAnswers, queryOutcome, type DnsCheckResult } from './dnscheck';
import { domainAddresses, domainName, ensureDataset, recordDn, writeZoneFiles, type DatasetMeta, type DatasetParams } from './generate';
import { summarizeProfiles } from './profile';
import {
  ISPD_CLI,
  SLAPD_ROOT_DN,
  SLAPD_ROOT_PASSWORD,
  ispdImport,
  requireProgram,
  residentMiB,
  slapaddLoad,
  startIspd,
  startNsd,
  startPdns,
  startSlapd,
  timedCommand,
  type DnsServer,
  type IspdServer,
  type LdapServer,
  type RunningServer,
} from './servers';

const BENCH_ROOT = path.join(REPO_ROOT, '.bench');

interface Options {
  domains: number;
  users: number;
  largeDomains: number;
  duration: number;
  warmup: number;
  rounds: number;
  writeChanges: number;
  pdnsWriteChanges: number;
  dnsCheckSample: number;
  seed: number;
  profile: boolean;
  ispd: boolean;
  keep: boolean;
  /** Scenario ids to run (default all); 'none' runs only loads, checks, write -> DNS and scaling. */
  scenarios?: string[];
}

function parseOptions(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const options: Options = {
    domains: quick ? 40 : 1000,
    users: quick ? 20 : 50,
    largeDomains: quick ? 0 : 10_000,
    duration: quick ? 2 : 10,
    warmup: quick ? 0.5 : 2,
    rounds: 3,
    writeChanges: quick ? 20 : 100,
    pdnsWriteChanges: quick ? 0 : 3,
    dnsCheckSample: quick ? 200 : 2000,
    seed: 1,
    profile: argv.includes('--profile'),
    ispd: !argv.includes('--no-ispd'),
    keep: argv.includes('--keep'),
  };
  const numeric: Record<string, keyof Options> = {
    '--domains': 'domains',
    '--users': 'users',
    '--large-domains': 'largeDomains',
    '--duration': 'duration',
    '--warmup': 'warmup',
    '--rounds': 'rounds',
    '--write-changes': 'writeChanges',
    '--pdns-write-changes': 'pdnsWriteChanges',
    '--dns-check': 'dnsCheckSample',
    '--seed': 'seed',
  };
  for (let i = 0; i < argv.length; i++) {
    const key = numeric[argv[i]];
    if (argv[i] === '--scenarios') {
      options.scenarios = (argv[++i] ?? '').split(',').filter(Boolean);
    } else if (key) {
      const value = Number(argv[++i]);
      if (!Number.isFinite(value) || value < 0) throw new Error(`${argv[i - 1]} needs a number`);
      (options as unknown as Record<string, number>)[key] = value;
    } else if (!['--quick', '--profile', '--no-ispd', '--keep'].includes(argv[i])) {
      throw new Error(
        `unknown flag ${argv[i]}\nusage: npm run bench -- [--quick] [--domains N] [--users M] [--large-domains N|0] [--duration S] [--warmup S]\n` +
          '       [--rounds R] [--write-changes N] [--pdns-write-changes N] [--dns-check N] [--seed N] [--scenarios a,b|none]\n' +
          '       [--profile] [--no-ispd] [--keep]',
      );
    }
  }
  return options;
}

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

// ------------------------------------------------------------------------------------------------
// load generators

interface KindStats {
  ops: number;
  opsPerSec: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  failures: number;
  firstFailure: string;
}
interface LdloadResult {
  lostConnections: number;
  clientCpuPercent: number;
  search: KindStats;
  bind: KindStats;
}

function buildLdload(): string {
  const source = path.join(REPO_ROOT, 'bench', 'ldload.c');
  const binary = path.join(BENCH_ROOT, 'bin', 'ldload');
  if (!fs.existsSync(binary) || fs.statSync(binary).mtimeMs < fs.statSync(source).mtimeMs) {
    fs.mkdirSync(path.dirname(binary), { recursive: true });
    if (!fs.existsSync('/usr/include/ldap.h')) throw new Error('ldap.h missing: install the Debian package libldap-dev');
    timedCommand(requireProgram('cc', 'gcc'), ['-O2', '-Wall', '-o', binary, source, '-lldap', '-llber']);
  }
  return binary;
}

interface Measure {
  /** The figure compared between servers (higher is better) and the raw figures kept with it. */
  value: number;
  p50Us?: number;
  p99Us?: number;
  failures: number;
  detail: Record<string, unknown>;
}

interface Scenario {
  id: string;
  title: string;
  unit: string;
  kind: 'ldap' | 'dns';
  run(server: RunningServer, ctx: Context): Measure;
}

interface Context {
  options: Options;
  meta: DatasetMeta;
  ldload: string;
}

function ldapScenario(id: string, title: string, args: string[], pick: (r: LdloadResult) => Measure): Scenario {
  return {
    id,
    title,
    unit: 'ops/s',
    kind: 'ldap',
    run(server, ctx) {
      const result = spawnSync(
        ctx.ldload,
        [
          '-H',
          (server as LdapServer).ldapUrl,
          ...args,
          '-d',
          String(ctx.options.duration),
          '-w',
          String(ctx.options.warmup),
          '-q',
          ctx.meta.files.postfix,
          '-b',
          ctx.meta.files.binds,
        ],
        { encoding: 'utf8', timeout: (ctx.options.duration + ctx.options.warmup + 60) * 1000 },
      );
      if (result.status !== 0) throw new Error(`ldload ${args.join(' ')} against ${server.name} failed: ${result.stderr || result.error}`);
      const parsed = JSON.parse(result.stdout) as LdloadResult;
      const measure = pick(parsed);
      measure.detail.clientCpuPercent = parsed.clientCpuPercent;
      if (parsed.lostConnections > 0) measure.failures += parsed.lostConnections;
      return measure;
    },
  };
}

const fromKind = (stats: KindStats): Measure => ({
  value: stats.opsPerSec,
  p50Us: stats.p50Us,
  p99Us: stats.p99Us,
  failures: stats.failures,
  detail: { ops: stats.ops, maxUs: stats.maxUs, ...(stats.firstFailure ? { firstFailure: stats.firstFailure } : {}) },
});

const LDAP_SCENARIOS: Scenario[] = [
  ldapScenario('postfix-1x1', 'Postfix lookup, 1 conn x 1 outstanding', ['-m', 'search', '-c', '1', '-k', '1'], (r) => fromKind(r.search)),
  ldapScenario('postfix-8x8', 'Postfix lookup, 8 conns x 8 outstanding', ['-m', 'search', '-c', '8', '-k', '8'], (r) => fromKind(r.search)),
  ldapScenario('bind-8', 'simple bind {SSHA}, 8 conns', ['-m', 'bind', '-c', '8'], (r) => fromKind(r.bind)),
  ldapScenario('mixed', 'mixed: 4 search conns x 8 + 4 bind conns', ['-m', 'mixed', '-c', '4', '-k', '8', '-C', '4'], (r) => ({
    value: r.search.opsPerSec + r.bind.opsPerSec,
    p50Us: r.search.p50Us,
    p99Us: Math.max(r.search.p99Us, r.bind.p99Us),
    failures: r.search.failures + r.bind.failures,
    detail: { searchOpsPerSec: r.search.opsPerSec, bindOpsPerSec: r.bind.opsPerSec, bindP99Us: r.bind.p99Us, searchP99Us: r.search.p99Us },
  })),
];

/** Expected share of names that do not exist in dns-queries.txt (generate.ts): 15 %. */
const DNS_SCENARIO: Scenario = {
  id: 'dns',
  title: 'DNS qps, query mix (A/MX/NS/SOA/CNAME/NXDOMAIN)',
  unit: 'qps',
  kind: 'dns',
  run(server, ctx) {
    const result = spawnSync(
      requireProgram('dnsperf', 'dnsperf'),
      ['-s', '127.0.0.1', '-p', String((server as DnsServer).dnsPort), '-d', ctx.meta.files.dnsQueries, '-l', String(ctx.options.duration), '-c', '4', '-q', '64', '-t', '2'],
      { encoding: 'utf8', timeout: (ctx.options.duration + 60) * 1000, maxBuffer: 64 * 1024 * 1024 },
    );
    if (result.status !== 0) throw new Error(`dnsperf against ${server.name} failed: ${result.stderr}`);
    return parseDnsperf(result.stdout);
  },
};

export function parseDnsperf(output: string): Measure {
  const number = (pattern: RegExp): number => Number(pattern.exec(output)?.[1] ?? NaN);
  const completed = number(/Queries completed:\s+(\d+)/);
  const lost = number(/Queries lost:\s+(\d+)/);
  const qps = number(/Queries per second:\s+([\d.]+)/);
  const averageMs = number(/Average Latency \(s\):\s+([\d.]+)/) * 1000;
  const codes: Record<string, number> = {};
  for (const [, code, count] of (/Response codes:\s+(.*)/.exec(output)?.[1] ?? '').matchAll(/([A-Z]+) (\d+)/g)) codes[code] = Number(count);
  const good = (codes.NOERROR ?? 0) + (codes.NXDOMAIN ?? 0);
  const nxShare = good > 0 ? (codes.NXDOMAIN ?? 0) / good : 0;
  // anything but NOERROR/NXDOMAIN is wrong for this mix, and so is a NXDOMAIN share far from the 15 % generated
  let failures = completed - good + lost;
  if (Math.abs(nxShare - 0.15) > 0.03) failures += completed;
  return { value: qps, failures, detail: { completed, lost, averageLatencyMs: Math.round(averageMs * 1000) / 1000, responseCodes: codes } };
}

// ------------------------------------------------------------------------------------------------
// statistics

function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : NaN;
}

interface Series {
  server: string;
  runs: Measure[];
  error?: string;
}

function summarize(series: Series): Record<string, number> {
  return {
    value: median(series.runs.map((r) => r.value)),
    p50Us: median(series.runs.map((r) => r.p50Us ?? NaN)),
    p99Us: median(series.runs.map((r) => r.p99Us ?? NaN)),
    failures: series.runs.reduce((sum, r) => sum + r.failures, 0),
  };
}

// ------------------------------------------------------------------------------------------------
// write -> DNS latency

/** Replaces the A record of mail.<zone> through LDAP and polls DNS until the new address is answered. */
async function writeToDnsLatency(options: {
  ldapUrl: string;
  bindDn: string;
  password: string;
  dnsPort: number;
  changes: number;
  domains: number;
  entryDn: (domain: string, index: number) => string;
  timeoutMs: number;
}): Promise<{ changes: number; p50Ms: number; p99Ms: number; maxMs: number; failures: number; firstFailure?: string }> {
  const client = new Client({ url: options.ldapUrl, timeout: 10_000 });
  await client.bind(options.bindDn, options.password);
  const latencies: number[] = [];
  let failures = 0;
  let firstFailure: string | undefined;
  try {
    for (let i = 0; i < options.changes; i++) {
      // spread over the zones; the last domains are never used by the other checks after this point
      const index = options.domains - 1 - (i % options.domains);
      const domain = domainName(index);
      const address = `172.${16 + (i >> 16)}.${(i >> 8) & 255}.${(i & 255) || 1}`;
      const started = performance.now();
      try {
        await client.modify(
          options.entryDn(domain, index),
          new Change({ operation: 'replace', modification: new Attribute({ type: 'aRecord', values: [address] }) }),
        );
        for (;;) {
          const outcome = await queryOutcome(options.dnsPort, `mail.${domain}`, 'A', 1000).catch(() => undefined);
          if (outcome?.answers.some((a) => a.endsWith(` A ${address}`))) break;
          if (performance.now() - started > options.timeoutMs) throw new Error(`mail.${domain} still not ${address} after ${options.timeoutMs} ms`);
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        latencies.push(performance.now() - started);
      } catch (error) {
        failures++;
        firstFailure ??= (error as Error).message;
      }
    }
  } finally {
    await client.unbind().catch(() => undefined);
  }
  const round = (v: number): number => Math.round(v * 100) / 100;
  return {
    changes: options.changes,
    p50Ms: round(percentile(latencies, 0.5)),
    p99Ms: round(percentile(latencies, 0.99)),
    maxMs: round(Math.max(...latencies)),
    failures,
    ...(firstFailure ? { firstFailure } : {}),
  };
}

// ------------------------------------------------------------------------------------------------
// main

interface Report {
  startedAt: string;
  machine: Record<string, unknown>;
  options: Options;
  dataset: Record<string, unknown>;
  correctness: { dns: DnsCheckResult[] };
  /** Largest UDP response / query ratio each DNS server gave (issue 13), asked from 127.0.0.2 (outside ispd's dns.rrl.exempt). */
  amplification: Amplification[];
  scenarios: Array<{
    id: string;
    title: string;
    unit: string;
    reference: string;
    ispd: Record<string, number> & { error?: string };
    ref: Record<string, number> & { error?: string };
    ratio: number;
    p99Ratio?: number;
    raw: { ispd: Measure[]; reference: Measure[] };
  }>;
  import: Record<string, unknown>;
  memoryMiB: Record<string, unknown>;
  /** ispd's start-up time per store (opening it, building the DNS zones), in ms. */
  ispdStartupMs: Record<string, number>;
  writeToDns: Record<string, unknown>;
  scaling: Record<string, unknown>;
  targets: Array<{ target: string; value: string; met: boolean | null }>;
  profile?: unknown;
  errors: string[];
}

function versions(): Record<string, string> {
  const first = (cmd: string, args: string[], pattern = /\S.*/): string => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return (pattern.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[0] ?? '?').trim();
  };
  return {
    slapd: first('dpkg-query', ['-W', '-f', '${Version}', 'slapd']),
    pdns: first('dpkg-query', ['-W', '-f', '${Version}', 'pdns-server']),
    nsd: first('dpkg-query', ['-W', '-f', '${Version}', 'nsd']),
    dnsperf: first('dpkg-query', ['-W', '-f', '${Version}', 'dnsperf']),
    node: process.version,
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  fs.mkdirSync(BENCH_ROOT, { recursive: true });
  const work = fs.mkdtempSync(path.join(BENCH_ROOT, 'work-'));
  const running: RunningServer[] = [];
  const stopAll = async (): Promise<void> => {
    for (const server of running.splice(0).reverse()) await server.stop().catch(() => undefined);
  };
  const onSignal = (): void => {
    void stopAll().finally(() => {
      if (!options.keep) fs.rmSync(work, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const report: Report = {
    startedAt: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), ...versions() },
    options,
    dataset: {},
    correctness: { dns: [] },
    amplification: [],
    scenarios: [],
    import: {},
    memoryMiB: {},
    ispdStartupMs: {},
    writeToDns: {},
    scaling: {},
    targets: [],
    errors: [],
  };
  const fail = (what: string, error: unknown): void => {
    const message = `${what}: ${(error as Error)?.message ?? error}`.slice(0, 2000);
    report.errors.push(message);
    log(`ERROR ${message}`);
  };

  try {
    const ldload = buildLdload();
    const params: DatasetParams = { domains: options.domains, usersPerDomain: options.users, seed: options.seed };
    log(`dataset ${params.domains} domains x ${params.usersPerDomain} users`);
    const meta = ensureDataset(BENCH_ROOT, params);
    report.dataset.main = { entries: meta.entries, users: meta.users, zones: meta.domains, dnsZoneEntries: meta.dnsZoneEntries, ldif: meta.files.ldif };
    const ctx: Context = { options, meta, ldload };

    // ---- loads: both timed on the same (pure ISPMan) LDIF
    log('import timing: slapadd -q and ispd import on the same LDIF');
    report.import.main = await importTiming(work, meta, options, fail);

    // slapd serves the LDIF with the PowerDNS view of the zones
    log('slapadd (with the PowerDNS view) for the served slapd');
    slapaddLoad(path.join(work, 'slapd'), meta.files.pdnsLdif);
    const slapd = await startSlapd(path.join(work, 'slapd'));
    running.push(slapd);
    const pdns = await startPdns(path.join(work, 'pdns'), slapd.ldapUrl);
    running.push(pdns);
    const zonesDir = path.join(work, 'zones');
    const zoneSource = exportZones(zonesDir, meta, path.join(work, 'ispd-main'), options.ispd, fail);
    report.dataset.nsdZoneFiles = zoneSource;
    const zones = fs.readFileSync(meta.files.zones, 'utf8').trim().split('\n');
    const nsd = await startNsd(path.join(work, 'nsd'), zonesDir, zones);
    running.push(nsd);

    let ispd: IspdServer | undefined;
    if (options.ispd && (report.import.main as Record<string, unknown>).ispdSeconds !== undefined) {
      try {
        ispd = await startIspd(path.join(work, 'ispd-main'));
        running.push(ispd);
        report.ispdStartupMs[`${meta.entries} entries`] = ispd.startupMs;
      } catch (error) {
        fail('ispd serve', error);
      }
    }
    report.memoryMiB.afterLoad = memorySnapshot({ ispd, slapd, pdns, nsd });

    // ---- correctness of DNS answers (LDAP answers are checked on every operation by ldload)
    const dnsLines = fs.readFileSync(meta.files.dnsQueries, 'utf8').trim().split('\n').slice(0, options.dnsCheckSample);
    for (const server of [ispd, pdns, nsd]) {
      if (!server) continue;
      const result = await checkDnsAnswers(server.name, server.dnsPort, dnsLines, meta.domains);
      report.correctness.dns.push(result);
      log(`DNS answers ${server.name}: ${result.checked - result.wrong}/${result.checked} right${result.examples[0] ? `; e.g. ${result.examples[0]}` : ''}`);
    }

    // ---- maximum amplification (response / query octets over UDP) on a sample of the zones
    const zoneSample = Array.from({ length: Math.min(10, meta.domains) }, (_, i) => domainName(i));
    for (const server of [ispd, pdns, nsd]) {
      if (!server) continue;
      try {
        const amp = await measureAmplification(server.name, server.dnsPort, zoneSample, '127.0.0.2');
        report.amplification.push(amp);
        log(`DNS amplification ${server.name}: max ${amp.maxRatio}x (${amp.maxResponseBytes}/${amp.maxQueryBytes} octets, ${amp.maxQuestion}), ${amp.answered}/${amp.queries} answered`);
      } catch (error) {
        fail(`amplification ${server.name}`, error);
      }
    }

    // ---- alternated rounds
    const plan: Array<{ scenario: Scenario; reference: LdapServer | DnsServer }> = [
      ...LDAP_SCENARIOS.map((scenario) => ({ scenario, reference: slapd as LdapServer | DnsServer })),
      { scenario: DNS_SCENARIO, reference: pdns },
      { scenario: { ...DNS_SCENARIO, id: 'dns-vs-nsd' }, reference: nsd },
    ].filter(({ scenario }) => !options.scenarios || options.scenarios.includes(scenario.id) || (scenario.id === 'dns' && options.scenarios.includes('dns-vs-nsd')));
    const series = new Map<string, { ispd: Series; ref: Series }>();
    for (const { scenario, reference } of plan) series.set(scenario.id, { ispd: { server: 'ispd', runs: [] }, ref: { server: reference.name, runs: [] } });
    for (let round = 0; round < options.rounds; round++) {
      for (const { scenario, reference } of plan) {
        const entry = series.get(scenario.id)!;
        const order: Array<[Series, RunningServer | undefined]> = [
          [entry.ispd, ispd],
          [entry.ref, reference],
        ];
        if (round % 2 === 1) order.reverse();
        for (const [target, server] of order) {
          if (!server) continue;
          if (scenario.id === 'dns-vs-nsd' && server === ispd) {
            // the ispd DNS figures are measured once per round under 'dns' and reused for the NSD comparison
            continue;
          }
          try {
            const measure = scenario.run(server, ctx);
            target.runs.push(measure);
            log(`round ${round + 1} ${scenario.id} ${server.name}: ${measure.value.toFixed(0)} ${scenario.unit}` +
              (measure.p99Us !== undefined ? ` p50 ${measure.p50Us} us p99 ${measure.p99Us} us` : '') +
              (measure.detail.clientCpuPercent !== undefined ? ` (ldload cpu ${measure.detail.clientCpuPercent}%)` : '') + (measure.failures ? ` FAILURES ${measure.failures}` : ''));
          } catch (error) {
            target.error = (error as Error).message.slice(0, 500);
            fail(`${scenario.id} ${server.name}`, error);
          }
        }
      }
    }
    if (series.has('dns-vs-nsd') && series.has('dns')) series.get('dns-vs-nsd')!.ispd = series.get('dns')!.ispd;
    for (const { scenario, reference } of plan) {
      const entry = series.get(scenario.id)!;
      const ispdSummary = summarize(entry.ispd);
      const refSummary = summarize(entry.ref);
      report.scenarios.push({
        id: scenario.id,
        title: scenario.title,
        unit: scenario.unit,
        reference: reference.name,
        ispd: { ...ispdSummary, ...(entry.ispd.error ? { error: entry.ispd.error } : {}) } as never,
        ref: { ...refSummary, ...(entry.ref.error ? { error: entry.ref.error } : {}) } as never,
        ratio: round2(ispdSummary.value / refSummary.value),
        ...(Number.isFinite(ispdSummary.p99Us) ? { p99Ratio: round2(ispdSummary.p99Us / refSummary.p99Us) } : {}),
        raw: { ispd: entry.ispd.runs, reference: entry.ref.runs },
      });
    }
    report.memoryMiB.afterLoadRuns = memorySnapshot({ ispd, slapd, pdns, nsd });

    // ---- LDAP write -> DNS answer
    if (ispd && options.writeChanges > 0) {
      log(`write -> DNS latency on ispd (${options.writeChanges} changes)`);
      try {
        report.writeToDns.ispd = await writeToDnsLatency({
          ldapUrl: ispd.ldapUrl,
          bindDn: 'uid=ispman,ou=admins,o=ispman',
          password: meta.passwords[0],
          dnsPort: ispd.dnsPort,
          changes: options.writeChanges,
          domains: meta.domains,
          entryDn: (domain, index) => recordDn(domain, 'aRecord', domainAddresses(index).mail, 'mail'),
          timeoutMs: 10_000,
        });
      } catch (error) {
        fail('write -> DNS on ispd', error);
      }
    }
    if (options.pdnsWriteChanges > 0) {
      log(`write -> DNS latency on slapd + PowerDNS (${options.pdnsWriteChanges} changes; bounded by its caches)`);
      try {
        report.writeToDns['pdns-ldap'] = await writeToDnsLatency({
          ldapUrl: slapd.ldapUrl,
          bindDn: SLAPD_ROOT_DN,
          password: SLAPD_ROOT_PASSWORD,
          dnsPort: pdns.dnsPort,
          changes: options.pdnsWriteChanges,
          domains: meta.domains,
          entryDn: (domain) => `dc=mail,dc=${domain},ou=pdns,o=ispman`,
          timeoutMs: 90_000,
        });
      } catch (error) {
        fail('write -> DNS on PowerDNS', error);
      }
    }

    // ---- profile of ispd under the same load
    if (ispd && options.profile) {
      report.profile = await profileIspd(work, ispd, ctx, running, fail);
      ispd = undefined;
    }
    await stopAll();

    // ---- scaling: the large dataset (500,000 users by default)
    if (options.largeDomains > 0) {
      report.scaling = await scaling(work, options, ctx, report, running, fail);
      await stopAll();
    }
  } catch (error) {
    fail('benchmark', error);
  } finally {
    await stopAll();
    if (!options.keep) fs.rmSync(work, { recursive: true, force: true });
  }

  report.targets = evaluateTargets(report);
  fs.writeFileSync(path.join(BENCH_ROOT, 'results.json'), JSON.stringify(report, null, 2) + '\n');
  process.stdout.write(renderTable(report) + '\n');
  process.stdout.write('\nJSON (also in .bench/results.json):\n' + JSON.stringify(compactReport(report)) + '\n');
  if (report.errors.length > 0) process.exitCode = 1;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function memorySnapshot(servers: Record<string, RunningServer | undefined>): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [name, server] of Object.entries(servers)) if (server) result[name] = residentMiB(server.pids());
  return result;
}

async function importTiming(work: string, meta: DatasetMeta, options: Options, fail: (what: string, error: unknown) => void): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = { entries: meta.entries };
  try {
    result.slapaddQuickSeconds = round2(slapaddLoad(path.join(work, 'slapadd-timing'), meta.files.ldif, true));
    log(`slapadd -q of ${meta.entries} entries: ${result.slapaddQuickSeconds} s`);
    result.slapdDbMiB = round2(dirSizeMiB(path.join(work, 'slapadd-timing', 'db')));
  } catch (error) {
    fail('slapadd', error);
  } finally {
    fs.rmSync(path.join(work, 'slapadd-timing'), { recursive: true, force: true });
  }
  if (options.ispd) {
    try {
      const dir = path.join(work, `ispd-${meta.domains === options.domains ? 'main' : 'large'}`);
      result.ispdSeconds = round2(ispdImport(dir, meta.files.ldif));
      log(`ispd import of ${meta.entries} entries: ${result.ispdSeconds} s`);
      result.ispdDbMiB = round2(dirSizeMiB(dir));
    } catch (error) {
      const message = (error as Error).message;
      fail('ispd import', new Error(message.split('\n')[0] + (/heap out of memory/.test(message) ? ' — JavaScript heap out of memory' : '')));
      if (/heap out of memory/.test(message)) {
        // measure the rest anyway (scaling needs the store), with a heap as large as the machine allows, and say so
        const heapMiB = Math.max(4096, Math.floor((os.totalmem() / 2 ** 20) * 0.7));
        log(`retrying ispd import with --max-old-space-size=${heapMiB} (the default heap ran out)`);
        try {
          const dir = path.join(work, `ispd-${meta.domains === options.domains ? 'main' : 'large'}`);
          result.ispdSeconds = round2(ispdImport(dir, meta.files.ldif, [`--max-old-space-size=${heapMiB}`]));
          result.ispdNodeHeapMiB = heapMiB;
          result.ispdDbMiB = round2(dirSizeMiB(dir));
          log(`ispd import of ${meta.entries} entries with a ${heapMiB} MiB heap: ${result.ispdSeconds} s`);
        } catch (retryError) {
          fail('ispd import with a larger heap', new Error((retryError as Error).message.split('\n')[0]));
        }
      }
    }
  }
  if (typeof result.ispdSeconds === 'number' && typeof result.slapaddQuickSeconds === 'number') {
    result.ratio = round2(result.ispdSeconds / result.slapaddQuickSeconds);
  }
  return result;
}

function dirSizeMiB(dir: string): number {
  let bytes = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    // allocated blocks, not the apparent size: back-mdb's map file is sparse up to maxsize
    if (entry.isFile()) bytes += fs.statSync(file).blocks * 512;
    else if (entry.isDirectory()) bytes += dirSizeMiB(file) * 2 ** 20;
  }
  return bytes / 2 ** 20;
}

/**
 * Zone files for NSD, made by ispd's `zone export`. One `ispd zone export ZONE` process per zone reads the whole
 * store (about a second each at 75,000 entries), so all zones are exported in this process through the same
 * functions the command runs (store -> buildZonesReport -> zoneToMasterFile), and the command itself is run for a
 * few zones whose output must be byte-identical. If ispd's modules are not there, the generator's BIND writer
 * is the fallback (and the report says so).
 */
function exportZones(zonesDir: string, meta: DatasetMeta, ispdDir: string, useIspd: boolean, fail: (what: string, error: unknown) => void): Record<string, unknown> {
  writeZoneFiles(zonesDir, meta);
  const zones = fs.readFileSync(meta.files.zones, 'utf8').trim().split('\n');
  const dbFile = path.join(ispdDir, 'ispd.sqlite');
  if (!useIspd || !fs.existsSync(dbFile)) return { writer: 'bench/generate.ts', ispdExported: 0 };
  const dist = path.join(REPO_ROOT, 'dist', 'src');
  let exported = 0;
  try {
    /* eslint-disable @typescript-eslint/no-var-requires */
    const { parseCommandLine } = require(path.join(dist, 'config', 'load.js'));
    const { openStore } = require(path.join(dist, 'server.js'));
    const { buildZonesReport, isZoneEntry } = require(path.join(dist, 'dns', 'build.js'));
    const { zoneToMasterFile } = require(path.join(dist, 'dns', 'masterfile.js'));
    const { initialSerial } = require(path.join(dist, 'dns', 'serial.js'));
    /* eslint-enable @typescript-eslint/no-var-requires */
    const config = parseCommandLine(['--db', dbFile], process.env, { positionals: true }).config;
    const { backend } = openStore(config);
    const entries: unknown[] = [];
    try {
      for (const e of backend.all()) {
        const entry = { dn: e.dn, attributes: e.attrs };
        if (isZoneEntry(entry)) entries.push(entry);
      }
    } finally {
      backend.close();
    }
    const report = buildZonesReport(entries, { defaultSerial: initialSerial(config.dns.serialFormat) });
    const texts = new Map<string, string>();
    for (const zone of report.zones as Array<{ origin: string }>) texts.set(zone.origin.replace(/\.$/, ''), zoneToMasterFile(zone));
    for (const zone of zones) {
      const text = texts.get(zone);
      if (!text) throw new Error(`ispd has no zone ${zone}`);
      fs.writeFileSync(path.join(zonesDir, `${zone}.zone`), text);
      exported++;
    }
  } catch (error) {
    fail('ispd zone export (in-process)', error);
    writeZoneFiles(zonesDir, meta);
    return { writer: 'bench/generate.ts', ispdExported: 0 };
  }
  // the command line must print the very same files
  for (const zone of [zones[0], zones[Math.floor(zones.length / 2)], zones[zones.length - 1]]) {
    const result = spawnSync(process.execPath, [ISPD_CLI, 'zone', 'export', zone, '--db', dbFile], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
    const file = fs.readFileSync(path.join(zonesDir, `${zone}.zone`), 'utf8');
    if (result.status !== 0 || result.stdout !== file) {
      fail('ispd zone export', new Error(`${zone}: the command's output differs from the in-process export (status ${result.status}: ${(result.stderr || '').split('\n')[0]})`));
    }
  }
  return { writer: 'ispd zone export', ispdExported: exported, zones: zones.length };
}

async function profileIspd(work: string, ispd: IspdServer, ctx: Context, running: RunningServer[], fail: (what: string, error: unknown) => void): Promise<unknown> {
  // restart ispd under the profiler on the same store
  await ispd.stop();
  running.splice(running.indexOf(ispd), 1);
  const profileDir = path.join(BENCH_ROOT, 'profiles');
  fs.rmSync(profileDir, { recursive: true, force: true });
  fs.mkdirSync(profileDir, { recursive: true });
  const summaries: Record<string, unknown> = {};
  for (const scenario of [LDAP_SCENARIOS[1], LDAP_SCENARIOS[2], DNS_SCENARIO]) {
    const dir = path.join(profileDir, scenario.id);
    try {
      const profiled = await startIspd(path.join(work, 'ispd-main'), ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
      running.push(profiled);
      log(`profiling ispd under ${scenario.id}`);
      scenario.run(profiled, ctx);
      await profiled.stop();
      running.splice(running.indexOf(profiled), 1);
      summaries[scenario.id] = summarizeProfiles(dir, 25, profiled.startupMs);
    } catch (error) {
      fail(`profile ${scenario.id}`, error);
    }
  }
  return { directory: profileDir, top: summaries };
}

/**
 * Throughput at the large dataset (500,000 users by default) against the main one (50,000), measured in the same
 * phase: the small and large stores of each server are started side by side and their postfix-8x8 runs
 * alternated, so that machine noise hits both sizes alike.
 */
async function scaling(
  work: string,
  options: Options,
  ctx: Context,
  report: Report,
  running: RunningServer[],
  fail: (what: string, error: unknown) => void,
): Promise<Record<string, unknown>> {
  const params: DatasetParams = { domains: options.largeDomains, usersPerDomain: options.users, seed: options.seed };
  log(`large dataset ${params.domains} domains x ${params.usersPerDomain} users`);
  const large = ensureDataset(BENCH_ROOT, params);
  report.dataset.large = { entries: large.entries, users: large.users, zones: large.domains };
  log('import timing on the large dataset');
  report.import.large = await importTiming(work, large, options, fail);
  const largeCtx: Context = { ...ctx, meta: large };
  const scenario = LDAP_SCENARIOS[1];
  const candidates: Array<{ name: string; server: string; users: number; context: Context; start: () => Promise<RunningServer> }> = [
    { name: 'slapd-small', server: 'slapd', users: ctx.meta.users, context: ctx, start: () => startSlapd(path.join(work, 'slapd')) },
    {
      name: 'slapd-large',
      server: 'slapd',
      users: large.users,
      context: largeCtx,
      start: async () => {
        slapaddLoad(path.join(work, 'slapd-large'), large.files.ldif);
        return startSlapd(path.join(work, 'slapd-large'));
      },
    },
  ];
  if (options.ispd && typeof (report.import.large as Record<string, unknown>).ispdSeconds === 'number') {
    candidates.push({ name: 'ispd-small', server: 'ispd', users: ctx.meta.users, context: ctx, start: () => startIspd(path.join(work, 'ispd-main')) });
    candidates.push({ name: 'ispd-large', server: 'ispd', users: large.users, context: largeCtx, start: () => startIspd(path.join(work, 'ispd-large')) });
  }
  const started: Array<{ name: string; server: string; users: number; context: Context; handle: RunningServer }> = [];
  for (const candidate of candidates) {
    try {
      log(`starting ${candidate.name}`);
      const handle = await candidate.start();
      running.push(handle);
      if (candidate.name === 'ispd-large') report.ispdStartupMs[`${large.entries} entries`] = (handle as IspdServer).startupMs;
      started.push({ ...candidate, handle });
    } catch (error) {
      fail(`start ${candidate.name}`, error);
    }
  }
  report.memoryMiB.scalingPhase = Object.fromEntries(started.map((s) => [s.name, residentMiB(s.handle.pids())]));
  const runs = new Map<string, Measure[]>();
  for (let round = 0; round < options.rounds; round++) {
    const order = round % 2 === 0 ? started : [...started].reverse();
    for (const entry of order) {
      try {
        const measure = scenario.run(entry.handle, entry.context);
        runs.set(entry.name, [...(runs.get(entry.name) ?? []), measure]);
        log(`scaling round ${round + 1} ${scenario.id} ${entry.name} (${entry.users} users): ${measure.value.toFixed(0)} ops/s p99 ${measure.p99Us} us${measure.failures ? ` FAILURES ${measure.failures}` : ''}`);
      } catch (error) {
        fail(`scaling ${scenario.id} ${entry.name}`, error);
      }
    }
  }
  const result: Record<string, unknown> = {};
  for (const server of ['ispd', 'slapd']) {
    const small = runs.get(`${server}-small`);
    const big = runs.get(`${server}-large`);
    if (!small || !big) continue;
    const smallValue = median(small.map((m) => m.value));
    const largeValue = median(big.map((m) => m.value));
    result[server] = {
      usersSmall: ctx.meta.users,
      usersLarge: large.users,
      opsPerSecSmall: smallValue,
      opsPerSecLarge: largeValue,
      p99UsSmall: median(small.map((m) => m.p99Us ?? NaN)),
      p99UsLarge: median(big.map((m) => m.p99Us ?? NaN)),
      failures: [...small, ...big].reduce((sum, m) => sum + m.failures, 0),
      dropPercent: round2((1 - largeValue / smallValue) * 100),
      raw: { small: small.map((m) => m.value), large: big.map((m) => m.value) },
    };
  }
  return result;
}

// ------------------------------------------------------------------------------------------------
// targets (issue 5 item 3) and output

function evaluateTargets(report: Report): Report['targets'] {
  const targets: Report['targets'] = [];
  const scenario = (id: string) => report.scenarios.find((s) => s.id === id);
  const check = (target: string, value: number | undefined, ok: (v: number) => boolean, show: (v: number) => string): void => {
    const known = value !== undefined && Number.isFinite(value);
    targets.push({ target, value: known ? show(value) : 'n/a', met: known ? ok(value) : null });
  };
  const ratio = (v: number): string => `${v.toFixed(2)}x`;
  for (const id of ['postfix-1x1', 'postfix-8x8']) {
    const s = scenario(id);
    check(`${id} throughput >= 1.0x slapd`, s?.ratio, (v) => v >= 1, ratio);
    check(`${id} p99 no worse than slapd`, s?.p99Ratio, (v) => v <= 1, ratio);
  }
  check('bind >= 0.8x slapd', scenario('bind-8')?.ratio, (v) => v >= 0.8, ratio);
  check('DNS >= 1.0x PowerDNS-LDAP', scenario('dns')?.ratio, (v) => v >= 1, ratio);
  check('DNS >= 0.7x NSD', scenario('dns-vs-nsd')?.ratio, (v) => v >= 0.7, ratio);
  const write = report.writeToDns.ispd as { p99Ms?: number; failures?: number } | undefined;
  check('write -> DNS p99 < 50 ms', write?.failures ? Infinity : write?.p99Ms, (v) => v < 50, (v) => `${v} ms`);
  const importLarge = (report.import.large ?? report.import.main) as { ratio?: number } | undefined;
  check('import <= 2x slapadd', importLarge?.ratio, (v) => v <= 2, ratio);
  const scale = (report.scaling as Record<string, { dropPercent?: number; usersSmall?: number; usersLarge?: number }>).ispd;
  check(
    `< 10% drop ${scale?.usersSmall ?? '50000'} -> ${scale?.usersLarge ?? '500000'} users (target: 50,000 -> 500,000)`,
    scale?.dropPercent,
    (v) => v < 10,
    (v) => `${v}%`,
  );
  const failures = report.scenarios.reduce((sum, s) => sum + (s.ispd.failures || 0), 0);
  const wrongDns = report.correctness.dns.find((d) => d.server === 'ispd')?.wrong;
  check('ispd answers all right', report.scenarios.length && wrongDns !== undefined ? failures + wrongDns : undefined, (v) => v === 0, (v) => `${v} wrong`);
  return targets;
}

function fmt(value: number | undefined, digits = 0): string {
  return value === undefined || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits);
}

export function renderTable(report: Report): string {
  const lines: string[] = [];
  const main = report.dataset.main as { entries?: number; users?: number; zones?: number } | undefined;
  lines.push(
    `ispd benchmark — ${report.machine.cpus} CPUs (${report.machine.cpuModel}), node ${report.machine.node}, slapd ${report.machine.slapd}, ` +
      `pdns ${report.machine.pdns}, nsd ${report.machine.nsd}, dnsperf ${report.machine.dnsperf}`,
  );
  lines.push(
    `dataset: ${main?.entries ?? '?'} entries, ${main?.users ?? '?'} users, ${main?.zones ?? '?'} zones; ${report.options.rounds} alternated rounds of ` +
      `${report.options.duration} s (+${report.options.warmup} s warm-up); medians; ratio = ispd / reference`,
  );
  lines.push('');
  const header = ['scenario', 'reference', 'ispd', 'reference', 'ratio', 'ispd p50/p99 us', 'ref p50/p99 us', 'p99 ratio', 'failures i/r'];
  const rows: string[][] = [header];
  for (const s of report.scenarios) {
    rows.push([
      `${s.id} (${s.unit})`,
      s.reference,
      s.ispd.error && !Number.isFinite(s.ispd.value) ? 'error' : fmt(s.ispd.value),
      s.ref.error && !Number.isFinite(s.ref.value) ? 'error' : fmt(s.ref.value),
      fmt(s.ratio, 2),
      s.unit === 'qps' ? '-' : `${fmt(s.ispd.p50Us)}/${fmt(s.ispd.p99Us)}`,
      s.unit === 'qps' ? '-' : `${fmt(s.ref.p50Us)}/${fmt(s.ref.p99Us)}`,
      s.p99Ratio !== undefined ? fmt(s.p99Ratio, 2) : '-',
      `${fmt(s.ispd.failures)}/${fmt(s.ref.failures)}`,
    ]);
  }
  const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const row of rows) lines.push(row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
  lines.push('');
  lines.push('raw figures per run (ispd | reference):');
  for (const s of report.scenarios) {
    lines.push(`  ${s.id}: ${s.raw.ispd.map((m) => fmt(m.value)).join(' ')} | ${s.raw.reference.map((m) => fmt(m.value)).join(' ')}`);
  }
  lines.push('');
  for (const [name, value] of Object.entries(report.import)) {
    const v = value as Record<string, number>;
    lines.push(
      `import (${name}, ${v.entries} entries): ispd ${fmt(v.ispdSeconds, 1)} s${v.ispdNodeHeapMiB ? ` (only with node --max-old-space-size=${v.ispdNodeHeapMiB})` : ''}, ` +
        `slapadd -q ${fmt(v.slapaddQuickSeconds, 1)} s, ratio ${fmt(v.ratio, 2)}; on disk ispd ${fmt(v.ispdDbMiB)} MiB, mdb ${fmt(v.slapdDbMiB)} MiB`,
    );
  }
  for (const [name, value] of Object.entries(report.writeToDns)) {
    const v = value as Record<string, number | string>;
    lines.push(`write -> DNS (${name}, ${v.changes} changes): p50 ${v.p50Ms} ms, p99 ${v.p99Ms} ms, max ${v.maxMs} ms, failures ${v.failures}`);
  }
  for (const [store, ms] of Object.entries(report.ispdStartupMs)) lines.push(`ispd start-up (${store}): ${(ms / 1000).toFixed(1)} s until LDAP and DNS answer`);
  for (const [when, value] of Object.entries(report.memoryMiB)) {
    lines.push(`resident memory ${when}: ${Object.entries(value as Record<string, number>).map(([k, v]) => `${k} ${v} MiB`).join(', ')}`);
  }
  for (const [name, value] of Object.entries(report.scaling)) {
    const v = value as Record<string, number>;
    lines.push(
      `scaling ${name} postfix-8x8: ${fmt(v.opsPerSecSmall)} ops/s at ${v.usersSmall} users -> ${fmt(v.opsPerSecLarge)} ops/s at ${v.usersLarge} users ` +
        `(drop ${fmt(v.dropPercent, 1)}%), p99 ${fmt(v.p99UsSmall)} -> ${fmt(v.p99UsLarge)} us, failures ${v.failures}`,
    );
  }
  for (const a of report.amplification) lines.push(`DNS max amplification (UDP response/query octets): ${a.server} ${a.maxRatio}x (${a.maxResponseBytes}/${a.maxQueryBytes}, ${a.maxQuestion}; ${a.answered}/${a.queries} answered)`);
  for (const check of report.correctness.dns) lines.push(`DNS answers checked against the model: ${check.server} ${check.checked - check.wrong}/${check.checked} right${check.examples[0] ? ` (e.g. ${check.examples[0].slice(0, 200)})` : ''}`);
  lines.push('');
  lines.push('targets (issue 5):');
  for (const t of report.targets) lines.push(`  [${t.met === null ? ' ?  ' : t.met ? ' ok ' : 'MISS'}] ${t.target}: ${t.value}`);
  if (report.errors.length) {
    lines.push('');
    lines.push('errors:');
    for (const e of report.errors) lines.push(`  ${e.split('\n')[0]}`);
  }
  return lines.join('\n');
}

/** The JSON printed on stdout: everything but the per-run raw measures (those are in results.json). */
function compactReport(report: Report): unknown {
  return { ...report, scenarios: report.scenarios.map(({ raw, ...rest }) => ({ ...rest, runs: { ispd: raw.ispd.map((m) => m.value), reference: raw.reference.map((m) => m.value) } })), profile: undefined };
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`bench: ${error?.stack ?? error}\n`);
    process.exitCode = 1;
  });
}
