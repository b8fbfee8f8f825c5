import assert from 'node:assert/strict';
// dns2 is the independent decoder here: what our encoder writes must decode with it.
import { Packet } from 'dns2';
import { buildZones } from '../../src/dns/build';
import { lookup } from '../../src/dns/lookup';
import { encodeResult } from '../../src/dns/response';
import { RRType } from '../../src/dns/types';
import { HEADER_SIZE, parseQuery, readName, WireWriter } from '../../src/dns/wire';
import { ZoneSet } from '../../src/dns/zone';
import { allFixtureEntries } from './dns-fixtures.test';
import { encodeQuery } from '../support/dns-query';

function header(id: number, flags: number, qd: number, an = 0, ns = 0, ar = 0): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(flags, 2);
  b.writeUInt16BE(qd, 4);
  b.writeUInt16BE(an, 6);
  b.writeUInt16BE(ns, 8);
  b.writeUInt16BE(ar, 10);
  return b;
}

const query = encodeQuery;

describe('dns wire', () => {
  describe('why not dns2 for parsing requests', () => {
    it('dns2 accepts a header that promises a question it does not carry, so it cannot say FORMERR', () => {
      const runt = header(1, 0, 1);
      const parsed = Packet.parse(runt);
      assert.deepEqual(parsed.questions, []); // no error: the damage is swallowed
      const ours = parseQuery(runt);
      assert.equal(ours.kind, 'error');
      assert.equal(ours.kind === 'error' && ours.rcode, 1);
    });

    it('dns2 silently drops a question whose name is a compression-pointer loop; we answer FORMERR', () => {
      const loop = Buffer.concat([header(2, 0, 1), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
      assert.deepEqual(Packet.parse(loop).questions, []);
      const ours = parseQuery(loop);
      assert.equal(ours.kind === 'error' && ours.rcode, 1);
    });

    it('qdcount 65535 over a 13-byte packet is refused before any walking (dns2 tries 65535 times)', () => {
      const ours = parseQuery(Buffer.concat([header(3, 0, 65535), Buffer.from([0])]));
      assert.equal(ours.kind === 'error' && ours.rcode, 1);
      const counts = parseQuery(Buffer.concat([query('a.example', 1).subarray(0, 12), Buffer.from([0])]));
      assert.equal(counts.kind, 'error');
    });
  });

  describe('readName', () => {
    it('follows backward pointers and lower-cases', () => {
      const b = Buffer.from([3, 0x57, 0x57, 0x57, 7, ...Buffer.from('Example'), 3, ...Buffer.from('com'), 0, 1, 0x61, 0xc0, 4]);
      assert.deepEqual(readName(b, 0), { name: 'www.example.com', next: 17 });
      assert.deepEqual(readName(b, 17), { name: 'a.example.com', next: 21 });
    });
    it('rejects forward and self pointers, reserved label types, overlong names, runs past the end', () => {
      assert.throws(() => readName(Buffer.from([0xc0, 0]), 0));
      assert.throws(() => readName(Buffer.from([1, 0x61, 0xc0, 4, 0]), 0));
      assert.throws(() => readName(Buffer.from([0x80, 0]), 0));
      assert.throws(() => readName(Buffer.from([5, 0x61]), 0));
      const long = Buffer.concat([...Array(5)].map(() => Buffer.from([63, ...Buffer.alloc(63, 0x61)])).concat([Buffer.from([0])]));
      assert.throws(() => readName(long, 0));
    });
    it('terminates on pointer chains that go back and forth', () => {
      // two pointers at 0 and 2 pointing at each other: the second is not strictly backwards from the first's target
      assert.throws(() => readName(Buffer.from([0xc0, 2, 0xc0, 0]), 2));
    });
  });

  describe('parseQuery', () => {
    it('parses the question and EDNS', () => {
      const q = parseQuery(query('WwW.Example.COM', RRType.AAAA, { edns: { payload: 4096, dnssecOk: true } }));
      assert.equal(q.kind, 'query');
      if (q.kind !== 'query') return;
      assert.equal(q.qname, 'www.example.com');
      assert.equal(q.qtype, RRType.AAAA);
      assert.equal(q.rd, true);
      assert.deepEqual(q.edns, { payload: 4096, version: 0, dnssecOk: true });
    });
    it('drops responses (QR=1) and runts', () => {
      assert.equal(parseQuery(query('a.example', 1, { flags: 0x8000 })).kind, 'drop');
      assert.equal(parseQuery(Buffer.alloc(11)).kind, 'drop');
    });
    it('NOTIMP for opcodes other than QUERY and NOTIFY', () => {
      for (const opcode of [1, 2, 5, 15]) {
        const q = parseQuery(query('a.example', 1, { flags: opcode << 11 }));
        assert.equal(q.kind === 'error' && q.rcode, 4, `opcode ${opcode}`);
      }
      assert.equal(parseQuery(query('a.example', 6, { flags: 4 << 11 })).kind, 'query');
    });
    it('FORMERR for two OPT records, an OPT not owned by the root, truncated records', () => {
      const q = query('a.example', 1, { edns: { payload: 1232 } });
      const two = Buffer.concat([q, q.subarray(q.length - 11)]);
      two.writeUInt16BE(2, 10);
      assert.equal(parseQuery(two).kind, 'error');
      const cut = q.subarray(0, q.length - 3);
      assert.equal(parseQuery(cut).kind, 'error');
    });
    it('reads the client serial of an IXFR request from the authority SOA', () => {
      const w = new WireWriter();
      w.bytes(header(9, 0, 1, 0, 1, 0));
      w.name('example.com');
      w.u16(RRType.IXFR);
      w.u16(1);
      w.name('example.com');
      w.u16(RRType.SOA);
      w.u16(1);
      w.u32(0);
      w.u16(2 + 2 + 20);
      w.name('example.com');
      w.name('example.com');
      for (const v of [2009010101, 1, 2, 3, 4]) w.u32(v);
      const q = parseQuery(w.toBuffer());
      assert.equal(q.kind === 'query' && q.clientSerial, 2009010101);
    });
  });

  describe('encodeResult', () => {
    const zones = new ZoneSet(buildZones(allFixtureEntries(), { defaultSerial: 2026010101 }));
    const frameFor = (name: string, type: number, edns = true) => {
      const raw = query(name, type, { edns: edns ? { payload: 1232 } : undefined });
      const q = parseQuery(raw);
      assert.equal(q.kind, 'query');
      if (q.kind !== 'query') throw new Error('unreachable');
      return { id: q.id, opcode: 0, rd: q.rd, cd: q.cd, qname: q.qname, question: raw.subarray(HEADER_SIZE, q.questionEnd), edns: q.edns };
    };

    it('writes messages that dns2 decodes to the same records', () => {
      const out = encodeResult(frameFor('example.com', RRType.MX), lookup(zones, 'example.com', RRType.MX), { maxSize: 1232, ourPayload: 1232 });
      const p = Packet.parse(out);
      assert.equal(p.header.qr, 1);
      assert.equal(p.header.aa, 1);
      assert.equal(p.header.id, 0x1234);
      const answers = p.answers as unknown as Array<{ exchange: string; priority: number }>;
      const additionals = p.additionals as unknown as Array<{ type: number; address: string; class: number }>;
      assert.deepEqual(answers.map((a) => `${a.priority} ${a.exchange}`).sort(), ['10 mx1.example.com', '20 mx2.isp.net']);
      assert.deepEqual(additionals.filter((a) => a.type === 1).map((a) => a.address), ['192.0.2.25']);
      const opt = additionals.find((a) => a.type === 41);
      assert.ok(opt, 'OPT echoed');
      assert.equal(opt.class, 1232);
    });

    it('a question label holding a dot is never a compression target (the answer stays well-formed)', () => {
      // "a.b" as ONE label under dyn.example.com, which has a wildcard
      const raw = Buffer.concat([query('x.dyn.example.com', RRType.A).subarray(0, 12), Buffer.from([3, 0x61, 0x2e, 0x62]), query('dyn.example.com', RRType.A).subarray(12)]);
      const q = parseQuery(raw);
      assert.equal(q.kind, 'query');
      if (q.kind !== 'query') return;
      const frame = { id: q.id, opcode: 0, rd: q.rd, cd: q.cd, qname: q.qname, question: raw.subarray(HEADER_SIZE, q.questionEnd), edns: null };
      const out = encodeResult(frame, lookup(zones, q.qname, q.qtype), { maxSize: 1232, ourPayload: 1232 });
      // every record's owner decodes, and none points into the dotted label
      let pos = q.questionEnd;
      for (let i = 0; i < out.readUInt16BE(6); i++) {
        const { name, next } = readName(out, pos);
        assert.equal(name, 'a.b.dyn.example.com');
        pos = next + 10 + out.readUInt16BE(next + 8);
      }
      assert.equal(pos, out.length);
    });

    it('compresses names', () => {
      const out = encodeResult(frameFor('4unet.net', RRType.NS), lookup(zones, '4unet.net', RRType.NS), { maxSize: 1232, ourPayload: 1232 });
      assert.ok(out.length < 120, `compressed size ${out.length}`);
    });

    it('drops additional data before setting TC, and sets TC with the question only when the answer does not fit', () => {
      const r = lookup(zones, 'example.com', RRType.MX);
      const full = encodeResult(frameFor('example.com', RRType.MX, false), r, { maxSize: 65535, ourPayload: 1232 });
      const noAdditional = encodeResult(frameFor('example.com', RRType.MX, false), r, { maxSize: full.length - 1, ourPayload: 1232 });
      assert.equal(noAdditional[2] & 0x02, 0, 'no TC');
      assert.equal(noAdditional.readUInt16BE(10), 0);
      assert.equal(noAdditional.readUInt16BE(6), 2);
      const tc = encodeResult(frameFor('example.com', RRType.MX, false), r, { maxSize: 40, ourPayload: 1232 });
      assert.equal(tc[2] & 0x02, 0x02, 'TC');
      assert.equal(tc.readUInt16BE(6), 0);
      assert.ok(tc.length <= 40);
    });
  });
});
