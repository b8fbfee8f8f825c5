// Runs fuzz inputs against a listening ispd (primary + workers) over real sockets, in batches; after every
// batch: a valid LDAP search and valid DNS queries (UDP and TCP) must be answered correctly, the processes
// must be the same ones (none exited or was replaced), and the server must have logged no error (an
// unexpected exception in a handler is logged at level error). Every diagnostic text the server sends is
// checked for internal error text. Used by test/protocol/fuzz.test.ts (bounded) and test/fuzz/run.ts (long).

import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import { encodeQuery } from '../support/dns-query';
import { bool, cons, encode, enumeration, int, prim, str } from './ber';
import { dnsMessage, dnsTcpStream } from './dns-inputs';
import { ADMIN_BIND, ldapInput, UNBIND } from './ldap-inputs';
import { Rng } from './random';

export interface FuzzTarget {
  ldapPort: number;
  dnsPort: number;
  /** The primary's PID; its children are the workers. */
  pid: number;
  /** Everything the server printed so far (JSON log lines). */
  output(): string;
}

export interface FuzzOptions {
  inputs: number;
  seed: number;
  /** Inputs per batch (checks run after each). */
  batch: number;
  /** Connections in flight at once. */
  concurrency?: number;
  /** Called after each batch (progress). */
  onBatch?(report: FuzzReport): void;
  /** Where inputs that caused a fault are written (hex, one per line). */
  faultFile?: string;
  /** Stop after the batch during which this time (ms since the epoch) passes; the report says how far it got. */
  deadline?: number;
}

export interface FuzzReport {
  protocol: 'ldap' | 'dns';
  seed: number;
  inputs: number;
  kinds: Record<string, number>;
  /** Responses (LDAP PDUs, DNS messages) received. */
  responses: number;
  /** Connections the server had not closed 5 s after we finished sending (then dropped by us). */
  slowCloses: number;
  batches: number;
  faults: string[];
  pids: number[];
  rssStartMiB: number;
  /** After the first batch (warmed up: JIT, heap grown to its working size). */
  rssWarmMiB: number;
  rssEndMiB: number;
  ms: number;
}

/** What must never appear in a text the server sends: runtime and library error messages. */
export const INTERNAL_TEXT = /Cannot read prop|Cannot set prop|of undefined|of null|is not a function|is not iterable|is not defined|Expected 0x|TypeError|RangeError|ReferenceError|Maximum call stack|Encoding too long|Indefinite length not supported|at Object\.|\.js:\d+/;

// ---- processes ------------------------------------------------------------------------------------------

export function processTree(pid: number): number[] {
  const children: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return [pid, ...children.sort((a, b) => a - b)];
}

export function rssMiB(pids: number[]): number {
  let kib = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      kib += Number(m?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return Math.round(kib / 1024);
}

// ---- BER reading of responses ---------------------------------------------------------------------------

function readTlv(buf: Buffer, at: number): { tag: number; start: number; end: number } | null {
  if (at + 2 > buf.length) return null;
  const tag = buf[at];
  let len = buf[at + 1];
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > buf.length) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i];
    start += n;
  }
  return start + len <= buf.length ? { tag, start, end: start + len } : null;
}

/** The diagnosticMessage of every LDAPResult-shaped response in `stream`, and how many PDUs it held. */
function diagnostics(stream: Buffer): { texts: string[]; pdus: number } {
  const texts: string[] = [];
  let pdus = 0;
  for (let at = 0; ; ) {
    const msg = readTlv(stream, at);
    if (!msg) break;
    pdus++;
    at = msg.end;
    const id = readTlv(stream, msg.start);
    const op = id && readTlv(stream, id.end);
    if (!op || ![0x61, 0x65, 0x67, 0x69, 0x6b, 0x6d, 0x6f, 0x78].includes(op.tag)) continue;
    const code = readTlv(stream, op.start);
    const matched = code && readTlv(stream, code.end);
    const text = matched && readTlv(stream, matched.end);
    if (text) texts.push(stream.toString('utf8', text.start, text.end));
  }
  return { texts, pdus };
}

// ---- checks after a batch -------------------------------------------------------------------------------

function ldapSearchWorks(port: number): Promise<string | null> {
  // searchRequest "o=ispman", base scope, (objectClass=*): answered with the entry and success
  const fixed = encode(cons(0x30, int(5), cons(0x63, str('o=ispman'), enumeration(0), enumeration(0), int(0), int(0), bool(false), prim(0x87, 'objectClass'), cons(0x30))));
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => finish('no answer to a valid search within 5 s'), 5000);
    const finish = (problem: string | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(problem);
    };
    socket.on('error', (err) => finish(`valid search: ${err.message}`));
    socket.on('connect', () => socket.write(fixed));
    socket.on('data', (chunk) => {
      got = Buffer.concat([got, chunk]);
      for (let at = 0; ; ) {
        const msg = readTlv(got, at);
        if (!msg) break;
        at = msg.end;
        const id = readTlv(got, msg.start);
        const op = id && readTlv(got, id.end);
        if (op?.tag === 0x65) {
          const code = readTlv(got, op.start);
          const ok = code && got[code.start] === 0 && got.includes(Buffer.from('o=ispman'));
          finish(ok ? null : `valid search answered ${got.toString('hex')}`);
          return;
        }
      }
    });
  });
}

function dnsAnswerIsRight(m: Buffer, id: number): boolean {
  return m.readUInt16BE(0) === id && (m[2] & 0x80) !== 0 && (m[3] & 0x0f) === 0 && m.readUInt16BE(6) >= 1 && m.includes(Buffer.from([192, 0, 2, 10]));
}

function dnsUdpWorks(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const id = 0x5151;
    let tries = 0;
    const timer = setInterval(() => {
      if (++tries > 5) return finish('no answer to a valid UDP query');
      socket.send(encodeQuery('www.example.com', 1, { id }), port, '127.0.0.1');
    }, 400);
    const finish = (problem: string | null) => {
      clearInterval(timer);
      socket.close();
      resolve(problem);
    };
    socket.on('message', (m) => {
      if (m.readUInt16BE(0) === id) finish(dnsAnswerIsRight(m, id) ? null : `valid UDP query answered ${m.toString('hex')}`);
    });
    socket.bind(0, '127.0.0.1', () => socket.send(encodeQuery('www.example.com', 1, { id }), port, '127.0.0.1'));
  });
}

function dnsTcpWorks(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const id = 0x7272;
    const socket = net.connect({ host: '127.0.0.1', port });
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => finish('no answer to a valid TCP query within 5 s'), 5000);
    const finish = (problem: string | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(problem);
    };
    socket.on('error', (err) => finish(`valid TCP query: ${err.message}`));
    socket.on('connect', () => {
      const q = encodeQuery('www.example.com', 1, { id });
      socket.write(Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]));
    });
    socket.on('data', (chunk) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) {
        const m = got.subarray(2, 2 + got.readUInt16BE(0));
        finish(dnsAnswerIsRight(m, id) ? null : `valid TCP query answered ${m.toString('hex')}`);
      }
    });
  });
}

/** Server log lines at level error or fatal (pino: 50, 60) printed since `from`. */
function errorLines(output: string, from: number): string[] {
  return output
    .slice(from)
    .split('\n')
    .filter((l) => /"level":(50|60)/.test(l));
}

async function checkBatch(target: FuzzTarget, protocol: 'ldap' | 'dns', pids: number[], logFrom: number): Promise<string[]> {
  const faults: string[] = [];
  const problems = await Promise.all([ldapSearchWorks(target.ldapPort), dnsUdpWorks(target.dnsPort), dnsTcpWorks(target.dnsPort)]);
  for (const p of problems) if (p) faults.push(p);
  const now = processTree(target.pid);
  if (now.join(',') !== pids.join(',')) faults.push(`processes changed: ${pids.join(',')} → ${now.join(',')}`);
  for (const line of errorLines(target.output(), logFrom).slice(0, 5)) faults.push(`server logged an error during ${protocol} fuzzing: ${line.slice(0, 600)}`);
  return faults;
}

// ---- the runs ---------------------------------------------------------------------------------------------

function recordFault(opts: FuzzOptions, protocol: string, what: string, input?: Buffer): void {
  if (opts.faultFile) fs.appendFileSync(opts.faultFile, `${protocol}\t${what.replace(/\s+/g, ' ').slice(0, 300)}\t${input?.toString('hex') ?? ''}\n`);
}

/** One LDAP connection: [admin bind], the input, unbind, half-close; resolves with the bytes received. */
function ldapConnection(port: number, input: Buffer, asAdmin: boolean): Promise<{ received: Buffer; slow: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const parts: Buffer[] = [];
    let slow = false;
    const timer = setTimeout(() => {
      slow = true;
      socket.destroy();
    }, 5000);
    socket.on('data', (chunk) => parts.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ received: Buffer.concat(parts), slow });
    });
    socket.on('connect', () => {
      if (asAdmin) socket.write(ADMIN_BIND);
      socket.write(input);
      socket.end(UNBIND);
    });
  });
}

export async function fuzzLdap(target: FuzzTarget, opts: FuzzOptions): Promise<FuzzReport> {
  const rng = new Rng(opts.seed);
  const started = Date.now();
  const pids = processTree(target.pid);
  const report: FuzzReport = { protocol: 'ldap', seed: opts.seed, inputs: 0, kinds: {}, responses: 0, slowCloses: 0, batches: 0, faults: [], pids, rssStartMiB: rssMiB(pids), rssWarmMiB: 0, rssEndMiB: 0, ms: 0 };
  const concurrency = opts.concurrency ?? 32;
  let logFrom = target.output().length;
  while (report.inputs < opts.inputs && !(opts.deadline && Date.now() > opts.deadline)) {
    const batchEnd = Math.min(opts.inputs, report.inputs + opts.batch);
    const worker = async () => {
      while (report.inputs < batchEnd) {
        report.inputs++;
        const input = ldapInput(rng);
        report.kinds[input.kind] = (report.kinds[input.kind] ?? 0) + 1;
        const { received, slow } = await ldapConnection(target.ldapPort, input.bytes, input.asAdmin);
        if (slow) report.slowCloses++;
        const { texts, pdus } = diagnostics(received);
        report.responses += pdus;
        for (const text of texts) {
          if (INTERNAL_TEXT.test(text)) {
            const fault = `internal text sent to a client: ${JSON.stringify(text)}`;
            if (report.faults.length < 50) report.faults.push(fault);
            recordFault(opts, 'ldap', fault, input.bytes);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    report.batches++;
    for (const fault of await checkBatch(target, 'ldap', pids, logFrom)) {
      if (report.faults.length < 50) report.faults.push(`after ${report.inputs} inputs: ${fault}`);
      recordFault(opts, 'ldap', fault);
    }
    logFrom = target.output().length;
    if (report.batches === 1) report.rssWarmMiB = rssMiB(pids);
    opts.onBatch?.(report);
  }
  report.rssEndMiB = rssMiB(pids);
  report.ms = Date.now() - started;
  return report;
}

function dnsTcpConnection(port: number, chunks: Buffer[]): Promise<{ received: number; slow: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let bytes = 0;
    let slow = false;
    const timer = setTimeout(() => {
      slow = true;
      socket.destroy();
    }, 5000);
    socket.on('data', (chunk) => (bytes += chunk.length));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ received: bytes, slow });
    });
    socket.on('connect', async () => {
      for (const c of chunks) {
        if (socket.destroyed) break;
        socket.write(c);
        await new Promise((r) => setImmediate(r));
      }
      socket.end();
    });
  });
}

/** Datagrams sent per TCP connection: TCP costs a connection each, a datagram a few microseconds. */
const UDP_PER_TCP = 19;

export async function fuzzDns(target: FuzzTarget, opts: FuzzOptions): Promise<FuzzReport> {
  const rng = new Rng(opts.seed);
  const started = Date.now();
  const pids = processTree(target.pid);
  const report: FuzzReport = { protocol: 'dns', seed: opts.seed, inputs: 0, kinds: {}, responses: 0, slowCloses: 0, batches: 0, faults: [], pids, rssStartMiB: rssMiB(pids), rssWarmMiB: 0, rssEndMiB: 0, ms: 0 };
  // Two sources: 127.0.0.1 and 127.0.0.9 (the latter not exempt from RRL when the server is told so).
  const sockets = await Promise.all(['127.0.0.1', '127.0.0.9'].map((address) => new Promise<dgram.Socket>((resolve) => {
    const s = dgram.createSocket('udp4');
    s.on('message', (m) => {
      report.responses++;
      // A response we send must be a response: QR set, a full header.
      if (m.length < 12 || (m[2] & 0x80) === 0) {
        const fault = `not a response: ${m.toString('hex').slice(0, 200)}`;
        if (report.faults.length < 50) report.faults.push(fault);
        recordFault(opts, 'dns', fault);
      }
    });
    s.bind(0, address, () => resolve(s));
  })));
  const concurrency = opts.concurrency ?? 32;
  let logFrom = target.output().length;
  try {
    while (report.inputs < opts.inputs && !(opts.deadline && Date.now() > opts.deadline)) {
      const batchEnd = Math.min(opts.inputs, report.inputs + opts.batch);
      // One input in `UDP_PER_TCP + 1` is a TCP connection (framing mutations); the rest are datagrams, sent in
      // bursts between the connections.
      const tcpWorker = async () => {
        while (report.inputs < batchEnd) {
          report.inputs++;
          report.kinds.tcp = (report.kinds.tcp ?? 0) + 1;
          const { chunks } = dnsTcpStream(rng);
          const { slow } = await dnsTcpConnection(target.dnsPort, chunks);
          if (slow) report.slowCloses++;
          for (let i = 0; i < UDP_PER_TCP && report.inputs < batchEnd; i++) {
            report.inputs++;
            const { bytes, kind } = dnsMessage(rng);
            report.kinds[kind] = (report.kinds[kind] ?? 0) + 1;
            sockets[rng.int(2)].send(bytes, target.dnsPort, '127.0.0.1');
          }
          await new Promise((r) => setImmediate(r));
        }
      };
      await Promise.all(Array.from({ length: concurrency }, tcpWorker));
      await new Promise((r) => setTimeout(r, 50));
      report.batches++;
      for (const fault of await checkBatch(target, 'dns', pids, logFrom)) {
        if (report.faults.length < 50) report.faults.push(`after ${report.inputs} inputs: ${fault}`);
        recordFault(opts, 'dns', fault);
      }
      logFrom = target.output().length;
      if (report.batches === 1) report.rssWarmMiB = rssMiB(pids);
      opts.onBatch?.(report);
    }
  } finally {
    for (const s of sockets) s.close();
  }
  report.rssEndMiB = rssMiB(pids);
  report.ms = Date.now() - started;
  return report;
}
