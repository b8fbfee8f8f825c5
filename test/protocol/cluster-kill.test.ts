// A worker's death must not take the service down (issue 13): with writes in flight, LDAP workers and the
// primary are killed (SIGKILL) at random moments. Throughout, the service answers LDAP and DNS (a question
// that met the killed process is asked once more); every acknowledged write is there afterwards; the
// store passes SQLite's integrity check. When the primary is killed its workers drain and exit (no
// unhandled error), and the test starts ispd again on the same store.
// Clients: ldapts (writes, LDAP probes, the final check), raw UDP DNS questions decoded with dns2.

import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { Packet } from 'dns2';
import { Client } from 'ldapts';
import { describeResult, runClient } from '../support/clients';
import { encodeQuery } from '../support/dns-query';
import { ISPD_CLI } from '../support/ispd-process';
import { pickFreePort, waitForTcpPort } from '../support/ports';
import { DEMO_LDIF, makeTempDir, startServerProcess, type ServerProcess } from '../support/server-process';

const ADMIN_DN = 'uid=ispman,ou=admins,o=ispman';
const ADMIN_PASSWORD = 'ispman-admin';
const ZONE_BRANCH = 'ou=aRecord,dc=example,dc=com,ou=DNS,o=ispman';
const PLAIN_BRANCH = 'ispmanDomain=example.com,o=ispman';
const ROUNDS = Number(process.env.ISPD_KILL_ROUNDS ?? 24);
/** Every this many rounds the primary is killed instead of a worker. */
const PRIMARY_EVERY = 6;
const WRITERS = 3;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const random = (min: number, max: number) => min + Math.floor(Math.random() * (max - min));

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

const alive = (pid: number) => {
  try {
    // a zombie is dead for our purposes
    return !/^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

/** One UDP question; true when a NOERROR answer with the record came back within timeoutMs. */
function dnsAnswers(port: number, name: string, timeoutMs: number): Promise<boolean> {
  const socket = dgram.createSocket('udp4');
  const id = random(1, 0xffff);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('message', (m) => {
      if (m.readUInt16BE(0) !== id) return;
      const p = Packet.parse(m);
      done(p.header.rcode === 0 && p.answers.length > 0);
    });
    socket.on('error', () => done(false));
    socket.send(encodeQuery(name, 1, { id, flags: 0 }), port, '127.0.0.1');
  });
}

async function ldapAnswers(url: string, timeoutMs: number): Promise<boolean> {
  const client = new Client({ url, timeout: timeoutMs, connectTimeout: timeoutMs });
  try {
    const { searchEntries } = await client.search(PLAIN_BRANCH, { scope: 'base', attributes: ['ispmanDomain'] });
    return searchEntries.length === 1;
  } catch {
    return false;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

/** How many times an LDAP worker said it listens (each replacement adds one). */
const listeningLines = (output: string) => output.split('"msg":"ldap: listening"').length - 1;

interface Ispd {
  proc: ServerProcess;
  pid: number;
}

describe('protocol: killing LDAP workers and the primary during writes (ispd process, ldapts, UDP DNS)', function () {
  this.timeout(20 * 60_000);
  const dir = makeTempDir('cluster-kill');
  const db = path.join(dir, 'ispd.sqlite');
  let ports: { ldap: number; dns: number; metrics: number };
  let ispd: Ispd | null = null;
  const outputs: string[] = [];

  const start = async (): Promise<Ispd> => {
    const proc = await startServerProcess({
      executable: process.execPath,
      args: [
        ISPD_CLI,
        'serve',
        '--db',
        db,
        '--ldap',
        `127.0.0.1:${ports.ldap}`,
        '--dns',
        `127.0.0.1:${ports.dns}`,
        '--metrics',
        `127.0.0.1:${ports.metrics}`,
        '--set',
        'ldap.workers=2',
        '--set',
        'ldap.anonymousRead=true',
        '--set',
        'ldap.sizeLimit=0',
        '--set',
        'ldap.shutdownGraceSeconds=2',
      ],
      host: '127.0.0.1',
      port: ports.ldap,
      startTimeoutMs: 30_000,
      cwd: dir,
    });
    const started = Date.now();
    while (!/"msg":"ready"/.test(proc.output()) && Date.now() - started < 30_000) await sleep(100);
    assert.match(proc.output(), /"msg":"ready"/, proc.output());
    await waitForTcpPort('127.0.0.1', ports.dns, 10_000);
    return { proc, pid: proc.child.pid! };
  };

  before(async () => {
    const load = await runClient(process.execPath, [ISPD_CLI, 'import', '--db', db, DEMO_LDIF], { timeoutMs: 60_000 });
    assert.equal(load.code, 0, describeResult(load));
    ports = { ldap: await pickFreePort(), dns: await pickFreePort({ udp: true }), metrics: await pickFreePort() };
    ispd = await start();
  });

  after(async () => {
    if (ispd) {
      const workers = childrenOf(ispd.pid);
      await ispd.proc.stop(10_000);
      for (const w of workers) if (alive(w)) process.kill(w, 'SIGKILL');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`${ROUNDS} rounds of SIGKILL (workers, and every ${PRIMARY_EVERY}th round the primary): the service answers, no acknowledged write is lost, the store is intact`, async () => {
    const url = `ldap://127.0.0.1:${ports.ldap}`;
    const acked: Array<{ dn: string; zone: boolean; name: string }> = [];
    let unknownOutcome = 0;
    let failedWrites = 0;
    let stop = false;
    /** While the primary is down (killed, until the test has started it again) nothing is expected to answer. */
    let primaryDown = false;
    const gaps: Array<{ what: string; at: number }> = [];
    let probes = 0;
    let firstTryMisses = 0;

    const writer = async (w: number) => {
      let n = 0;
      let client: Client | null = null;
      while (!stop) {
        try {
          if (!client) {
            client = new Client({ url, timeout: 5000, connectTimeout: 2000 });
            await client.bind(ADMIN_DN, ADMIN_PASSWORD);
          }
        } catch {
          await client?.unbind().catch(() => undefined);
          client = null;
          await sleep(50);
          continue;
        }
        n += 1;
        const zone = n % 2 === 0;
        const name = `k${w}x${n}`;
        const dn = zone ? `relativeDomainName=${name},${ZONE_BRANCH}` : `ou=${name},${PLAIN_BRANCH}`;
        const attributes: Record<string, string | string[]> = zone
          ? { objectClass: ['top', 'dNSZone'], relativeDomainName: name, zoneName: 'example.com', aRecord: `198.51.100.${n % 250}` }
          : { objectClass: 'ispmanBranch', ou: name };
        try {
          await client.add(dn, attributes);
          acked.push({ dn, zone, name });
        } catch (err) {
          // A connection that died with the process: the write may or may not have committed.
          if (/closed|ECONNRESET|EPIPE|timeout|socket/i.test(String((err as Error).message))) unknownOutcome += 1;
          else {
            failedWrites += 1;
            if (failedWrites < 5) console.log(`      write refused: ${(err as Error).message}`);
          }
          await client.unbind().catch(() => undefined);
          client = null;
        }
      }
      await client?.unbind().catch(() => undefined);
    };

    // Every 100 ms a new LDAP connection searches and a DNS question is asked; a miss is asked once more
    // (it may have met the killed process), a second miss is a gap in the service.
    const prober = async () => {
      while (!stop) {
        if (!primaryDown) {
          probes += 1;
          for (const [what, ask] of [
            ['ldap', () => ldapAnswers(url, 1500)],
            ['dns', () => dnsAnswers(ports.dns, 'www.example.com', 700)],
          ] as const) {
            if (await ask()) continue;
            if (primaryDown) break;
            firstTryMisses += 1;
            if (!(await ask()) && !primaryDown) gaps.push({ what, at: Date.now() });
          }
        }
        await sleep(100);
      }
    };

    const running = [...Array.from({ length: WRITERS }, (_, w) => writer(w)), prober()];
    let workerKills = 0;
    let primaryKills = 0;
    try {
      for (let round = 1; round <= ROUNDS; round++) {
        await sleep(random(200, 1500));
        const current = ispd!;
        if (round % PRIMARY_EVERY === 0) {
          const workers = childrenOf(current.pid);
          primaryDown = true;
          process.kill(current.pid, 'SIGKILL');
          primaryKills += 1;
          // The workers notice, drain and exit by themselves.
          const deadline = Date.now() + 20_000;
          while (workers.some(alive) && Date.now() < deadline) await sleep(100);
          const left = workers.filter(alive);
          outputs.push(current.proc.output());
          assert.deepEqual(left, [], `workers still running 20 s after the primary was killed\n${current.proc.output().slice(-4000)}`);
          ispd = await start();
          primaryDown = false;
        } else {
          const workers = childrenOf(current.pid).filter(alive);
          assert.equal(workers.length, 2, `two workers before round ${round}\n${current.proc.output().slice(-4000)}`);
          const listening = listeningLines(current.proc.output());
          process.kill(workers[random(0, workers.length)], 'SIGKILL');
          workerKills += 1;
          // replaced: a new worker listens, and the primary is still there
          const deadline = Date.now() + 20_000;
          while (listeningLines(current.proc.output()) === listening && alive(current.pid) && Date.now() < deadline) await sleep(100);
          assert.ok(alive(current.pid), `the primary is alive after round ${round}\n${current.proc.output().slice(-4000)}`);
          assert.equal(childrenOf(current.pid).filter(alive).length, 2, `the worker was replaced in round ${round}`);
        }
      }
      // let the last replacement settle, with writes still going
      await sleep(1500);
    } finally {
      stop = true;
      await Promise.all(running);
    }
    outputs.push(ispd!.proc.output());
    const all = outputs.join('\n');
    // A handled send failure is logged as a warning; a fatal line or a bare stack trace is a process that died.
    const crashes = all.split('\n').filter((line) => /"level":"fatal"|uncaught|unhandled|^\s+at |^\w*Error\b/i.test(line));
    const handled = all.split('\n').filter((line) => line.includes('message to a worker not sent')).length;
    console.log(
      `      rounds ${ROUNDS} (${workerKills} workers, ${primaryKills} primary), acknowledged writes ${acked.length}, unknown outcome ${unknownOutcome}, refused ${failedWrites}; ` +
        `probes ${probes}, first-try misses ${firstTryMisses}, gaps ${gaps.length}; sends to dead workers handled ${handled}`,
    );
    assert.deepEqual(crashes.slice(0, 20), [], 'no process died on an unhandled error');
    assert.deepEqual(gaps, [], 'the service answered throughout (a second question after a miss)');
    assert.equal(failedWrites, 0, 'no write was refused');
    assert.ok(acked.length > ROUNDS * 5, `writes went on during the rounds (${acked.length})`);

    // Every acknowledged write is there: over LDAP (one subtree search per branch) and in DNS.
    const client = new Client({ url, timeout: 30_000 });
    await client.bind(ADMIN_DN, ADMIN_PASSWORD);
    const found = new Set<string>();
    for (const [base, filter] of [
      [ZONE_BRANCH, '(relativeDomainName=k*)'],
      [PLAIN_BRANCH, '(&(objectClass=ispmanBranch)(ou=k*))'],
    ]) {
      const { searchEntries } = await client.search(base, { scope: 'sub', filter, attributes: ['1.1'], paged: { pageSize: 1000 } });
      for (const e of searchEntries) found.add(e.dn.toLowerCase().replace(/,\s+/g, ','));
    }
    await client.unbind();
    const missing = acked.filter((a) => !found.has(a.dn.toLowerCase()));
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} acknowledged writes missing`);
    for (const a of acked.filter((x) => x.zone).slice(-20)) {
      assert.ok(await dnsAnswers(ports.dns, `${a.name}.example.com`, 2000), `DNS answers ${a.name}.example.com`);
    }

    // The store is intact (SQLite's own check, with ispd stopped).
    const workers = childrenOf(ispd!.pid);
    await ispd!.proc.stop(15_000);
    for (const w of workers) assert.ok(!alive(w), 'workers exit with the primary');
    ispd = null;
    const check = new Database(db, { readonly: true });
    try {
      assert.deepEqual(check.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
    } finally {
      check.close();
    }
  });
});
