// TSIG in the engine where real clients cannot reach: a request signed at a time outside the fudge gets
// NOTAUTH/BADTIME in a response that is itself signed (RFC 8945 §5.2.3: the request's Time Signed, our clock
// in Other Data), and a TSIG record that is not the last record is FORMERR. dig/kdig/NSD cover the rest
// (test/interop/dns-tsig.test.ts).

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { buildZones } from '../../src/dns/build';
import { DnsEngine } from '../../src/dns/engine';
import { parseKeySpec, readTsig, signRequest, TsigError } from '../../src/dns/tsig';
import { RRType } from '../../src/dns/types';
import { parseQuery, WireWriter } from '../../src/dns/wire';
import type { Entry } from '../../src/directory/types';

const NOW = new Date('2026-11-25T10:00:00Z');
const NOW_S = NOW.getTime() / 1000;
const KEY = parseKeySpec('hmac-sha256:k1:' + Buffer.from('0123456789abcdef0123456789abcdef').toString('base64'));

const entries: Entry[] = [
  { dn: 'relativeDomainName=@,ou=t', attributes: { objectClass: ['dNSZone'], zoneName: ['t.test'], relativeDomainName: ['@'], sOARecord: ['ns.t.test. h.t.test. 1 1H 10M 1W 5M'], nSRecord: ['ns.t.test.'] } },
];

function query(name: string, type: number): Buffer {
  const w = new WireWriter();
  for (const v of [42, 0, 1, 0, 0, 0]) w.u16(v);
  w.name(name);
  w.u16(type);
  w.u16(1);
  return w.toBuffer();
}

function engine(): DnsEngine {
  const e = new DnsEngine({ now: () => NOW, tsigKeys: [KEY], transferKeys: ['k1'] });
  e.replaceAll(buildZones(entries));
  return e;
}

describe('dns: TSIG in the engine', () => {
  it('a good signature is answered signed (MAC over the request MAC, the answer and the variables)', () => {
    const signed = signRequest(query('t.test', RRType.SOA), KEY, NOW_S);
    const [out] = engine().handle(signed, 'udp', '127.0.0.1')!;
    assert.equal(out[3] & 0xf, 0);
    const q = parseQuery(Buffer.concat([Buffer.from([out[0], out[1], out[2] & 0x7f]), out.subarray(3)]));
    assert.equal(q.kind, 'query');
    const t = readTsig(out, (q as { tsigStart: number }).tsigStart);
    assert.equal(t.error, 0);
    assert.equal(t.mac.length, 32);
  });

  it('a request signed 10 minutes off gets NOTAUTH/BADTIME, signed, with our time in Other Data', () => {
    const reqTime = NOW_S - 600;
    const signed = signRequest(query('t.test', RRType.SOA), KEY, reqTime);
    const reqTsig = readTsig(signed, (parseQuery(signed) as { tsigStart: number }).tsigStart);
    const [out] = engine().handle(signed, 'udp', '127.0.0.1')!;
    assert.equal(out[3] & 0xf, 9, 'NOTAUTH');
    const q = parseQuery(Buffer.concat([Buffer.from([out[0], out[1], out[2] & 0x7f]), out.subarray(3)]));
    const start = (q as { tsigStart: number }).tsigStart;
    const t = readTsig(out, start);
    assert.equal(t.error, TsigError.BADTIME);
    assert.equal(t.timeSigned, reqTime);
    assert.equal(t.other.readUIntBE(0, 6), NOW_S);
    assert.equal(t.mac.length, 32, 'signed');
    // Check the MAC as a client would: request MAC, the response without TSIG, the variables.
    const unsigned = Buffer.from(out.subarray(0, start));
    unsigned.writeUInt16BE(unsigned.readUInt16BE(10) - 1, 10);
    const name = (n: string) => { const w = new WireWriter(); w.name(n, false); return w.toBuffer(); };
    const vars = new WireWriter();
    vars.bytes(name('k1')); vars.u16(255); vars.u32(0); vars.bytes(name('hmac-sha256'));
    vars.u16(0); vars.u32(reqTime); vars.u16(300); vars.u16(TsigError.BADTIME); vars.u16(6); vars.bytes(t.other);
    const prefix = Buffer.alloc(2); prefix.writeUInt16BE(reqTsig.mac.length);
    const mac = createHmac('sha256', KEY.secret).update(prefix).update(reqTsig.mac).update(unsigned).update(vars.toBuffer()).digest();
    assert.deepEqual(t.mac, mac);
  });

  it('a transfer without the required key is REFUSED; a TSIG record before the end is FORMERR', () => {
    const [refused] = engine().handle(query('t.test', RRType.AXFR), 'tcp', '127.0.0.1')!;
    assert.equal(refused[3] & 0xf, 5);
    const signed = signRequest(query('t.test', RRType.SOA), KEY, NOW_S);
    // Append an OPT after the TSIG record.
    const bad = Buffer.concat([signed, Buffer.from([0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0])]);
    bad.writeUInt16BE(bad.readUInt16BE(10) + 1, 10);
    const [formerr] = engine().handle(bad, 'udp', '127.0.0.1')!;
    assert.equal(formerr[3] & 0xf, 1);
  });
});
