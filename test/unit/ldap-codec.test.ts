// The request decoder and response encoders, and — for each case where codec.ts does not use
// @ldapjs/messages — a test showing what the ldapjs class gets wrong.

import { strict as assert } from 'node:assert';
import { DecodeError, decodeRequest, encodeExtendedResponse, encodeNoticeOfDisconnection, encodeResult, encodeSearchEntry } from '../../src/ldap/codec';
import { encodePagedResponse, decodePagedRequest } from '../../src/ldap/controls';
import { asn1, type BerWriter } from '../../src/ldap/ldapjs';
import { decodePasswordModify, encodePasswordModifyResponse } from '../../src/ldap/ops/extended';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const ldapjsMessages = require('@ldapjs/messages') as {
  LdapMessage: { parse(reader: unknown): { pojo: Record<string, unknown>; type: string; controls: unknown[] } & Record<string, unknown> };
  SearchResultEntry: new (options: { messageId: number; objectName: string; attributes: Array<{ type: string; values: string[] }> }) => {
    toBer(): { buffer: Buffer };
  };
};

type Write = (w: BerWriter) => void;

/** LDAPMessage { messageID, protocolOp built by `op`, controls built by `controls` }. */
function message(messageId: number, op: Write, controls?: Write): Buffer {
  const w = new asn1.BerWriter();
  w.startSequence();
  w.writeInt(messageId);
  op(w);
  if (controls) {
    w.startSequence(0xa0);
    controls(w);
    w.endSequence();
  }
  w.endSequence();
  return Buffer.from(w.buffer);
}

const simpleBind = (name: string, password: string, version = 3): Write => (w) => {
  w.startSequence(0x60);
  w.writeInt(version);
  w.writeString(name);
  w.writeString(password, 0x80);
  w.endSequence();
};

/** (&(cn=Zoë)(mail=a\2ab\28c\29)(userCertificate;binary=*)) as BER, substrings with all three parts. */
const searchRequest: Write = (w) => {
  w.startSequence(0x63);
  w.writeString('uid=bob, ou=users, o=ispman');
  w.writeEnumeration(2);
  w.writeEnumeration(0);
  w.writeInt(10);
  w.writeInt(5);
  w.writeBoolean(false);
  w.startSequence(0xa0);
  w.startSequence(0xa3);
  w.writeString('cn');
  w.writeString('Zoë');
  w.endSequence();
  w.startSequence(0xa3);
  w.writeString('mail');
  w.writeString('a*b(c)');
  w.endSequence();
  w.writeString('userCertificate;binary', 0x87);
  w.startSequence(0xa4);
  w.writeString('uid');
  w.startSequence();
  w.writeString('b', 0x80);
  w.writeString('o', 0x81);
  w.writeString('x', 0x82);
  w.endSequence();
  w.endSequence();
  w.startSequence(0xa9);
  w.writeString('caseExactMatch', 0x81);
  w.writeString('cn', 0x82);
  w.writeString('Foo', 0x83);
  w.writeBoolean(true, 0x84);
  w.endSequence();
  w.endSequence();
  w.startSequence();
  w.writeString('mailLocalAddress');
  w.writeString('+');
  w.endSequence();
  w.endSequence();
};

describe('ldap codec', () => {
  describe('requests', () => {
    it('decodes a simple bind, v2 and v3', () => {
      assert.deepEqual(decodeRequest(message(1, simpleBind('cn=a,o=x', 'pw'))), {
        op: 'bind', messageId: 1, controls: [], version: 3, name: 'cn=a,o=x', auth: { kind: 'simple', password: 'pw' },
      });
      const v2 = decodeRequest(message(2, simpleBind('', '', 2)));
      assert.equal(v2.op === 'bind' && v2.version, 2);
    });

    it("keeps nslcd's value-less ppolicy control, which ldapjs's parser throws on", () => {
      const pdu = message(1, simpleBind('uid=bob,o=x', 'pw'), (w) => {
        w.startSequence();
        w.writeString('1.3.6.1.4.1.42.2.27.8.5.1');
        w.endSequence();
      });
      assert.throws(() => ldapjsMessages.LdapMessage.parse(new asn1.BerReader(pdu)), /options.value must be a Buffer or Object/);
      const request = decodeRequest(pdu);
      assert.deepEqual(request.controls, [{ oid: '1.3.6.1.4.1.42.2.27.8.5.1', critical: false }]);
    });

    it('decodes a SASL bind (ldapjs throws) so it can be answered authMethodNotSupported', () => {
      const pdu = message(3, (w) => {
        w.startSequence(0x60);
        w.writeInt(3);
        w.writeString('');
        w.startSequence(0xa3);
        w.writeString('EXTERNAL');
        w.endSequence();
        w.endSequence();
      });
      assert.throws(() => ldapjsMessages.LdapMessage.parse(new asn1.BerReader(pdu)), /authentication 0xa3 not supported/);
      const request = decodeRequest(pdu);
      assert.deepEqual(request.op === 'bind' && request.auth, { kind: 'sasl', mechanism: 'EXTERNAL' });
    });

    it('keeps the case of attribute names in an add (ldapjs lowercases them)', () => {
      const pdu = message(4, (w) => {
        w.startSequence(0x68);
        w.writeString('uid=bob,o=x');
        w.startSequence();
        for (const [type, values] of [['objectClass', ['inetOrgPerson']], ['mailLocalAddress', ['Bob@X']], ['cn', ['Zoë']]] as const) {
          w.startSequence();
          w.writeString(type);
          w.startSequence(0x31);
          for (const v of values) w.writeString(v);
          w.endSequence();
          w.endSequence();
        }
        w.endSequence();
        w.endSequence();
      });
      const ldapjs = ldapjsMessages.LdapMessage.parse(new asn1.BerReader(pdu)).pojo as { attributes: Array<{ type: string; values: string[] }> };
      assert.deepEqual(ldapjs.attributes.map((a) => a.type), ['objectclass', 'maillocaladdress', 'cn']);
      const request = decodeRequest(pdu);
      assert.deepEqual(request.op === 'add' && { ...request.attributes }, { objectClass: ['inetOrgPerson'], mailLocalAddress: ['Bob@X'], cn: ['Zoë'] });
    });

    it('decodes the increment modification (RFC 4525), which ldapjs rejects', () => {
      const pdu = message(5, (w) => {
        w.startSequence(0x66);
        w.writeString('uid=bob,o=x');
        w.startSequence();
        for (const [op, type, value] of [[3, 'uidNumber', '1'], [2, 'mailQuota', '10']] as const) {
          w.startSequence();
          w.writeEnumeration(op);
          w.startSequence();
          w.writeString(type);
          w.startSequence(0x31);
          w.writeString(value);
          w.endSequence();
          w.endSequence();
          w.endSequence();
        }
        w.endSequence();
        w.endSequence();
      });
      assert.throws(() => ldapjsMessages.LdapMessage.parse(new asn1.BerReader(pdu)), /invalid operation type: 0x3/);
      const request = decodeRequest(pdu);
      assert.deepEqual(request.op === 'modify' && request.changes, [
        { operation: 'increment', attribute: 'uidNumber', values: ['1'] },
        { operation: 'replace', attribute: 'mailQuota', values: ['10'] },
      ]);
    });

    it('decodes filter values as sent (ldapjs returns them still escaped) and attribute options', () => {
      const pdu = message(6, searchRequest);
      const request = decodeRequest(pdu);
      assert.equal(request.op, 'search');
      if (request.op !== 'search') return;
      assert.equal(request.base, 'uid=bob, ou=users, o=ispman');
      assert.equal(request.scope, 'sub');
      assert.equal(request.sizeLimit, 10);
      assert.equal(request.timeLimit, 5);
      assert.deepEqual(request.attributes, ['mailLocalAddress', '+']);
      assert.deepEqual(request.filter, {
        type: 'and',
        filters: [
          { type: 'equality', attribute: 'cn', value: 'Zoë' },
          { type: 'equality', attribute: 'mail', value: 'a*b(c)' },
          { type: 'present', attribute: 'userCertificate;binary' },
          { type: 'substrings', attribute: 'uid', initial: 'b', any: ['o'], final: 'x' },
          { type: 'extensible', rule: 'caseExactMatch', attribute: 'cn', value: 'Foo', dnAttributes: true },
        ],
      });
      // What @ldapjs/messages makes of the same filter (its string round trip keeps the escapes):
      const simpler = message(7, (w) => {
        w.startSequence(0x63);
        w.writeString('o=x');
        w.writeEnumeration(2);
        w.writeEnumeration(0);
        w.writeInt(0);
        w.writeInt(0);
        w.writeBoolean(false);
        w.startSequence(0xa3);
        w.writeString('cn');
        w.writeString('Zoë');
        w.endSequence();
        w.startSequence();
        w.endSequence();
        w.endSequence();
      });
      const ldapjs = ldapjsMessages.LdapMessage.parse(new asn1.BerReader(simpler)) as unknown as { filter: { value: string } };
      assert.equal(ldapjs.filter.value, 'Zo\\c3\\ab');
    });

    it('decodes compare, delete, modifyDN, abandon, unbind and extended requests', () => {
      const compare = decodeRequest(message(8, (w) => {
        w.startSequence(0x6e);
        w.writeString('uid=bob,o=x');
        w.startSequence();
        w.writeString('mail');
        w.writeString('bob@x');
        w.endSequence();
        w.endSequence();
      }));
      assert.deepEqual(compare, { op: 'compare', messageId: 8, controls: [], dn: 'uid=bob,o=x', attribute: 'mail', value: 'bob@x' });
      const del = decodeRequest(message(9, (w) => w.writeString('uid=bob,o=x', 0x4a)));
      assert.deepEqual(del, { op: 'delete', messageId: 9, controls: [], dn: 'uid=bob,o=x' });
      const moddn = decodeRequest(message(10, (w) => {
        w.startSequence(0x6c);
        w.writeString('uid=bob,o=x');
        w.writeString('uid=robert');
        w.writeBoolean(true);
        w.writeString('ou=people,o=x', 0x80);
        w.endSequence();
      }));
      assert.deepEqual(moddn, { op: 'modifyDN', messageId: 10, controls: [], dn: 'uid=bob,o=x', newRdn: 'uid=robert', deleteOldRdn: true, newSuperior: 'ou=people,o=x' });
      assert.deepEqual(decodeRequest(message(11, (w) => w.writeInt(7, 0x50))), { op: 'abandon', messageId: 11, controls: [], abandonId: 7 });
      assert.deepEqual(decodeRequest(message(12, (w) => { w.startSequence(0x42); w.endSequence(); })), { op: 'unbind', messageId: 12, controls: [] });
      const exop = decodeRequest(message(13, (w) => {
        w.startSequence(0x77);
        w.writeString('1.3.6.1.4.1.4203.1.11.1', 0x80);
        w.writeBuffer(Buffer.from([0x30, 0x03, 0x82, 0x01, 0x78]), 0x81);
        w.endSequence();
      }));
      assert.equal(exop.op, 'extended');
      if (exop.op === 'extended') assert.deepEqual(decodePasswordModify(exop.value), { newPassword: 'x' });
    });

    it('refuses malformed PDUs with a DecodeError', () => {
      const valid = message(1, simpleBind('cn=a', 'pw'));
      const cases: Array<[string, Buffer]> = [
        ['a response instead of a request', message(1, (w) => { w.startSequence(0x61); w.writeEnumeration(0); w.writeString(''); w.writeString(''); w.endSequence(); })],
        ['an unknown protocolOp', message(1, (w) => w.writeString('x', 0x7f))],
        ['a truncated body', Buffer.concat([Buffer.from([0x30, valid.length - 3]), valid.subarray(2, valid.length - 1)])],
        ['trailing bytes inside the envelope', (() => { const b = Buffer.concat([valid, Buffer.from([0x04, 0x00])]); b[1] += 2; return b; })()],
        ['a negative messageID', message(-1, simpleBind('', ''))],
        ['a search scope of 7', message(1, (w) => { w.startSequence(0x63); w.writeString(''); w.writeEnumeration(7); w.writeEnumeration(0); w.writeInt(0); w.writeInt(0); w.writeBoolean(false); w.writeString('objectClass', 0x87); w.startSequence(); w.endSequence(); w.endSequence(); })],
        ['an unknown filter choice', message(1, (w) => { w.startSequence(0x63); w.writeString(''); w.writeEnumeration(0); w.writeEnumeration(0); w.writeInt(0); w.writeInt(0); w.writeBoolean(false); w.writeString('x', 0x8f); w.startSequence(); w.endSequence(); w.endSequence(); })],
        ['garbage', Buffer.from([0x30, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff])],
      ];
      for (const [what, pdu] of cases) {
        assert.throws(() => decodeRequest(pdu), DecodeError, what);
      }
    });

    it('never puts a library or runtime error text in the message meant for the client (issue 13 fuzzing)', () => {
      // Found by fuzzing: a messageID INTEGER whose length (0x48) runs past the PDU made BerReader crash with
      // "Cannot read properties of null (reading 'length')", and that text went out as the diagnosticMessage.
      const cases: Array<[string, string, RegExp]> = [
        ['30180248056e130408636e3d612c6f3d7830070402636e040161', 'malformed BER integer', /reading 'length'/],
        // @ldapjs/asn1's own text for a wrong tag inside a compare request (parsed by @ldapjs/messages)
        ['30180201056e130408636e3d612c6f3d7830070402636e0001ad', 'malformed compare request', /Expected 0x04/],
        ['30180201056e130408636e3d612c6f3d7830070402636e000161', 'malformed compare request', /Expected 0x04/],
        ['3018020105' + '6e130408636e3d612c6f3d783007a302636e040161', 'malformed compare request', /Expected 0x04/],
        ['30180280056e130408636e3d612c6f337830070402636e040161', 'malformed BER integer', /Indefinite length/],
      ];
      for (const [hex, shown, internal] of cases) {
        let caught: unknown;
        try {
          decodeRequest(Buffer.from(hex, 'hex'));
        } catch (err) {
          caught = err;
        }
        assert.ok(caught instanceof DecodeError, hex);
        assert.equal(caught.message, shown, hex);
        assert.match(caught.internal ?? '', internal, hex);
      }
    });

    it('bounds filter nesting', () => {
      const deep = message(1, (w) => {
        w.startSequence(0x63);
        w.writeString('');
        w.writeEnumeration(0);
        w.writeEnumeration(0);
        w.writeInt(0);
        w.writeInt(0);
        w.writeBoolean(false);
        for (let i = 0; i < 200; i++) w.startSequence(0xa2);
        w.writeString('objectClass', 0x87);
        for (let i = 0; i < 200; i++) w.endSequence();
        w.startSequence();
        w.endSequence();
        w.endSequence();
      });
      assert.throws(() => decodeRequest(deep), /nested deeper/);
    });
  });

  describe('responses', () => {
    it('writes search entries with the DN and attribute names exactly as given (ldapjs rewrites the DN)', () => {
      const dn = 'uid=bob_developer_ch, ou=users, domain=developer.ch, o=ispman';
      const attributes = { mailLocalAddress: ['bob@developer.ch'], cn: ['Zoë'], objectClass: ['top', 'posixAccount'] };
      const ours = encodeSearchEntry(4, { dn, attributes }, false);
      const parsed = ldapjsMessages.LdapMessage.parse(new asn1.BerReader(ours)).pojo as {
        messageId: number; objectName: string; attributes: Array<{ type: string; values: string[] }>;
      };
      assert.equal(parsed.messageId, 4);
      assert.deepEqual(parsed.attributes, [
        { type: 'mailLocalAddress', values: ['bob@developer.ch'] },
        { type: 'cn', values: ['Zoë'] },
        { type: 'objectClass', values: ['top', 'posixAccount'] },
      ]);
      // ldapjs's parse re-formats the DN too, so read the raw objectName octets:
      const dnBytes = Buffer.from(dn, 'utf8');
      assert.ok(ours.includes(dnBytes), 'the DN is written byte for byte');
      const theirs = new ldapjsMessages.SearchResultEntry({ messageId: 4, objectName: dn, attributes: [] }).toBer().buffer;
      assert.ok(!theirs.includes(dnBytes), 'ldapjs rewrites the DN');
      assert.throws(() => new ldapjsMessages.SearchResultEntry({ messageId: 4, objectName: 'not a dn', attributes: [] }));
      assert.ok(encodeSearchEntry(5, { dn: 'not a dn', attributes: {} }, false).length > 0);
    });

    it('writes the same bytes as a BerWriter encoding, for every length form and character class', () => {
      const viaBerWriter = (messageId: number, dn: string, attributes: Record<string, string[]>, typesOnly: boolean): Buffer => {
        const w = new asn1.BerWriter();
        w.startSequence();
        w.writeInt(messageId);
        w.startSequence(0x64);
        w.writeString(dn);
        w.startSequence();
        for (const [name, values] of Object.entries(attributes)) {
          w.startSequence();
          w.writeString(name);
          w.startSequence(0x31);
          if (!typesOnly) for (const v of values) w.writeString(v);
          w.endSequence();
          w.endSequence();
        }
        w.endSequence();
        w.endSequence();
        w.endSequence();
        return Buffer.from(w.buffer);
      };
      const samples: Array<[number, string, Record<string, string[]>]> = [
        [1, '', {}],
        [127, 'o=x', { cn: [''] }],
        [128, 'cn=Zoë Ærø,o=x', { cn: ['Zoë Ærø', '日本語', 'emoji 😀 pair', 'lone \ud800 surrogate'], sn: [] }],
        [32767, 'o=x', { description: ['x'.repeat(127)], info: ['y'.repeat(128), 'z'.repeat(255), 'w'.repeat(256)] }],
        [32768, 'o=x', { big: ['é'.repeat(40000)], other: ['a'.repeat(70000)] }],
        [8388608, 'uid=bob, ou=users, o=ispman', Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`attr${i}`, [`value ${i}`, `ünïcödé ${i}`]]))],
        [2147483647, 'o=x', { cn: ['a'.repeat(64), 'b'.repeat(65), 'ä'.repeat(64), 'ä'.repeat(65)] }],
      ];
      for (const [id, dn, attributes] of samples) {
        for (const typesOnly of [false, true]) {
          assert.deepEqual(encodeSearchEntry(id, { dn, attributes }, typesOnly), viaBerWriter(id, dn, attributes, typesOnly), `message ${id}, typesOnly ${typesOnly}`);
        }
      }
    });

    it('encodes entries over 16 MB (BerWriter throws)', () => {
      const huge = { dn: 'o=x', attributes: { data: ['x'.repeat(17 * 1024 * 1024)] } };
      const pdu = encodeSearchEntry(1, huge, false);
      assert.deepEqual([...pdu.subarray(0, 2)], [0x30, 0x84]);
      assert.equal(pdu.length, pdu.readUInt32BE(2) + 6);
    });

    it('leaves values out for typesOnly', () => {
      const parsed = ldapjsMessages.LdapMessage.parse(new asn1.BerReader(encodeSearchEntry(4, { dn: 'o=x', attributes: { cn: ['a', 'b'] } }, true))).pojo as {
        attributes: Array<{ type: string; values: string[] }>;
      };
      assert.deepEqual(parsed.attributes, [{ type: 'cn', values: [] }]);
    });

    it('encodes results with code, matchedDN and message', () => {
      const pdu = encodeResult('delete', 9, { code: 32, message: 'no such object', matchedDN: 'o=ispman' });
      const parsed = ldapjsMessages.LdapMessage.parse(new asn1.BerReader(pdu)) as unknown as { type: string; id: number; status: number; matchedDN: string; diagnosticMessage: string };
      assert.equal(parsed.type, 'DeleteResponse');
      assert.equal(parsed.id, 9);
      assert.equal(parsed.status, 32);
      assert.equal(parsed.matchedDN, 'o=ispman');
      assert.equal(parsed.diagnosticMessage, 'no such object');
    });

    it('writes results without controls byte for byte as the @ldapjs/messages classes do', () => {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const classes = require('@ldapjs/messages') as Record<string, new (options: Record<string, unknown>) => { toBer(): { buffer: Buffer } }>;
      const kinds = { bind: 'BindResponse', searchDone: 'SearchResultDone', modify: 'ModifyResponse', add: 'AddResponse', delete: 'DeleteResponse', modifyDN: 'ModifyDnResponse', compare: 'CompareResponse' } as const;
      const messages = ['', 'invalid credentials', 'Zoë ✓ 𝄞', 'x'.repeat(127), 'y'.repeat(128), 'z'.repeat(300), 'w'.repeat(70_000)];
      let compared = 0;
      for (const [kind, className] of Object.entries(kinds)) {
        for (const messageId of [0, 1, 127, 128, 255, 32767, 32768, 8388607, 8388608, 2147483647]) {
          for (const code of [0, 5, 32, 49, 118, 127, 128, 16654]) {
            for (const message of messages) {
              const matchedDN = code === 32 ? 'ou=users,ispmanDomain=example.com,o=ispman' : '';
              const mine = encodeResult(kind as keyof typeof kinds, messageId, { code, message, matchedDN });
              const theirs = new classes[className]({ messageId, status: code, matchedDN, diagnosticMessage: message, controls: [] }).toBer().buffer;
              assert.deepEqual(mine, theirs, `${kind} id ${messageId} code ${code} message of ${message.length}`);
              compared++;
            }
          }
        }
      }
      assert.equal(compared, 7 * 10 * 8 * messages.length);
    });

    it('writes a non-critical response control without the criticality BOOLEAN (DER; libldap misreads FALSE)', () => {
      const pdu = encodeResult('searchDone', 3, { code: 0 }, [encodePagedResponse('42')]);
      const oid = Buffer.from('1.2.840.113556.1.4.319');
      const at = pdu.indexOf(oid);
      assert.ok(at > 0);
      // After the OID comes the controlValue OCTET STRING directly, no 01 01 00.
      assert.equal(pdu[at + oid.length], 0x04);
      const value = pdu.subarray(at + oid.length + 2);
      assert.deepEqual(decodePagedRequest({ oid: '1.2.840.113556.1.4.319', critical: false, value }), { size: 0, cookie: '42' });
    });

    it('encodes extended responses with binary values, and the Notice of Disconnection', () => {
      const pm = encodeExtendedResponse(7, { code: 0 }, undefined, encodePasswordModifyResponse('s3cret'));
      assert.ok(pm.includes(Buffer.from([0x8b, 0x0a, 0x30, 0x08, 0x80, 0x06])));
      const notice = encodeNoticeOfDisconnection(2, 'bad');
      const parsed = ldapjsMessages.LdapMessage.parse(new asn1.BerReader(notice)) as unknown as { id: number; status: number; responseName: string };
      assert.equal(parsed.id, 0);
      assert.equal(parsed.status, 2);
      assert.equal(parsed.responseName, '1.3.6.1.4.1.1466.20036');
    });
  });
});
