// The DNS listener on a real port, asked by dig (bind9-dnsutils) and kdig (knot-dnsutils) over UDP and TCP,
// plus raw sockets for what those tools will not send (garbage, broken TCP framing, NOTIFY peers).

import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { readLdif, allFixtureEntries } from '../unit/dns-fixtures.test';
import { describeResult, requirePrograms, runClient } from '../support/clients';
import { startDnsServer, type DnsServer } from '../../src/dns/server';
import { WireWriter } from '../../src/dns/wire';
import type { Entry } from '../../src/directory/types';

/** A zone whose TXT answer exceeds 512 octets (TC without EDNS) and fits in 1232. */
const BIG_LDIF = `dn: relativeDomainName=@,ou=big
objectClass: dNSZone
zoneName: big.test
relativeDomainName: @
sOARecord: ns.big.test. hostmaster.big.test. 5 1H 10M 1W 5M
nSRecord: ns.big.test.

dn: relativeDomainName=txt,ou=big
objectClass: dNSZone
zoneName: big.test
relativeDomainName: txt
${[...Array(6)].map((_, i) => `tXTRecord: ${String(i).repeat(150)}`).join('\n')}
`;

function entries(): Entry[] {
  return [...allFixtureEntries(), ...readLdif(BIG_LDIF)];
}

describe('dns server (dig, kdig)', function () {
  this.timeout(60000);
  let server: DnsServer;
  let port: number;
  const warnings: string[] = [];

  before(async function () {
    requirePrograms(this, 'dig', 'kdig');
    server = await startDnsServer({
      entries: entries(),
      listen: { host: '127.0.0.1', port: 0 },
      allowTransfer: ['127.0.0.1/32'],
      tcpIdleSeconds: 2,
      logger: { info: () => undefined, warn: (o, m) => warnings.push(`${m} ${JSON.stringify(o)}`) },
    });
    port = server.address().port;
  });

  after(async () => {
    await server?.close();
  });

  async function dig(...args: string[]): Promise<string> {
    const r = await runClient('dig', ['@127.0.0.1', '-p', String(port), '+norec', '+tries=1', '+time=3', ...args], { timeoutMs: 20000 });
    assert.equal(r.code, 0, describeResult(r));
    return r.stdout;
  }

  async function kdig(...args: string[]): Promise<string> {
    const r = await runClient('kdig', ['@127.0.0.1', '-p', String(port), '+norec', '+retry=0', '+time=3', ...args], { timeoutMs: 20000 });
    assert.equal(r.code, 0, describeResult(r));
    return r.stdout;
  }

  /** Record lines of a dig/kdig section dump, whitespace-normalized, sorted. */
  function records(out: string): string[] {
    return out
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith(';'))
      .map((l) => l.trim().split(/\s+/).join(' '))
      .sort();
  }

  const status = (out: string): string => /status: (\w+)/.exec(out)?.[1] ?? 'none';
  const flags = (out: string): string[] => (/flags: ([a-z ]*);/.exec(out)?.[1] ?? '').trim().split(/\s+/);

  const TYPES: Array<[string, string, string[]]> = [
    ['www.example.com', 'A', ['www.example.com. 86400 IN A 192.0.2.10']],
    ['www.example.com', 'AAAA', ['www.example.com. 86400 IN AAAA 2001:db8::10']],
    ['example.com', 'NS', ['example.com. 86400 IN NS ns1.isp.net.', 'example.com. 86400 IN NS ns2.example.com.']],
    ['example.com', 'MX', ['example.com. 86400 IN MX 10 mx1.example.com.', 'example.com. 86400 IN MX 20 mx2.isp.net.']],
    ['example.com', 'TXT', ['example.com. 86400 IN TXT "v=spf1 mx -all"']],
    ['_sip._tcp.example.com', 'SRV', ['_sip._tcp.example.com. 86400 IN SRV 10 60 5060 sip.example.com.']],
    ['example.com', 'CAA', ['example.com. 86400 IN CAA 0 issue "letsencrypt.org"']],
    ['example.com', 'SOA', ['example.com. 86400 IN SOA ns1.isp.net. dnsmaster.example.com. 2009010101 10800 1800 604800 86400']],
    ['10.2.0.192.in-addr.arpa', 'PTR', ['10.2.0.192.in-addr.arpa. 86400 IN PTR www.example.com.']],
    ['webmail.example.com', 'CNAME', ['webmail.example.com. 86400 IN CNAME www.example.com.']],
  ];

  for (const transport of ['UDP', 'TCP']) {
    for (const [name, type, expected] of TYPES) {
      it(`${type} over ${transport} with dig and kdig`, async () => {
        const tcp = transport === 'TCP' ? ['+tcp'] : [];
        const d = await dig(...tcp, name, type, '+noall', '+answer', '+comments');
        assert.equal(status(d), 'NOERROR', d);
        assert.ok(flags(d).includes('aa'), d);
        assert.deepEqual(records(d), expected);
        const k = await kdig(...tcp, name, type, '+noall', '+answer');
        assert.deepEqual(records(k), expected, k);
      });
    }
  }

  it('the article 4unet.net as printed: SOA without a stored serial, NS, MX, A, and the CNAMEs', async () => {
    const soa = records(await dig('4unet.net', 'SOA', '+noall', '+answer'));
    assert.match(soa[0], /^4unet\.net\. 432000 IN SOA ns1\.4unet\.net\. dnsmaster\.4unet\.net\. \d{10} 21600 1800 1209600 432000$/);
    assert.deepEqual(records(await dig('4unet.net', 'NS', '+noall', '+answer')), ['4unet.net. 432000 IN NS ns1.4unet.net.', '4unet.net. 432000 IN NS ns2.4unet.net.']);
    assert.deepEqual(records(await dig('4unet.net', 'MX', '+noall', '+answer')), ['4unet.net. 432000 IN MX 10 mx1.4unet.net.', '4unet.net. 432000 IN MX 100 mx2.4unet.net.']);
    assert.deepEqual(records(await dig('4unet.net', 'A', '+noall', '+answer')), ['4unet.net. 432000 IN A 193.247.80.43', '4unet.net. 432000 IN A 193.247.80.44']);
    assert.deepEqual(records(await dig('ns2.4unet.net', 'A', '+noall', '+answer')), ['ns2.4unet.net. 432000 IN A 193.247.80.44']);
    for (const alias of ['ftp', 'mail']) {
      const out = await kdig(`${alias}.4unet.net`, 'A', '+noall', '+answer');
      assert.deepEqual(records(out), [`${alias}.4unet.net. 432000 IN CNAME www.4unet.net.`, 'www.4unet.net. 432000 IN CNAME www.4unet.net.']);
    }
  });

  it("the `*` CNAME answers for any name, and the www loop ends (dig gets an answer, not a timeout)", async () => {
    const out = await dig('whatever.4unet.net', 'A', '+noall', '+answer', '+comments');
    assert.equal(status(out), 'NOERROR');
    assert.deepEqual(records(out), ['whatever.4unet.net. 432000 IN CNAME www.4unet.net.', 'www.4unet.net. 432000 IN CNAME www.4unet.net.']);
  });

  it('NXDOMAIN and NODATA carry the SOA in authority with the negative TTL', async () => {
    const nx = await dig('nope.example.com', 'A', '+noall', '+authority', '+comments');
    assert.equal(status(nx), 'NXDOMAIN');
    assert.ok(flags(nx).includes('aa'));
    assert.deepEqual(records(nx), ['example.com. 86400 IN SOA ns1.isp.net. dnsmaster.example.com. 2009010101 10800 1800 604800 86400']);
    const nodata = await dig('www.example.com', 'MX', '+noall', '+authority', '+comments');
    assert.match(await kdig('www.example.com', 'MX'), /status: NOERROR/);
    assert.match(await kdig('nope.example.com', 'MX'), /status: NXDOMAIN/);
    assert.equal(status(nodata), 'NOERROR');
    assert.equal(records(nodata).length, 1);
    assert.match(records(nodata)[0], / SOA /);
    const ent = await dig('ent.example.com', 'A', '+noall', '+comments');
    assert.equal(status(ent), 'NOERROR', 'empty non-terminal');
  });

  it('wildcards synthesize the query name', async () => {
    assert.deepEqual(records(await dig('host42.dyn.example.com', 'A', '+noall', '+answer')), ['host42.dyn.example.com. 86400 IN A 192.0.2.99']);
  });

  it('MX and NS answers carry in-zone addresses as additional data', async () => {
    const out = await dig('example.com', 'MX', '+noall', '+additional');
    assert.deepEqual(records(out), ['mx1.example.com. 86400 IN A 192.0.2.25']);
  });

  it('delegations: referral without AA, NS in authority, glue in additional', async () => {
    const out = await dig('www.sub.example.com', 'A', '+noall', '+comments', '+authority', '+additional');
    assert.equal(status(out), 'NOERROR');
    assert.ok(!flags(out).includes('aa'), out);
    assert.deepEqual(records(out), ['ns.sub.example.com. 86400 IN A 192.0.2.200', 'sub.example.com. 86400 IN NS ns.sub.example.com.']);
  });

  it('REFUSED for zones we do not host, and recursion is never offered', async () => {
    const out = await dig('www.google.com', 'A', '+rec', '+comments');
    assert.equal(status(out), 'REFUSED');
    assert.ok(!flags(out).includes('ra'));
    const chaos = await dig('version.bind', 'TXT', 'CH', '+comments');
    assert.equal(status(chaos), 'REFUSED');
  });

  it('ANY gets one RRset (RFC 8482)', async () => {
    const out = await dig('example.com', 'ANY', '+noall', '+answer');
    const types = new Set(records(out).map((l) => l.split(' ')[3]));
    assert.equal(types.size, 1, out);
  });

  it('EDNS0: OPT echoed with our payload size; BADVERS for version 1; no OPT without EDNS', async () => {
    const withEdns = await dig('www.example.com', 'A', '+bufsize=4096');
    assert.match(withEdns, /EDNS: version: 0, flags:; udp: 1232/);
    const v1 = await dig('www.example.com', 'A', '+edns=1', '+noednsnegotiation');
    assert.equal(status(v1), 'BADVERS', v1);
    const none = await dig('www.example.com', 'A', '+noedns');
    assert.doesNotMatch(none, /OPT PSEUDOSECTION/);
    const dnssecOk = await dig('www.example.com', 'A', '+dnssec');
    assert.match(dnssecOk, /EDNS: version: 0, flags: do;/);
  });

  it('TC when the answer exceeds 512 octets without EDNS; complete over TCP and with EDNS', async () => {
    const truncated = await dig('txt.big.test', 'TXT', '+noedns', '+ignore', '+comments');
    assert.ok(flags(truncated).includes('tc'), truncated);
    const tcp = await dig('txt.big.test', 'TXT', '+noedns', '+tcp', '+noall', '+answer');
    assert.equal(records(tcp).length, 6);
    const edns = await dig('txt.big.test', 'TXT', '+bufsize=1232', '+ignore', '+noall', '+answer', '+comments');
    assert.ok(!flags(edns).includes('tc'));
    assert.equal(records(edns).length, 6);
  });

  it('echoes the question as the client wrote it (0x20), also from the cache', async () => {
    await dig('www.example.com', 'A');
    const out = await dig('WwW.ExAmPlE.CoM', 'A', '+noall', '+question', '+answer');
    assert.match(out, /;WwW\.ExAmPlE\.CoM\.\s+IN\s+A/);
  });

  it('AXFR to an allowed peer, framed by the SOA, with dig and kdig', async () => {
    const out = await dig('example.com', 'AXFR');
    const lines = records(out.split('\n').filter((l) => !l.startsWith(';')).join('\n'));
    assert.ok(lines.length > 20, out);
    const soaLines = out.split('\n').filter((l) => /\sSOA\s/.test(l));
    assert.equal(soaLines.length, 2);
    const k = await kdig('example.com', 'AXFR');
    assert.match(k, /Received \d+ B \(\d+ messages?, \d+ records\)/);
  });

  it('AXFR is refused to peers that are not allowed, and over UDP', async () => {
    const other = await startDnsServer({ entries: entries(), listen: { host: '127.0.0.1', port: 0 }, allowTransfer: ['10.0.0.0/8'] });
    try {
      const r = await runClient('dig', ['@127.0.0.1', '-p', String(other.address().port), '+tries=1', '+time=3', 'example.com', 'AXFR'], { timeoutMs: 20000 });
      assert.match(r.stdout, /Transfer failed|REFUSED/, describeResult(r));
      assert.doesNotMatch(r.stdout, /IN\s+A\s+192\.0\.2\.10/);
    } finally {
      await other.close();
    }
  });

  it('AXFR over UDP is FORMERR (RFC 5936 §4.2: TCP only)', async () => {
    const s = dgram.createSocket('udp4');
    try {
      const reply = await udpExchange(s, rawQuery('example.com', 252, 77));
      assert.ok(reply);
      assert.equal(reply[3] & 0xf, 1);
      assert.equal(reply.readUInt16BE(6), 0);
    } finally {
      s.close();
    }
  });

  it('IXFR: the current serial gets one SOA; an older one the differences; an unknown one the whole zone', async () => {
    const own = await startDnsServer({ entries: entries(), listen: { host: '127.0.0.1', port: 0 }, allowTransfer: ['127.0.0.1'] });
    const p = String(own.address().port);
    const ixfr = async (serial: number) => {
      const r = await runClient('dig', ['@127.0.0.1', '-p', p, '+tries=1', '+time=3', 'example.com', `IXFR=${serial}`], { timeoutMs: 20000 });
      assert.equal(r.code, 0, describeResult(r));
      return r.stdout.split('\n').filter((l) => l.trim() && !l.startsWith(';'));
    };
    try {
      assert.equal((await ixfr(2009010101)).length, 1);
      // Change the data without touching the stored serial: the server raises it itself (never serves changed
      // data under an old serial), and keeps the difference for IXFR.
      const changed = entries().map((e) => (e.dn.startsWith('relativeDomainName=www,aRecord=') ? { ...e, attributes: { ...e.attributes, aRecord: ['192.0.2.11'] } } : e));
      own.setEntries(changed);
      const newSerial = own.zones().find((z) => z.origin === 'example.com')!.serial;
      assert.ok(newSerial > 2009010101);
      const diff = await ixfr(2009010101);
      const text = diff.map((l) => l.split(/\s+/).join(' '));
      assert.equal(text.filter((l) => / SOA /.test(l)).length, 4, diff.join('\n'));
      assert.ok(text.some((l) => l === 'www.example.com. 86400 IN A 192.0.2.10'));
      assert.ok(text.some((l) => l === 'www.example.com. 86400 IN A 192.0.2.11'));
      assert.ok(text.length < 10, 'incremental, not the whole zone');
      const full = await ixfr(12345);
      assert.ok(full.length > 20, 'unknown serial: AXFR-style answer');
    } finally {
      await own.close();
    }
  });

  // ---- raw sockets ----

  function rawQuery(name: string, type: number, id = 0x4242): Buffer {
    const w = new WireWriter();
    w.u16(id);
    w.u16(0);
    w.u16(1);
    w.u16(0);
    w.u16(0);
    w.u16(0);
    w.name(name);
    w.u16(type);
    w.u16(1);
    return w.toBuffer();
  }

  function udpExchange(socket: dgram.Socket, msg: Buffer, timeoutMs = 2000): Promise<Buffer | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        socket.removeListener('message', onMessage);
        resolve(null);
      }, timeoutMs);
      const onMessage = (m: Buffer) => {
        if (m.readUInt16BE(0) !== msg.readUInt16BE(0)) return;
        clearTimeout(timer);
        socket.removeListener('message', onMessage);
        resolve(m);
      };
      socket.on('message', onMessage);
      socket.send(msg, port, '127.0.0.1');
    });
  }

  it('drops responses (QR=1), NOTIMP for other opcodes, FORMERR for two questions', async () => {
    const s = dgram.createSocket('udp4');
    try {
      const response = rawQuery('www.example.com', 1, 1);
      response[2] |= 0x80;
      assert.equal(await udpExchange(s, response, 500), null);
      const update = rawQuery('example.com', 6, 2);
      update[2] |= 5 << 3;
      const notimp = await udpExchange(s, update);
      assert.equal(notimp![3] & 0xf, 4);
      const two = Buffer.concat([rawQuery('a.example.com', 1, 3), rawQuery('b.example.com', 1, 3).subarray(12)]);
      two.writeUInt16BE(2, 4);
      const formerr = await udpExchange(s, two);
      assert.equal(formerr![3] & 0xf, 1);
      // qdcount 65535 over a few octets, and a question name that is a compression-pointer loop
      const many = rawQuery('www.example.com', 1, 4);
      many.writeUInt16BE(65535, 4);
      assert.equal((await udpExchange(s, many))![3] & 0xf, 1);
      const loop = Buffer.concat([rawQuery('x', 1, 5).subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
      assert.equal((await udpExchange(s, loop))![3] & 0xf, 1);
      const selfLoop = Buffer.concat([rawQuery('x', 1, 6).subarray(0, 12), Buffer.from([1, 0x61, 0xc0, 12, 0, 1, 0, 1])]);
      assert.equal((await udpExchange(s, selfLoop))![3] & 0xf, 1);
      assert.equal((await udpExchange(s, rawQuery('www.example.com', 1, 8)))![3] & 0xf, 0, 'the next valid query is answered');
    } finally {
      s.close();
    }
  });

  it('survives 100,000 random and mutated packets and answers the next valid query', async function () {
    this.timeout(120000);
    const seeds = [rawQuery('www.example.com', 1), rawQuery('example.com', 15), rawQuery('ftp.4unet.net', 1), rawQuery('example.com', 252), rawQuery('x.dyn.example.com', 28)];
    let state = 12345;
    const rand = (n: number) => {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      return state % n;
    };
    const s = dgram.createSocket('udp4');
    s.on('message', () => undefined);
    const warningsBefore = warnings.length;
    try {
      for (let batch = 0; batch < 200; batch++) {
        for (let i = 0; i < 500; i++) {
          let pkt: Buffer;
          const kind = rand(4);
          if (kind === 0) {
            pkt = Buffer.alloc(rand(600));
            for (let j = 0; j < pkt.length; j++) pkt[j] = rand(256);
          } else {
            pkt = Buffer.from(seeds[rand(seeds.length)]);
            for (let m = 1 + rand(4); m > 0; m--) pkt[rand(pkt.length)] = rand(256);
            if (kind === 2) pkt = pkt.subarray(0, rand(pkt.length + 1));
            if (kind === 3) pkt = Buffer.concat([pkt, Buffer.from([0xc0, rand(256), rand(256), rand(256)])]);
            pkt[2] &= 0x7f; // mostly queries, so they reach the parser
          }
          // And each straight through the engine too, so a thrown error cannot hide in the socket handler.
          server.engine.handle(pkt, 'udp', '127.0.0.1');
          s.send(pkt, port, '127.0.0.1');
        }
        await new Promise((r) => setTimeout(r, 2));
      }
      // A fresh socket: the flood's answers may have filled the first one's receive buffer. The server may
      // still be working through the queued flood, so allow it a while.
      const probe = dgram.createSocket('udp4');
      let ok: Buffer | null = null;
      try {
        for (let i = 0; i < 5 && !ok; i++) ok = await udpExchange(probe, rawQuery('www.example.com', 1, 0x7770 + i), 3000);
      } finally {
        probe.close();
      }
      assert.ok(ok, 'valid query answered after the flood');
      assert.equal(ok![3] & 0xf, 0);
      assert.equal(warnings.length, warningsBefore, warnings.slice(warningsBefore).join('\n'));
    } finally {
      s.close();
    }
  });

  function tcpConnect(): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const c = net.connect(port, '127.0.0.1', () => resolve(c));
      c.once('error', reject);
    });
  }

  function frame(msg: Buffer): Buffer {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(msg.length);
    return Buffer.concat([len, msg]);
  }

  /** Reads n length-prefixed messages from a socket. */
  function readMessages(c: net.Socket, n: number, timeoutMs = 3000): Promise<Buffer[]> {
    return new Promise((resolve, reject) => {
      let buf = Buffer.alloc(0);
      const out: Buffer[] = [];
      const timer = setTimeout(() => reject(new Error(`got ${out.length} of ${n} messages`)), timeoutMs);
      const onData = (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          out.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
          buf = buf.subarray(2 + buf.readUInt16BE(0));
        }
        if (out.length >= n) {
          clearTimeout(timer);
          c.removeListener('data', onData);
          resolve(out);
        }
      };
      c.on('data', onData);
    });
  }

  it('TCP: several pipelined queries in one write, answered in order on one connection', async () => {
    const c = await tcpConnect();
    try {
      const ids = [11, 12, 13, 14];
      const names = ['www.example.com', 'example.com', 'nope.example.com', 'ftp.4unet.net'];
      const got = readMessages(c, 4);
      c.write(Buffer.concat(ids.map((id, i) => frame(rawQuery(names[i], 1, id)))));
      const replies = await got;
      assert.deepEqual(replies.map((r) => r.readUInt16BE(0)), ids);
      assert.deepEqual(replies.map((r) => r[3] & 0xf), [0, 0, 3, 0]);
      // split across writes, byte by byte for the length prefix
      const q = frame(rawQuery('www.example.com', 1, 15));
      const more = readMessages(c, 1);
      c.write(q.subarray(0, 1));
      await new Promise((r) => setTimeout(r, 20));
      c.write(q.subarray(1));
      assert.equal((await more)[0].readUInt16BE(0), 15);
    } finally {
      c.destroy();
    }
  });

  it('TCP: truncated frames and oversized lengths do not hang the server; idle connections are closed', async () => {
    // A frame that promises 65535 octets and sends 10, then goes quiet: the idle timeout closes it.
    const c = await tcpConnect();
    const closed = new Promise<void>((resolve) => c.on('close', () => resolve()));
    c.on('error', () => undefined);
    c.write(Buffer.concat([Buffer.from([0xff, 0xff]), Buffer.alloc(10)]));
    await closed;
    // A length below a DNS header cannot be re-synchronized: closed at once.
    const d = await tcpConnect();
    const dClosed = new Promise<void>((resolve) => d.on('close', () => resolve()));
    d.on('error', () => undefined);
    d.write(Buffer.from([0, 3, 1, 2, 3]));
    await dClosed;
    // A client that disconnects mid-frame.
    const e = await tcpConnect();
    e.write(frame(rawQuery('www.example.com', 1)).subarray(0, 9));
    e.destroy();
    // A garbage message with a valid frame gets FORMERR and the connection goes on.
    const f = await tcpConnect();
    try {
      const garbage = Buffer.concat([rawQuery('www.example.com', 1, 21).subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
      const got = readMessages(f, 2);
      f.write(Buffer.concat([frame(garbage), frame(rawQuery('www.example.com', 1, 22))]));
      const [bad, good] = await got;
      assert.equal(bad[3] & 0xf, 1);
      assert.equal(good.readUInt16BE(0), 22);
      assert.equal(good[3] & 0xf, 0);
    } finally {
      f.destroy();
    }
    const after = await dig('+tcp', 'www.example.com', 'A', '+short');
    assert.equal(after.trim(), '192.0.2.10');
  });

  it('NOTIFY: sent to configured secondaries when a serial moves, resent until acknowledged', async () => {
    const secondary = dgram.createSocket('udp4');
    await new Promise<void>((r) => secondary.bind(0, '127.0.0.1', () => r()));
    const received: Buffer[] = [];
    let acknowledged = 0;
    secondary.on('message', (msg, rinfo) => {
      received.push(msg);
      // Ignore the first NOTIFY; acknowledge the second (RFC 1996 §4.7: response = query with QR set).
      if (received.length >= 2) {
        const ack = Buffer.from(msg.subarray(0, msg.length));
        ack[2] |= 0x80;
        secondary.send(ack, rinfo.port, rinfo.address);
      }
    });
    const primary = await startDnsServer({
      entries: entries(),
      listen: { host: '127.0.0.1', port: 0 },
      notify: { 'example.com': [`127.0.0.1:${secondary.address().port}`] },
      notifyInitialDelayMs: 100,
      observer: { onNotify: (e) => (e.result === 'acknowledged' ? acknowledged++ : undefined) },
    });
    try {
      const deadline = Date.now() + 10000;
      while (acknowledged === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(acknowledged, 1);
      const first = received[0];
      assert.equal((first[2] >> 3) & 0xf, 4, 'opcode NOTIFY');
      assert.equal(first[2] & 0x80, 0, 'a request');
      assert.equal(first.readUInt16BE(6), 1, 'SOA in the answer section');
      const count = received.length;
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(received.length, count, 'no more resends after the acknowledgement');
    } finally {
      await primary.close();
      secondary.close();
    }
  });
});
