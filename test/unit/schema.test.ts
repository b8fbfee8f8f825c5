import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  DEFAULT_SCHEMA_FILES,
  POWERDNS_SCHEMA_FILES,
  SchemaError,
  SchemaRegistry,
  defaultSchemaDir,
  formatAttributeType,
  formatObjectClass,
  loadSchema,
  parseSchemaText,
} from '../../src/directory/schema';
import type { AttributeType, Schema } from '../../src/directory/schema';
import { requirePrograms, runClient } from '../support/clients';

const IA5 = '1.3.6.1.4.1.1466.115.121.1.26';
const DIRECTORY_STRING = '1.3.6.1.4.1.1466.115.121.1.15';

function at(schema: Schema, name: string): AttributeType {
  const found = schema.attributeType(name);
  assert.ok(found, `attribute type ${name} is defined`);
  return found;
}

function thrownBy(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  assert.fail('expected an error');
}

/** Canonical text of one definition as slapd stored it in cn=config (macros resolved with `macros`). */
function canonical(kind: 'attributetype' | 'objectclass', text: string, macros: Map<string, string>): string {
  const [def] = parseSchemaText(`${kind} ${text}`, 'slapd', macros);
  if (def.kind === 'attributetype') return formatAttributeType(def);
  if (def.kind === 'objectclass') return formatObjectClass(def);
  throw new Error('unexpected definition');
}

interface SlapdSchemaEntry {
  file: string;
  attributeTypes: string[];
  objectClasses: string[];
  objectIdentifiers: string[];
}

/** Runs slaptest on the files (converting to cn=config) and reads each schema entry back with slapcat. */
async function slapdSchema(files: string[]): Promise<SlapdSchemaEntry[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ispd-schema-'));
  try {
    const conf = path.join(dir, 'slapd.conf');
    fs.writeFileSync(conf, files.map((f) => `include ${f}\n`).join(''));
    fs.mkdirSync(path.join(dir, 'cfg'));
    const test = await runClient('slaptest', ['-f', conf, '-F', path.join(dir, 'cfg')]);
    assert.equal(test.code, 0, `slaptest failed: ${test.stderr}`);
    const cat = await runClient('slapcat', ['-F', path.join(dir, 'cfg'), '-n', '0', '-o', 'ldif-wrap=no']);
    assert.equal(cat.code, 0, `slapcat failed: ${cat.stderr}`);
    const entries: SlapdSchemaEntry[] = [];
    let current: SlapdSchemaEntry | undefined;
    for (const line of cat.stdout.split('\n')) {
      const m = /^([A-Za-z]+)(::?) ?(.*)$/.exec(line);
      if (!m) continue;
      const value = m[2] === '::' ? Buffer.from(m[3], 'base64').toString('utf8') : m[3];
      if (m[1] === 'dn') {
        const file = /^cn=\{\d+\}([^,]+),cn=schema,cn=config$/.exec(value);
        current = file ? { file: file[1], attributeTypes: [], objectClasses: [], objectIdentifiers: [] } : undefined;
        if (current) entries.push(current);
        continue;
      }
      if (!current) continue;
      const stripped = value.replace(/^\{\d+\}/, '');
      if (m[1] === 'olcAttributeTypes') current.attributeTypes.push(stripped);
      if (m[1] === 'olcObjectClasses') current.objectClasses.push(stripped);
      if (m[1] === 'olcObjectIdentifier') current.objectIdentifiers.push(stripped);
    }
    return entries;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Compares, file by file, what slapd loaded with what the registry loaded: counts and every definition. */
function assertSameAsSlapd(schema: SchemaRegistry, files: string[], entries: SlapdSchemaEntry[]): void {
  assert.equal(entries.length, files.length, 'one cn=config schema entry per file');
  const macros = new Map<string, string>();
  files.forEach((file, k) => {
    const entry = entries[k];
    assert.equal(entry.file.toLowerCase(), path.basename(file, '.schema').toLowerCase());
    for (const oid of entry.objectIdentifiers) {
      const [name, value] = oid.split(/\s+/);
      parseSchemaText(`objectidentifier ${name} ${value}`, 'slapd', macros);
    }
    const ours = (items: Iterable<AttributeType | { oid: string; definition: string }>) =>
      [...items].filter((item) => schema.source(item as AttributeType)?.file === path.basename(file));
    const ourAttrs = ours(schema.attributeTypes());
    const ourClasses = ours(schema.objectClasses() as Iterable<{ oid: string; definition: string }>);
    assert.equal(ourAttrs.length, entry.attributeTypes.length, `${file}: attribute type count (slaptest)`);
    assert.equal(ourClasses.length, entry.objectClasses.length, `${file}: object class count (slaptest)`);
    for (const text of entry.attributeTypes) {
      const expected = canonical('attributetype', text, macros);
      const oid = /^\(\s*(\S+)/.exec(expected)![1];
      assert.equal(schema.attributeType(oid)?.definition, expected, `${file}: attribute type ${oid}`);
    }
    for (const text of entry.objectClasses) {
      const expected = canonical('objectclass', text, macros);
      const oid = /^\(\s*(\S+)/.exec(expected)![1];
      assert.equal(schema.objectClass(oid)?.definition, expected, `${file}: object class ${oid}`);
    }
  });
}

describe('schema: loading', () => {
  const schema = loadSchema();
  const dir = defaultSchemaDir();

  it('finds the package schema/ directory and loads every default file in ISPMan order, then ispd.schema', () => {
    assert.ok(fs.existsSync(path.join(dir, 'ispman.schema')));
    assert.deepEqual(DEFAULT_SCHEMA_FILES.slice(0, 9), [
      'core.schema', 'cosine.schema', 'nis.schema', 'misc.schema', 'inetorgperson.schema',
      'dnszone.schema', 'pureftpd.schema', 'ispman.schema', 'RADIUS-LDAPv3.schema',
    ]);
    assert.equal(DEFAULT_SCHEMA_FILES[9], 'ispd.schema');
    for (const file of DEFAULT_SCHEMA_FILES) {
      const n = [...schema.attributeTypes()].filter((a) => schema.source(a)?.file === file).length;
      const m = [...schema.objectClasses()].filter((c) => schema.source(c)?.file === file).length;
      assert.ok(n + m > 0, `${file} contributed definitions`);
    }
  });

  it('agrees with slaptest on every default file: counts per file and each definition as slapd parsed it', async function () {
    this.timeout(20000);
    requirePrograms(this, 'slaptest', 'slapcat');
    const files = DEFAULT_SCHEMA_FILES.map((f) => path.join(dir, f));
    assertSameAsSlapd(schema, files, await slapdSchema(files));
  });

  it('agrees with slaptest on the PowerDNS files (dnsdomain2, pdns-domaininfo) loaded without dnszone', async function () {
    this.timeout(20000);
    requirePrograms(this, 'slaptest', 'slapcat');
    const names = ['core.schema', 'cosine.schema', ...POWERDNS_SCHEMA_FILES];
    const pdns = loadSchema({ files: names });
    const files = names.map((f) => path.join(dir, f));
    assertSameAsSlapd(pdns, files, await slapdSchema(files));
  });

  it('looks names up case-insensitively and by OID, attribute types and classes in separate name spaces', () => {
    assert.equal(schema.attributeType('MAILLOCALADDRESS'), schema.attributeType('2.16.840.1.113730.3.1.13'));
    assert.equal(schema.attributeType('commonName'), schema.attributeType('cn'));
    assert.equal(at(schema, 'cn').key, 'cn');
    assert.equal(at(schema, 'mailLocalAddress').key, 'maillocaladdress');
    assert.equal(at(schema, 'mailLocalAddress').name, 'mailLocalAddress');
    assert.equal(schema.attributeType('noSuchAttribute'), undefined);
    // ISPMan: ispmanUser and ispmanDomain are each an attribute type and an object class
    assert.equal(at(schema, 'ispmanUser').oid, '1.3.6.1.4.1.8833.2.1.1108');
    assert.equal(schema.objectClass('ispmanUser')?.oid, '1.3.6.1.4.1.8833.2.2.1116');
    assert.equal(at(schema, 'ispmanDomain').oid, '1.3.6.1.4.1.8833.2.1.1201');
    assert.equal(schema.objectClass('ispmandomain')?.oid, '1.3.6.1.4.1.8833.2.2.1101');
    assert.equal(schema.objectClass('ispmanDomain')?.kind, 'AUXILIARY');
    // ispd's `domain` attribute beside cosine's `domain` class
    assert.equal(at(schema, 'domain').oid, '2.25.63589807388002875451084587049612579221.1.1');
    assert.equal(schema.objectClass('domain')?.oid, '0.9.2342.19200300.100.4.13');
  });

  it("loads ISPMan's mailAlias/mailForwardingAddress as slapd does: the tail after the closing parenthesis is ignored", () => {
    const alias = at(schema, 'mailAlias');
    assert.equal(alias.definition, "( 1.3.6.1.4.1.8833.2.1.1303 NAME 'mailAlias' SUP mailLocalAddress )");
    assert.equal(alias.sup, schema.attributeType('mailLocalAddress'));
    assert.equal(alias.desc, undefined);
    assert.equal(alias.syntax, IA5);
    assert.equal(alias.syntaxLength, 256);
    assert.equal(alias.equality?.name, 'caseIgnoreIA5Match');
    const fwd = at(schema, 'mailForwardingAddress');
    assert.equal(fwd.definition, "( 1.3.6.1.4.1.8833.2.1.1304 NAME 'mailForwardingAddress' SUP mailRoutingAddress )");
    // SINGLE-VALUE is not inherited through SUP
    assert.equal(at(schema, 'mailRoutingAddress').singleValue, true);
    assert.equal(fwd.singleValue, false);
    assert.ok(schema.isSubtype(alias, at(schema, 'mailLocalAddress')));
    assert.ok(!schema.isSubtype(at(schema, 'mailLocalAddress'), alias));
  });

  it('inherits syntax and matching rules through SUP', () => {
    const cn = at(schema, 'cn');
    assert.equal(cn.sup, schema.attributeType('name'));
    assert.equal(cn.syntax, DIRECTORY_STRING);
    assert.equal(cn.syntaxLength, 32768);
    assert.equal(cn.equality?.name, 'caseIgnoreMatch');
    assert.equal(cn.substr?.name, 'caseIgnoreSubstringsMatch');
    const owner = at(schema, 'ispmanDomainOwner');
    assert.equal(owner.equality?.name, 'caseIgnoreMatch');
    const cpw = at(schema, 'ispmanControlPanelPassword');
    assert.equal(cpw.equality?.name, 'octetStringMatch');
    assert.ok(schema.isSubtype(cpw, at(schema, 'userPassword')));
  });

  it("keeps ISPMan's odd spots: webmail OIDs under 1.3.6.1.4.8833, IA5 attributes with caseIgnoreSubstringsMatch", () => {
    assert.equal(at(schema, 'ispmanWebmailName').oid, '1.3.6.1.4.8833.2.1.1464');
    assert.equal(schema.objectClass('ispmanWebmailHost')?.oid, '1.3.6.1.4.8833.2.1.1252');
    const d = at(schema, 'ispmanDomain');
    assert.equal(d.syntax, IA5);
    assert.equal(d.substr?.name, 'caseIgnoreSubstringsMatch');
    assert.equal(schema.objectClass('PureFTPdUser')?.kind, 'STRUCTURAL'); // no kind keyword
  });

  it("defines ispd.schema's article-era attributes and classes", () => {
    for (const name of ['domain', 'record', 'primary', 'rootmail', 'refresh', 'retry', 'expire', 'minimum', 'mailacceptinggeneralid', 'maildrop']) {
      const a = at(schema, name);
      assert.equal(a.syntax, IA5, name);
      assert.equal(a.equality?.name, 'caseIgnoreIA5Match', name);
      assert.equal(a.singleValue, ['primary', 'rootmail', 'refresh', 'retry', 'expire', 'minimum'].includes(name), name);
    }
    assert.equal(schema.objectClass('ispdArticleDomain')?.kind, 'STRUCTURAL');
    assert.equal(schema.objectClass('ispdArticleDnsRecords')?.kind, 'STRUCTURAL');
    assert.equal(schema.objectClass('ispdArticleMailUser')?.kind, 'AUXILIARY');
  });

  it("has slapd's built-in system schema with the real OIDs", () => {
    const expected: Record<string, string> = {
      objectClass: '2.5.4.0', aliasedObjectName: '2.5.4.1', structuralObjectClass: '2.5.21.9',
      createTimestamp: '2.5.18.1', modifyTimestamp: '2.5.18.2', creatorsName: '2.5.18.3', modifiersName: '2.5.18.4',
      entryUUID: '1.3.6.1.1.16.4', entryCSN: '1.3.6.1.4.1.4203.666.1.7', entryDN: '1.3.6.1.1.20',
      hasSubordinates: '2.5.18.9', subschemaSubentry: '2.5.18.10', namingContexts: '1.3.6.1.4.1.1466.101.120.5',
      supportedControl: '1.3.6.1.4.1.1466.101.120.13', supportedExtension: '1.3.6.1.4.1.1466.101.120.7',
      supportedLDAPVersion: '1.3.6.1.4.1.1466.101.120.15', supportedSASLMechanisms: '1.3.6.1.4.1.1466.101.120.14',
      supportedFeatures: '1.3.6.1.4.1.4203.1.3.5', vendorName: '1.3.6.1.1.4', vendorVersion: '1.3.6.1.1.5',
      attributeTypes: '2.5.21.5', objectClasses: '2.5.21.6', matchingRules: '2.5.21.4', matchingRuleUse: '2.5.21.8',
      ldapSyntaxes: '1.3.6.1.4.1.1466.101.120.16', ref: '2.16.840.1.113730.3.1.34', pwdPolicySubentry: '1.3.6.1.4.1.42.2.27.8.1.23',
    };
    for (const [name, oid] of Object.entries(expected)) assert.equal(at(schema, name).oid, oid, name);
    assert.equal(at(schema, 'createTimestamp').usage, 'directoryOperation');
    assert.equal(at(schema, 'createTimestamp').noUserModification, true);
    assert.equal(at(schema, 'namingContexts').usage, 'dSAOperation');
    const classes: Record<string, [string, string]> = {
      top: ['2.5.6.0', 'ABSTRACT'], alias: ['2.5.6.1', 'STRUCTURAL'], extensibleObject: ['1.3.6.1.4.1.1466.101.120.111', 'AUXILIARY'],
      subschema: ['2.5.20.1', 'AUXILIARY'], subentry: ['2.5.17.0', 'STRUCTURAL'],
    };
    for (const [name, [oid, kind]] of Object.entries(classes)) {
      assert.equal(schema.objectClass(name)?.oid, oid, name);
      assert.equal(schema.objectClass(name)?.kind, kind, name);
    }
  });

  it('computes class closures (itself first, then every superclass)', () => {
    const user = schema.objectClass('ispmanDomainUser')!;
    const names = schema.classClosure(user).map((c) => c.name);
    assert.equal(names[0], 'ispmanDomainUser');
    for (const n of ['inetOrgPerson', 'organizationalPerson', 'person', 'top', 'PureFTPdUser']) assert.ok(names.includes(n), n);
    assert.equal(new Set(names).size, names.length);
  });

  it('publishes RFC 4512 texts for the matching rules and syntaxes in use', () => {
    const rules = schema.matchingRuleDefinitions();
    assert.ok(rules.includes("( 2.5.13.2 NAME 'caseIgnoreMatch' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )"));
    assert.ok(rules.includes("( 1.3.6.1.4.1.1466.109.114.2 NAME 'caseIgnoreIA5Match' SYNTAX 1.3.6.1.4.1.1466.115.121.1.26 )"));
    const syntaxes = schema.syntaxDefinitions();
    assert.ok(syntaxes.includes("( 1.3.6.1.4.1.1466.115.121.1.26 DESC 'IA5 String' )"));
    const published = new Set(rules.map((r) => /NAME '([^']+)'/.exec(r)![1]));
    for (const a of schema.attributeTypes()) {
      for (const rule of [a.equality, a.ordering, a.substr]) {
        if (rule && !['presentationAddressMatch', 'protocolInformationMatch', 'CSNMatch', 'CSNOrderingMatch'].includes(rule.name)) {
          assert.ok(published.has(rule.name), `${rule.name} (used by ${a.name}) is published`);
        }
      }
    }
  });

  it('publishes matchingRuleUse and finds matching rules by name or OID', () => {
    const uses = schema.matchingRuleUseDefinitions!();
    const ia5 = uses.find((u) => u.includes("NAME 'caseIgnoreIA5Match'"));
    assert.ok(ia5 && /APPLIES \( .*\bmailLocalAddress\b.*\bmailAlias\b/.test(ia5), ia5);
    const dn = uses.find((u) => u.includes("NAME 'distinguishedNameMatch'"))!;
    assert.match(dn, /\$ radiusProfileDn \$|\$ radiusProfileDn \)/);
    assert.equal(schema.matchingRule!('CASEIGNOREMATCH')?.oid, '2.5.13.2');
    assert.equal(schema.matchingRule!('2.5.13.14')?.name, 'integerMatch');
    assert.equal(schema.matchingRule!('noSuchMatch'), undefined);
  });

  it('loads from an explicit dir and file list', () => {
    const small = loadSchema({ dir, files: ['core.schema', 'cosine.schema'] });
    assert.ok(small.attributeType('associatedDomain'));
    assert.equal(small.attributeType('mailAlias'), undefined);
  });
});

describe('schema: redefinitions (dnsdomain2.schema beside dnszone.schema)', () => {
  const dir = defaultSchemaDir();
  const dnsdomain2 = fs.readFileSync(path.join(dir, 'dnsdomain2.schema'), 'utf8');
  const dnszone = fs.readFileSync(path.join(dir, 'dnszone.schema'), 'utf8');

  it('accepts the attribute types dnsdomain2 redefines identically, keeping the first definition', () => {
    // dnsdomain2.schema redefines 17 of dnszone.schema's definitions with the same OIDs and names; all but
    // dNSTTL are identical. Drop dNSTTL (the one real conflict, tested below) and everything else loads.
    const withoutTTL = dnsdomain2.replace(/attributetype \( 1\.3\.6\.1\.4\.1\.2428\.20\.0\.0 [\s\S]*?\n\n/, '');
    assert.notEqual(withoutTTL, dnsdomain2);
    const base = loadSchema();
    const schema = loadSchema({ texts: [{ name: 'dnsdomain2.schema', text: withoutTTL }] });
    const ptr = schema.attributeType('pTRRecord')!;
    assert.equal(schema.source(ptr)?.file, 'dnszone.schema');
    assert.equal(ptr.definition, base.attributeType('pTRRecord')!.definition);
    const parsed = parseSchemaText(withoutTTL, 'dnsdomain2.schema');
    const redefined = parsed.filter((d) => d.kind === 'attributetype' && base.attributeType(d.oid));
    assert.equal(redefined.length, 16);
    const added = [...schema.attributeTypes()].length - [...base.attributeTypes()].length;
    assert.equal(added, parsed.filter((d) => d.kind === 'attributetype').length - redefined.length);
    assert.ok(schema.objectClass('dNSDomain2'));
  });

  it('also accepts an identical redefinition written with other spacing and keyword case', () => {
    const text = "attributetype ( 1.3.6.1.4.1.2428.20.1.12\n  NAME 'pTRRecord' desc 'domain name pointer, RFC 1035'\n  equality caseignoreia5match SUBSTR caseIgnoreIA5SubstringsMatch\n  SYNTAX 1.3.6.1.4.1.1466.115.121.1.26 )\n";
    const schema = loadSchema({ texts: [{ name: 'again.schema', text }] });
    assert.equal(schema.source(schema.attributeType('pTRRecord')!)?.file, 'dnszone.schema');
  });

  it("accepts dnsdomain2's dNSTTL, which only adds ORDERING integerOrderingMatch, keeping dnszone's definition", () => {
    const schema = loadSchema({ extraFiles: POWERDNS_SCHEMA_FILES });
    assert.ok(schema.objectClass('dNSDomain2'));
    const ttl = schema.attributeType('dNSTTL')!;
    assert.equal(schema.source(ttl)?.file, 'dnszone.schema');
    assert.equal(ttl.equality?.name, 'integerMatch');
  });

  it('rejects a redefinition that changes a rule the first definition has, naming both files, lines and definitions', () => {
    const text = "attributetype ( 1.3.6.1.4.1.2428.20.0.0 NAME 'dNSTTL' DESC 'An integer denoting time to live' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 )\n";
    const err = thrownBy(() => loadSchema({ texts: [{ name: 'ttl.schema', text }] }));
    assert.ok(err instanceof SchemaError);
    const lines = err.message.split('\n');
    assert.match(lines[0], /^ttl\.schema:1: attributetype dNSTTL conflicts with the definition at dnszone\.schema:3/);
    assert.equal(lines[1].trim(), "dnszone.schema:3: ( 1.3.6.1.4.1.2428.20.0.0 NAME 'dNSTTL' DESC 'An integer denoting time to live' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 )");
    assert.match(lines[2].trim(), /^ttl\.schema:1: .*EQUALITY caseIgnoreMatch/);
    assert.ok(dnszone.split('\n')[2].startsWith("attributetype ( 1.3.6.1.4.1.2428.20.0.0  NAME 'dNSTTL'"));
  });

  it('rejects a constructed conflict: same OID with another syntax, and a known name under another OID', () => {
    const sameOid = "# a comment\n\nattributetype ( 2.16.840.1.113730.3.1.13 NAME 'mailLocalAddress'\n\tEQUALITY caseIgnoreMatch\n\tSYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )\n";
    const err = thrownBy(() => loadSchema({ texts: [{ name: 'conflict.schema', text: sameOid }] }));
    assert.match(err.message, /^conflict\.schema:3: attributetype mailLocalAddress conflicts with the definition at misc\.schema:\d+/);
    assert.match(err.message, /misc\.schema:\d+: \( 2\.16\.840\.1\.113730\.3\.1\.13 NAME 'mailLocalAddress' .*SYNTAX 1\.3\.6\.1\.4\.1\.1466\.115\.121\.1\.26\{256\} \)/);
    assert.match(err.message, /conflict\.schema:3: \( 2\.16\.840\.1\.113730\.3\.1\.13 NAME 'mailLocalAddress' EQUALITY caseIgnoreMatch SYNTAX 1\.3\.6\.1\.4\.1\.1466\.115\.121\.1\.15 \)/);

    const sameName = "objectclass ( 1.2.3.4.5 NAME 'POSIXACCOUNT' SUP top AUXILIARY MAY cn )\n";
    const err2 = thrownBy(() => loadSchema({ texts: [{ name: 'name.schema', text: sameName }] }));
    assert.match(err2.message, /^name\.schema:1: objectclass POSIXACCOUNT conflicts with the definition at nis\.schema:\d+: name "POSIXACCOUNT" is already used by object class 1\.3\.6\.1\.1\.1\.2\.0/);
  });
});

describe('schema: parser', () => {
  it('joins continuation lines, skips comments, reads NAME lists, OID macros, X- extensions, default kind', () => {
    const text = [
      '# comment',
      'objectidentifier myOID 1.3.6.1.4.1.99999',
      'objectIdentifier myAttr myOID:1',
      '',
      "attributeType ( myAttr:1 NAME ( 'one' 'two' )",
      "\tDESC 'a description with ( parens ) and $'",
      '  EQUALITY caseIgnoreMatch',
      '\tSYNTAX 1.3.6.1.4.1.1466.115.121.1.15{64}',
      "\tSINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation X-ORIGIN 'test' )",
      "objectClass ( myOID:2.1 NAME 'thing' MUST ( one $ cn ) MAY( sn$description ) )",
    ].join('\n');
    const defs = parseSchemaText(text, 'my.schema');
    assert.equal(defs.length, 4);
    const a = defs[2];
    assert.ok(a.kind === 'attributetype');
    assert.equal(a.line, 5);
    assert.equal(a.oid, '1.3.6.1.4.1.99999.1.1');
    assert.deepEqual(a.names, ['one', 'two']);
    assert.equal(a.desc, 'a description with ( parens ) and $');
    assert.equal(a.syntaxLength, 64);
    assert.equal(a.usage, 'directoryOperation');
    assert.equal(
      formatAttributeType(a),
      "( 1.3.6.1.4.1.99999.1.1 NAME ( 'one' 'two' ) DESC 'a description with ( parens ) and $' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{64} SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation X-ORIGIN 'test' )",
    );
    const c = defs[3];
    assert.ok(c.kind === 'objectclass');
    assert.equal(c.oid, '1.3.6.1.4.1.99999.2.1');
    assert.equal(c.classKind, 'STRUCTURAL');
    assert.deepEqual(c.must, ['one', 'cn']);
    assert.deepEqual(c.may, ['sn', 'description']);
  });

  it('ends a definition at a blank line and at a line starting in column 0, as slapd does', () => {
    const err = thrownBy(() => parseSchemaText("attributetype ( 1.2.3 NAME 'x'\n\n  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )\n", 't.schema'));
    assert.match(err.message, /^t\.schema:1: attributetype: unexpected end of definition/);
  });

  it('names file and line in every parse error', () => {
    const cases: Array<[string, RegExp]> = [
      ["\n\nattributetype ( 1.2.3 NAME 'x' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 BOGUS )", /^e\.schema:3: attributetype: unknown keyword "BOGUS"/],
      ["attributetype ( 1.2.3 NAME 'x' NAME 'y' )", /^e\.schema:1: attributetype: NAME given twice/],
      ["attributetype ( noSuchMacro:1 NAME 'x' )", /^e\.schema:1: attributetype: "noSuchMacro:1" is neither/],
      ["attributetype ( 1.2.3 NAME 'x\n", /^e\.schema:1: attributetype: unterminated quoted string/],
      ["# x\nobjectclass ( 1.2.3 NAME 'x' STRUCTURAL AUXILIARY )", /^e\.schema:2: objectclass: more than one of/],
      ['include other.schema', /^e\.schema:1: unknown directive "include"/],
      ["attributetype ( 1.2.3 NAME 'x' USAGE sometimes )", /^e\.schema:1: attributetype: unknown USAGE "sometimes"/],
    ];
    for (const [text, re] of cases) assert.match(thrownBy(() => parseSchemaText(text, 'e.schema')).message, re);
  });

  it('rejects unknown references at load time, like slapd', () => {
    const cases: Array<[string, RegExp]> = [
      ["attributetype ( 1.2.3.1 NAME 'x1' EQUALITY noSuchMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )", /^r\.schema:1: attributetype x1: unknown matching rule "noSuchMatch"/],
      ["attributetype ( 1.2.3.2 NAME 'x2' SUP noSuchAttr )", /^r\.schema:1: attributetype x2: SUP "noSuchAttr" is not a defined attribute type/],
      ["attributetype ( 1.2.3.3 NAME 'x3' SYNTAX 1.2.3.4.5.6 )", /^r\.schema:1: attributetype x3: unknown SYNTAX 1\.2\.3\.4\.5\.6/],
      ["attributetype ( 1.2.3.4 NAME 'x4' )", /^r\.schema:1: attributetype x4: has neither SYNTAX nor SUP/],
      ["attributetype ( 1.2.3.5 NAME 'x5' ORDERING caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )", /is not a ordering rule|is not an? ordering rule/],
      ["objectclass ( 1.2.3.6 NAME 'x6' MAY ( cn $ noSuchAttr ) )", /^r\.schema:1: objectclass x6: MAY attribute "noSuchAttr" is not a defined attribute type/],
      ["objectclass ( 1.2.3.7 NAME 'x7' SUP noSuchClass )", /^r\.schema:1: objectclass x7: SUP "noSuchClass" is not a defined object class/],
      ["objectclass ( 1.2.3.8 NAME 'x8' SUP posixAccount STRUCTURAL )", /^r\.schema:1: objectclass x8: STRUCTURAL class cannot have the AUXILIARY superclass posixAccount/],
    ];
    for (const [text, re] of cases) {
      assert.match(thrownBy(() => loadSchema({ texts: [{ name: 'r.schema', text }] })).message, re);
    }
  });
});

describe('schema: matching rules', () => {
  const schema = loadSchema();
  const norm = (attr: string, value: string) => schema.normalizeValue(at(schema, attr), value);

  it('integerMatch: "007" → "7", signs, invalid → null', () => {
    assert.equal(norm('uidNumber', '007'), '7');
    assert.equal(norm('uidNumber', '1000'), '1000');
    assert.equal(norm('uidNumber', '-0'), '0');
    assert.equal(norm('uidNumber', '+5'), '5');
    assert.equal(norm('uidNumber', '-012'), '-12');
    assert.equal(norm('uidNumber', 'abc'), null);
    assert.equal(norm('uidNumber', ''), null);
    assert.equal(norm('uidNumber', '1e3'), null);
    const ord = at(schema, 'uidNumber').ordering!;
    assert.ok(ord.compare!('-5', '3') < 0);
    assert.ok(ord.compare!('10', '9') > 0);
    assert.ok(ord.compare!('-10', '-9') < 0);
    assert.equal(ord.compare!('42', '42'), 0);
  });

  it('caseIgnoreIA5Match folds case and handles insignificant spaces', () => {
    assert.equal(norm('mailLocalAddress', 'Bob@Developer.CH'), 'bob@developer.ch');
    assert.equal(norm('mailAlias', '  Bob@Developer.CH '), 'bob@developer.ch');
    assert.equal(norm('mailacceptinggeneralid', 'bob@developer.ch'), 'bob@developer.ch');
    assert.equal(norm('ispmanDomain', 'Example.COM'), 'example.com');
  });

  it('caseIgnoreMatch and caseExactMatch: trim, collapse inner runs of spaces, fold only for *Ignore*', () => {
    assert.equal(norm('cn', '  John   Smith '), 'john smith');
    assert.equal(norm('cn', 'John\u00a0\u2003Smith'), 'john smith'); // Unicode spaces are insignificant
    assert.equal(norm('cn', 'John\tSmith'), 'john\tsmith'); // TAB is not (slapd agrees)
    assert.equal(norm('mailLocalAddress', 'A\tB'), 'a\tb');
    assert.equal(norm('cn', 'already normal'), 'already normal');
    assert.equal(norm('cn', 'ÉCOLE'), 'école');
    assert.equal(norm('labeledURI', '  http://Example.com/  A '), 'http://Example.com/ A');
    assert.equal(norm('ispmanVhostName', 'WWW'), 'WWW'); // caseExactIA5Match
    assert.equal(norm('userPassword', ' {SSHA}AbC '), ' {SSHA}AbC '); // octetStringMatch keeps everything
  });

  it('substring rules normalize values and fragments the same way', () => {
    const sub = at(schema, 'cn').substr!;
    assert.equal(sub.normalize('  Bob   SMITH '), 'bob smith');
    assert.ok(sub.normalize('Mr Bob  Smith').includes(sub.normalize('BOB smith')));
    assert.equal(at(schema, 'ispmanVhostName').substr!.normalize('WwW'), 'WwW');
    assert.equal(at(schema, 'mail').substr!.normalize('A@B'), 'a@b');
  });

  it('numericString, telephoneNumber, boolean, generalizedTime', () => {
    assert.equal(norm('x121Address', '12 34 5'), '12345');
    assert.equal(norm('x121Address', '12a'), null);
    assert.equal(norm('telephoneNumber', '+41 22-123 45 67'), '+41221234567');
    assert.equal(norm('hasSubordinates', 'TRUE'), 'TRUE');
    assert.equal(norm('hasSubordinates', 'yes'), null);
    assert.equal(norm('createTimestamp', '20240101120000+0100'), '20240101110000Z');
    assert.equal(norm('createTimestamp', '202401011200Z'), '20240101120000Z');
    assert.equal(norm('createTimestamp', '20240101120000.500Z'), '20240101120000.5Z');
    assert.equal(norm('createTimestamp', '20240231120000Z'), null);
    const ord = at(schema, 'createTimestamp').ordering!;
    assert.ok(ord.compare!('20240101120000Z', '20240101120000.5Z') < 0);
    assert.ok(ord.compare!('20250101000000Z', '20240101120000.5Z') > 0);
  });

  it('objectIdentifierMatch: names resolve to OIDs case-insensitively; objectClass values resolve to the class', () => {
    assert.equal(norm('objectClass', 'posixAccount'), '1.3.6.1.1.1.2.0');
    assert.equal(norm('objectClass', 'POSIXACCOUNT'), '1.3.6.1.1.1.2.0');
    assert.equal(norm('objectClass', '1.3.6.1.1.1.2.0'), '1.3.6.1.1.1.2.0');
    assert.equal(norm('objectClass', 'ispmanUser'), '1.3.6.1.4.1.8833.2.2.1116'); // the class, not the attribute
    assert.equal(norm('objectClass', 'systemAdmins'), 'systemadmins'); // unknown names still compare case-insensitively
    assert.equal(norm('objectClass', 'not a name'), null);
  });

  it('distinguishedNameMatch and uniqueMemberMatch normalize DNs', () => {
    const a = norm('seeAlso', 'UID=Bob_Developer_CH, ou=Users, domain=developer.ch, O=ISPMan');
    assert.equal(a, norm('seeAlso', 'uid=bob_developer_ch,ou=users,domain=Developer.CH,o=ispman'));
    assert.equal(a, norm('member', 'userid=BOB_developer_ch , ou=users,domain=developer.ch,o=ispman'));
    assert.equal(norm('seeAlso', 'not a dn'), null);
    assert.equal(norm('uniqueMember', "CN=X,O=ISPMan#'0101'B"), `${norm('seeAlso', 'cn=x,o=ispman')}#'0101'B`);
  });

  it('entryUUID and the schema-description rules', () => {
    assert.equal(norm('entryUUID', '5F4F659C-7D22-1041-912D-793206BBF706'), '5f4f659c-7d22-1041-912d-793206bbf706');
    assert.equal(norm('entryUUID', 'nope'), null);
    assert.equal(norm('attributeTypes', "( 2.5.4.3 NAME 'cn' SUP name )"), '2.5.4.3');
  });
});

describe('schema: syntax checks', () => {
  const schema = loadSchema();
  const check = (attr: string, value: string) => schema.checkSyntax(at(schema, attr), value);
  const ok = (attr: string, value: string) => assert.equal(check(attr, value), null, `${attr}: ${JSON.stringify(value)} is valid`);
  const bad = (attr: string, value: string) => assert.notEqual(check(attr, value), null, `${attr}: ${JSON.stringify(value)} is invalid`);

  it('IA5 String: ASCII only, and the {n} length bound', () => {
    ok('mailLocalAddress', 'bob@developer.ch');
    bad('mailLocalAddress', 'bób@developer.ch');
    ok('ispmanDomainMailDeliveryMethod', 'local'); // IA5{5}
    bad('ispmanDomainMailDeliveryMethod', 'localx');
    ok('mailAlias', 'a'.repeat(256)); // inherits IA5{256} from mailLocalAddress
    bad('mailAlias', 'a'.repeat(257));
  });

  it('Directory String, Integer, DN, Octet String, Boolean, Numeric String', () => {
    ok('cn', 'Zoë');
    bad('cn', '');
    ok('uidNumber', '1000');
    ok('ispmanMaxAccounts', '-1');
    bad('uidNumber', '007'); // slapd: "value #0 invalid per syntax"
    bad('uidNumber', '-0');
    bad('uidNumber', '+5');
    bad('uidNumber', 'ten');
    ok('seeAlso', 'uid=bob, ou=users, ispmanDomain=example.com, o=ispman');
    bad('seeAlso', 'no equals sign');
    bad('seeAlso', 'noSuchAttribute=x,o=ispman');
    ok('userPassword', '{CRYPT}XXffGGHH');
    ok('userPassword', '');
    ok('hasSubordinates', 'FALSE');
    bad('hasSubordinates', 'false');
    ok('x121Address', '123 456');
    bad('x121Address', '12-3');
  });

  it('Generalized Time, OID, Printable String, Telephone Number, Postal Address, Country String, Bit String', () => {
    ok('createTimestamp', '20261125134634Z');
    ok('createTimestamp', '20261125134634.255603Z');
    ok('createTimestamp', '2026112513-0500');
    bad('createTimestamp', '2026-11-25');
    bad('createTimestamp', '20261325000000Z');
    ok('objectClass', 'posixAccount');
    ok('objectClass', '1.3.6.1.1.1.2.0');
    bad('objectClass', 'posix account');
    ok('serialNumber', 'ABC-123 (x)');
    bad('serialNumber', 'ABC_123');
    ok('telephoneNumber', '+41 22 123 45 67');
    bad('telephoneNumber', '');
    ok('postalAddress', '1 Main St$Geneva');
    bad('postalAddress', '');
    ok('c', 'CH');
    bad('c', 'CHE');
    ok('x500UniqueIdentifier', "'0101'B");
    bad('x500UniqueIdentifier', '0101');
  });

  it('syntaxes without a check accept anything', () => {
    ok('jpegPhoto', '\u0000\u00ff binary');
    ok('audio', 'anything');
  });
});
