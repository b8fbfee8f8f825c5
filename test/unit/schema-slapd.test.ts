// The matching rules and syntax checks against the reference: a real slapd loaded with the same schema
// files decides whether a filter matches a stored value and whether a value is valid, and ispd's
// normalizers and syntax checks must give the same answer.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { loadSchema } from '../../src/directory/schema';
import type { AttributeType } from '../../src/directory/schema';
import { requirePrograms } from '../support/clients';
import { makeTempDir } from '../support/server-process';
import { SLAPD_ROOT_DN, SLAPD_ROOT_PASSWORD, startSlapd, type SlapdHandle } from '../support/slapd-process';

const schema = loadSchema();

function at(name: string): AttributeType {
  const found = schema.attributeType(name);
  assert.ok(found, name);
  return found;
}

function escapeFilterValue(v: string): string {
  return v.replace(/[\\*()\0]/g, (c) => '\\' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}

/** [attribute, stored value, asserted value, matches?] */
const EQUALITY: Array<[string, string, string, boolean]> = [
  ['mailLocalAddress', 'Bob@Developer.CH', 'bob@developer.ch', true],
  ['mailLocalAddress', 'a  b@x.ch', 'A B@X.CH', true],
  ['mailLocalAddress', 'bob@developer.ch', 'bob@developer.c', false],
  ['mailAlias', 'Info@Example.COM', 'info@example.com', true],
  ['mailacceptinggeneralid', 'Bob@Developer.CH', 'BOB@developer.ch', true],
  ['cn', 'John   Smith', 'john smith', true],
  ['cn', 'École', 'école', true],
  ['cn', 'John Smith', 'JohnSmith', false],
  ['cn', 'A\u2003B', 'a b', true],
  ['cn', 'A\tB', 'a b', false],
  ['cn', 'ﬁle', 'FILE', true],
  ['mailLocalAddress', 'A\nB', 'a b', false],
  ['mailLocalAddress', ' a ', 'A', true],
  ['telephoneNumber', 'ABC', 'abc', false],
  ['ispmanVhostName', 'WWW', 'www', false],
  ['ispmanVhostName', 'www', 'www', true],
  ['labeledURI', 'http://Example.com/', 'http://example.com/', false],
  ['uidNumber', '1000', '1000', true],
  ['uidNumber', '1000', '100', false],
  ['uidNumber', '-1', '-1', true],
  ['telephoneNumber', '+41 22-123 45 67', '+41221234567', true],
  ['x121Address', '12 34', '1234', true],
  ['seeAlso', 'CN=Foo,O=ISPMan', 'cn=foo, o=ispman', true],
  ['seeAlso', 'cn=foo,o=ispman', 'cn=bar,o=ispman', false],
  ['uniqueMember', "CN=X,O=ispman#'0101'B", "cn=x,o=ISPMAN#'0101'B", true],
  ['postalAddress', '1 Main St$Geneva', '1 main st$GENEVA', true],
  ['userPassword', '{SSHA}AbC', '{ssha}abc', false],
  ['objectClass', 'organizationalUnit', 'ORGANIZATIONALUNIT', true],
  ['objectClass', 'organizationalUnit', '2.5.6.5', true],
];

/** [attribute, stored value, substring filter, matches?] */
const SUBSTRINGS: Array<[string, string, string, boolean]> = [
  ['mail', 'bob@developer.ch', '*DEVELOPER*', true],
  ['mail', 'bob@developer.ch', 'BOB@*', true],
  ['mail', 'bob@developer.ch', '*.com', false],
  ['ispmanDomain', 'Example.com', 'example*', true],
  ['cn', 'John   Smith', '*n s*', true],
  ['cn', 'John Smith', 'John *Smith', true],
  ['cn', 'John Smith', '*n  S*', true],
  ['description', 'foo bar baz', '*obar*', false],
  ['ispmanVhostName', 'WWW.example.com', 'www*', false],
];

/** [attribute, stored value, filter operator, asserted value, matches?] */
const ORDERING: Array<[string, string, '<=' | '>=', string, boolean]> = [
  ['uidNumber', '7', '<=', '10', true],
  ['uidNumber', '100', '<=', '10', false],
  ['uidNumber', '-5', '>=', '-10', true],
];

/** [attribute, value, valid?] — values slapd accepts or refuses with invalidAttributeSyntax. */
const SYNTAX: Array<[string, string, boolean]> = [
  ['uidNumber', '1000', true],
  ['uidNumber', '-1', true],
  ['uidNumber', '007', false],
  ['uidNumber', '+5', false],
  ['uidNumber', 'ten', false],
  ['mailLocalAddress', 'bob@developer.ch', true],
  ['mailLocalAddress', 'bób@developer.ch', false],
  ['c', 'CH', true],
  ['c', 'CHE', false],
  ['seeAlso', 'uid=bob,ou=users,ispmanDomain=example.com,o=ispman', true],
  ['seeAlso', 'no equals sign', false],
  ['telephoneNumber', '+41 22 123 45 67', true],
  ['telephoneNumber', 'call_me', false],
  ['x121Address', '123 456', true],
  ['x121Address', '12-3', false],
  ['serialNumber', 'ABC-123', true],
  ['serialNumber', 'ABC_123', false],
  ['x500UniqueIdentifier', "'0101'B", true],
  ['x500UniqueIdentifier', '0101', false],
  ['postalAddress', '1 Main St$Geneva', true],
  ['cn', 'Zoë', true],
  ['userPassword', '{CRYPT}XXffGGHH', true],
  ['cn', '', false],
  ['cn', '  ', true],
  ['mailLocalAddress', '', true],
  ['seeAlso', '', true],
  ['seeAlso', 'foo=bar', false],
  ['x121Address', '', false],
  ['uidNumber', '-', false],
  ['uidNumber', '99999999999999999999999', true],
  // Not compared: IA5 {n} length bounds, which ispd enforces and slapd ignores.
];

describe('schema: matching rules and syntaxes agree with slapd', function () {
  this.timeout(60000);
  let slapd: SlapdHandle | undefined;
  let client: Client;
  let tmp: string | undefined;
  const entryDN = (k: number) => `ou=c${k},o=ispman`;

  before(async function () {
    requirePrograms(this, 'slapd', 'slapadd');
    tmp = makeTempDir('schema');
    const ldif = path.join(tmp, 'base.ldif');
    fs.writeFileSync(ldif, 'dn: o=ispman\nobjectClass: organization\no: ispman\n\ndn: ou=syntax,o=ispman\nobjectClass: organizationalUnit\nobjectClass: extensibleObject\nou: syntax\n');
    slapd = await startSlapd({ ldif });
    client = new Client({ url: slapd.ldapUrl, timeout: 10000, connectTimeout: 10000 });
    await client.bind(SLAPD_ROOT_DN, SLAPD_ROOT_PASSWORD);
    const stored: Array<[string, string]> = [...EQUALITY, ...SUBSTRINGS, ...ORDERING].map((c) => [c[0], c[1]]);
    for (let k = 0; k < stored.length; k++) {
      const [attr, value] = stored[k];
      const attrs: Record<string, string[]> = { objectClass: ['organizationalUnit', 'extensibleObject'], ou: [`c${k}`] };
      if (attr !== 'objectClass') attrs[attr] = [value];
      await client.add(entryDN(k), attrs);
    }
  });

  after(async () => {
    await client?.unbind().catch(() => undefined);
    await slapd?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function slapdMatches(k: number, filter: string): Promise<boolean> {
    const { searchEntries } = await client.search(entryDN(k), { scope: 'base', filter, attributes: ['1.1'] });
    return searchEntries.length === 1;
  }

  it('equality', async () => {
    for (let k = 0; k < EQUALITY.length; k++) {
      const [attr, stored, asserted, expected] = EQUALITY[k];
      const a = at(attr);
      const n = schema.normalizeValue(a, stored);
      const ours = n !== null && n === schema.normalizeValue(a, asserted);
      const theirs = await slapdMatches(k, `(${attr}=${escapeFilterValue(asserted)})`);
      assert.equal(theirs, expected, `slapd: (${attr}=${asserted}) on "${stored}"`);
      assert.equal(ours, expected, `ispd: (${attr}=${asserted}) on "${stored}"`);
    }
  });

  it('substrings', async () => {
    for (let j = 0; j < SUBSTRINGS.length; j++) {
      const k = EQUALITY.length + j;
      const [attr, stored, pattern, expected] = SUBSTRINGS[j];
      const rule = at(attr).substr!;
      const parts = pattern.split('*');
      const value = rule.normalize(stored);
      let pos = 0;
      let ours = true;
      parts.forEach((part, i) => {
        if (!ours || part === '') return;
        const frag = rule.normalize(part);
        if (i === 0) {
          ours = value.startsWith(frag);
          pos = frag.length;
        } else if (i === parts.length - 1) {
          ours = value.length - frag.length >= pos && value.endsWith(frag);
        } else {
          const at = value.indexOf(frag, pos);
          ours = at >= 0;
          pos = at + frag.length;
        }
      });
      const filter = `(${attr}=${parts.map(escapeFilterValue).join('*')})`;
      assert.equal(await slapdMatches(k, filter), expected, `slapd: ${filter} on "${stored}"`);
      assert.equal(ours, expected, `ispd: ${filter} on "${stored}"`);
    }
  });

  it('ordering', async () => {
    for (let j = 0; j < ORDERING.length; j++) {
      const k = EQUALITY.length + SUBSTRINGS.length + j;
      const [attr, stored, op, asserted, expected] = ORDERING[j];
      const rule = at(attr).ordering!;
      const c = rule.compare!(rule.normalize(stored)!, rule.normalize(asserted)!);
      const ours = op === '<=' ? c <= 0 : c >= 0;
      const filter = `(${attr}${op}${asserted})`;
      assert.equal(await slapdMatches(k, filter), expected, `slapd: ${filter} on "${stored}"`);
      assert.equal(ours, expected, `ispd: ${filter} on "${stored}"`);
    }
  });

  it('syntax checks', async () => {
    for (const [attr, value, expected] of SYNTAX) {
      let theirs = true;
      try {
        await client.modify('ou=syntax,o=ispman', new Change({ operation: 'replace', modification: new Attribute({ type: attr, values: [value] }) }));
      } catch (err) {
        const code = (err as { code?: number }).code;
        assert.equal(code, 21, `slapd refused ${attr}: ${JSON.stringify(value)} with ${String(err)}, not invalidAttributeSyntax`);
        theirs = false;
      }
      assert.equal(theirs, expected, `slapd: ${attr}: ${JSON.stringify(value)}`);
      assert.equal(schema.checkSyntax(at(attr), value) === null, expected, `ispd: ${attr}: ${JSON.stringify(value)}`);
    }
  });
});
