// /readyz answers 200 only when every listener of the service answers (issue 13): with LDAP worker
// processes the primary's own listeners (DNS, metrics) are up about a second before the workers accept LDAP.
// The test asks /readyz from the moment ispd is spawned and, at its first 200, asks LDAP (a new connection
// and a search) and DNS (UDP and TCP) at once: each must answer.
// Clients: node:http (as a load balancer's probe would), ldapts, raw DNS over UDP and TCP decoded with dns2.

import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { Packet } from 'dns2';
import { Client } from 'ldapts';
import { describeResult, runClient } from '../support/clients';
import { encodeQuery } from '../support/dns-query';
import { ISPD_CLI } from '../support/ispd-process';
import { pickFreePort } from '../support/ports';
import { DEMO_LDIF, makeTempDir, startServerProcess } from '../support/server-process';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function readyz(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/readyz', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

function udpAnswer(port: number): Promise<boolean> {
  const socket = dgram.createSocket('udp4');
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 1000);
    socket.on('message', (m) => done(Packet.parse(m).answers.length > 0));
    socket.send(encodeQuery('www.example.com', 1, { id: 7, flags: 0 }), port, '127.0.0.1');
  });
}

function tcpAnswer(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const query = encodeQuery('www.example.com', 1, { id: 8, flags: 0 });
    const frame = Buffer.concat([Buffer.from([query.length >> 8, query.length & 0xff]), query]);
    const socket = net.connect({ host: '127.0.0.1', port });
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => finish(false), 1000);
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    socket.on('connect', () => socket.write(frame));
    socket.on('data', (d) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) finish(Packet.parse(got.subarray(2)).answers.length > 0);
    });
    socket.on('error', () => finish(false));
  });
}

async function ldapAnswers(port: number): Promise<string> {
  const client = new Client({ url: `ldap://127.0.0.1:${port}`, timeout: 1000, connectTimeout: 1000 });
  try {
    const { searchEntries } = await client.search('ispmanDomain=example.com,o=ispman', { scope: 'base', attributes: ['ispmanDomain'] });
    return searchEntries.length === 1 ? 'ok' : `${searchEntries.length} entries`;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

describe('protocol: /readyz says ready only when every listener answers (ispd with LDAP workers)', function () {
  this.timeout(180_000);
  const dir = makeTempDir('readyz');
  const db = path.join(dir, 'ispd.sqlite');

  before(async () => {
    const load = await runClient(process.execPath, [ISPD_CLI, 'import', '--db', db, DEMO_LDIF], { timeoutMs: 60_000 });
    assert.equal(load.code, 0, describeResult(load));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const workers of [2, 1]) {
    it(`ldap.workers=${workers}: at the first 200 of /readyz, LDAP, DNS over UDP and DNS over TCP answer (3 starts)`, async () => {
      for (let start = 0; start < 3; start++) {
        const ports = { ldap: await pickFreePort(), dns: await pickFreePort({ udp: true }), metrics: await pickFreePort() };
        const server = await startServerProcess({
          executable: process.execPath,
          args: [ISPD_CLI, 'serve', '--db', db, '--ldap', `127.0.0.1:${ports.ldap}`, '--dns', `127.0.0.1:${ports.dns}`, '--metrics', `127.0.0.1:${ports.metrics}`,
            '--set', `ldap.workers=${workers}`, '--set', 'ldap.anonymousRead=true'],
          host: '127.0.0.1',
          port: ports.ldap,
          startTimeoutMs: 30_000,
          waitForPort: false,
          cwd: dir,
        });
        try {
          const deadline = Date.now() + 30_000;
          let notReady = 0;
          while ((await readyz(ports.metrics)) !== 200) {
            notReady += 1;
            assert.ok(Date.now() < deadline && server.child.exitCode === null, `ready within 30 s\n${server.output()}`);
            await sleep(10);
          }
          const [ldap, udp, tcp] = await Promise.all([ldapAnswers(ports.ldap), udpAnswer(ports.dns), tcpAnswer(ports.dns)]);
          assert.deepEqual({ ldap, udp, tcp }, { ldap: 'ok', udp: true, tcp: true }, `at the first 200 (after ${notReady} not-ready answers)`);
        } finally {
          await server.stop(10_000);
        }
      }
    });
  }
});
