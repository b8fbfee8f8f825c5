// Response rate limiting (src/dns/rrl.ts) on real engine answers: accounts per client prefix and response,
// the token bucket over a simulated clock, slip, NXDOMAIN charged to the zone, exemptions and the memory bound.

import assert from 'node:assert/strict';
import { buildZones } from '../../src/dns/build';
import { DnsEngine } from '../../src/dns/engine';
import { prefixOf, ResponseRateLimiter, truncatedResponse, type RrlOptions } from '../../src/dns/rrl';
import type { Entry } from '../../src/directory/types';
import { encodeQuery } from '../support/dns-query';

const ENTRIES: Entry[] = [
  { dn: 'relativeDomainName=@,ou=t', attributes: { objectClass: ['dNSZone'], zoneName: ['t.test'], relativeDomainName: ['@'], sOARecord: ['ns.t.test. h.t.test. 5 1H 10M 1W 5M'], nSRecord: ['ns.t.test.'] } },
  { dn: 'relativeDomainName=www,ou=t', attributes: { objectClass: ['dNSZone'], zoneName: ['t.test'], relativeDomainName: ['www'], aRecord: ['192.0.2.1', '192.0.2.2'], tXTRecord: ['x'.repeat(200)] } },
];

const engine = new DnsEngine();
engine.replaceAll(buildZones(ENTRIES));
const answer = (name: string, type: number): Buffer => engine.handle(encodeQuery(name, type, { edns: { payload: 1232 } }), 'udp', '192.0.2.99')![0];

const OPTS: RrlOptions = { responsesPerSecond: 10, slip: 2, windowSeconds: 5, ipv4PrefixLength: 24, ipv6PrefixLength: 56 };

/** Sends `n` copies of `response` to `peer` at time `at` (ms); counts the verdicts. */
function burst(rrl: ResponseRateLimiter, peer: string, response: Buffer, n: number, at: number): Record<string, number> {
  const counts: Record<string, number> = { send: 0, slip: 0, drop: 0 };
  for (let i = 0; i < n; i++) counts[rrl.check(peer, response, at)]++;
  return counts;
}

describe('dns response rate limiting', () => {
  it('groups clients by prefix (IPv4 /24, IPv6 /56, mapped IPv4 as IPv4)', () => {
    assert.equal(prefixOf('192.0.2.77', 24, 56), '192.0.2.0/24');
    assert.equal(prefixOf('::ffff:192.0.2.77', 24, 56), '192.0.2.0/24');
    assert.equal(prefixOf('2001:db8:1:2ff:aaaa::1', 24, 56), '2001:db8:1:200:0:0:0:0/56');
    assert.equal(prefixOf('10.1.2.3', 8, 56), '10.0.0.0/8');
  });

  it('sends `rate` identical answers a second, then drops, slipping every second one with TC set', () => {
    const rrl = new ResponseRateLimiter(OPTS);
    const www = answer('www.t.test', 1);
    const first = burst(rrl, '192.0.2.7', www, 100, 0);
    assert.deepEqual(first, { send: 10, slip: 45, drop: 45 });
    // Another address of the same /24 shares the account; another /24 does not.
    assert.equal(rrl.check('192.0.2.8', www, 0), 'drop');
    assert.equal(rrl.check('192.0.3.8', www, 0), 'send');
    // A different question is a different account.
    assert.equal(rrl.check('192.0.2.7', answer('www.t.test', 16), 0), 'send');
    // The debt is capped at windowSeconds of credit: after 5 quiet seconds the prefix is served again.
    assert.equal(rrl.check('192.0.2.7', www, 4000) === 'send', false);
    assert.equal(rrl.check('192.0.2.7', www, 9500), 'send');
  });

  it('the slipped answer is header and question with TC=1, no records, never larger than the query', () => {
    const query = encodeQuery('www.t.test', 16, { edns: { payload: 1232 } });
    const full = engine.handle(query, 'udp', '192.0.2.99')![0];
    const slipped = truncatedResponse(full);
    assert.ok(full.length > 200);
    assert.equal(slipped[2] & 0x02, 0x02, 'TC');
    assert.equal(slipped[2] & 0x80, 0x80, 'QR');
    assert.equal(slipped.readUInt16BE(0), full.readUInt16BE(0), 'same ID');
    assert.deepEqual([slipped.readUInt16BE(4), slipped.readUInt16BE(6), slipped.readUInt16BE(8), slipped.readUInt16BE(10)], [1, 0, 0, 0]);
    assert.ok(slipped.length <= query.length, `${slipped.length} > ${query.length}`);
  });

  it('charges NXDOMAIN to the zone: random names under one zone share one account', () => {
    const rrl = new ResponseRateLimiter(OPTS);
    const verdicts = { send: 0, slip: 0, drop: 0 };
    for (let i = 0; i < 50; i++) verdicts[rrl.check('198.51.100.1', answer(`r${i}x.t.test`, 1), 0)]++;
    assert.equal(verdicts.send, 10);
    assert.equal(rrl.size, 1);
  });

  it('errors (REFUSED for zones we do not host) are one account per prefix at errorsPerSecond', () => {
    const rrl = new ResponseRateLimiter({ ...OPTS, errorsPerSecond: 3 });
    const verdicts = { send: 0, slip: 0, drop: 0 };
    for (let i = 0; i < 20; i++) verdicts[rrl.check('203.0.113.9', answer(`name${i}.example.org`, 1), 0)]++;
    assert.equal(verdicts.send, 3);
  });

  it('exempt clients are never limited; responsesPerSecond 0 is off; cluster processes take their share', () => {
    const www = answer('www.t.test', 1);
    const exempt = new ResponseRateLimiter({ ...OPTS, exempt: ['192.0.2.0/25'] });
    assert.equal(burst(exempt, '192.0.2.7', www, 100, 0).send, 100);
    const off = new ResponseRateLimiter({ ...OPTS, responsesPerSecond: 0 });
    assert.equal(burst(off, '192.0.2.7', www, 100, 0).send, 100);
    const half = new ResponseRateLimiter({ ...OPTS, processes: 2 });
    assert.equal(burst(half, '192.0.2.7', www, 100, 0).send, 5);
  });

  it('keeps memory bounded: at most maxAccounts accounts under a flood of distinct clients', () => {
    const rrl = new ResponseRateLimiter({ ...OPTS, maxAccounts: 5000 });
    const www = answer('www.t.test', 1);
    for (let i = 0; i < 50000; i++) rrl.check(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, www, i / 10);
    assert.ok(rrl.size <= 5000, `${rrl.size} accounts`);
  });
});
