// ispd's lifecycle as an operator drives it, on a real `ispd serve` process: SIGTERM and SIGINT drain
// (operations in flight finish, then exit 0), SIGHUP reloads ACLs, TLS certificates, the log level and
// the access log without dropping connections and refuses a broken configuration, the access log never
// shows a password, root binds privileged ports and then runs as runAs.user, the systemd unit runs the
// right commands, and /metrics after LDAP and DNS traffic has every family of issue 6 with sensible values.

import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { Attribute, Change, Client } from 'ldapts';
import { describeResult, findProgram, requirePrograms, runClient } from '../support/clients';
import { DEMO_LDIF, REPO_ROOT, makeTempDir } from '../support/server-process';
import { RawClient, makeSelfSignedCert, request, type Response } from './ldap-tools';
import { familySum, httpGet, importInto, ispd, seriesValue, serve, writePeopleLdif, type Served } from './ops-tools';

const ADMIN_DN = 'uid=ispman,ou=admins,o=ispman';
const ADMIN_PASSWORD = 'ispman-admin';
const NOTICE_OF_DISCONNECTION = '1.3.6.1.4.1.1466.20036';

/** A DNS query in wire format (RFC 1035 §4.1), no recursion desired. */
function dnsQuery(id: number, name: string, qtype: number): Buffer {
  const labels = name.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')]));
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(1, 4); // QDCOUNT
  const question = Buffer.alloc(4);
  question.writeUInt16BE(qtype, 0);
  question.writeUInt16BE(1, 2); // IN
  return Buffer.concat([header, ...labels, Buffer.from([0]), question]);
}

/** Sends one UDP query and resolves with { rcode, answers } of the reply. */
function udpAsk(port: number, name: string, qtype: number): Promise<{ rcode: number; answers: number; aa: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const id = crypto.randomInt(1, 65535);
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no DNS answer for ${name}/${qtype} on port ${port}`));
    }, 5000);
    socket.on('message', (msg) => {
      if (msg.readUInt16BE(0) !== id) return;
      clearTimeout(timer);
      socket.close();
      resolve({ rcode: msg[3] & 0x0f, answers: msg.readUInt16BE(6), aa: (msg[2] & 0x04) !== 0 });
    });
    socket.send(dnsQuery(id, name, qtype), port, '127.0.0.1');
  });
}

/** Responses until the server closes the connection (or timeoutMs passes). */
async function drainResponses(client: RawClient, timeoutMs = 20000): Promise<Response[]> {
  const got: Response[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await client.next(Math.max(1, deadline - Date.now()));
    if (!r) return got;
    got.push(r);
  }
}

function tryConnect(port: number): Promise<'refused' | 'closed-without-answer' | 'open'> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => resolve('refused'));
    socket.on('connect', () => {
      socket.write(request.search(1, '', '(objectClass=*)'));
      let data = 0;
      socket.on('data', (chunk) => (data += chunk.length));
      socket.on('close', () => resolve(data > 0 ? 'open' : 'closed-without-answer'));
      setTimeout(() => {
        socket.destroy();
        resolve(data > 0 ? 'open' : 'closed-without-answer');
      }, 2000);
    });
  });
}

describe('lifecycle: SIGTERM and SIGINT drain, then exit 0', function () {
  this.timeout(120000);
  let dir: string;
  let bigDb: string;
  const ENTRIES = 30000;

  before(async () => {
    dir = makeTempDir('ops2-drain');
    const ldif = path.join(dir, 'people.ldif');
    writePeopleLdif(ldif, ENTRIES);
    bigDb = path.join(dir, 'big.sqlite');
    await importInto(bigDb, ldif);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a long search in flight when SIGTERM arrives is answered in full; new connections are not served; exit 0', async () => {
    const server = await serve(bigDb, ['--set', 'ldap.sizeLimit=0', '--set', 'ldap.anonymousRead=true', '--set', 'log.access=true', '--set', 'ldap.shutdownGraceSeconds=2']);
    let client: RawClient | undefined;
    try {
      client = await RawClient.connect(server.ldapPort);
      client.send(request.search(1, 'ou=people,o=ispman', '(objectClass=inetOrgPerson)', ['cn', 'mail']));
      const first = await client.next(10000);
      assert.equal(first?.type, 'SearchResultEntry', 'the search is running');
      process.kill(server.pid, 'SIGTERM');
      const draining = await server.waitForLog((l) => l.msg.startsWith('draining'), 10000, 'the draining line');
      assert.equal(draining.signal, 'SIGTERM');
      // while the search is still being answered, nobody new gets in
      const newcomer = await tryConnect(server.ldapPort);
      assert.notEqual(newcomer, 'open', 'a connection made during the drain is not served');

      const rest = await drainResponses(client);
      const all = [first!, ...rest];
      const entries = all.filter((r) => r.type === 'SearchResultEntry');
      const done = all.find((r) => r.type === 'SearchResultDone');
      assert.equal(entries.length, ENTRIES, 'every entry of the search in flight was sent');
      assert.ok(done, 'the search got its SearchResultDone');
      assert.equal(done!.status, 0);
      const doneAt = all.indexOf(done!);
      const notice = all.find((r) => r.type === 'ExtensionResponse' && r.responseName === NOTICE_OF_DISCONNECTION);
      assert.ok(notice, 'a Notice of Disconnection tells the client why the connection ends');
      assert.ok(all.indexOf(notice!) > doneAt, 'the notice comes after the answer');

      const exit = await server.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, server.process.output().slice(-2000));
      const stopped = server.logs().find((l) => l.msg === 'stopped');
      assert.ok(stopped, 'the last line says stopped');
      // the server logged the search as finished (access line) after it started draining: it really was in flight
      const logs = server.logs();
      const drainAt = logs.findIndex((l) => l.msg.startsWith('draining'));
      const searchAt = logs.findIndex((l) => l.subsystem === 'access' && l.op === 'search');
      assert.ok(searchAt > drainAt && drainAt >= 0, `search finished at log line ${searchAt}, draining began at ${drainAt}`);
    } finally {
      client?.close();
      await server.stop();
    }
  });

  it('many pipelined requests in flight at SIGINT: every request started is answered completely; exit 0', async () => {
    const server = await serve(bigDb, ['--set', 'ldap.anonymousRead=true']);
    let client: RawClient | undefined;
    try {
      client = await RawClient.connect(server.ldapPort);
      const COUNT = 300;
      const pdus: Buffer[] = [];
      for (let id = 1; id <= COUNT; id++) pdus.push(request.search(id, 'ou=people,o=ispman', `(|(uid=u${id * 7})(uid=u${id * 7 + 1}))`, ['cn']));
      client.send(Buffer.concat(pdus));
      const first = await client.next(10000);
      assert.ok(first, 'answers started');
      process.kill(server.pid, 'SIGINT');
      const all = [first!, ...(await drainResponses(client))];
      const done = all.filter((r) => r.type === 'SearchResultDone');
      assert.ok(done.length >= 1, 'at least the first request was answered');
      for (const d of done) assert.equal(d.status, 0, `message ${d.messageId}`);
      const doneIds = new Set(done.map((d) => d.messageId));
      // no request is left half answered: each one with entries has its SearchResultDone
      for (const e of all.filter((r) => r.type === 'SearchResultEntry')) assert.ok(doneIds.has(e.messageId), `entries of ${e.messageId} without a Done`);
      // answered requests are a prefix of what was sent: in-flight work finished, nothing later started
      const ids = [...doneIds].sort((a, b) => a - b);
      assert.deepEqual(ids, ids.map((_, i) => i + 1));
      assert.ok(all.some((r) => r.responseName === NOTICE_OF_DISCONNECTION));
      const exit = await server.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, server.process.output().slice(-2000));
      assert.ok(server.logs().some((l) => l.msg === 'stopped' && l.signal === 'SIGINT'));
    } finally {
      client?.close();
      await server.stop();
    }
  });

  /** A client that sends a big search and then stops reading: the search stays in flight (write backpressure). */
  async function stalledSearch(port: number): Promise<net.Socket> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.on('error', () => undefined);
    // every attribute of 30 000 entries: more than the loopback socket buffers hold, so the server must wait
    socket.write(request.search(1, 'ou=people,o=ispman', '(objectClass=inetOrgPerson)', ['*', '+']));
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.pause();
    return socket;
  }

  it('a client that stops reading cannot hold the shutdown: exit 0 after ldap.shutdownGraceSeconds', async () => {
    const server = await serve(bigDb, ['--set', 'ldap.sizeLimit=0', '--set', 'ldap.anonymousRead=true', '--set', 'log.access=true', '--set', 'ldap.shutdownGraceSeconds=2']);
    const socket = await stalledSearch(server.ldapPort);
    try {
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await httpGet(server.metricsPort, '/readyz')).status, 200);
      process.kill(server.pid, 'SIGTERM');
      const started = Date.now();
      await server.waitForLog((l) => l.msg.startsWith('draining'), 5000, 'the draining line');
      assert.equal((await httpGet(server.metricsPort, '/readyz')).status, 503, '/readyz says not ready while draining');
      assert.deepEqual(await server.exited, { code: 0, signal: null }, server.process.output().slice(-2000));
      const took = Date.now() - started;
      assert.ok(took >= 1800 && took < 10000, `waited for the grace period (ldap.shutdownGraceSeconds=2), then stopped: ${took} ms`);
      assert.equal(server.logs().some((l) => l.subsystem === 'access' && l.op === 'search'), false, 'the stalled search never finished');
    } finally {
      socket.destroy();
      await server.stop();
    }
  });

  it('a second SIGINT while draining exits at once (code 1)', async () => {
    const server = await serve(bigDb, ['--set', 'ldap.sizeLimit=0', '--set', 'ldap.anonymousRead=true']);
    const socket = await stalledSearch(server.ldapPort);
    try {
      process.kill(server.pid, 'SIGINT');
      await server.waitForLog((l) => l.msg.startsWith('draining'), 10000, 'the draining line');
      process.kill(server.pid, 'SIGINT');
      assert.deepEqual(await server.exited, { code: 1, signal: null }, server.process.output().slice(-2000));
      assert.ok(server.logs().some((l) => l.msg.startsWith('second SIGINT')));
    } finally {
      socket.destroy();
      await server.stop();
    }
  });

  it('the store is closed cleanly: a write acknowledged before SIGTERM is in the next export', async () => {
    const db = path.join(dir, 'demo.sqlite');
    await importInto(db, DEMO_LDIF);
    const server = await serve(db);
    const client = new Client({ url: `ldap://127.0.0.1:${server.ldapPort}`, timeout: 10000 });
    try {
      await client.bind(ADMIN_DN, ADMIN_PASSWORD);
      await client.modify('ispmanDomain=example.com,o=ispman', [
        new Change({ operation: 'replace', modification: new Attribute({ type: 'description', values: ['written before SIGTERM'] }) }),
      ]);
      process.kill(server.pid, 'SIGTERM');
      assert.deepEqual(await server.exited, { code: 0, signal: null });
    } finally {
      await client.unbind().catch(() => undefined);
      await server.stop();
    }
    const exported = await ispd(['export', '--db', db]);
    assert.equal(exported.code, 0, describeResult(exported));
    assert.match(exported.stdout, /description: written before SIGTERM/);
    assert.equal(fs.existsSync(`${db}-wal`) ? fs.statSync(`${db}-wal`).size : 0, 0, 'the WAL was checkpointed and removed at close');
  });
});

describe('lifecycle: SIGHUP reloads without dropping connections', function () {
  this.timeout(120000);
  let dir: string;
  let db: string;
  const write = (name: string, text: string): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };
  // A: anonymous reads everything (but passwords); B: the same without cn
  const ACL_READ_ALL = 'rules:\n  - to: { attrs: [userPassword] }\n    by:\n      - { who: anyone, access: auth }\n  - to: { subtree: "o=ispman" }\n    by:\n      - { who: anyone, access: read }\n';
  const ACL_NO_CN = 'rules:\n  - to: { attrs: [userPassword] }\n    by:\n      - { who: anyone, access: auth }\n  - to: { subtree: "o=ispman", attrs: [cn] }\n    by:\n      - { who: anyone, access: none }\n  - to: { subtree: "o=ispman" }\n    by:\n      - { who: anyone, access: read }\n';

  before(async () => {
    dir = makeTempDir('ops2-reload');
    fs.chmodSync(dir, 0o755);
    db = path.join(dir, 'ispd.sqlite');
    await importInto(db, DEMO_LDIF);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function reloadAndWait(server: Served, expect: 'configuration reloaded' | 'reload refused'): Promise<Record<string, unknown>> {
    const before = server.logs().length;
    process.kill(server.pid, 'SIGHUP');
    return server.waitForLog((l) => l.msg === expect || l.msg.startsWith(expect), 10000, expect, before);
  }

  it('ACL, log level and access log change on SIGHUP while an open ldapts connection keeps working; a broken file is refused', async () => {
    const acl = write('acl.yaml', ACL_READ_ALL);
    const config = write('ispd.yaml', `acl:\n  file: ${acl}\nlog:\n  level: info\n  access: false\n`);
    const server = await serve(db, ['--config', config]);
    const client = new Client({ url: `ldap://127.0.0.1:${server.ldapPort}`, timeout: 10000 });
    // ldapts lists a requested attribute the server did not send as []
    const hasCn = (entry: Record<string, unknown>) => entry.cn !== undefined && !(Array.isArray(entry.cn) && entry.cn.length === 0);
    const bob = async () => (await client.search('o=ispman', { filter: '(uid=john_example_com)', attributes: ['cn', 'uid'] })).searchEntries;
    try {
      const before = await bob();
      assert.equal(before.length, 1);
      assert.ok(hasCn(before[0]), 'cn readable under the first ACL');
      assert.equal(server.logs().filter((l) => l.level === 'debug').length, 0, 'no debug lines at level info');

      const connectionsBefore = seriesValue((await httpGet(server.metricsPort, '/metrics')).body, 'ispd_ldap_connections_total')!;
      write('acl.yaml', ACL_NO_CN);
      write('ispd.yaml', `acl:\n  file: ${acl}\nlog:\n  level: debug\n  access: true\n`);
      const reloaded = await reloadAndWait(server, 'configuration reloaded');
      assert.equal(reloaded.logLevel, 'debug');

      const after = await bob();
      assert.equal(after.length, 1, 'the same connection still answers');
      assert.equal(hasCn(after[0]), false, 'the new ACL hides cn');
      assert.ok(after[0].uid);
      // a new connection shows the debug level in effect
      const probe = new Client({ url: `ldap://127.0.0.1:${server.ldapPort}`, timeout: 10000 });
      await probe.search('', { scope: 'base', filter: '(objectClass=*)' });
      await probe.unbind();
      await server.waitForLog((l) => l.level === 'debug' && String(l.msg).startsWith('ldap: connection opened'), 5000, 'a debug line');
      await server.waitForLog((l) => l.subsystem === 'access' && l.proto === 'ldap' && l.op === 'search', 5000, 'an access line');

      const metrics = (await httpGet(server.metricsPort, '/metrics')).body;
      assert.equal(seriesValue(metrics, 'ispd_ldap_connections_total'), connectionsBefore + 1, 'the only new connection is the probe: the first one was never replaced');

      // a configuration with a bad value is refused, and the running one stays
      write('ispd.yaml', `acl:\n  file: ${acl}\nlog:\n  level: loud\n`);
      const refused = await reloadAndWait(server, 'reload refused');
      assert.match(String(refused.reason), /log\.level: "loud" is not one of/);
      assert.match(String(refused.reason), /ispd\.yaml line 4/);
      // an ACL file that does not parse is refused too
      write('ispd.yaml', `acl:\n  file: ${acl}\nlog:\n  level: warn\n`);
      write('acl.yaml', 'rules:\n  - to: { subtree: "o=ispman" }\n    by:\n      - { who: somebody, access: read }\n');
      const refusedAcl = await reloadAndWait(server, 'reload refused');
      assert.match(String(refusedAcl.reason), /who: "somebody" is not one of/);
      const still = await bob();
      assert.equal(still.length, 1);
      assert.equal(hasCn(still[0]), false, 'the last good ACL is still in effect');
      assert.ok(server.logs().filter((l) => l.level === 'debug').length > 0 && !server.logs().some((l) => l.msg === 'configuration reloaded' && l.logLevel === 'warn'), 'level warn was not applied');
      assert.equal(server.process.child.exitCode, null, 'still running');
      process.kill(server.pid, 'SIGTERM');
      assert.deepEqual(await server.exited, { code: 0, signal: null });
    } finally {
      await client.unbind().catch(() => undefined);
      await server.stop();
    }
  });

  it('TLS certificates are replaced on SIGHUP: new LDAPS connections get the new one, an open one keeps working', async () => {
    const certA = makeSelfSignedCert(fs.mkdtempSync(path.join(dir, 'a-')));
    const certB = makeSelfSignedCert(fs.mkdtempSync(path.join(dir, 'b-')));
    const certFile = path.join(dir, 'server.crt');
    const keyFile = path.join(dir, 'server.key');
    fs.copyFileSync(certA.certFile, certFile);
    fs.copyFileSync(certA.keyFile, keyFile);
    const ldapsPort = await (await import('../support/ports')).pickFreePort();
    const server = await serve(db, ['--set', `tls.cert=${certFile}`, '--set', `tls.key=${keyFile}`, '--set', `ldaps.listen=127.0.0.1:${ldapsPort}`, '--set', 'ldap.anonymousRead=true']);
    const fingerprint = (pem: Buffer) => new crypto.X509Certificate(pem).fingerprint256;
    const peerFingerprint = () =>
      new Promise<string>((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port: ldapsPort, rejectUnauthorized: false }, () => {
          const cert = socket.getPeerCertificate();
          socket.destroy();
          resolve(cert.fingerprint256);
        });
        socket.on('error', reject);
      });
    const example = async (client: Client) => (await client.search('ispmanDomain=example.com,o=ispman', { scope: 'base', attributes: ['ispmanDomain'] })).searchEntries.length;
    const open = new Client({ url: `ldaps://127.0.0.1:${ldapsPort}`, tlsOptions: { rejectUnauthorized: false }, timeout: 10000 });
    try {
      assert.equal(await peerFingerprint(), fingerprint(certA.cert));
      assert.equal(await example(open), 1);

      fs.copyFileSync(certB.certFile, certFile);
      fs.copyFileSync(certB.keyFile, keyFile);
      await reloadAndWait(server, 'configuration reloaded');
      assert.equal(await peerFingerprint(), fingerprint(certB.cert), 'new connections get the new certificate');
      assert.equal(await example(open), 1, 'the open LDAPS connection still works');

      // a key that does not match the certificate is refused; the server keeps B
      fs.copyFileSync(certA.keyFile, keyFile);
      const refused = await reloadAndWait(server, 'reload refused');
      assert.match(String(refused.reason), /key values mismatch|key/i);
      assert.equal(await peerFingerprint(), fingerprint(certB.cert));
    } finally {
      await open.unbind().catch(() => undefined);
      await server.stop();
    }
  });

  it('the access log has one line per operation, never a password, and logs nothing at accessSample 0', async () => {
    const copy = db.replace('.sqlite', '-copy.sqlite');
    fs.copyFileSync(db, copy);
    const server = await serve(db, ['--set', 'log.access=true', '--set', 'log.accessSample=1']);
    const quiet = await serve(copy, ['--set', 'log.access=true', '--set', 'log.accessSample=0']);
    try {
      for (const target of [server, quiet]) {
        const client = new Client({ url: `ldap://127.0.0.1:${target.ldapPort}`, timeout: 10000 });
        await client.bind(ADMIN_DN, ADMIN_PASSWORD);
        await client.bind(ADMIN_DN, 'Wrong-Secret-4711').catch(() => undefined);
        await client.search('o=ispman', { filter: '(uid=john_example_com)' });
        await client.unbind();
        await udpAsk(target.dnsPort, 'www.example.com', 1);
      }
      const lines = await server.waitForLog((l) => l.subsystem === 'access' && l.proto === 'dns', 5000, 'a DNS access line').then(() => server.logs().filter((l) => l.subsystem === 'access'));
      const binds = lines.filter((l) => l.op === 'bind');
      assert.deepEqual(binds.map((l) => l.result), ['success', 'invalidCredentials']);
      assert.ok(lines.some((l) => l.op === 'search' && l.result === 'success' && typeof l.ms === 'number'));
      assert.ok(lines.some((l) => l.proto === 'dns' && l.qtype === 'A' && l.rcode === 'NOERROR' && l.transport === 'udp'));
      const everything = server.process.output();
      assert.equal(everything.includes(ADMIN_PASSWORD), false, 'the admin password is nowhere in the output');
      assert.equal(everything.includes('Wrong-Secret-4711'), false, 'nor the wrong one');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(quiet.logs().filter((l) => l.subsystem === 'access').length, 0, 'accessSample 0 logs nothing');
    } finally {
      await server.stop();
      await quiet.stop();
    }
  });
});

/** 389 / 53 when free, else another free port below 1024 (still one only root may bind). */
async function privilegedPort(preferred: number, udp: boolean): Promise<number> {
  const free = async (port: number): Promise<boolean> => {
    const tcpFree = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen({ host: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolve(true)));
    });
    if (!tcpFree || !udp) return tcpFree;
    return new Promise<boolean>((resolve) => {
      const s = dgram.createSocket('udp4');
      s.once('error', () => {
        s.close();
        resolve(false);
      });
      s.bind({ address: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolve(true)));
    });
  };
  if (await free(preferred)) return preferred;
  for (let port = 900; port < 1024; port++) if (await free(port)) return port;
  throw new Error('no free port below 1024');
}

describe('lifecycle: root binds privileged ports, then runs as runAs.user', function () {
  this.timeout(60000);

  it('binds LDAP, LDAPS and DNS on ports below 1024 as root, then runs as nobody: serves, writes, reloads on SIGHUP', async function () {
    if (process.getuid?.() !== 0) {
      console.warn('    skipped: needs root (CI runs as root) to bind ports below 1024 and switch users');
      this.skip();
    }
    const dir = makeTempDir('ops2-runas');
    fs.chmodSync(dir, 0o755);
    const db = path.join(dir, 'ispd.sqlite');
    await importInto(db, DEMO_LDIF);
    const ldapPort = await privilegedPort(389, false);
    const ldapsPort = await privilegedPort(636, false);
    const dnsPort = await privilegedPort(53, true);
    if (ldapPort !== 389 || ldapsPort !== 636 || dnsPort !== 53) {
      console.warn(`    note: 389/636/53 busy on this machine; using privileged ports ${ldapPort} (LDAP), ${ldapsPort} (LDAPS), ${dnsPort} (DNS)`);
    }
    // the certificate and key stay readable by the service user, so SIGHUP can re-read them after the switch
    const cert = makeSelfSignedCert(dir);
    const nobodyIds = (await runClient('id', ['-u', 'nobody'])).stdout.trim();
    fs.chownSync(cert.keyFile, Number(nobodyIds), 0);
    const configFile = path.join(dir, 'ispd.yaml');
    fs.writeFileSync(configFile, `runAs:\n  user: nobody\nldap:\n  anonymousRead: true\nldaps:\n  listen: 127.0.0.1:${ldapsPort}\ntls:\n  cert: ${cert.certFile}\n  key: ${cert.keyFile}\nlog:\n  level: info\n`);
    const server = await serve(db, ['--config', configFile], { ldapPort, dnsPort });
    try {
      const dropped = await server.waitForLog((l) => l.msg === 'dropped privileges', 5000, 'the dropped privileges line');
      assert.equal(dropped.user, 'nobody');
      const status = fs.readFileSync(`/proc/${server.pid}/status`, 'utf8');
      const ids = (field: string) => status.match(new RegExp(`^${field}:\\s+(.*)$`, 'm'))![1].trim().split(/\s+/).map(Number);
      const nobody = Number(dropped.uid);
      assert.ok(nobody > 0);
      assert.deepEqual(ids('Uid'), [nobody, nobody, nobody, nobody], 'real, effective, saved and fs uid are all nobody');
      assert.deepEqual(ids('Gid'), Array(4).fill(Number(dropped.gid)));
      assert.equal(ids('Groups').includes(0), false, "root's group is gone");
      const capEff = status.match(/^CapEff:\s+(\w+)$/m)![1];
      assert.equal(BigInt('0x' + capEff), 0n, 'no capabilities left');
      // LDAP worker processes (ldap.workers) switch too: no process of the service stays root
      const children = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
        try {
          return fs.readFileSync(`/proc/${p}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[1] === String(server.pid);
        } catch {
          return false;
        }
      });
      const ready = server.logs().find((l) => l.msg === 'ready');
      assert.equal(children.length, Number(ready?.workers ?? 0), 'one child per LDAP worker');
      for (const child of children) {
        const childStatus = fs.readFileSync(`/proc/${child}/status`, 'utf8');
        assert.match(childStatus, new RegExp(`^Uid:\\s+${nobody}\\s+${nobody}\\s+${nobody}\\s+${nobody}$`, 'm'), `child process ${child} runs as nobody`);
      }

      const client = new Client({ url: `ldap://127.0.0.1:${ldapPort}`, timeout: 10000 });
      await client.bind(ADMIN_DN, ADMIN_PASSWORD);
      await client.modify('ispmanDomain=example.com,o=ispman', [new Change({ operation: 'replace', modification: new Attribute({ type: 'description', values: ['written as nobody'] }) })]);
      const found = await client.search('o=ispman', { filter: '(description=written as nobody)' });
      assert.equal(found.searchEntries.length, 1, 'the store stays writable after the switch');
      await client.unbind();
      const answer = await udpAsk(dnsPort, 'example.com', 6);
      assert.equal(answer.rcode, 0);
      assert.equal(answer.aa, true);
      assert.equal(fs.statSync(db).uid, nobody, 'the database file belongs to the service user');
      const ldaps = new Client({ url: `ldaps://127.0.0.1:${ldapsPort}`, tlsOptions: { rejectUnauthorized: false }, timeout: 10000 });
      assert.equal((await ldaps.search('ispmanDomain=example.com,o=ispman', { scope: 'base' })).searchEntries.length, 1, 'LDAPS on a privileged port');

      // SIGHUP as nobody: the configuration, the certificate and the key are re-read with the user's rights
      fs.writeFileSync(configFile, fs.readFileSync(configFile, 'utf8').replace('level: info', 'level: debug'));
      const from = server.logs().length;
      process.kill(server.pid, 'SIGHUP');
      const reloaded = await server.waitForLog((l) => l.msg === 'configuration reloaded' || l.msg.startsWith('reload refused'), 10000, 'the reload outcome', from);
      assert.equal(reloaded.msg, 'configuration reloaded', JSON.stringify(reloaded));
      assert.equal((await ldaps.search('ispmanDomain=example.com,o=ispman', { scope: 'base' })).searchEntries.length, 1, 'the LDAPS connection survives the reload');
      await ldaps.unbind();

      process.kill(server.pid, 'SIGTERM');
      assert.deepEqual(await server.exited, { code: 0, signal: null });
    } finally {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the systemd unit', function () {
  this.timeout(30000);
  const unitFile = path.join(REPO_ROOT, 'src', 'config', 'ispd.service');
  const unit = fs.readFileSync(unitFile, 'utf8');
  const directive = (name: string): string[] => [...unit.matchAll(new RegExp(`^${name}=(.*)$`, 'gm'))].map((m) => m[1]);

  it('starts `ispd serve --config /etc/ispd/ispd.yaml`, checks the file first, reloads with SIGHUP and stops with SIGTERM', async () => {
    const [start] = directive('ExecStart');
    const [pre] = directive('ExecStartPre');
    assert.deepEqual(start.split(/\s+/), ['/usr/bin/env', 'ispd', 'serve', '--config', '/etc/ispd/ispd.yaml']);
    assert.deepEqual(pre.split(/\s+/), ['/usr/bin/env', 'ispd', 'check-config', '--config', '/etc/ispd/ispd.yaml']);
    assert.deepEqual(directive('ExecReload'), ['/bin/kill -HUP $MAINPID']);
    assert.deepEqual(directive('KillSignal'), ['SIGTERM']);
    assert.deepEqual(directive('RestartPreventExitStatus'), ['2'], 'exit 2 (bad configuration) is not restarted');
    // `ispd` on PATH is package.json's bin, which runs the compiled CLI
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    assert.equal(pkg.bin.ispd, 'bin/ispd');
    const bin = path.join(REPO_ROOT, pkg.bin.ispd);
    assert.match(fs.readFileSync(bin, 'utf8'), /^#!\/usr\/bin\/env node\n/);
    // the same argument lists work against the real CLI, through bin/ispd (a sample file in place of /etc)
    const dir = makeTempDir('ops2-unit');
    try {
      const yaml = path.join(dir, 'ispd.yaml');
      fs.copyFileSync(path.join(REPO_ROOT, 'src', 'config', 'ispd.sample.yaml'), yaml);
      const check = await runClient(process.execPath, [bin, ...pre.split(/\s+/).slice(2).map((a) => (a === '/etc/ispd/ispd.yaml' ? yaml : a))]);
      assert.equal(check.code, 0, describeResult(check));
      const help = await runClient(process.execPath, [bin, 'serve', '--help']);
      assert.equal(help.code, 0, describeResult(help));
      assert.match(help.stdout, /--config/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('passes systemd-analyze verify', async function () {
    if (!findProgram('systemd-analyze')) {
      console.warn('    skipped: systemd-analyze is not installed (package systemd)');
      this.skip();
    }
    const dir = makeTempDir('ops2-unit');
    try {
      fs.copyFileSync(unitFile, path.join(dir, 'ispd.service'));
      const r = await runClient('systemd-analyze', ['verify', path.join(dir, 'ispd.service')], { timeoutMs: 20000 });
      assert.equal(r.code, 0, describeResult(r));
      assert.doesNotMatch(r.stderr, /ispd\.service:\d+:/, 'no warnings about the unit file');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('metrics after LDAP and DNS traffic (real ispd, promtool)', function () {
  this.timeout(90000);
  let dir: string;
  let server: Served;
  let notifyTarget: dgram.Socket;
  let notifiesSeen = 0;
  let scrape = '';

  before(async function () {
    requirePrograms(this, 'promtool', 'dig');
    dir = makeTempDir('ops2-metrics');
    const db = path.join(dir, 'ispd.sqlite');
    await importInto(db, DEMO_LDIF);
    // a secondary that acknowledges NOTIFY: the reply is the query with QR set
    notifyTarget = dgram.createSocket('udp4');
    notifyTarget.on('message', (msg, peer) => {
      if (((msg[2] >> 3) & 0x0f) !== 4) return;
      notifiesSeen++;
      const reply = Buffer.from(msg);
      reply[2] |= 0x80;
      notifyTarget.send(reply, peer.port, peer.address);
    });
    await new Promise<void>((resolve) => notifyTarget.bind(0, '127.0.0.1', resolve));
    const notifyPort = (notifyTarget.address() as net.AddressInfo).port;
    server = await serve(db, ['--set', 'ldap.anonymousRead=true', '--set', 'auth.throttle.perDn=2', '--set', `dns.notify=127.0.0.1:${notifyPort}`]);
  });
  after(async () => {
    await server?.stop();
    notifyTarget?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('has every family of issue 6 with values that match the traffic, and promtool accepts the scrape', async () => {
    const before = (await httpGet(server.metricsPort, '/metrics')).body;
    const serialBefore = seriesValue(before, 'ispd_dns_zone_serial{zone="example.com"}') ?? seriesValue(before, 'ispd_dns_zone_serial{zone="example.com."}');
    assert.ok(serialBefore && serialBefore > 0, 'zone serials are exported from the start');

    const client = new Client({ url: `ldap://127.0.0.1:${server.ldapPort}`, timeout: 10000 });
    await client.search('o=ispman', { filter: '(mailLocalAddress=john@example.com)', attributes: ['mailRoutingAddress'] });
    for (let i = 0; i < 3; i++) await client.bind('uid=john_example_com,ou=users,ispmanDomain=example.com,o=ispman', 'not-his-password').catch(() => undefined);
    await client.bind(ADMIN_DN, ADMIN_PASSWORD);
    await client.compare('ispmanDomain=example.com,o=ispman', 'ispmanDomain', 'example.com');
    await client.modify('relativeDomainName=www,aRecord=192.0.2.10,ou=aRecord,dc=example,dc=com,ou=DNS,o=ispman', [
      new Change({ operation: 'add', modification: new Attribute({ type: 'aRecord', values: ['192.0.2.99'] }) }),
    ]);
    // one connection stays open across the scrape

    for (let i = 0; i < 150; i++) await udpAsk(server.dnsPort, i % 3 === 0 ? 'www.example.com' : i % 3 === 1 ? 'example.com' : 'nope.example.com', i % 3 === 1 ? 15 : 1);
    assert.equal((await udpAsk(server.dnsPort, 'example.org', 1)).rcode, 5, 'REFUSED for a zone not hosted');
    const tcp = await runClient('dig', ['@127.0.0.1', '-p', String(server.dnsPort), '+tcp', '+norec', 'example.com', 'SOA']);
    assert.equal(tcp.code, 0, describeResult(tcp));
    const axfr = await runClient('dig', ['@127.0.0.1', '-p', String(server.dnsPort), 'example.com', 'AXFR']);
    assert.equal(axfr.code, 0, describeResult(axfr));
    assert.match(axfr.stdout, /192\.0\.2\.99/);
    const deadline = Date.now() + 15000;
    while (notifiesSeen === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(notifiesSeen > 0, 'ispd sent NOTIFY to the configured secondary');
    await new Promise((r) => setTimeout(r, 300));

    const reply = await httpGet(server.metricsPort, '/metrics');
    assert.equal(reply.status, 200);
    scrape = reply.body;
    fs.writeFileSync(path.join(process.env.ISPD_SCRAPE_DIR ?? dir, 'ispd-metrics-scrape.txt'), scrape);
    const v = (series: string) => seriesValue(scrape, series);
    const sum = (name: string, labels: Record<string, string> = {}) => familySum(scrape, name, labels);

    // LDAP: operations by operation and result, latency, connections, bind failures and throttles
    assert.ok(v('ispd_ldap_operations_total{operation="search",result="success"}')! >= 1);
    assert.equal(v('ispd_ldap_operations_total{operation="bind",result="success"}'), 1);
    assert.ok(sum('ispd_ldap_operations_total', { operation: 'bind' }) >= 4);
    assert.equal(v('ispd_ldap_operations_total{operation="compare",result="compareTrue"}'), 1);
    assert.equal(v('ispd_ldap_operations_total{operation="modify",result="success"}'), 1);
    assert.ok(v('ispd_ldap_operation_duration_seconds_count{operation="search"}')! >= 1);
    assert.ok(v('ispd_ldap_operation_duration_seconds_sum{operation="search"}')! > 0);
    assert.equal(v('ispd_ldap_connections_open'), 1);
    assert.equal(v('ispd_ldap_connections_total'), seriesValue(before, 'ispd_ldap_connections_total')! + 1, 'one client connection (besides the harness probe)');
    assert.equal(sum('ispd_ldap_bind_failures_total'), 3, 'each failed bind counted once');
    assert.ok(v('ispd_ldap_bind_throttled_total')! >= 1, 'the third wrong password hit the per-DN throttle (perDn=2)');
    // DNS: queries by type, rcode and transport, latency, zones and serials, transfers, NOTIFY, lag
    assert.ok(v('ispd_dns_queries_total{qtype="A",rcode="NOERROR",transport="udp"}')! >= 50);
    assert.ok(v('ispd_dns_queries_total{qtype="MX",rcode="NOERROR",transport="udp"}')! >= 50);
    assert.ok(v('ispd_dns_queries_total{qtype="A",rcode="NXDOMAIN",transport="udp"}')! >= 50);
    assert.equal(v('ispd_dns_queries_total{qtype="A",rcode="REFUSED",transport="udp"}'), 1);
    assert.ok(sum('ispd_dns_queries_total', { transport: 'tcp' }) >= 2);
    assert.ok(v('ispd_dns_query_duration_seconds_count')! >= 1, 'a sample of queries is timed');
    assert.ok(v('ispd_dns_zones')! >= 3);
    const serialAfter = v('ispd_dns_zone_serial{zone="example.com"}') ?? v('ispd_dns_zone_serial{zone="example.com."}');
    assert.ok(serialAfter! > serialBefore!, `the serial went up with the change (${serialBefore} → ${serialAfter})`);
    assert.ok(v('ispd_dns_transfers_total{kind="axfr",result="success"}')! >= 1);
    assert.ok(v('ispd_dns_notifies_total{result="acknowledged"}')! >= 1);
    assert.equal(v('ispd_changelog_lag'), 0);
    // storage
    for (const kind of ['get', 'search', 'write']) assert.ok(v(`ispd_backend_query_duration_seconds_count{kind="${kind}"}`)! >= 1, `backend ${kind} timed`);
    assert.ok(v('ispd_store_size_bytes')! > 4096);
    const entries = fs.readFileSync(DEMO_LDIF, 'utf8').match(/^dn:/gm)!.length;
    assert.equal(v('ispd_store_entries'), entries);
    // process
    assert.ok(v('process_cpu_seconds_total')! > 0);
    assert.ok(v('process_resident_memory_bytes')! > 1e6);
    assert.match(scrape, /^ispd_build_info\{version="[^"]+",nodejs="[^"]+"\} 1$/m);

    const promtool = await runClient('promtool', ['check', 'metrics'], { input: scrape });
    assert.equal(promtool.code, 0, describeResult(promtool));
    await client.unbind();
  });
});
