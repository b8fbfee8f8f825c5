// The LDAP adapter over the in-memory directory, for what needs to look inside the directory or the
// connection: backpressure (how many entries a search pulled), abandon and disconnects (was the
// iterator closed), limits, bad input with the observer's counts, TLS switching, shutdown.
// Directory semantics are tested against the real server in ldap-server.test.ts.

import { strict as assert } from 'node:assert';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { Client } from 'ldapts';
import { DirectoryError } from '../../src/directory/errors';
import { describeResult, requirePrograms, runClient } from '../support/clients';
import { MemoryDirectory } from '../support/memory-directory';
import { RawClient, makeSelfSignedCert, rawConnect, readUntilClose, request, startMemoryServer, type MemoryServer } from './ldap-tools';

const NOTICE_OID = '1.3.6.1.4.1.1466.20036';

/** Entries enough that a result (20 MB at the defaults) cannot sit in the loopback socket buffers. */
function fill(directory: MemoryDirectory, count: number, valueBytes = 1000): void {
  for (let i = 0; i < count; i++) {
    directory.put({ dn: `uid=u${i},o=test`, attributes: { objectClass: ['account'], uid: [`u${i}`], description: ['x'.repeat(valueBytes)] } });
  }
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Another client can still search: the server survived whatever the test did. */
async function assertStillServing(server: MemoryServer): Promise<void> {
  const client = new Client({ url: server.url, timeout: 5000 });
  try {
    const { searchEntries } = await client.search('o=test', { scope: 'base' });
    assert.equal(searchEntries.length, 1);
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

function assertNotice(data: Buffer): void {
  assert.ok(data.includes(Buffer.from(NOTICE_OID)), `a Notice of Disconnection was sent (got ${data.toString('hex')})`);
  // resultCode protocolError: ENUMERATED 0a 01 02 right after the extended response header.
  assert.ok(data.includes(Buffer.from([0x0a, 0x01, 0x02])), 'with resultCode protocolError');
}

describe('ldap adapter (in-memory directory)', function () {
  this.timeout(20000);
  let server: MemoryServer;
  let tmp: string;

  beforeEach(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ispd-ldap-'));
  });
  afterEach(async () => {
    await server?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('bad input', () => {
    beforeEach(async () => {
      server = await startMemoryServer({ limits: { maxPduBytes: 64 * 1024, idleTimeoutSeconds: 0, maxConnections: 50, maxConnectionsPerAddress: 50 } });
    });

    it('garbage bytes: protocolError notice, disconnect, counted and logged', async () => {
      const socket = await rawConnect(server.port);
      const reply = readUntilClose(socket);
      socket.write(Buffer.from('GET / HTTP/1.0\r\n\r\n'));
      const { data, closed } = await reply;
      assert.ok(closed, 'the server closed the connection');
      assertNotice(data);
      assert.deepEqual(server.events.protocolErrors, ['not_ldap']);
      assert.ok(server.logs.some((l) => l.level === 'warn' && l.msg.includes('protocol error')));
      await assertStillServing(server);
    });

    it('a 100 MB length prefix is refused from its header, before any body byte arrives', async () => {
      const socket = await rawConnect(server.port);
      const reply = readUntilClose(socket);
      const before = process.memoryUsage().arrayBuffers;
      socket.write(Buffer.from([0x30, 0x84, 0x06, 0x40, 0x00, 0x00, 0x02, 0x01]));
      const { data, closed } = await reply;
      assert.ok(closed);
      assertNotice(data);
      assert.deepEqual(server.events.protocolErrors, ['pdu_too_large']);
      assert.ok(process.memoryUsage().arrayBuffers - before < 50 * 1024 * 1024, 'no 100 MB buffer was allocated');
      await assertStillServing(server);
    });

    it('a PDU over maxPduBytes is refused even when sent in full', async () => {
      const socket = await rawConnect(server.port);
      const reply = readUntilClose(socket);
      // a syntactically fine add request of ~100 KB against a 64 KB limit
      const big = Buffer.alloc(100 * 1024, 0x41);
      const body = Buffer.concat([Buffer.from([0x02, 0x01, 0x01, 0x68, 0x83, 0x01, 0x90, 0x00]), big]);
      socket.write(Buffer.concat([Buffer.from([0x30, 0x83, (body.length >> 16) & 0xff, (body.length >> 8) & 0xff, body.length & 0xff]), body]));
      const { data, closed } = await reply;
      assert.ok(closed);
      assertNotice(data);
      await assertStillServing(server);
    });

    it('a malformed PDU inside a valid envelope: protocolError notice, disconnect', async () => {
      const socket = await rawConnect(server.port);
      const reply = readUntilClose(socket);
      // messageID 1, then a bind request whose version INTEGER claims 5 bytes of a 3-byte body
      socket.write(Buffer.from([0x30, 0x07, 0x02, 0x01, 0x01, 0x60, 0x03, 0x02, 0x05, 0x03]));
      const { data, closed } = await reply;
      assert.ok(closed);
      assertNotice(data);
      assert.deepEqual(server.events.protocolErrors, ['malformed_pdu']);
      await assertStillServing(server);
    });

    it('a truncated PDU, then the client closes: the connection just ends', async () => {
      const socket = await rawConnect(server.port);
      await waitFor('the connection to register', () => server.server.connections() === 1);
      const whole = request.search(2, 'o=test');
      socket.end(whole.subarray(0, whole.length - 5));
      await waitFor('the server to drop the connection', () => server.server.connections() === 0);
      assert.deepEqual(server.events.protocolErrors, []);
      assert.equal(server.directory.searches.length, 0);
      await assertStillServing(server);
    });

    it('a client that disconnects mid-search: the search stops, and it is logged', async () => {
      fill(server.directory, 20000);
      const client = await RawClient.connect(server.port);
      client.socket.pause(); // read nothing: the server's socket buffer fills up
      client.send(request.search(2, 'o=test'));
      await waitFor('the search to start', () => server.directory.searches.length === 1);
      const probe = server.directory.searches[0];
      await waitFor('the search to stall on a full socket', () => probe.pulled > 0);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.ok(probe.pulled < 20000, `backpressure: ${probe.pulled} of 20000 entries pulled while the client reads nothing`);
      client.close();
      await waitFor('the directory iterator to be closed', () => probe.closed);
      assert.equal(probe.finished, false);
      await waitFor('a log line about it', () => server.logs.some((l) => l.msg.includes('operations in flight')));
      await assertStillServing(server);
    });
  });

  describe('searching', () => {
    beforeEach(async () => {
      server = await startMemoryServer();
    });

    it('streams a large result to a slow reader without pulling it all first', async () => {
      fill(server.directory, 20000);
      const client = await RawClient.connect(server.port);
      client.socket.pause();
      client.send(request.search(2, 'o=test'));
      await waitFor('the search to start', () => server.directory.searches.length === 1 && server.directory.searches[0].pulled > 0);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const stalledAt = server.directory.searches[0].pulled;
      assert.ok(stalledAt < 20000, `pulled ${stalledAt} entries before the client read anything`);
      client.socket.resume();
      const responses = await client.until('SearchResultDone', 2, 20000);
      assert.equal(responses.filter((r) => r.type === 'SearchResultEntry').length, 20001);
      assert.equal(responses[responses.length - 1].status, 0);
      client.close();
    });

    it('abandon stops a running search and nothing more is answered for it', async () => {
      fill(server.directory, 20000);
      const client = await RawClient.connect(server.port);
      client.socket.pause();
      client.send(request.search(2, 'o=test'));
      await waitFor('the search to stall', () => server.directory.searches.length === 1 && server.directory.searches[0].pulled > 0);
      client.send(request.abandon(3, 2));
      const probe = server.directory.searches[0];
      await waitFor('the iterator to close', () => probe.closed);
      assert.equal(probe.finished, false);
      client.socket.resume();
      // The same connection keeps working; message 2 never gets a SearchResultDone.
      client.send(request.search(4, 'o=test', '(uid=u1)'));
      const responses = await client.until('SearchResultDone', 4);
      assert.ok(!responses.some((r) => r.type === 'SearchResultDone' && r.messageId === 2));
      assert.ok(responses.filter((r) => r.messageId === 2).length < 20001);
      client.close();
    });

    it('bounds the requests in flight per connection by not reading the socket', async () => {
      await server.stop();
      server = await startMemoryServer({
        limits: { maxPduBytes: 1024 * 1024, idleTimeoutSeconds: 0, maxConnections: 10, maxConnectionsPerAddress: 10, maxOutstandingPerConnection: 2 },
      });
      fill(server.directory, 20000);
      const client = await RawClient.connect(server.port);
      client.socket.pause();
      for (let id = 2; id < 6; id++) client.send(request.search(id, 'o=test'));
      await waitFor('a search to start', () => server.directory.searches.length >= 1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      // At most maxOutstandingPerConnection requests are read; of the searches, one runs while the client reads
      // nothing (another search would hold its rows too).
      assert.equal(server.directory.searches.length, 1, 'no second search starts while the first waits for the client');
      client.socket.resume();
      const responses = await client.until('SearchResultDone', 5, 60000);
      assert.equal(responses.filter((r) => r.type === 'SearchResultDone').length, 4);
      assert.equal(server.directory.searches.length, 4);
      client.close();
    });

    it('stops reading a client that pipelines requests and never reads the answers', async () => {
      // WhoAmI answers carry the bound DN: a 10 KB DN makes 3000 answers 30 MB.
      const longDn = `uid=${'x'.repeat(10000)},o=test`;
      server.directory.put({ dn: longDn, attributes: { uid: ['x'.repeat(10000)], userPassword: ['pw'] } });
      const client = await RawClient.connect(server.port);
      client.send(request.bind(1, longDn, 'pw'));
      assert.equal((await client.next())?.status, 0);
      client.socket.pause();
      const whoAmI = Buffer.concat(Array.from({ length: 3000 }, (_, i) => request.extended(i + 2, '1.3.6.1.4.1.4203.1.11.3')));
      client.send(whoAmI);
      await waitFor('some answers', () => server.events.operations.length > 10);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const answered = server.events.operations.filter((o) => o.op.startsWith('extended')).length;
      assert.ok(answered < 3000, `${answered} of 3000 answered while the client read nothing`);
      client.socket.resume();
      const responses = await client.until('ExtensionResponse', 3001, 30000);
      assert.equal(responses.length, 3000);
      client.close();
    });

    it('answers a directory error with its code and matchedDN, and an unexpected exception with other (80)', async () => {
      const client = new Client({ url: server.url });
      await assert.rejects(client.search('uid=nobody,ou=x,o=test', {}), (err: { code?: number; message: string }) => err.code === 32);
      server.directory.search = () => {
        throw new TypeError('boom');
      };
      await assert.rejects(client.search('o=test', {}), (err: { code?: number }) => err.code === 80);
      assert.ok(server.logs.some((l) => l.level === 'error' && l.msg.includes('unexpected error')));
      await client.unbind();
    });

    it('a bug while encoding (a non-string value) still answers: other (80), logged', async () => {
      server.directory.search = () => ({
        entries: [{ dn: 'o=test', attributes: { o: [42 as unknown as string] } }],
        done: () => ({ code: 0, message: '' }),
      });
      const client = await RawClient.connect(server.port);
      client.send(request.search(2, 'o=test'));
      const responses = await client.until('SearchResultDone', 2);
      assert.equal(responses[responses.length - 1].status, 80);
      assert.ok(server.logs.some((l) => l.level === 'error'));
      client.close();
    });

    it('a DirectoryError thrown while iterating ends the search with that code', async () => {
      server.directory.search = () => ({
        entries: (function* () {
          yield { dn: 'o=test', attributes: { o: ['test'] } };
          throw new DirectoryError(3, 'time limit exceeded');
        })(),
        done: () => ({ code: 0, message: '' }),
      });
      const client = await RawClient.connect(server.port);
      client.send(request.search(2, 'o=test'));
      const responses = await client.until('SearchResultDone', 2);
      assert.equal(responses.length, 2);
      assert.equal(responses[1].status, 3);
      client.close();
    });

    it('refuses an unknown critical control without running the operation, ignores it when not critical', async function () {
      requirePrograms(this, 'ldapsearch');
      const critical = await runClient('ldapsearch', ['-x', '-H', server.url, '-b', 'o=test', '-s', 'base', '-e', '!1.2.3.4.5']);
      assert.match(critical.stdout, /result: 12 Critical extension is unavailable/, describeResult(critical));
      assert.equal(server.directory.searches.length, 0);
      const plain = await runClient('ldapsearch', ['-x', '-H', server.url, '-b', 'o=test', '-s', 'base', '-e', '1.2.3.4.5']);
      assert.equal(plain.code, 0, describeResult(plain));
      assert.equal(server.directory.searches.length, 1);
    });
  });

  describe('binds and identity', () => {
    beforeEach(async () => {
      server = await startMemoryServer();
      server.directory.put({ dn: 'uid=bob, o=test', attributes: { objectClass: ['account'], uid: ['bob'], userPassword: ['secret'] } });
    });

    it('carries the bound identity, the peer and secure=false in every operation context; a failed bind resets it', async () => {
      const client = new Client({ url: server.url });
      await client.bind('uid=bob,o=test', 'secret');
      await client.compare('uid=bob,o=test', 'uid', 'bob');
      let ctx = server.directory.contexts[server.directory.contexts.length - 1];
      assert.equal(ctx.identity.dn, 'uid=bob, o=test');
      assert.equal(ctx.peer, '127.0.0.1');
      assert.equal(ctx.secure, false);
      const who = await client.exop('1.3.6.1.4.1.4203.1.11.3');
      assert.equal(who.value, 'dn:uid=bob, o=test');
      await assert.rejects(client.bind('uid=bob,o=test', 'wrong'), (err: { code?: number }) => err.code === 49);
      await client.compare('uid=bob,o=test', 'uid', 'bob');
      ctx = server.directory.contexts[server.directory.contexts.length - 1];
      assert.equal(ctx.identity.dn, '');
      assert.equal((await client.exop('1.3.6.1.4.1.4203.1.11.3')).value ?? '', '');
      assert.deepEqual(server.events.bindFailures, ['invalidCredentials']);
      await client.unbind();
    });

    it('answers the odd simple binds as slapd does', async () => {
      const client = new Client({ url: server.url });
      await assert.rejects(client.bind('uid=bob,o=test', ''), (err: { code?: number }) => err.code === 53);
      await assert.rejects(client.bind('', 'secret'), (err: { code?: number }) => err.code === 49);
      await client.bind('', '');
      await assert.rejects(client.bind('PLAIN', 'x'), (err: { code?: number }) => err.code === 7);
      await client.unbind();
    });

    it('refuses anonymous binds and LDAPv2 when configured to', async () => {
      await server.stop();
      server = await startMemoryServer({ allowAnonymous: false, allowV2Bind: false });
      const client = await RawClient.connect(server.port);
      client.send(request.bind(1, '', ''));
      assert.equal((await client.next())?.status, 48);
      // version 2 bind, hand-built: 30 0c 02 01 02 60 07 02 01 02 04 00 80 00
      client.send(Buffer.from([0x30, 0x0c, 0x02, 0x01, 0x02, 0x60, 0x07, 0x02, 0x01, 0x02, 0x04, 0x00, 0x80, 0x00]));
      const v2 = await client.next();
      assert.equal(v2?.type, 'BindResponse');
      assert.equal(v2?.status, 2);
      client.close();
    });

    it('requireTlsForBind: confidentialityRequired over plain TCP', async () => {
      await server.stop();
      server = await startMemoryServer({ requireTlsForBind: true });
      server.directory.put({ dn: 'uid=bob,o=test', attributes: { uid: ['bob'], userPassword: ['secret'] } });
      const client = new Client({ url: server.url });
      await assert.rejects(client.bind('uid=bob,o=test', 'secret'), (err: { code?: number }) => err.code === 13);
      await client.bind('', '');
      await client.unbind();
    });

    it('Password Modify passes the fields through and returns a generated password', async () => {
      const client = new Client({ url: server.url });
      await client.bind('uid=bob,o=test', 'secret');
      // ldapts exop takes a value; PasswdModifyRequestValue with no field at all: SEQUENCE {}
      const generated = await client.exop('1.3.6.1.4.1.4203.1.11.1', Buffer.from([0x30, 0x00]));
      assert.ok(generated.value?.includes('generated-secret'));
      await client.unbind();
    });

    it('answers an unknown extended operation with protocolError, reported as extended:other', async () => {
      const client = new Client({ url: server.url });
      await assert.rejects(client.exop('1.2.3.4.5.6'), (err: { code?: number }) => err.code === 2);
      await client.exop('1.3.6.1.4.1.4203.1.11.3');
      await client.unbind();
      assert.deepEqual(
        server.events.operations.filter((o) => o.op.startsWith('extended')),
        [{ op: 'extended:other', code: 2 }, { op: 'extended:1.3.6.1.4.1.4203.1.11.3', code: 0 }],
      );
    });
  });

  describe('observer', () => {
    it('a throwing observer hook is logged and does not take the server down', async () => {
      const failing = () => {
        throw new Error('metrics broke');
      };
      server = await startMemoryServer({
        observer: { onConnectionOpen: failing, onConnectionClose: failing, onOperation: failing, onProtocolError: failing, onBindFailure: failing },
      });
      const socket = await rawConnect(server.port);
      const reply = readUntilClose(socket);
      socket.write(Buffer.from('garbage'));
      assert.ok((await reply).closed);
      await assertStillServing(server);
      assert.ok(server.logs.some((l) => l.msg === 'ldap: observer hook failed'));
    });
  });

  describe('limits', () => {
    it('closes idle connections, but not one with a search in flight', async () => {
      server = await startMemoryServer({ limits: { maxPduBytes: 1024 * 1024, idleTimeoutSeconds: 1, maxConnections: 10, maxConnectionsPerAddress: 10 } });
      fill(server.directory, 20000);
      const started = Date.now();
      const idle = await RawClient.connect(server.port);
      const busy = await RawClient.connect(server.port);
      busy.socket.pause();
      busy.send(request.search(2, 'o=test'));
      await idle.closed;
      assert.ok(Date.now() - started >= 900, 'not closed before the idle timeout');
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.equal(server.server.connections(), 1, 'the connection with a running search is still open');
      busy.close();
    });

    it('refuses connections beyond maxConnections and maxConnectionsPerAddress', async () => {
      server = await startMemoryServer({ limits: { maxPduBytes: 1024 * 1024, idleTimeoutSeconds: 0, maxConnections: 2, maxConnectionsPerAddress: 2 } });
      const a = await RawClient.connect(server.port);
      const b = await RawClient.connect(server.port);
      await waitFor('two connections', () => server.server.connections() === 2);
      const c = await RawClient.connect(server.port);
      await c.closed;
      assert.equal(server.events.refused.length, 1);
      assert.ok(server.logs.some((l) => l.msg.includes('connection refused')));
      a.close();
      b.close();
      await waitFor('connections to close', () => server.server.connections() === 0);
      await server.stop();
      server = await startMemoryServer({ limits: { maxPduBytes: 1024 * 1024, idleTimeoutSeconds: 0, maxConnections: 10, maxConnectionsPerAddress: 1 } });
      const d = await RawClient.connect(server.port);
      const e = await RawClient.connect(server.port);
      await e.closed;
      assert.deepEqual(server.events.refused, ['maxConnectionsPerAddress']);
      d.close();
      await server.stop();
      // 0 = no per-address limit
      server = await startMemoryServer({ limits: { maxPduBytes: 1024 * 1024, idleTimeoutSeconds: 0, maxConnections: 10, maxConnectionsPerAddress: 0 } });
      const many = await Promise.all([1, 2, 3].map(() => RawClient.connect(server.port)));
      await waitFor('three connections', () => server.server.connections() === 3);
      assert.deepEqual(server.events.refused, []);
      for (const client of many) client.close();
    });
  });

  describe('TLS', () => {
    it('StartTLS upgrades the connection (ldapsearch -ZZ), and ctx.secure follows', async function () {
      requirePrograms(this, 'ldapsearch', 'openssl');
      const cert = makeSelfSignedCert(tmp);
      server = await startMemoryServer({ tls: { cert: cert.cert, key: cert.key } });
      const result = await runClient('ldapsearch', ['-ZZ', '-x', '-H', server.url, '-b', 'o=test', '-s', 'base', 'o'], {
        env: { ...process.env, LDAPTLS_CACERT: cert.certFile, LDAPTLS_REQCERT: 'demand' },
      });
      assert.equal(result.code, 0, describeResult(result));
      assert.match(result.stdout, /^o: test$/m);
      assert.equal(server.directory.searches[0].ctx.secure, true);
    });

    it('refuses a second StartTLS, and StartTLS with operations outstanding', async function () {
      requirePrograms(this, 'openssl');
      const cert = makeSelfSignedCert(tmp);
      server = await startMemoryServer({ tls: { cert: cert.cert, key: cert.key } });
      const client = new Client({ url: server.url });
      await client.startTLS({ ca: [cert.cert], servername: 'localhost' });
      await assert.rejects(client.exop('1.3.6.1.4.1.1466.20037'), (err: { code?: number }) => err.code === 1);
      await client.unbind();

      fill(server.directory, 20000);
      const raw = await RawClient.connect(server.port);
      raw.socket.pause();
      raw.send(request.search(2, 'o=test'));
      await waitFor('the search to stall', () => server.directory.searches.some((s) => s.pulled > 0 && !s.closed));
      raw.send(request.extended(3, '1.3.6.1.4.1.1466.20037'));
      raw.socket.resume();
      const responses = await raw.until('ExtensionResponse', 3, 20000);
      assert.equal(responses[responses.length - 1].status, 1);
      raw.close();
    });

    it('drops plaintext pipelined behind StartTLS instead of running it after the upgrade', async function () {
      requirePrograms(this, 'openssl');
      const cert = makeSelfSignedCert(tmp);
      server = await startMemoryServer({ tls: { cert: cert.cert, key: cert.key } });
      const plain = await RawClient.connect(server.port);
      plain.send(Buffer.concat([request.extended(1, '1.3.6.1.4.1.1466.20037'), request.search(2, 'o=test')]));
      const started = await plain.next();
      assert.equal(started?.type, 'ExtensionResponse');
      assert.equal(started?.status, 0);
      const secured = tls.connect({ socket: plain.detach(), ca: [cert.cert], servername: 'localhost' });
      await new Promise<void>((resolve, reject) => {
        secured.once('secureConnect', () => resolve());
        secured.once('error', reject);
      });
      const client = RawClient.over(secured);
      client.send(request.search(3, 'o=test'));
      const responses = await client.until('SearchResultDone', 3);
      assert.ok(!responses.some((r) => r.messageId === 2), 'the injected search got no answer');
      assert.equal(server.directory.searches.length, 1, 'only the search sent over TLS ran');
      assert.equal(server.directory.searches[0].ctx.secure, true);
      assert.ok(server.logs.some((l) => l.msg.includes('before the StartTLS response was dropped')));
      client.close();
    });

    it('StartTLS without TLS configured: protocolError, as from slapd', async () => {
      server = await startMemoryServer();
      const client = new Client({ url: server.url });
      await assert.rejects(client.exop('1.3.6.1.4.1.1466.20037'), (err: { code?: number }) => err.code === 2);
      await client.unbind();
    });

    it('serves LDAPS, and reloadTls changes the certificate for new connections', async function () {
      requirePrograms(this, 'ldapsearch', 'openssl');
      const first = makeSelfSignedCert(tmp);
      server = await startMemoryServer({ tls: { cert: first.cert, key: first.key }, ldaps: { host: '127.0.0.1', port: 0 } });
      const ldaps = server.server.ldapsAddress();
      assert.ok(ldaps);
      const result = await runClient('ldapsearch', ['-x', '-H', `ldaps://127.0.0.1:${ldaps.port}`, '-b', 'o=test', '-s', 'base', 'o'], {
        env: { ...process.env, LDAPTLS_CACERT: first.certFile },
      });
      assert.equal(result.code, 0, describeResult(result));
      assert.equal(server.directory.searches[0].ctx.secure, true);

      const fingerprint = (): Promise<string> =>
        new Promise((resolve, reject) => {
          const socket = tls.connect({ host: '127.0.0.1', port: ldaps.port, rejectUnauthorized: false }, () => {
            resolve(socket.getPeerCertificate().fingerprint256);
            socket.destroy();
          });
          socket.once('error', reject);
        });
      // Plain LDAP to the LDAPS port: a failed handshake, counted; the listener keeps serving.
      const wrong = await rawConnect(ldaps.port);
      const wrongReply = readUntilClose(wrong);
      wrong.write(request.search(1, 'o=test'));
      assert.ok((await wrongReply).closed);
      assert.deepEqual(server.events.protocolErrors, ['tls']);

      const before = await fingerprint();
      const secondDir = fs.mkdtempSync(path.join(tmp, 'second-'));
      const second = makeSelfSignedCert(secondDir);
      server.server.reloadTls({ cert: second.cert, key: second.key });
      const after = await fingerprint();
      assert.notEqual(before, after);
      assert.equal(after, new crypto.X509Certificate(second.cert).fingerprint256);
    });
  });

  describe('shutdown', () => {
    it('close() lets a running search finish, then ends the connection', async () => {
      server = await startMemoryServer();
      fill(server.directory, 3000);
      const client = await RawClient.connect(server.port);
      client.send(request.search(2, 'o=test'));
      await client.next();
      const closing = server.server.close();
      const responses = await client.until('SearchResultDone', 2);
      assert.equal(responses.length, 3001, 'every remaining entry and the done message arrived');
      const notice = await client.next();
      assert.equal(notice?.responseName, NOTICE_OID);
      assert.equal(notice?.status, 52);
      await client.closed;
      await closing;
      await assert.rejects(rawConnect(server.port));
    });
  });
});

