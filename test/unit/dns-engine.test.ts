import assert from 'node:assert/strict';
import { Packet } from 'dns2';
import { buildZones } from '../../src/dns/build';
import { DnsEngine } from '../../src/dns/engine';
import { RRType } from '../../src/dns/types';
import { WireWriter } from '../../src/dns/wire';
import type { Entry } from '../../src/directory/types';

const NOW = new Date('2026-11-25T10:00:00Z');

function zoneEntries(serial: number, addresses: string[], extra = 0): Entry[] {
  const entries: Entry[] = [
    { dn: 'relativeDomainName=@,ou=t', attributes: { objectClass: ['dNSZone'], zoneName: ['t.test'], relativeDomainName: ['@'], sOARecord: [`ns.t.test. h.t.test. ${serial} 1H 10M 1W 5M`], nSRecord: ['ns.t.test.'] } },
    { dn: 'relativeDomainName=www,ou=t', attributes: { objectClass: ['dNSZone'], zoneName: ['t.test'], relativeDomainName: ['www'], aRecord: addresses } },
  ];
  for (let i = 0; i < extra; i++) {
    entries.push({ dn: `relativeDomainName=h${i},ou=t`, attributes: { objectClass: ['dNSZone'], zoneName: ['t.test'], relativeDomainName: [`host-number-${i}`], aRecord: [`10.${(i >> 8) & 255}.${i & 255}.1`], tXTRecord: [`some text for host ${i} to make the zone larger`] } });
  }
  return entries;
}

function question(name: string, type: number, id = 7, clientSerial?: number): Buffer {
  const w = new WireWriter();
  for (const v of [id, 0, 1, 0, clientSerial === undefined ? 0 : 1, 0]) w.u16(v);
  w.name(name);
  w.u16(type);
  w.u16(1);
  if (clientSerial !== undefined) {
    w.name(name);
    w.u16(RRType.SOA);
    w.u16(1);
    w.u32(0);
    const at = w.pos;
    w.u16(0);
    w.name(name);
    w.name(name);
    for (const v of [clientSerial, 0, 0, 0, 0]) w.u32(v);
    w.buf.writeUInt16BE(w.pos - at - 2, at);
  }
  return w.toBuffer();
}

describe('dns engine', () => {
  it('keeps the stored serial when data and serial change together, raises it itself when only data changed', () => {
    const e = new DnsEngine({ now: () => NOW, allowTransfer: ['127.0.0.1'] });
    e.replaceAll(buildZones(zoneEntries(5, ['192.0.2.1'])));
    assert.equal(e.zone('t.test')!.serial, 5);
    e.replaceAll(buildZones(zoneEntries(9, ['192.0.2.2'])));
    assert.equal(e.zone('t.test')!.serial, 9);
    e.replaceAll(buildZones(zoneEntries(9, ['192.0.2.3'])));
    assert.equal(e.zone('t.test')!.serial, 2026112501, 'changed data under an unchanged serial: raised (date format)');
    e.replaceAll(buildZones(zoneEntries(9, ['192.0.2.3'])));
    assert.equal(e.zone('t.test')!.serial, 2026112501, 'nothing changed: same serial');
    e.replaceAll(buildZones(zoneEntries(3, ['192.0.2.4'])));
    assert.equal(e.zone('t.test')!.serial, 2026112502, 'a lower stored serial never lowers the served one');
  });

  it('a zone that goes away and comes back never serves a lower serial', () => {
    const e = new DnsEngine({ now: () => NOW, serialFormat: 'counter' });
    e.replaceAll(buildZones(zoneEntries(50, ['192.0.2.1'])));
    e.replaceAll([]);
    assert.equal(e.zone('t.test'), undefined);
    e.replaceAll(buildZones(zoneEntries(10, ['192.0.2.1'])));
    assert.equal(e.zone('t.test')!.serial, 51);
  });

  it('notifies on every serial change and only then', () => {
    const changed: string[] = [];
    const e = new DnsEngine({ now: () => NOW, onSerialChange: (z) => changed.push(`${z.origin}@${z.serial}`) });
    e.replaceAll(buildZones(zoneEntries(5, ['192.0.2.1'])));
    e.replaceAll(buildZones(zoneEntries(5, ['192.0.2.1'])));
    e.replaceAll(buildZones(zoneEntries(6, ['192.0.2.2'])));
    assert.deepEqual(changed, ['t.test@5', 't.test@6']);
  });

  it('answers IXFR across several changes from the history, AXFR-style for unknown serials', () => {
    const e = new DnsEngine({ now: () => NOW, allowTransfer: ['127.0.0.1'] });
    e.replaceAll(buildZones(zoneEntries(1, ['192.0.2.1'])));
    e.replaceAll(buildZones(zoneEntries(2, ['192.0.2.1', '192.0.2.2'])));
    e.replaceAll(buildZones(zoneEntries(3, ['192.0.2.2'])));
    const [reply] = e.handle(question('t.test', RRType.IXFR, 9, 1), 'tcp', '127.0.0.1')!;
    const p = Packet.parse(reply);
    const rows = (p.answers as unknown as Array<{ type: number; address?: string; serial?: number }>).map((a) => (a.type === RRType.SOA ? `SOA ${a.serial}` : `A ${a.address}`));
    assert.deepEqual(rows, ['SOA 3', 'SOA 1', 'SOA 2', 'A 192.0.2.2', 'SOA 2', 'A 192.0.2.1', 'SOA 3', 'SOA 3']);
    const [full] = e.handle(question('t.test', RRType.IXFR, 10, 0), 'tcp', '127.0.0.1')!;
    const fp = Packet.parse(full);
    assert.equal(fp.answers.length, 4, 'SOA, NS, A, SOA');
    // a client claiming a newer serial than ours is told the current SOA only (RFC 1995 §2)
    assert.equal(Packet.parse(e.handle(question('t.test', RRType.IXFR, 12, 77), 'tcp', '127.0.0.1')![0]).answers.length, 1);
    // over UDP an answer that fits is given; the current serial gets the SOA alone
    const [udp] = e.handle(question('t.test', RRType.IXFR, 11, 3), 'udp', '127.0.0.1')!;
    assert.equal(Packet.parse(udp).answers.length, 1);
  });

  it('splits a large AXFR into several messages, SOA first and last', () => {
    const e = new DnsEngine({ allowTransfer: ['127.0.0.0/8'] });
    e.replaceAll(buildZones(zoneEntries(1, ['192.0.2.1'], 3000)));
    const messages = e.handle(question('t.test', RRType.AXFR), 'tcp', '127.0.0.1')!;
    assert.ok(messages.length > 3, `${messages.length} messages`);
    const records = messages.flatMap((m) => {
      assert.ok(m.length <= 65535);
      return Packet.parse(m).answers as unknown as Array<{ type: number }>;
    });
    assert.equal(records.length, 2 + 1 + 1 + 6000);
    assert.equal(records[0].type, RRType.SOA);
    assert.equal(records[records.length - 1].type, RRType.SOA);
    assert.equal(records.filter((r) => r.type === RRType.SOA).length, 2);
  });

  it('refuses transfers to peers outside allowTransfer, and for names that are not a zone apex', () => {
    const e = new DnsEngine({ allowTransfer: ['10.0.0.0/8', '::1'] });
    e.replaceAll(buildZones(zoneEntries(1, ['192.0.2.1'])));
    const refused = e.handle(question('t.test', RRType.AXFR), 'tcp', '127.0.0.1')!;
    assert.equal(refused.length, 1);
    assert.equal(refused[0][3] & 0xf, 5);
    assert.equal(e.handle(question('t.test', RRType.AXFR), 'tcp', '10.1.2.3')!.length, 1);
    assert.equal(e.handle(question('t.test', RRType.AXFR), 'tcp', '::ffff:10.1.2.3')![0][3] & 0xf, 0);
    assert.equal(e.handle(question('www.t.test', RRType.AXFR), 'tcp', '10.1.2.3')![0][3] & 0xf, 9, 'NOTAUTH: not a zone');
  });

  it('the answer cache follows zone changes', () => {
    const e = new DnsEngine();
    e.replaceAll(buildZones(zoneEntries(1, ['192.0.2.1'])));
    const a1 = Packet.parse(e.handle(question('www.t.test', RRType.A), 'udp', '127.0.0.1')![0]);
    const a2 = Packet.parse(e.handle(question('www.t.test', RRType.A, 8), 'udp', '127.0.0.1')![0]);
    assert.equal(a2.header.id, 8);
    assert.deepEqual(a1.answers, a2.answers);
    e.replaceAll(buildZones(zoneEntries(2, ['192.0.2.9'])));
    const a3 = Packet.parse(e.handle(question('www.t.test', RRType.A, 9), 'udp', '127.0.0.1')![0]);
    assert.equal((a3.answers[0] as unknown as { address: string }).address, '192.0.2.9');
  });

  it('NOTIFY for a hosted zone is acknowledged, others get NOTAUTH', () => {
    const e = new DnsEngine();
    e.replaceAll(buildZones(zoneEntries(1, ['192.0.2.1'])));
    const n = question('t.test', RRType.SOA);
    n[2] = 4 << 3;
    const [ack] = e.handle(n, 'udp', '127.0.0.1')!;
    assert.equal((ack[2] >> 3) & 0xf, 4);
    assert.equal(ack[2] & 0x80, 0x80);
    assert.equal(ack[3] & 0xf, 0);
    const other = question('other.test', RRType.SOA);
    other[2] = 4 << 3;
    assert.equal(e.handle(other, 'udp', '127.0.0.1')![0][3] & 0xf, 9);
  });
});
