// Memory is bounded per client and in total (issue 13), against a real `ispd serve` (default workers,
// 2,000 generated ISPMan users) over sockets, watching the server's resident memory (the main process and its
// workers, from /proc): clients that never read their answers are closed (ldap.writeTimeoutSeconds), an
// anonymous client cannot send more than ldap.maxPduBytesAnonymous, and distinct huge filters are not kept.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { generateDataset } from '../../bench/generate';
import { startIspd, type IspdHandle } from '../support/ispd-process';
import { makeTempDir } from '../support/server-process';
import { RawClient, request } from './ldap-tools';

const ADMIN = 'uid=ispman,ou=admins,o=ispman';

/** Resident memory of a process and its children (the LDAP workers), in bytes. */
function treeRss(pid: number): number {
  const pids = [pid];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  let kb = 0;
  for (const p of pids) {
    try {
      kb += Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // gone meanwhile
    }
  }
  return kb * 1024;
}

const MiB = 1024 * 1024;

async function metric(ispd: IspdHandle, pattern: RegExp): Promise<number> {
  let best = 0;
  for (let i = 0; i < 5; i++) {
    const text = await (await fetch(`http://127.0.0.1:${ispd.metricsPort}/metrics`)).text();
    best = Math.max(best, Number(pattern.exec(text)?.[1] ?? 0));
    if (best > 0) return best;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  return best;
}

describe('protocol: memory bounded per client and in total', function () {
  this.timeout(180_000);
  let ispd: IspdHandle | undefined;
  let dir: string | undefined;
  let adminPassword = '';

  before(async () => {
    dir = makeTempDir('memory');
    const meta = generateDataset(dir, { domains: 5, usersPerDomain: 400, seed: 13 });
    adminPassword = meta.passwords[0]!;
    ispd = await startIspd({ ldif: meta.files.ldif, config: ['--set', 'ldap.anonymousRead=true', '--set', 'ldap.writeTimeoutSeconds=3', '--set', 'ldap.sizeLimit=0'], startTimeoutMs: 120_000 });
  });

  after(async () => {
    await ispd?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('clients that pipeline searches and never read are closed after ldap.writeTimeoutSeconds; memory comes back', async () => {
    const before = treeRss(ispd!.pid);
    const sockets: net.Socket[] = [];
    let closed = 0;
    for (let c = 0; c < 60; c++) {
      const socket = net.connect({ host: '127.0.0.1', port: ispd!.ldapPort });
      socket.on('error', () => undefined);
      socket.once('close', () => closed++);
      socket.once('connect', () => {
        for (let i = 1; i <= 64; i++) socket.write(request.search(i, 'o=ispman', '(objectClass=posixAccount)'));
        socket.pause(); // never read
      });
      sockets.push(socket);
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const peak = treeRss(ispd!.pid);
    // Past the write timeout (3 s after its answers stopped moving, swept each second; on a busy machine the last
    // ones block a while after the first) the server has closed them; a paused socket only sees the
    // close once it reads what came before it, so read now.
    const closedBy = await (async () => {
      const deadline = Date.now() + 45_000;
      let counted = 0;
      while (counted < sockets.length && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        counted = await metric(ispd!, /ispd_ldap_protocol_errors_total\{reason="write_timeout"\} (\d+)/);
      }
      return counted;
    })();
    const after = treeRss(ispd!.pid);
    for (const socket of sockets) socket.resume();
    const deadline = Date.now() + 20_000;
    while (closed < sockets.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
    for (const socket of sockets) socket.destroy();
    console.log(`      RSS before ${(before / MiB).toFixed(0)} MiB, with 60 non-reading clients ${(peak / MiB).toFixed(0)} MiB (+${((peak - before) / MiB / 60).toFixed(2)} MiB each), after they were closed ${(after / MiB).toFixed(0)} MiB; closed by the server ${closedBy}/60`);
    // A client that was not closed would now read its answers and stay connected: every close is the server's.
    assert.equal(closed, sockets.length, 'the server closed every client that did not read');
    assert.ok(closedBy >= 1, 'counted in ispd_ldap_protocol_errors_total{reason="write_timeout"}');
    assert.ok(peak - before < 300 * MiB, `memory grew by ${((peak - before) / MiB).toFixed(0)} MiB`);
    // Before: 1.2 GiB here (each pipelined search held its rows while the client did not read).
    assert.ok(after - before < 400 * MiB, `memory grew by ${((after - before) / MiB).toFixed(0)} MiB`);
    assert.match(ispd!.output(), /client does not read its answers/);
    // Everyone else is served as before.
    const client = await RawClient.connect(ispd!.ldapPort);
    client.send(request.search(1, 'o=ispman', '(uid=u001_*)'));
    const answers = await client.until('SearchResultDone', 1);
    assert.equal(answers[answers.length - 1]!.status, 0);
    client.close();
  });

  it('an anonymous client may send 256 KiB at most; a bound one ldap.maxPduBytes', async () => {
    const big = `(description=${'x'.repeat(300 * 1024)})`;
    const anonymous = await RawClient.connect(ispd!.ldapPort);
    anonymous.send(request.search(1, 'o=ispman', big));
    const notice = await anonymous.next(10_000);
    await anonymous.closed;
    assert.equal(notice?.type, 'ExtensionResponse');
    assert.equal(notice?.status, 2, 'protocolError in a Notice of Disconnection');
    assert.match(notice?.diagnosticMessage ?? '', /exceeds the limit of 262144/);
    const bound = await RawClient.connect(ispd!.ldapPort);
    bound.send(request.bind(1, ADMIN, adminPassword));
    assert.equal((await bound.until('BindResponse', 1))[0]!.status, 0);
    bound.send(request.search(2, 'o=ispman', big));
    const done = await bound.until('SearchResultDone', 2, 30_000);
    assert.equal(done[done.length - 1]!.status, 0);
    bound.close();
  });

  it('distinct huge filters are not kept: 300 searches with distinct 1 MiB filters leave memory near where it was', async () => {
    const client = await RawClient.connect(ispd!.ldapPort);
    client.send(request.bind(1, ADMIN, adminPassword));
    assert.equal((await client.until('BindResponse', 1))[0]!.status, 0);
    const before = treeRss(ispd!.pid);
    for (let i = 0; i < 300; i++) {
      client.send(request.search(2 + i, 'o=ispman', `(description=${i}-${'y'.repeat(MiB)})`));
      await client.until('SearchResultDone', 2 + i, 30_000);
    }
    const after = treeRss(ispd!.pid);
    client.close();
    // Kept, 300 filters of 1 MiB would hold well over 300 MiB (text, parsed values, normalized copies).
    console.log(`      RSS before ${(before / MiB).toFixed(0)} MiB, after 300 distinct 1 MiB filters ${(after / MiB).toFixed(0)} MiB`);
    assert.ok(after - before < 200 * MiB, `memory grew by ${((after - before) / MiB).toFixed(0)} MiB`);
  });
});
