// The encoded-answer cache (src/dns/answer-cache.ts) and the engine's use of it: a cached answer is the
// uncached one with the client's ID, RD/CD bits and question spelling; nothing is shared across types,
// classes or response shapes; a zone change empties it. Answers decoded with dns2 (an independent codec).

import assert from 'node:assert/strict';
import { Packet } from 'dns2';
import { AnswerCache, answerShape } from '../../src/dns/answer-cache';
import { buildZones } from '../../src/dns/build';
import { DnsEngine } from '../../src/dns/engine';
import { HEADER_SIZE } from '../../src/dns/wire';
import type { Entry } from '../../src/directory/types';
import { encodeQuery, type QueryOptions } from '../support/dns-query';

function zone(addresses: string[]): Entry[] {
  return [
    { dn: 'relativeDomainName=@,ou=t', attributes: { objectClass: ['dNSZone'], zoneName: ['t.test'], relativeDomainName: ['@'], sOARecord: ['ns.t.test. h.t.test. 5 1H 10M 1W 5M'], nSRecord: ['ns.t.test.'] } },
    { dn: 'relativeDomainName=www,ou=t', attributes: { objectClass: ['dNSZone'], zoneName: ['t.test'], relativeDomainName: ['www'], aRecord: addresses, tXTRecord: ['x'.repeat(200), 'y'.repeat(200), 'z'.repeat(200)] } },
  ];
}

/** A query with the name's labels exactly as given (no case change), optional EDNS with payload and DO. */
function query(name: string, type: number, opts: QueryOptions = {}): Buffer {
  return encodeQuery(name, type, { ...opts, id: opts.id ?? 7 });
}

function nameEnd(q: Buffer): number {
  let p = HEADER_SIZE;
  while (q[p] !== 0) p += q[p] + 1;
  return p + 1;
}

describe('dns answer cache', () => {
  it('folds letter case as the lookup does (ASCII and Latin-1), and keeps types, classes and shapes apart', () => {
    const cache = new AnswerCache(100);
    const shape = answerShape(512, false, false);
    const a = query('Www.T.test', 1);
    cache.set(a, HEADER_SIZE, nameEnd(a), 1, 1, shape, 'www.t.test', Buffer.from('answer-a'));
    const b = query('wWW.t.TEST', 1);
    assert.equal(cache.get(b, HEADER_SIZE, nameEnd(b), 1, 1, shape)?.message.toString(), 'answer-a');
    assert.equal(cache.get(b, HEADER_SIZE, nameEnd(b), 28, 1, shape), undefined, 'another type');
    assert.equal(cache.get(b, HEADER_SIZE, nameEnd(b), 1, 255, shape), undefined, 'another class');
    assert.equal(cache.get(b, HEADER_SIZE, nameEnd(b), 1, 1, answerShape(1232, true, false)), undefined, 'EDNS');
    assert.equal(cache.get(b, HEADER_SIZE, nameEnd(b), 1, 1, answerShape(512, true, true)), undefined, 'DO bit');
    // type and class octets are numbers, never case-folded: 0x41 (65) and 0x61 (97) stay apart
    cache.set(a, HEADER_SIZE, nameEnd(a), 0x41, 1, shape, 'www.t.test', Buffer.from('type-65'));
    assert.equal(cache.get(b, HEADER_SIZE, nameEnd(b), 0x61, 1, shape), undefined);
    // Latin-1 capitals fold like String#toLowerCase ('À' → 'à'), × (0xd7) does not
    const upper = query('\u00c0.t.test', 1);
    cache.set(upper, HEADER_SIZE, nameEnd(upper), 1, 1, shape, '\u00e0.t.test', Buffer.from('latin'));
    const lower = query('\u00e0.t.test', 1);
    assert.equal(cache.get(lower, HEADER_SIZE, nameEnd(lower), 1, 1, shape)?.message.toString(), 'latin');
    const times = query('\u00d7.t.test', 1);
    const division = query('\u00f7.t.test', 1);
    cache.set(times, HEADER_SIZE, nameEnd(times), 1, 1, shape, '\u00d7.t.test', Buffer.from('times'));
    assert.equal(cache.get(division, HEADER_SIZE, nameEnd(division), 1, 1, shape), undefined);
    // same length, different labels
    const other = query('wwx.t.test', 1);
    assert.equal(cache.get(other, HEADER_SIZE, nameEnd(other), 1, 1, shape), undefined);
  });

  it('holds at most its capacity, dropping the oldest first', () => {
    const cache = new AnswerCache(3);
    const shape = answerShape(512, false, false);
    const names = ['a.t.test', 'b.t.test', 'c.t.test', 'd.t.test'];
    for (const n of names) {
      const q = query(n, 1);
      cache.set(q, HEADER_SIZE, nameEnd(q), 1, 1, shape, n, Buffer.from(n));
    }
    assert.equal(cache.size, 3);
    const first = query('a.t.test', 1);
    assert.equal(cache.get(first, HEADER_SIZE, nameEnd(first), 1, 1, shape), undefined, 'the oldest went');
    const last = query('d.t.test', 1);
    assert.equal(cache.get(last, HEADER_SIZE, nameEnd(last), 1, 1, shape)?.message.toString(), 'd.t.test');
  });

  it('engine: a cached answer is the fresh one with the client ID, RD/CD bits and question spelling', () => {
    const events: Array<{ cached: boolean; qname?: string }> = [];
    const engine = new DnsEngine({ onQuery: (e) => events.push({ cached: e.cached, qname: e.qname }) });
    engine.replaceAll(buildZones(zone(['192.0.2.1'])));
    const fresh = engine.handle(query('www.t.test', 1, { id: 1, flags: 0x0100 }), 'udp', '127.0.0.1')![0];
    const cached = engine.handle(query('WwW.t.TeSt', 1, { id: 0xbeef, flags: 0x0010 }), 'udp', '127.0.0.1')![0];
    assert.deepEqual(events, [
      { cached: false, qname: 'www.t.test' },
      { cached: true, qname: 'www.t.test' },
    ]);
    assert.equal(cached.readUInt16BE(0), 0xbeef);
    assert.equal(cached[2] & 0x01, 0, 'RD as the query: off');
    assert.equal(cached[3] & 0x10, 0x10, 'CD as the query: on');
    const decoded = Packet.parse(cached);
    assert.equal(decoded.questions[0].name, 'WwW.t.TeSt');
    assert.deepEqual(decoded.answers.map((a: { address?: string }) => a.address), ['192.0.2.1']);
    // apart from ID, flags and the question's letters, byte for byte the fresh answer
    const strip = (m: Buffer) => Buffer.from(m.subarray(4)).toString('latin1').toLowerCase();
    assert.equal(strip(cached), strip(fresh));
  });

  it('engine: TC and EDNS answers are cached per shape, and a zone change empties the cache', () => {
    const engine = new DnsEngine({});
    engine.replaceAll(buildZones(zone(['192.0.2.1'])));
    const ask = (opts: Parameters<typeof query>[2]) => Packet.parse(engine.handle(query('www.t.test', 16, opts), 'udp', '127.0.0.1')![0]);
    for (let round = 0; round < 2; round++) {
      // 3 x 200-octet TXT strings: over 512 without EDNS (TC), whole with EDNS 1232
      const plain = ask({});
      assert.equal(plain.header.tc, 1, `round ${round}: TC without EDNS`);
      assert.equal(plain.answers.length, 0);
      assert.equal(plain.additionals.length, 0, 'no OPT without EDNS');
      const edns = ask({ edns: { payload: 1232 } });
      assert.equal(edns.header.tc, 0, `round ${round}: whole with EDNS`);
      assert.equal(edns.answers.length, 3);
      const small = ask({ edns: { payload: 512, dnssecOk: true } });
      assert.equal(small.header.tc, 1, `round ${round}: TC with a 512 EDNS payload`);
    }
    const a = () => Packet.parse(engine.handle(query('www.t.test', 1), 'udp', '127.0.0.1')![0]).answers.map((r: { address?: string }) => r.address);
    assert.deepEqual(a(), ['192.0.2.1']);
    engine.replaceAll(buildZones(zone(['192.0.2.9'])));
    assert.deepEqual(a(), ['192.0.2.9'], 'the change, not the cached answer');
  });

  it('engine: NXDOMAIN is cached, REFUSED (a zone we do not host) is not', () => {
    const events: boolean[] = [];
    const engine = new DnsEngine({ onQuery: (e) => events.push(e.cached) });
    engine.replaceAll(buildZones(zone(['192.0.2.1'])));
    for (let i = 0; i < 2; i++) assert.equal(engine.handle(query('nope.t.test', 1), 'udp', '127.0.0.1')![0][3] & 0xf, 3);
    for (let i = 0; i < 2; i++) assert.equal(engine.handle(query('www.elsewhere.test', 1), 'udp', '127.0.0.1')![0][3] & 0xf, 5);
    assert.deepEqual(events, [false, true, false, false]);
  });
});
