// LDAP worker processes answer DNS over UDP on the primary's socket (dns.workers, src/cluster.ts); while they
// do, the primary does not read it and answers over TCP. Which worker reads a datagram is the kernel's choice,
// so the tests pick it: every other process of the service is stopped with SIGSTOP while one is asked (a
// stopped process reads nothing; the one left must answer).
// Clients: dig and ldapmodify (Debian), raw UDP packets for the 0x20 spelling; decoded with dns2.

import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import * as fs from 'node:fs';
import { Packet } from 'dns2';
import { describeResult, requirePrograms, runClient } from '../support/clients';
import { startIspd, type IspdHandle } from '../support/ispd-process';
import { encodeQuery } from '../support/dns-query';

const ADMIN_DN = 'uid=ispman,ou=admins,o=ispman';
const ADMIN_PASSWORD = 'ispman-admin';
const WWW_DN = 'relativeDomainName=www,aRecord=192.0.2.10,ou=aRecord,dc=example,dc=com,ou=DNS,o=ispman';

/** Children of a process (from /proc: the fourth field of stat is the parent). */
function childrenOf(pid: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[1] === String(pid);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** The ispd primary this test started: our child whose command line names the DNS port. */
function primaryPid(dnsPort: number): number {
  const pid = childrenOf(process.pid).find((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`127.0.0.1:${dnsPort}`);
    } catch {
      return false;
    }
  });
  assert.ok(pid, 'the ispd primary process');
  return pid;
}

/** One UDP question exactly as given (case kept); resolves with the raw answer, or null after timeoutMs. */
function ask(port: number, name: string, qtype: number, timeoutMs = 2000): Promise<Buffer | null> {
  const socket = dgram.createSocket('udp4');
  const id = Math.floor(Math.random() * 0xffff);
  return new Promise((resolve) => {
    const done = (m: Buffer | null) => {
      clearTimeout(timer);
      socket.close();
      resolve(m);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    socket.on('message', (m) => {
      if (m.readUInt16BE(0) === id) done(m);
    });
    socket.send(encodeQuery(name, qtype, { id, flags: 0 }), port, '127.0.0.1');
  });
}

async function digShort(port: number, name: string, type: string, transport: 'udp' | 'tcp' = 'udp'): Promise<string[]> {
  const args = ['@127.0.0.1', '-p', String(port), '+norec', '+tries=1', '+time=3', '+short', name, type];
  if (transport === 'tcp') args.push('+tcp');
  const r = await runClient('dig', args, { timeoutMs: 15000 });
  assert.equal(r.code, 0, describeResult(r));
  return r.stdout.split('\n').filter(Boolean).sort();
}

/** Runs fn with every process in `stopped` halted (SIGSTOP), resuming them whatever happens. */
async function withStopped<T>(stopped: number[], fn: () => Promise<T>): Promise<T> {
  for (const pid of stopped) process.kill(pid, 'SIGSTOP');
  try {
    return await fn();
  } finally {
    for (const pid of stopped) process.kill(pid, 'SIGCONT');
  }
}

describe('interop: LDAP worker processes answer DNS over UDP (ispd process, dig, ldapmodify)', function () {
  this.timeout(90000);
  let ispd: IspdHandle;
  let primary: number;
  let workers: number[];

  before(async function () {
    requirePrograms(this, 'dig', 'ldapmodify');
    ispd = await startIspd({ config: ['--set', 'ldap.workers=2', '--set', 'ldap.anonymousRead=true'] });
    // LDAP accepts as soon as one worker listens; the primary says "ready" when all of them are (zones loaded).
    const started = Date.now();
    while (!/"msg":"ready"/.test(ispd.output()) && Date.now() - started < 30000) await new Promise((r) => setTimeout(r, 100));
    primary = primaryPid(ispd.dnsPort);
    workers = childrenOf(primary);
    assert.equal(workers.length, 2, 'two LDAP workers');
  });

  after(async () => {
    for (const pid of [primary, ...(workers ?? [])]) {
      try {
        if (pid) process.kill(pid, 'SIGCONT');
      } catch {
        // already gone
      }
    }
    await ispd?.stop();
  });

  it('each worker answers alone, echoing the question as the client spelled it (0x20)', async () => {
    for (const worker of workers) {
      const others = [primary, ...workers.filter((w) => w !== worker)];
      const answer = await withStopped(others, () => ask(ispd.dnsPort, 'wWw.ExAmPlE.cOm', 1));
      assert.ok(answer, `worker ${worker} answered while the primary and the other worker were stopped`);
      const packet = Packet.parse(answer);
      assert.equal(packet.header.rcode, 0);
      assert.equal(packet.header.aa, 1);
      assert.equal(packet.questions[0].name, 'wWw.ExAmPlE.cOm', 'the question as sent');
      assert.deepEqual(packet.answers.map((a: { address?: string }) => a.address), ['192.0.2.10']);
      // the same question again from the worker's answer cache, spelled otherwise
      const again = await withStopped(others, () => ask(ispd.dnsPort, 'WWW.example.COM', 1));
      assert.ok(again);
      assert.equal(Packet.parse(again).questions[0].name, 'WWW.example.COM');
      assert.deepEqual(Packet.parse(again).answers.map((a: { address?: string }) => a.address), ['192.0.2.10']);
    }
  });

  it('the primary leaves UDP to the workers: with both stopped a query waits, and is answered once they run', async () => {
    const pending = withStopped(workers, () => ask(ispd.dnsPort, 'www.example.com', 1, 1000));
    assert.equal(await pending, null, 'no answer while only the primary runs');
    // the question left in the socket's queue is read by a worker now; a new one is answered too
    assert.ok(await ask(ispd.dnsPort, 'www.example.com', 1), 'answered once the workers run again');
    // the primary still answers over TCP alone
    assert.deepEqual(await withStopped(workers, () => digShort(ispd.dnsPort, 'www.example.com', 'A', 'tcp')), ['192.0.2.10']);
  });

  it('an ldapmodify is in the next answer of every process: the worker that wrote, the other one, the primary (TCP)', async () => {
    const transport = (pid: number) => (pid === primary ? 'tcp' : 'udp');
    // cached everywhere first, so a stale cache would show
    for (const pid of [primary, ...workers]) {
      const others = [primary, ...workers].filter((p) => p !== pid);
      assert.deepEqual(await withStopped(others, () => digShort(ispd.dnsPort, 'www.example.com', 'A', transport(pid))), ['192.0.2.10']);
    }
    const ldif = `dn: ${WWW_DN}\nchangetype: modify\nadd: aRecord\naRecord: 192.0.2.77\n`;
    const mod = await runClient('ldapmodify', ['-x', '-H', ispd.ldapUrl, '-D', ADMIN_DN, '-w', ADMIN_PASSWORD], { input: ldif, timeoutMs: 15000 });
    assert.equal(mod.code, 0, describeResult(mod));
    for (const pid of [...workers, primary]) {
      const others = [primary, ...workers].filter((p) => p !== pid);
      assert.deepEqual(await withStopped(others, () => digShort(ispd.dnsPort, 'www.example.com', 'A', transport(pid))), ['192.0.2.10', '192.0.2.77'], `process ${pid}`);
    }
  });

  it('a worker that dies is replaced, and its successor answers DNS too', async () => {
    const [victim, survivor] = workers;
    process.kill(victim, 'SIGKILL');
    let successor: number | undefined;
    const started = Date.now();
    while (!successor && Date.now() - started < 30000) {
      await new Promise((r) => setTimeout(r, 200));
      successor = childrenOf(primary).find((p) => p !== survivor && p !== victim);
    }
    assert.ok(successor, 'a new worker process');
    workers = [survivor, successor];
    // It answers once it has loaded its zones and reported ready: ask until then (bounded).
    let answer: Buffer | null = null;
    while (!answer && Date.now() - started < 30000) {
      answer = await withStopped([primary, survivor], () => ask(ispd.dnsPort, 'www.example.com', 1, 300));
      // the primary hands the socket over only when running: let it run between the tries
      if (!answer) await new Promise((r) => setTimeout(r, 300));
    }
    assert.ok(answer, 'the new worker answered');
    assert.deepEqual(Packet.parse(answer).answers.map((a: { address?: string }) => a.address).sort(), ['192.0.2.10', '192.0.2.77']);
  });
});
