import assert from 'node:assert/strict';
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { DN: LdapjsDN } = require('@ldapjs/dn');
import { DNNormalizer, escapeDNValue, formatDN, parseDN, parentOfNormalized } from '../../src/directory/dn';
import { loadSchema } from '../../src/directory/schema';
import { DirectoryError } from '../../src/directory/errors';

describe('DN (RFC 4514)', () => {
  const schema = loadSchema();
  const dn = new DNNormalizer(schema);

  it('parses ISPMan DNs written with ", " separators and any attribute-name case', () => {
    const a = dn.normalize('uid=bob_developer_ch, ou=users, ispmanDomain=developer.ch, o=ispman');
    const b = dn.normalize('UID=Bob_Developer_CH,OU=Users,ISPMANDOMAIN=Developer.CH,O=ISPMAN');
    assert.equal(a, b);
    assert.equal(a, 'uid=bob_developer_ch,ou=users,ispmandomain=developer.ch,o=ispman');
  });

  it('keeps escaped separators inside values (where @ldapjs/dn 1.1 truncates)', () => {
    assert.deepEqual(parseDN('cn=a\\+b,o=x')[0], [{ type: 'cn', value: 'a+b' }]);
    // Why we do not use @ldapjs/dn for parsing: it cuts the value at the escaped "+".
    const viaLdapjs = LdapjsDN.fromString('cn=a\\+b,o=x').rdnAt(0);
    assert.notEqual(viaLdapjs.getValue('cn'), 'a+b');
    assert.deepEqual(parseDN('cn=x+cn=y,o=z')[0].map((a) => a.value), ['x', 'y']);
    assert.deepEqual(parseDN('cn=a\\,b\\2c,o=x')[0], [{ type: 'cn', value: 'a,b,' }]);
    assert.equal(parseDN('cn=caf\\C3\\A9,o=x')[0][0].value, 'café');
    assert.equal(parseDN('cn=#04024869,o=x')[0][0].value, 'Hi');
    assert.equal(parseDN('cn="quoted, v",o=x')[0][0].value, 'quoted, v');
  });

  it('normalizes multi-valued RDNs independent of order, and OIDs to names', () => {
    assert.equal(dn.normalize('cn=b+sn=a,o=x'), dn.normalize('sn=A+cn=B,o=X'));
    assert.equal(dn.normalize('2.5.4.3=Bob,o=x'), dn.normalize('cn=bob,o=x'));
  });

  it('escapes so that normalized DNs split on "," safely', () => {
    const n = dn.normalize('cn=a\\,b,o=x');
    assert.equal(n.split(',').length, 2);
    assert.equal(parentOfNormalized(n), 'o=x');
  });

  it('round-trips through formatDN', () => {
    const text = 'cn=a\\,b+sn=\\ lead,o=x';
    assert.equal(dn.normalize(formatDN(parseDN(text))), dn.normalize(text));
    assert.equal(escapeDNValue('#x '), '\\#x\\ ');
  });

  it('rejects malformed DNs with invalidDNSyntax', () => {
    for (const bad of ['garbage', 'cn=x,', '=x', 'cn=x\\', 'nosuchattr=x,o=ispman']) {
      assert.throws(() => dn.normalize(bad), (e: unknown) => e instanceof DirectoryError && e.code === 34, bad);
    }
  });
});
