import { strict as assert } from 'node:assert';
import { FramingError, PduFramer } from '../../src/ldap/framing';

function pdu(bodyLength: number): Buffer {
  // 0x30, long-form length, body of `bodyLength` bytes.
  const header = bodyLength < 0x80 ? Buffer.from([0x30, bodyLength]) : Buffer.from([0x30, 0x82, bodyLength >> 8, bodyLength & 0xff]);
  return Buffer.concat([header, Buffer.alloc(bodyLength, 0x41)]);
}

describe('ldap framing', () => {
  it('returns whole PDUs from one chunk holding several', () => {
    const framer = new PduFramer(1024);
    framer.push(Buffer.concat([pdu(3), pdu(200), pdu(0)]));
    assert.equal(framer.next()?.length, 5);
    assert.equal(framer.next()?.length, 204);
    assert.equal(framer.next()?.length, 2);
    assert.equal(framer.next(), undefined);
    assert.equal(framer.pendingBytes, 0);
  });

  it('reassembles a PDU split byte by byte, header included', () => {
    const framer = new PduFramer(1024);
    const whole = pdu(300);
    for (let i = 0; i < whole.length - 1; i++) {
      framer.push(whole.subarray(i, i + 1));
      assert.equal(framer.next(), undefined, `complete after ${i + 1} bytes`);
    }
    framer.push(whole.subarray(whole.length - 1));
    assert.deepEqual(framer.next(), whole);
  });

  it('rejects an announced length over the limit from the header alone', () => {
    const framer = new PduFramer(1024 * 1024);
    // 100 MB announced, 6 bytes sent: the refusal must come before any body byte is expected.
    framer.push(Buffer.from([0x30, 0x84, 0x06, 0x40, 0x00, 0x00]));
    assert.throws(() => framer.next(), (err: unknown) => err instanceof FramingError && err.reason === 'tooLarge');
    assert.equal(framer.pendingBytes, 6);
  });

  it('counts the header in the limit', () => {
    const framer = new PduFramer(100);
    framer.push(pdu(98));
    assert.equal(framer.next()?.length, 100);
    framer.push(pdu(99).subarray(0, 2));
    assert.throws(() => framer.next(), FramingError);
  });

  it('rejects bytes that are not an LDAPMessage SEQUENCE', () => {
    const framer = new PduFramer(1024);
    framer.push(Buffer.from('GET / HTTP/1.1\r\n'));
    assert.throws(() => framer.next(), (err: unknown) => err instanceof FramingError && err.reason === 'malformed');
  });

  it('rejects the indefinite length form and lengths of more than 4 octets', () => {
    const indefinite = new PduFramer(1024);
    indefinite.push(Buffer.from([0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00]));
    assert.throws(() => indefinite.next(), (err: unknown) => err instanceof FramingError && err.reason === 'malformed');
    const huge = new PduFramer(1024);
    huge.push(Buffer.from([0x30, 0x85, 0, 0, 0, 0, 1]));
    assert.throws(() => huge.next(), FramingError);
  });

  it('waits for the rest of a long-form length', () => {
    const framer = new PduFramer(1024);
    framer.push(Buffer.from([0x30, 0x82, 0x00]));
    assert.equal(framer.next(), undefined);
    framer.push(Buffer.from([0x01, 0x41]));
    assert.deepEqual(framer.next(), Buffer.from([0x30, 0x82, 0x00, 0x01, 0x41]));
  });
});
