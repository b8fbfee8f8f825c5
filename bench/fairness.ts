// One client's heavy work must not starve everyone else (issue 13): the latency of ordinary clients — a
// Postfix-style lookup over LDAP, a DNS query over UDP — without load and while N connections run unindexed
// subtree searches ((cn=*a*), anonymous) back to back in another process (bench/scan-load.ts).
// Used by test/protocol/fairness.test.ts (which checks the bar: loaded p99 within 2x of unloaded) and runnable
// on its own for the figures:  node dist/bench/fairness.js [--users N] [--connections N] [--seconds S]

import { fork, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { PduFramer } from '../src/ldap/framing';
import { encodeQuery } from '../test/support/dns-query';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const ldapjsMessages = require('@ldapjs/messages');

export interface Stats {
  count: number;
  p50: number;
  p99: number;
  max: number;
  /** Requests that got no answer within the timeout (DNS: lost). */
  lost: number;
}

export interface Phase {
  ldap: Stats;
  dns: Stats;
}

export interface FairnessResult {
  unloaded: Phase;
  loaded: Phase;
  /** What the load process completed meanwhile. */
  load: { searches: number; entries: number; results: Record<string, number> };
}

const TIMEOUT_MS = 2000;
const DNS_TYPES: Record<string, number> = { A: 1, NS: 2, CNAME: 5, SOA: 6, MX: 15, TXT: 16, AAAA: 28 };

export function stats(samples: number[], lost = 0): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN);
  return { count: samples.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? NaN, lost };
}

/** Sequential anonymous lookups `(|(mailLocalAddress=%s)(mailAlias=%s))` on one connection, as Postfix does. */
async function ldapProbe(port: number, addresses: string[], until: number): Promise<Stats> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const framer = new PduFramer(64 * 1024 * 1024);
  let waiter: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    framer.push(chunk);
    for (let pdu = framer.next(); pdu; pdu = framer.next()) {
      // The SearchResultDone (application tag 5) ends a lookup; entries are only counted by the server.
      const opTagAt = 2 + (pdu[1]! & 0x80 ? pdu[1]! & 0x7f : 0) + 2 + pdu[3 + (pdu[1]! & 0x80 ? pdu[1]! & 0x7f : 0)]!;
      if (pdu[opTagAt] === 0x65) waiter?.();
    }
  });
  socket.on('error', () => undefined);
  const samples: number[] = [];
  let lost = 0;
  let id = 1;
  for (let i = 0; performance.now() < until; i++) {
    const address = addresses[i % addresses.length]!;
    const started = performance.now();
    const answered = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), TIMEOUT_MS);
      waiter = () => {
        clearTimeout(timer);
        resolve(true);
      };
      socket.write(new ldapjsMessages.SearchRequest({ messageId: id++, baseObject: 'o=ispman', scope: 'sub', filter: `(|(mailLocalAddress=${address})(mailAlias=${address}))`, attributes: ['mailRoutingAddress', 'mailForwardingAddress'] }).toBer().buffer);
    });
    waiter = undefined;
    if (answered) samples.push(performance.now() - started);
    else lost++;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  socket.destroy();
  return stats(samples, lost);
}

/** Sequential DNS queries over UDP; an answer not back within the timeout counts as lost. */
async function dnsProbe(port: number, queries: Array<{ name: string; type: number }>, until: number): Promise<Stats> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  let waiter: ((id: number) => void) | undefined;
  socket.on('message', (message: Buffer) => waiter?.(message.readUInt16BE(0)));
  const samples: number[] = [];
  let lost = 0;
  for (let i = 0; performance.now() < until; i++) {
    const query = queries[i % queries.length]!;
    const id = i & 0xffff;
    const started = performance.now();
    const answered = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), TIMEOUT_MS);
      waiter = (got) => {
        if (got !== id) return;
        clearTimeout(timer);
        resolve(true);
      };
      socket.send(encodeQuery(query.name, query.type, { id, flags: 0 }), port, '127.0.0.1');
    });
    waiter = undefined;
    if (answered) samples.push(performance.now() - started);
    else lost++;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  socket.close();
  return stats(samples, lost);
}

async function phase(ldapPort: number, dnsPort: number, addresses: string[], queries: Array<{ name: string; type: number }>, seconds: number): Promise<Phase> {
  const until = performance.now() + seconds * 1000;
  const [ldap, dns] = await Promise.all([ldapProbe(ldapPort, addresses, until), dnsProbe(dnsPort, queries, until)]);
  return { ldap, dns };
}

export interface FairnessOptions {
  ldapPort: number;
  dnsPort: number;
  /** Mail addresses to look up (bench dataset postfix.tsv, first column). */
  addresses: string[];
  /** "name TYPE" lines (bench dataset dns-queries.txt). */
  dnsQueries: string[];
  /** Seconds per phase. */
  seconds: number;
  connections: number;
  filter?: string;
}

/** Unloaded phase, then the same probes while the scan load runs in a child process. */
export async function measureFairness(options: FairnessOptions): Promise<FairnessResult> {
  const queries = options.dnsQueries
    .map((line) => line.trim().split(/\s+/))
    .filter(([name, type]) => name && DNS_TYPES[type ?? ''] !== undefined)
    .map(([name, type]) => ({ name: name!, type: DNS_TYPES[type!]! }));
  // Warm both paths first (JIT, caches), then measure without load.
  await phase(options.ldapPort, options.dnsPort, options.addresses, queries, 1);
  const unloaded = await phase(options.ldapPort, options.dnsPort, options.addresses, queries, options.seconds);
  const load = startLoad(options.ldapPort, options.connections, options.filter ?? '(cn=*a*)');
  try {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const loaded = await phase(options.ldapPort, options.dnsPort, options.addresses, queries, options.seconds);
    return { unloaded, loaded, load: await stopLoad(load) };
  } finally {
    if (load.exitCode === null) load.kill('SIGKILL');
  }
}

function startLoad(port: number, connections: number, filter: string): ChildProcess {
  return fork(path.join(__dirname, 'scan-load.js'), [String(port), String(connections), filter], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
}

function stopLoad(child: ChildProcess): Promise<FairnessResult['load']> {
  return new Promise((resolve) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', () => {
      try {
        resolve(JSON.parse(out));
      } catch {
        resolve({ searches: 0, entries: 0, results: {} });
      }
    });
    child.kill('SIGTERM');
  });
}

export function formatFairness(result: FairnessResult): string {
  const row = (what: string, u: Stats, l: Stats): string =>
    `${what.padEnd(22)} unloaded p50 ${u.p50.toFixed(2)} ms p99 ${u.p99.toFixed(2)} ms (${u.count}, lost ${u.lost}) | loaded p50 ${l.p50.toFixed(2)} ms p99 ${l.p99.toFixed(2)} ms (${l.count}, lost ${l.lost}) | p99 ratio ${(l.p99 / u.p99).toFixed(2)}x`;
  return [
    row('Postfix lookup (LDAP)', result.unloaded.ldap, result.loaded.ldap),
    row('DNS query (UDP)', result.unloaded.dns, result.loaded.dns),
    `load: ${result.load.searches} unindexed searches completed, ${result.load.entries} entries, results ${JSON.stringify(result.load.results)}`,
  ].join('\n');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const arg = (name: string, fallback: number): number => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : fallback;
  };
  const users = arg('--users', 8000);
  const { generateDataset } = await import('./generate');
  const { startIspd } = await import('../test/support/ispd-process');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ispd-fairness-'));
  try {
    const meta = generateDataset(dir, { domains: Math.max(1, Math.round(users / 400)), usersPerDomain: Math.min(400, users), seed: 13 });
    const extra = argv.includes('--config') ? argv.slice(argv.indexOf('--config') + 1) : [];
    const ispd = await startIspd({ ldif: meta.files.ldif, config: ['--set', 'ldap.anonymousRead=true', ...extra], startTimeoutMs: 120_000 });
    try {
      const result = await measureFairness({
        ldapPort: ispd.ldapPort,
        dnsPort: ispd.dnsPort,
        addresses: fs.readFileSync(meta.files.postfix, 'utf8').split('\n').filter(Boolean).map((l) => l.split('\t')[0]!),
        dnsQueries: fs.readFileSync(meta.files.dnsQueries, 'utf8').split('\n'),
        seconds: arg('--seconds', 8),
        connections: arg('--connections', 100),
      });
      console.log(`${meta.entries} entries, ${arg('--connections', 100)} connections of (cn=*a*)\n${formatFairness(result)}`);
    } finally {
      await ispd.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
