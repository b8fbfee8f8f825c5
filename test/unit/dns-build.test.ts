import assert from 'node:assert/strict';
import { buildZones, buildZonesReport, classifyEntry, reverseName } from '../../src/dns/build';
import { rdataText } from '../../src/dns/rdata';
import { RRType, RRset } from '../../src/dns/types';
import { Zone } from '../../src/dns/zone';
import { allFixtureEntries, ARTICLE_LDIF, ISPMAN_LDIF, POWERDNS_LDIF, readLdif } from './dns-fixtures.test';

function zoneOf(zones: Zone[], origin: string): Zone {
  const z = zones.find((x) => x.origin === origin);
  assert.ok(z, `zone ${origin} built`);
  return z;
}

function texts(set: RRset | undefined): string[] {
  return (set?.rdatas ?? []).map(rdataText).sort();
}

describe('dns buildZones', () => {
  it('builds the article 4unet.net zone from ou=dnsdata entries, with no serial in the data', () => {
    const zones = buildZones(readLdif(ARTICLE_LDIF), { defaultSerial: 2026010101 });
    assert.deepEqual(zones.map((z) => z.origin), ['4unet.net']);
    const z = zones[0];
    assert.equal(z.source.layout, 'dnsdata');
    assert.equal(z.source.storedSerial, false);
    assert.deepEqual(z.soa, { type: 6, mname: 'ns1.4unet.net', rname: 'dnsmaster.4unet.net', serial: 2026010101, refresh: 21600, retry: 1800, expire: 1209600, minimum: 432000 });
    const apex = z.nodes.get('4unet.net')!;
    assert.deepEqual(texts(apex.get(RRType.NS)), ['ns1.4unet.net.', 'ns2.4unet.net.']);
    assert.deepEqual(texts(apex.get(RRType.MX)), ['10 mx1.4unet.net.', '100 mx2.4unet.net.']);
    assert.deepEqual(texts(apex.get(RRType.A)), ['193.247.80.43', '193.247.80.44']);
    assert.deepEqual(texts(z.nodes.get('ns1.4unet.net')!.get(RRType.A)), ['193.247.80.43']);
    assert.deepEqual(texts(z.nodes.get('ftp.4unet.net')!.get(RRType.CNAME)), ['www.4unet.net.']);
    assert.deepEqual(texts(z.nodes.get('*.4unet.net')!.get(RRType.CNAME)), ['www.4unet.net.']);
    // ISPMan's export uses the SOA minimum as $TTL when there is no TTL.
    assert.equal(apex.get(RRType.A)!.ttl, 432000);
  });

  it('stores the dnsdata serial in ispdZoneSerial', () => {
    const entries = readLdif(ARTICLE_LDIF);
    entries.find((e) => e.dn.startsWith('cn=soarecords'))!.attributes.ispdZoneSerial = ['2026020203'];
    const z = buildZones(entries)[0];
    assert.equal(z.serial, 2026020203);
    assert.equal(z.source.storedSerial, true);
  });

  it('builds an ISPMan 1.4 dNSZone zone: BIND time tokens, relative and absolute names, TTLs, every type', () => {
    const z = zoneOf(buildZones(readLdif(ISPMAN_LDIF)), 'example.com');
    assert.equal(z.source.layout, 'dnszone');
    assert.deepEqual({ ...z.soa }, { type: 6, mname: 'ns1.isp.net', rname: 'dnsmaster.example.com', serial: 2009010101, refresh: 10800, retry: 1800, expire: 604800, minimum: 86400 });
    const apex = z.nodes.get('example.com')!;
    assert.deepEqual(texts(apex.get(RRType.NS)), ['ns1.isp.net.', 'ns2.example.com.']);
    // MX targets are absolute with or without the trailing dot.
    assert.deepEqual(texts(apex.get(RRType.MX)), ['10 mx1.example.com.', '20 mx2.isp.net.']);
    assert.deepEqual(texts(apex.get(RRType.TXT)), ['"v=spf1 mx -all"']);
    assert.deepEqual(texts(apex.get(RRType.CAA)), ['0 issue "letsencrypt.org"']);
    // CNAME targets without a dot are relative to the zone.
    assert.deepEqual(texts(z.nodes.get('webmail.example.com')!.get(RRType.CNAME)), ['www.example.com.']);
    assert.deepEqual(texts(z.nodes.get('out.example.com')!.get(RRType.CNAME)), ['www.example.org.']);
    assert.deepEqual(texts(z.nodes.get('www.example.com')!.get(RRType.AAAA)), ['2001:db8::10']);
    assert.deepEqual(texts(z.nodes.get('_sip._tcp.example.com')!.get(RRType.SRV)), ['10 60 5060 sip.example.com.']);
    assert.equal(z.nodes.get('sip.example.com')!.get(RRType.A)!.ttl, 300);
    assert.ok(z.nodes.has('*.dyn.example.com'));
    assert.ok(z.emptyNonTerminals.has('deep.ent.example.com') && z.emptyNonTerminals.has('ent.example.com'));
    assert.ok(z.emptyNonTerminals.has('dyn.example.com'));
  });

  it('generates the reverse zone per /24 from pTRRecord flags, as ISPMan did', () => {
    const zones = buildZones(readLdif(ISPMAN_LDIF));
    const rev = zoneOf(zones, '2.0.192.in-addr.arpa');
    assert.equal(rev.source.layout, 'reverse');
    assert.deepEqual(texts(rev.nodes.get('10.2.0.192.in-addr.arpa')!.get(RRType.PTR)), ['www.example.com.']);
    assert.deepEqual(texts(rev.nodes.get('25.2.0.192.in-addr.arpa')!.get(RRType.PTR)), ['mx1.example.com.']);
    assert.equal(rev.soa.mname, 'ns1.isp.net');
    assert.equal(rev.soa.serial, 2009010101);
    assert.deepEqual(texts(rev.nodes.get('2.0.192.in-addr.arpa')!.get(RRType.NS)), ['ns1.isp.net.', 'ns2.example.com.']);
    // No flag, no reverse: 192.0.2.53 (ns2) has none.
    assert.equal(rev.nodes.get('53.2.0.192.in-addr.arpa'), undefined);
  });

  it('generates ip6.arpa reverse data for flagged AAAA records', () => {
    const entries = readLdif(ISPMAN_LDIF);
    entries.find((e) => e.attributes.aAAARecord)!.attributes.pTRRecord = ['2001:db8::10'];
    const zones = buildZones(entries);
    const owner = reverseName('2001:db8::10')!;
    assert.equal(owner, '0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa');
    const rev = zoneOf(zones, '0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa');
    assert.deepEqual(texts(rev.nodes.get(owner)!.get(RRType.PTR)), ['www.example.com.']);
  });

  it('builds the PowerDNS dNSDomain2 layout with absolute names and the apex from sOARecord', () => {
    const report = buildZonesReport(readLdif(POWERDNS_LDIF));
    const z = zoneOf(report.zones, 'pdns.test');
    assert.equal(z.source.layout, 'dnsdomain2');
    assert.equal(z.serial, 7);
    assert.deepEqual(texts(z.nodes.get('pdns.test')!.get(RRType.MX)), ['10 mail.pdns.test.']);
    assert.deepEqual(texts(z.nodes.get('alias.pdns.test')!.get(RRType.CNAME)), ['mail.pdns.test.']);
    // A CNAME next to other data is dropped with a warning (RFC 1034 §3.6.2), the addresses stay.
    assert.equal(z.nodes.get('mail.pdns.test')!.get(RRType.CNAME), undefined);
    assert.ok(report.warnings.some((w) => w.includes('mail.pdns.test') && w.includes('CNAME')));
  });

  it('splits long TXT values into 255-octet strings at character boundaries', () => {
    const long = 'ü'.repeat(200); // 400 octets of UTF-8
    const z = buildZones([
      { dn: 'a', attributes: { objectClass: ['dNSZone'], zoneName: ['t.test'], relativeDomainName: ['@'], sOARecord: ['ns.t.test. h.t.test. 1 1H 1H 1W 1H'], tXTRecord: [long, '"quoted" "two"'] } },
    ])[0];
    const sets = z.nodes.get('t.test')!.get(RRType.TXT)!.rdatas as Array<{ strings: string[] }>;
    const split = sets.find((r) => r.strings.join('') === long)!;
    assert.deepEqual(split.strings.map((x) => Buffer.byteLength(x)), [254, 146]);
    assert.ok(sets.some((r) => r.strings.join('|') === 'quoted|two'));
  });

  it('all three layouts coexist', () => {
    const origins = buildZones(allFixtureEntries()).map((z) => z.origin).sort();
    assert.deepEqual(origins, ['2.0.192.in-addr.arpa', '4unet.net', 'example.com', 'pdns.test']);
  });

  it('reports bad values and skips them; zones without an SOA are not served', () => {
    const report = buildZonesReport([
      { dn: 'relativeDomainName=a,ou=x', attributes: { objectClass: ['dNSZone'], zoneName: ['nosoa.test'], relativeDomainName: ['a'], aRecord: ['192.0.2.1'] } },
      { dn: 'relativeDomainName=@,ou=y', attributes: { objectClass: ['dNSZone'], zoneName: ['ok.test'], relativeDomainName: ['@'], sOARecord: ['ns.ok.test. h.ok.test. 1 1H 1H 1W 1H'] } },
      { dn: 'relativeDomainName=b,ou=y', attributes: { objectclass: ['dnszone'], zonename: ['ok.test'], relativedomainname: ['b'], arecord: ['300.1.2.3', '192.0.2.2'], mxrecord: ['ten mx'] } },
    ]);
    assert.deepEqual(report.zones.map((z) => z.origin), ['ok.test']);
    assert.deepEqual(texts(report.zones[0].nodes.get('b.ok.test')!.get(RRType.A)), ['192.0.2.2']);
    assert.ok(report.warnings.some((w) => w.includes('300.1.2.3')));
    assert.ok(report.warnings.some((w) => w.includes('ten mx')));
    assert.ok(report.warnings.some((w) => w.includes('nosoa.test')));
    assert.equal(report.zones[0].soa.refresh, 3600);
  });

  it('classifies entries for the serial hook and the change log', () => {
    const [soa] = readLdif(ISPMAN_LDIF);
    assert.deepEqual(classifyEntry(soa), { layout: 'dnszone', names: ['example.com'], isSoa: true, serial: 2009010101 });
    const article = readLdif(ARTICLE_LDIF);
    assert.equal(classifyEntry(article[0]), undefined, 'the ou=dnsdata branch itself carries no zone data');
    assert.deepEqual(classifyEntry(article[1]), { layout: 'dnsdata', names: ['4unet.net'], isSoa: true, serial: undefined });
    assert.equal(classifyEntry({ dn: 'uid=x,o=ispman', attributes: { objectClass: ['posixAccount'] } }), undefined);
  });
});
