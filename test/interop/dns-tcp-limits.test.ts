// Issue 13: DNS over TCP cannot be held by one address. 600 connections from 127.0.0.1 each dribble one byte
// of a message every 500 ms (re-arming any idle timer) and reconnect when closed; meanwhile dig +tcp and an
// AXFR from other loopback addresses (127.0.0.2, 127.0.0.3) must succeed, and the latency of a TCP client
// there is printed next to the unloaded figure. The dribblers must be refused (per-address cap) or cut off
// (message deadline), which /metrics counts.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { describeResult, requirePrograms, runClient } from '../support/clients';
import { encodeQuery } from '../support/dns-query';
import { startIspd, type IspdHandle } from '../support/ispd-process';

const MESSAGE_SECONDS = 2;
const PER_ADDRESS = 32;

/** One query over a fresh TCP connection from `localAddress` (a resolver's retry after TC); resolves with the ms taken. */
function tcpQuery(port: number, localAddress: string, name: string, type: number): Promise<{ ms: number; answer: Buffer }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no TCP answer from ${localAddress} within 3 s`));
    }, 3000);
    let got = Buffer.alloc(0);
    socket.on('connect', () => {
      const q = encodeQuery(name, type, { id: 7 });
      const frame = Buffer.alloc(2 + q.length);
      frame.writeUInt16BE(q.length, 0);
      q.copy(frame, 2);
      socket.write(frame);
    });
    socket.on('data', (chunk) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, answer: got.subarray(2, 2 + got.readUInt16BE(0)) });
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
};

/**
 * The attacker, in its own process (its 600 sockets must not slow the measuring client down): connections from
 * 127.0.0.1 that each send one byte of a 255-octet message every 500 ms and reconnect 200 ms after being closed.
 * On SIGTERM it prints what happened to its connections as JSON.
 */
const DRIBBLER = `
const net = require('node:net');
const [port, count] = process.argv.slice(1).map(Number);
const stats = { refused: 0, cut: 0, longestHeldMs: 0 };
let stopped = false;
function open() {
  if (stopped) return;
  const socket = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.1' });
  let connectedAt = 0, sent = 0, timer;
  socket.on('connect', () => {
    connectedAt = Date.now();
    const drip = () => { socket.write(Buffer.from([sent === 0 ? 0 : sent === 1 ? 255 : 0])); sent++; };
    drip();
    timer = setInterval(drip, 500);
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    clearInterval(timer);
    if (stopped) return;
    if (connectedAt) {
      const held = Date.now() - connectedAt;
      if (held < 300) stats.refused++;
      else { stats.cut++; stats.longestHeldMs = Math.max(stats.longestHeldMs, held); }
    }
    setTimeout(open, 200);
  });
}
for (let i = 0; i < count; i++) open();
process.on('SIGTERM', () => { stopped = true; process.stdout.write(JSON.stringify(stats)); process.exit(0); });
`;

interface DribbleStats {
  refused: number;
  cut: number;
  longestHeldMs: number;
}

function startDribblers(port: number, count: number): { stop(): Promise<DribbleStats> } {
  const child = spawn(process.execPath, ['-e', DRIBBLER, String(port), String(count)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return {
    stop: () =>
      new Promise((resolve, reject) => {
        child.once('exit', () => {
          try {
            resolve(JSON.parse(out) as DribbleStats);
          } catch {
            reject(new Error(`dribbler output: ${out}`));
          }
        });
        child.kill('SIGTERM');
      }),
  };
}

describe('interop: DNS over TCP under a one-address dribble attack (dig, ispd process)', function () {
  this.timeout(120000);
  let ispd: IspdHandle;

  before(async function () {
    requirePrograms(this, 'dig');
    ispd = await startIspd({
      config: [
        '--set', `dns.tcpMessageSeconds=${MESSAGE_SECONDS}`,
        '--set', `dns.tcpMaxConnectionsPerAddress=${PER_ADDRESS}`,
        '--set', 'dns.allowTransfer=127.0.0.0/8',
        '--set', 'ldap.workers=1',
      ],
    });
  });

  after(async () => {
    await ispd?.stop();
  });

  async function dig(source: string, ...args: string[]): Promise<string> {
    const r = await runClient('dig', ['@127.0.0.1', '-p', String(ispd.dnsPort), '-b', source, '+norec', '+tries=1', '+time=3', ...args], { timeoutMs: 20000 });
    assert.equal(r.code, 0, describeResult(r));
    return r.stdout;
  }

  async function latencies(source: string, n: number): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const { ms, answer } = await tcpQuery(ispd.dnsPort, source, 'www.example.com', 1);
      assert.equal(answer[3] & 0x0f, 0, 'NOERROR');
      assert.ok(answer.readUInt16BE(6) >= 1, 'an answer record');
      out.push(ms);
    }
    return out;
  }

  it('600 dribbling connections from one address are refused or cut off; dig +tcp and AXFR from other addresses still work', async () => {
    await latencies('127.0.0.2', 50); // warm-up
    const unloaded = await latencies('127.0.0.2', 300);
    const dribblers = startDribblers(ispd.dnsPort, 600);
    let stats: DribbleStats | undefined;
    try {
      // Let the attack settle past one message deadline, so that the held slots have been cut and retaken.
      await new Promise((r) => setTimeout(r, (MESSAGE_SECONDS + 1) * 1000));
      const loaded = await latencies('127.0.0.2', 300);
      const tcp = await dig('127.0.0.2', '+tcp', 'www.example.com', 'A');
      assert.match(tcp, /status: NOERROR/);
      assert.match(tcp, /www\.example\.com\.\s+\d+\s+IN\s+A\s+192\.0\.2\.10/);
      const axfr = await dig('127.0.0.3', 'example.com', 'AXFR');
      assert.equal(axfr.split('\n').filter((l) => /\sSOA\s/.test(l)).length, 2, `AXFR framed by two SOA records:\n${axfr}`);
      stats = await dribblers.stop();
      console.log(
        `      TCP query (connect + answer) from 127.0.0.2: unloaded p50 ${percentile(unloaded, 50).toFixed(2)} ms, p99 ${percentile(unloaded, 99).toFixed(2)} ms; ` +
          `with 600 dribblers p50 ${percentile(loaded, 50).toFixed(2)} ms, p99 ${percentile(loaded, 99).toFixed(2)} ms ` +
          `(dribblers refused ${stats.refused}, cut off ${stats.cut}, longest held ${stats.longestHeldMs} ms)`,
      );
    } finally {
      if (!stats) await dribblers.stop().catch(() => undefined);
    }
    assert.ok(stats.refused > 0, 'connections past the per-address cap are refused');
    assert.ok(stats.cut > 0, 'connections that never complete a message are cut off');
    assert.ok(stats.longestHeldMs < (MESSAGE_SECONDS + 1.5) * 1000, `a dribbler held a slot for ${stats.longestHeldMs} ms`);
    const metrics = await fetch(`http://127.0.0.1:${ispd.metricsPort}/metrics`).then((r) => r.text());
    const count = (reason: string) => Number(new RegExp(`ispd_dns_tcp_closed_total\\{reason="${reason}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
    assert.ok(count('perAddressLimit') > 0, metrics);
    assert.ok(count('messageDeadline') > 0, metrics);
  });
});
