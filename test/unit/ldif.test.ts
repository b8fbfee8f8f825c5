import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { formatLdifEntry, formatLdifLine, isSafeLdifString, LdifError, parseLdif, parseLdifFileSync, parseLdifStream, type LdifRecord } from '../../src/directory/ldif';

// ISPMan's install LDIFs live beside the repository (they are ISPMan's, not ours to ship).
const REFERENCE = process.env.ISPD_ISPMAN_LDIF_DIR ?? path.join(__dirname, '../../../../shared/reference/ispman-ldif');

function parseAll(text: string): LdifRecord[] {
  return [...parseLdif(text)];
}

function lineOfError(text: string): number {
  try {
    parseAll(text);
  } catch (err) {
    assert.ok(err instanceof LdifError, String(err));
    return err.line;
  }
  assert.fail('no error');
}

async function collect(gen: AsyncGenerator<LdifRecord>): Promise<LdifRecord[]> {
  const out: LdifRecord[] = [];
  for await (const r of gen) out.push(r);
  return out;
}

describe('LDIF', () => {
  describe('reading', () => {
    it('reads entries with version line, comments and blank-line separators, keeping order', () => {
      const records = parseAll(
        [
          'version: 1',
          '',
          '# the domain',
          'dn: ispmanDomain=example.com, o=ispman',
          'objectClass: top',
          'objectclass: ispmanDomain',
          'ispmanDomain: example.com',
          '',
          '',
          '# a user',
          'dn: uid=bob_example_com,ou=users,ispmanDomain=example.com,o=ispman',
          'uid: bob_example_com',
          'uid: bob@example.com',
          'cn;lang-de: Bob',
          'userCertificate;binary:: AAEC',
          '',
        ].join('\n').replace('AAEC', Buffer.from('cert').toString('base64')),
      );
      assert.equal(records.length, 2);
      assert.equal(records[0].kind, 'entry');
      assert.equal(records[0].dn, 'ispmanDomain=example.com, o=ispman');
      assert.equal(records[0].line, 4);
      assert.deepEqual(records[0].attributes, [
        ['objectClass', 'top'],
        ['objectclass', 'ispmanDomain'],
        ['ispmanDomain', 'example.com'],
      ]);
      assert.equal(records[1].line, 11);
      assert.deepEqual(records[1].attributes, [
        ['uid', 'bob_example_com'],
        ['uid', 'bob@example.com'],
        ['cn;lang-de', 'Bob'],
        ['userCertificate;binary', 'cert'],
      ]);
    });

    it('accepts a byte order mark, version directly followed by the first dn, and no trailing blank line', () => {
      const records = parseAll('\ufeffversion: 1\ndn: o=x\no: x');
      assert.deepEqual(records.map((r) => [r.dn, r.attributes, r.line]), [['o=x', [['o', 'x']], 2]]);
      assert.equal(lineOfError('version: 2\n\ndn: o=x\no: x\n'), 1);
    });

    it('unfolds folded lines and folded comments, with CRLF line ends', () => {
      const text = [
        '# a comment that is',
        ' continued on the next line: with: colons',
        'dn: cn=A long name,',
        ' o=ispman',
        'description: one',
        '  two', // the fold removes exactly one space
        'mail: x@',
        ' example.com',
        '',
      ].join('\r\n');
      const [r] = parseAll(text);
      assert.equal(r.dn, 'cn=A long name,o=ispman');
      assert.deepEqual(r.attributes, [
        ['description', 'one two'],
        ['mail', 'x@example.com'],
      ]);
      assert.equal(r.line, 3);
    });

    it('decodes base64 values and DNs (UTF-8)', () => {
      const dn = 'cn=Zoë Müller,o=ispman';
      const text = `dn:: ${Buffer.from(dn).toString('base64')}\ncn:: ${Buffer.from(' leading space').toString('base64')}\nsn::${Buffer.from('Müller').toString('base64')}\n`;
      const [r] = parseAll(text);
      assert.equal(r.dn, dn);
      assert.deepEqual(r.attributes, [
        ['cn', ' leading space'],
        ['sn', 'Müller'],
      ]);
      assert.equal(lineOfError('dn: o=x\ncn:: not*base64\n'), 2);
      assert.match(errorMessage('dn: o=x\ncn:: //79\n'), /not UTF-8/);
    });

    it('reads attr:< file:// values and rejects other URLs', () => {
      const dir = fs.mkdtempSync(os.tmpdir() + '/ispd-store-');
      try {
        const file = path.join(dir, 'desc.txt');
        fs.writeFileSync(file, 'from a file');
        const [r] = parseAll(`dn: o=x\ndescription:< file://${file}\n`);
        assert.deepEqual(r.attributes, [['description', 'from a file']]);
        assert.match(errorMessage('dn: o=x\ndescription:< http://example.com/x\n'), /line 2: .*only file:\/\//);
        assert.match(errorMessage(`dn: o=x\ndescription:< file://${dir}/missing\n`), /line 2: .*ENOENT/);
        assert.throws(() => [...parseLdif(`dn: o=x\ndescription:< file://${file}\n`, { allowFileUrls: false })], /not accepted/);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('reads every changetype', () => {
      const records = parseAll(`
dn: uid=new,o=x
changetype: add
objectClass: person
cn: New

dn: uid=bob,o=x
changetype: modify
add: mail
mail: bob@x
mail: robert@x
-
delete: description
-
delete: mailAlias
mailAlias: old@x
-
replace: cn
cn: Bob
-
replace: seeAlso
-
increment: uidNumber
uidNumber: 1
-

dn: uid=gone,o=x
changetype: delete

dn: uid=bob,o=x
changetype: modrdn
newrdn: uid=robert
deleteoldrdn: 1
newsuperior: ou=people,o=x

dn: uid=c,o=x
control: 1.2.840.113556.1.4.805 true
changetype: moddn
newrdn: uid=d
deleteoldrdn: 0
`);
      assert.deepEqual(
        records.map((r) => [r.kind, r.changetype, r.line]),
        [
          ['change', 'add', 2],
          ['change', 'modify', 7],
          ['change', 'delete', 27],
          ['change', 'modrdn', 30],
          ['change', 'moddn', 36],
        ],
      );
      assert.deepEqual(records[0].attributes, [
        ['objectClass', 'person'],
        ['cn', 'New'],
      ]);
      assert.deepEqual(records[1].modifications, [
        { operation: 'add', attribute: 'mail', values: ['bob@x', 'robert@x'] },
        { operation: 'delete', attribute: 'description', values: [] },
        { operation: 'delete', attribute: 'mailAlias', values: ['old@x'] },
        { operation: 'replace', attribute: 'cn', values: ['Bob'] },
        { operation: 'replace', attribute: 'seeAlso', values: [] },
        { operation: 'increment', attribute: 'uidNumber', values: ['1'] },
      ]);
      assert.deepEqual([records[3].newRdn, records[3].deleteOldRdn, records[3].newSuperior], ['uid=robert', true, 'ou=people,o=x']);
      assert.deepEqual([records[4].newRdn, records[4].deleteOldRdn, records[4].newSuperior], ['uid=d', false, undefined]);
      assert.deepEqual(records[4].controls, [{ oid: '1.2.840.113556.1.4.805', critical: true }]);
    });

    it('accepts a modify whose last spec has no closing "-", and "-" with trailing spaces', () => {
      const [r] = parseAll('dn: o=x\nchangetype: modify\nreplace: o\no: y\n');
      assert.deepEqual(r.modifications, [{ operation: 'replace', attribute: 'o', values: ['y'] }]);
      const [r2] = parseAll('dn: o=x\nchangetype: modify\nadd: cn\ncn: a\n-  \ndelete: sn\n-\n');
      assert.deepEqual(r2.modifications, [
        { operation: 'add', attribute: 'cn', values: ['a'] },
        { operation: 'delete', attribute: 'sn', values: [] },
      ]);
    });

    it('reports errors with the line number', () => {
      assert.equal(lineOfError('dn: o=x\no: x\n\ncn: no dn here\n'), 4);
      assert.equal(lineOfError('dn: o=x\nthis line has no colon\n'), 2);
      assert.equal(lineOfError(' starts with a continuation\ndn: o=x\n'), 1);
      assert.equal(lineOfError('dn: o=x\nchangetype: frobnicate\n'), 2);
      assert.equal(lineOfError('dn: o=x\nchangetype: modify\nreplace: o\no: y\ncn: z\n'), 5);
      assert.equal(lineOfError('dn: o=x\nchangetype: modify\nfrob: o\n'), 3);
      assert.equal(lineOfError('dn: o=x\nchangetype: modrdn\nnewrdn: o=y\n'), 1);
      assert.equal(lineOfError('dn: o=x\nchangetype: modrdn\nnewrdn: o=y\ndeleteoldrdn: yes\n'), 4);
      assert.equal(lineOfError('dn: o=x\nchangetype: delete\ncn: x\n'), 3);
      assert.equal(lineOfError('dn: o=x\no: x\ndn: o=y\n'), 3);
      assert.equal(lineOfError('dn: o=x\nbad name!: x\n'), 2);
      assert.equal(lineOfError('# c\n\n\ndn: o=x\nchangetype: modify\n-\n'), 6);
      assert.match(errorMessage('dn: o=x\n\nfoo: bar\n'), /^line 3: a record must start with "dn:"/);
    });

    it('streams from a readable in small chunks, across multi-byte characters and CRLF', async () => {
      const text = formatLdifEntry('cn=Zoë,o=x', { cn: ['Zoë'], description: ['x'.repeat(200)] }) + '\r\n' + 'dn: o=y\r\no: y\r\n';
      const bytes = Buffer.from(text);
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += 3) chunks.push(bytes.subarray(i, i + 3));
      const records = await collect(parseLdifStream(Readable.from(chunks)));
      assert.deepEqual(
        records.map((r) => [r.dn, r.attributes.length]),
        [
          ['cn=Zoë,o=x', 2],
          ['o=y', 1],
        ],
      );
      assert.equal(records[0].attributes[1][1], 'x'.repeat(200));
      assert.equal(records[1].line, 7); // dn, cn, description folded over 3 lines, blank
      await assert.rejects(collect(parseLdifStream(Readable.from(['dn: o=x\n', 'oops\n']))), (e: unknown) => e instanceof LdifError && e.line === 2);
    });

    it('reads a file synchronously across chunk boundaries, with errors at the right line', () => {
      const dir = fs.mkdtempSync(os.tmpdir() + '/ispd-store-');
      try {
        const file = path.join(dir, 'big.ldif');
        let text = 'version: 1\n\n';
        for (let i = 0; i < 3000; i++) text += formatLdifEntry(`uid=u${i},o=Zoë`, { uid: [`u${i}`], description: ['ü'.repeat(300 + (i % 7))] }) + '\n';
        fs.writeFileSync(file, text);
        const records = [...parseLdifFileSync(file)];
        assert.equal(records.length, 3000);
        const fd = fs.openSync(file, 'r');
        try {
          assert.equal([...parseLdifFileSync(fd)].length, 3000);
          fs.fstatSync(fd); // still open
        } finally {
          fs.closeSync(fd);
        }
        assert.equal(records[2999].dn, 'uid=u2999,o=Zoë');
        assert.equal(records[1234].attributes[1][1], 'ü'.repeat(300 + (1234 % 7)));
        const lines = text.split('\n').length;
        fs.appendFileSync(file, 'dn: o=x\nbroken line\n');
        assert.throws(() => [...parseLdifFileSync(file)], (e: unknown) => e instanceof LdifError && e.line === lines + 1);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('parses the ISPMan install LDIF files', async function () {
      if (!fs.existsSync(REFERENCE)) this.skip();
      const files = fs.readdirSync(REFERENCE).filter((f) => f.endsWith('.ldif'));
      assert.ok(files.length >= 15, `found ${files.length} files in ${REFERENCE}`);
      let total = 0;
      for (const f of files) {
        const file = path.join(REFERENCE, f);
        const records = await collect(parseLdifStream(fs.createReadStream(file)));
        const text = fs.readFileSync(file, 'utf8');
        const dnLines = text.split('\n').filter((l) => /^dn::? /i.test(l)).length;
        assert.equal(records.length, dnLines, f);
        for (const r of records) assert.ok(r.dn.length > 0 && r.attributes.length > 0, `${f}:${r.line}`);
        assert.deepEqual(records, parseAll(text));
        assert.deepEqual(records, [...parseLdifFileSync(file)]);
        total += records.length;
      }
      assert.ok(total > 100);
      const base = parseAll(fs.readFileSync(path.join(REFERENCE, 'base.ldif'), 'utf8'));
      assert.equal(base[0].dn, '%%ldapBaseDN%%');
      assert.ok(base.some((r) => r.dn === 'uid=ispman, ou=admins, %%ldapBaseDN%%'));
    });
  });

  describe('writing', () => {
    it('knows SAFE-STRING', () => {
      for (const s of ['', 'plain', 'a: b', 'x<y', 'bob@example.com', '{SSHA}abc=']) assert.ok(isSafeLdifString(s), s);
      for (const s of [' lead', ':colon', '<lt', 'trail ', 'Zoë', 'a\nb', 'a\rb', 'nul\0', 'del\x7f']) assert.ok(!isSafeLdifString(s), JSON.stringify(s));
    });

    it('base64-encodes unsafe values and DNs', () => {
      const out = formatLdifEntry('cn=Zoë,o=x', { cn: ['Zoë'], description: [' padded '], mail: ['z@x'] });
      assert.equal(
        out,
        `dn:: ${Buffer.from('cn=Zoë,o=x').toString('base64')}\n` +
          `cn:: ${Buffer.from('Zoë').toString('base64')}\n` +
          `description:: ${Buffer.from(' padded ').toString('base64')}\n` +
          'mail: z@x\n',
      );
    });

    it('folds lines at 76 columns', () => {
      const value = 'v'.repeat(300);
      const out = formatLdifLine('description', value);
      const lines = out.split('\n').slice(0, -1);
      assert.ok(lines.length > 1);
      for (const l of lines) assert.ok(l.length <= 76, `${l.length}`);
      for (const l of lines.slice(1)) assert.equal(l[0], ' ');
      assert.equal(lines[0].length, 76);
      assert.equal(formatLdifLine('cn', 'short'), 'cn: short\n');
      assert.equal(formatLdifLine('description', ''), 'description:\n');
      const exact = 'x'.repeat(76 - 'cn: '.length);
      assert.equal(formatLdifLine('cn', exact), `cn: ${exact}\n`);
    });

    it('round-trips entries through format and parse', () => {
      const entries: Array<[string, Record<string, string[]>]> = [
        ['uid=bob_example_com,ou=users,ispmanDomain=example.com,o=ispman', { objectClass: ['top', 'ispmanUser'], uid: ['bob_example_com', 'bob@example.com'], userPassword: ['{SSHA}'.padEnd(120, 'Q')] }],
        ['cn=Zoë Ünïcode,o=x', { cn: ['Zoë Ünïcode'], description: ['line one\nline two', ' leading', 'trailing ', ':colon', '<angle', ''] }],
        ['cn=' + 'long'.repeat(40) + ',o=x', { 'cn;lang-de': ['a'.repeat(500)] }],
      ];
      const text = entries.map(([dn, attrs]) => formatLdifEntry(dn, attrs)).join('\n');
      const records = parseAll(text);
      assert.equal(records.length, entries.length);
      records.forEach((r, i) => {
        assert.equal(r.dn, entries[i][0]);
        const attrs: Record<string, string[]> = {};
        for (const [n, v] of r.attributes) (attrs[n] ??= []).push(v);
        assert.deepEqual(attrs, entries[i][1]);
      });
    });
  });
});

function errorMessage(text: string): string {
  try {
    parseAll(text);
  } catch (err) {
    return (err as Error).message;
  }
  return '';
}
