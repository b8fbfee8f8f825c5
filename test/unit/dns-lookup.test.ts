import assert from 'node:assert/strict';
import { buildZones } from '../../src/dns/build';
import { lookup, LookupResult } from '../../src/dns/lookup';
import { rdataText } from '../../src/dns/rdata';
import { Rcode, RRType, RRset } from '../../src/dns/types';
import { ZoneSet } from '../../src/dns/zone';
import { allFixtureEntries } from './dns-fixtures.test';

const zones = new ZoneSet(buildZones(allFixtureEntries(), { defaultSerial: 2026010101 }));

function lines(sets: RRset[]): string[] {
  return sets.flatMap((s) => s.rdatas.map((r) => `${s.name} ${s.ttl} ${s.type} ${rdataText(r)}`));
}

function q(name: string, type: number): LookupResult {
  return lookup(zones, name, type);
}

describe('dns lookup', () => {
  it('answers an exact match authoritatively', () => {
    const r = q('www.example.com', RRType.A);
    assert.equal(r.kind, 'success');
    assert.equal(r.rcode, Rcode.NOERROR);
    assert.equal(r.aa, true);
    assert.deepEqual(lines(r.answer), ['www.example.com 86400 1 192.0.2.10']);
    assert.deepEqual(r.authority, []);
  });

  it('NXDOMAIN with the SOA in authority and the negative TTL min(SOA TTL, minimum)', () => {
    const r = q('nope.example.com', RRType.A);
    assert.equal(r.kind, 'nameError');
    assert.equal(r.rcode, Rcode.NXDOMAIN);
    assert.equal(r.authority[0].type, RRType.SOA);
    assert.equal(r.authority[0].ttl, 86400);
  });

  it('NODATA for an existing name without the type, and for an empty non-terminal', () => {
    for (const [name, type] of [['www.example.com', RRType.MX], ['ent.example.com', RRType.A], ['deep.ent.example.com', RRType.TXT]] as const) {
      const r = q(name, type);
      assert.equal(r.kind, 'noData', name);
      assert.equal(r.rcode, Rcode.NOERROR);
      assert.deepEqual(r.answer, []);
      assert.equal(r.authority[0].type, RRType.SOA);
    }
  });

  it('synthesizes from a wildcard with the query name as owner (RFC 4592)', () => {
    const r = q('a.dyn.example.com', RRType.A);
    assert.deepEqual(lines(r.answer), ['a.dyn.example.com 86400 1 192.0.2.99']);
    // deeper names match too; the wildcard node itself is answered as it is
    assert.deepEqual(lines(q('x.y.dyn.example.com', RRType.A).answer), ['x.y.dyn.example.com 86400 1 192.0.2.99']);
    assert.equal(q('a.dyn.example.com', RRType.MX).kind, 'noData');
    // an existing empty non-terminal blocks the apex wildcard of 4unet.net? no: example.com has no apex wildcard
    assert.equal(q('x.ent.example.com', RRType.A).kind, 'nameError');
  });

  it('the article: `*` CNAME www while www has no record answers (and does not hang)', () => {
    const r = q('ftp.4unet.net', RRType.A);
    assert.equal(r.kind, 'success');
    assert.deepEqual(lines(r.answer), ['ftp.4unet.net 432000 5 www.4unet.net.', 'www.4unet.net 432000 5 www.4unet.net.']);
    const any = q('anything.4unet.net', RRType.A);
    assert.deepEqual(lines(any.answer), ['anything.4unet.net 432000 5 www.4unet.net.', 'www.4unet.net 432000 5 www.4unet.net.']);
    assert.deepEqual(lines(q('www.4unet.net', RRType.CNAME).answer), ['www.4unet.net 432000 5 www.4unet.net.']);
  });

  it('follows CNAME chains inside our zones, with loop protection and out-of-zone stops', () => {
    const r = q('webmail.example.com', RRType.AAAA);
    assert.deepEqual(lines(r.answer), ['webmail.example.com 86400 5 www.example.com.', 'www.example.com 86400 28 2001:db8::10']);
    const loop = q('loop1.example.com', RRType.A);
    assert.equal(loop.rcode, Rcode.NOERROR);
    assert.deepEqual(lines(loop.answer), ['loop1.example.com 86400 5 loop2.example.com.', 'loop2.example.com 86400 5 loop1.example.com.']);
    assert.deepEqual(lines(q('out.example.com', RRType.A).answer), ['out.example.com 86400 5 www.example.org.']);
    // A chain ending in NODATA keeps the SOA of the last zone in authority, rcode NOERROR.
    const nodata = q('webmail.example.com', RRType.MX);
    assert.equal(nodata.rcode, Rcode.NOERROR);
    assert.equal(nodata.answer.length, 1);
    assert.equal(nodata.authority[0].type, RRType.SOA);
    // Across zones: alias.pdns.test → mail.pdns.test
    assert.deepEqual(lines(q('alias.pdns.test', RRType.A).answer), ['alias.pdns.test 3600 5 mail.pdns.test.', 'mail.pdns.test 3600 1 198.51.100.25']);
  });

  it('adds in-zone addresses of MX, NS and SRV targets as additional data', () => {
    assert.deepEqual(lines(q('example.com', RRType.MX).additional), ['mx1.example.com 86400 1 192.0.2.25']);
    assert.deepEqual(lines(q('example.com', RRType.NS).additional), ['ns2.example.com 86400 1 192.0.2.53']);
    assert.deepEqual(lines(q('_sip._tcp.example.com', RRType.SRV).additional), ['sip.example.com 300 1 192.0.2.60']);
    assert.deepEqual(lines(q('4unet.net', RRType.NS).additional), ['ns1.4unet.net 432000 1 193.247.80.43', 'ns2.4unet.net 432000 1 193.247.80.44']);
  });

  it('refers below a zone cut with glue and without AA', () => {
    for (const name of ['sub.example.com', 'www.sub.example.com', 'ns.sub.example.com']) {
      const r = q(name, RRType.A);
      assert.equal(r.kind, 'delegation', name);
      assert.equal(r.aa, false);
      assert.deepEqual(r.answer, []);
      assert.deepEqual(lines(r.authority), ['sub.example.com 86400 2 ns.sub.example.com.']);
      assert.deepEqual(lines(r.additional), ['ns.sub.example.com 86400 1 192.0.2.200']);
    }
    // DS at the cut belongs to the parent: NODATA from example.com
    assert.equal(q('sub.example.com', RRType.DS).kind, 'noData');
  });

  it('REFUSED for names in no hosted zone; never recursion', () => {
    for (const name of ['google.com', 'com', '', 'example.org']) {
      const r = q(name, RRType.A);
      assert.equal(r.kind, 'refused');
      assert.equal(r.rcode, Rcode.REFUSED);
      assert.equal(r.aa, false);
    }
  });

  it('answers ANY with a single RRset (RFC 8482)', () => {
    const r = q('example.com', RRType.ANY);
    assert.equal(r.answer.length, 1);
    assert.equal(r.kind, 'success');
  });

  it('answers PTR from the generated reverse zone and SOA at the apex', () => {
    assert.deepEqual(lines(q('10.2.0.192.in-addr.arpa', RRType.PTR).answer), ['10.2.0.192.in-addr.arpa 86400 12 www.example.com.']);
    assert.equal(q('11.2.0.192.in-addr.arpa', RRType.PTR).kind, 'nameError');
    assert.equal(q('4unet.net', RRType.SOA).answer[0].rdatas.length, 1);
  });
});
