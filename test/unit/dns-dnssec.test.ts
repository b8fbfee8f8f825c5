import assert from 'node:assert/strict';
import { buildZones } from '../../src/dns/build';
import { canonicalKey, canonicalRRsetWire, nameWire } from '../../src/dns/dnssec/canonical';
import { dnskeyRdata, generateKey, keyTag, publicKeyObject, verify, type AlgorithmNumber } from '../../src/dns/dnssec/keys';
import { attachDnssec } from '../../src/dns/dnssec/zone-keys';
import { DnsEngine } from '../../src/dns/engine';
import { lookup } from '../../src/dns/lookup';
import { RRType, type RData, type RRset } from '../../src/dns/types';
import { ZoneSet, type Zone } from '../../src/dns/zone';
import type { Entry } from '../../src/directory/types';

const NOW = new Date('2026-12-05T10:00:00Z');

function zoneEntries(addresses: string[]): Entry[] {
  const z = (rdn: string, attrs: Record<string, string[]>): Entry => ({ dn: `relativeDomainName=${rdn},ou=t`, attributes: { objectClass: ['dNSZone'], zoneName: ['t.test'], relativeDomainName: [rdn], ...attrs } });
  return [
    z('@', { sOARecord: ['ns.t.test. h.t.test. 5 1H 10M 1W 5M'], nSRecord: ['ns.t.test.'], mXRecord: ['10 mail.t.test.'] }),
    z('ns', { aRecord: ['192.0.2.53'] }),
    z('www', { aRecord: addresses }),
    z('*.wild', { tXTRecord: ['wildcard'] }),
    z('x.a.b', { aRecord: ['192.0.2.7'] }),
    z('sub', { nSRecord: ['ns.sub.t.test.'] }),
    z('ns.sub', { aRecord: ['192.0.2.99'] }),
    z('alias', { cNAMERecord: ['www'] }),
  ];
}

function keyEntries(algorithm: AlgorithmNumber): Entry[] {
  const key = (role: 'ksk' | 'zsk'): Entry => {
    const k = generateKey(algorithm);
    return {
      dn: `ispdDnssecKeyId=${role},ispdDnssecZone=t.test,ou=dnssec,o=ispman`,
      attributes: {
        objectClass: ['ispdDnssecKey'], ispdDnssecKeyId: [role], ispdDnssecZone: ['t.test'], ispdDnssecKeyFlags: [role === 'ksk' ? '257' : '256'],
        ispdDnssecAlgorithm: [String(algorithm)], ispdDnssecPublicKey: [k.publicKey.toString('base64')], ispdDnssecPrivateKey: [k.privateKey.toString('base64')],
        ispdDnssecKeyState: ['active'],
      },
    };
  };
  return [
    { dn: 'ispdDnssecZone=t.test,ou=dnssec,o=ispman', attributes: { objectClass: ['ispdDnssecZoneConfig'], ispdDnssecZone: ['t.test'], ispdDnssecEnabled: ['TRUE'], ispdDnssecAlgorithm: [String(algorithm)] } },
    key('ksk'),
    key('zsk'),
  ];
}

function signedZones(addresses: string[], keys: Entry[]): Zone[] {
  const zones = buildZones(zoneEntries(addresses));
  attachDnssec(zones, keys, (w) => assert.fail(w));
  return zones;
}

/** Verifies every RRSIG of the zone against the zone's DNSKEYs, rebuilding the signed data (RFC 4034 §3.1.8.1). */
function verifyZone(zone: Zone): number {
  const dnskeys = zone.nodes.get(zone.origin)!.get(RRType.DNSKEY)!.rdatas as Array<Extract<RData, { type: 48 | 60 }>>;
  let n = 0;
  for (const [owner, sigs] of zone.sigs) {
    for (const [type, sigSet] of sigs) {
      const set = zone.nodes.get(owner)!.get(type)!;
      for (const sig of sigSet.rdatas) {
        assert.equal(sig.type, RRType.RRSIG);
        if (sig.type !== RRType.RRSIG) continue;
        const key = dnskeys.find((k) => keyTag(k) === sig.keyTag)!;
        assert.ok(key, `key ${sig.keyTag} published`);
        const head = Buffer.alloc(18);
        head.writeUInt16BE(sig.typeCovered, 0);
        head[2] = sig.algorithm;
        head[3] = sig.labels;
        head.writeUInt32BE(sig.originalTtl, 4);
        head.writeUInt32BE(sig.expiration, 8);
        head.writeUInt32BE(sig.inception, 12);
        head.writeUInt16BE(sig.keyTag, 16);
        const data = Buffer.concat([head, nameWire(sig.signer), canonicalRRsetWire(set, owner, sig.originalTtl)]);
        assert.ok(verify(key.algorithm as AlgorithmNumber, publicKeyObject(key.algorithm as AlgorithmNumber, key.publicKey), data, sig.signature), `${owner} ${type}`);
        n++;
      }
    }
  }
  return n;
}

describe('dnssec: signing', () => {
  it('canonical order sorts labels from the root down, a name before its children (RFC 4034 §6.1 example)', () => {
    const names = ['example', 'a.example', 'yljkjljk.a.example', 'z.a.example', 'zabc.a.example', 'z.example', '*.z.example'];
    const shuffled = [...names].reverse();
    assert.deepEqual(shuffled.sort((a, b) => (canonicalKey(a) < canonicalKey(b) ? -1 : 1)), ['example', 'a.example', 'yljkjljk.a.example', 'z.a.example', 'zabc.a.example', 'z.example', '*.z.example']);
  });

  it('key tags and DNSKEY fields: P-256 keys are 64 octets, Ed25519 32', () => {
    assert.equal(generateKey(13).publicKey.length, 64);
    assert.equal(generateKey(15).publicKey.length, 32);
    // RFC 8080 §6.1 example: the DNSKEY "257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=" has key tag 3613.
    assert.equal(keyTag(dnskeyRdata(257, 15, Buffer.from('l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=', 'base64'))), 3613);
  });

  for (const algorithm of [13, 15] as const) {
    it(`algorithm ${algorithm}: every authoritative RRset signed and verifiable, NSEC chain closed, glue and delegated NS unsigned`, () => {
      const e = new DnsEngine({ now: () => NOW });
      e.replaceAll(signedZones(['192.0.2.1'], keyEntries(algorithm)));
      const zone = e.zone('t.test')!;
      assert.ok(zone.signed);
      assert.ok(verifyZone(zone) > 10);
      assert.deepEqual(zone.nsecChain!.names, ['t.test', 'alias.t.test', 'x.a.b.t.test', 'ns.t.test', 'sub.t.test', '*.wild.t.test', 'www.t.test']);
      const last = zone.nodes.get('www.t.test')!.get(RRType.NSEC)!.rdatas[0];
      assert.equal(last.type === RRType.NSEC && last.next, 't.test', 'the chain wraps to the apex');
      const cut = zone.nodes.get('sub.t.test')!.get(RRType.NSEC)!.rdatas[0];
      assert.deepEqual(cut.type === RRType.NSEC && cut.types, [RRType.NS, RRType.RRSIG, RRType.NSEC]);
      assert.equal(zone.sigFor('sub.t.test', RRType.NS), undefined, 'delegation NS not signed');
      assert.equal(zone.sigFor('ns.sub.t.test', RRType.A), undefined, 'glue not signed');
      assert.equal(zone.sigFor('*.wild.t.test', RRType.TXT)!.rdatas[0].type === RRType.RRSIG && (zone.sigFor('*.wild.t.test', RRType.TXT)!.rdatas[0] as { labels: number }).labels, 3, 'wildcard label count excludes *');
      const dnskeySig = zone.sigFor('t.test', RRType.DNSKEY)!.rdatas[0] as { keyTag: number };
      const aSig = zone.sigFor('www.t.test', RRType.A)!.rdatas[0] as { keyTag: number };
      assert.notEqual(dnskeySig.keyTag, aSig.keyTag, 'KSK signs the DNSKEY set, ZSK the data');
    });
  }

  it('a change re-signs only the changed RRset, the SOA and the NSEC records it moved', () => {
    const signed: number[] = [];
    const e = new DnsEngine({ now: () => NOW, onSigned: (_z, s) => signed.push(s.signed) });
    const keys = keyEntries(13);
    e.replaceAll(signedZones(['192.0.2.1'], keys));
    const full = signed[0];
    e.replaceAll(signedZones(['192.0.2.1', '192.0.2.2'], keys));
    assert.equal(signed[1], 2, `A set and SOA re-signed (full signing made ${full})`);
    assert.equal(e.zone('t.test')!.serial, 2026120501);
    verifyZone(e.zone('t.test')!);
    const ixfrDiff = e.history('t.test').at(-1)!;
    assert.ok(ixfrDiff.added.some((r) => r.rdata.type === RRType.RRSIG && r.rdata.typeCovered === RRType.A), 'IXFR carries the new signature');
  });

  it('signatures due for refresh are made again under a new serial; fresh ones are kept', () => {
    let now = NOW;
    const e = new DnsEngine({ now: () => now, signatureValidity: 14 * 86400, signatureRefresh: 7 * 86400 });
    e.replaceAll(signedZones(['192.0.2.1'], keyEntries(15)));
    assert.deepEqual(e.refreshSignatures(), []);
    const before = e.zone('t.test')!.serial;
    now = new Date(NOW.getTime() + 8 * 86400 * 1000);
    assert.deepEqual(e.refreshSignatures(), ['t.test']);
    const zone = e.zone('t.test')!;
    assert.ok(zone.serial > before);
    assert.ok(zone.sigsExpire! - now.getTime() / 1000 > 7 * 86400);
    verifyZone(zone);
  });

  it('answers with DO: RRSIGs, NSEC proofs for NXDOMAIN, NODATA, empty non-terminals, wildcards and insecure delegations', () => {
    const e = new DnsEngine({ now: () => NOW });
    e.replaceAll(signedZones(['192.0.2.1'], keyEntries(13)));
    const zones = new ZoneSet(e.zones());
    const types = (sets: RRset[]) => sets.map((s) => `${s.name} ${s.type}`);
    const pos = lookup(zones, 'www.t.test', RRType.A, true);
    assert.deepEqual(types(pos.answer), ['www.t.test 1', 'www.t.test 46']);
    assert.deepEqual(types(lookup(zones, 'www.t.test', RRType.A, false).answer), ['www.t.test 1'], 'no DO, no DNSSEC records');
    const nx = lookup(zones, 'nope.t.test', RRType.A, true);
    assert.equal(nx.rcode, 3);
    assert.deepEqual(types(nx.authority), ['t.test 6', 't.test 46', 'x.a.b.t.test 47', 'x.a.b.t.test 46', 't.test 47', 't.test 46']);
    const nodata = lookup(zones, 'www.t.test', RRType.MX, true);
    assert.deepEqual(types(nodata.authority), ['t.test 6', 't.test 46', 'www.t.test 47', 'www.t.test 46']);
    const ent = lookup(zones, 'a.b.t.test', RRType.A, true);
    assert.equal(ent.rcode, 0);
    assert.deepEqual(types(ent.authority).slice(2), ['alias.t.test 47', 'alias.t.test 46'], 'the NSEC before the empty non-terminal covers it');
    const wild = lookup(zones, 'foo.wild.t.test', RRType.TXT, true);
    assert.deepEqual(types(wild.answer), ['foo.wild.t.test 16', 'foo.wild.t.test 46']);
    assert.deepEqual(types(wild.authority), ['*.wild.t.test 47', '*.wild.t.test 46'], 'the NSEC proving foo.wild does not exist (* sorts before foo)');
    const deleg = lookup(zones, 'host.sub.t.test', RRType.A, true);
    assert.equal(deleg.kind, 'delegation');
    assert.deepEqual(types(deleg.authority), ['sub.t.test 2', 'sub.t.test 47', 'sub.t.test 46']);
    const ds = lookup(zones, 'sub.t.test', RRType.DS, true);
    assert.deepEqual(types(ds.authority).slice(2), ['sub.t.test 47', 'sub.t.test 46']);
  });
});
