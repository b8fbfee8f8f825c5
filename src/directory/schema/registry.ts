// The schema registry: definitions from the system schema and the .schema files, resolved into linked
// AttributeType/ObjectClass objects with O(1) lookup by any name (case-insensitive) or OID.
//
// Load rules follow slapd (servers/slapd/at.c, oc.c) where it matters for data: a SUP, matching rule,
// syntax, superclass or MUST/MAY attribute must be defined before use; an attribute type without SYNTAX
// inherits it (and EQUALITY/ORDERING/SUBSTR) from its SUP, but not SINGLE-VALUE; attribute types and object
// classes have separate name spaces (ISPMan's ispmanUser and ispmanDomain are both). One difference from
// slapd, on purpose (design §5): a redefinition that is identical to the loaded one (same OID, same names,
// same definition) is skipped silently, so dnsdomain2.schema can be loaded beside dnszone.schema; a
// conflicting one is an error naming file, line and both definitions.

import * as fs from 'fs';
import * as path from 'path';
import { DNNormalizer } from '../dn';
import {
  AttributeTypeDefinition,
  formatAttributeType,
  formatObjectClass,
  ObjectClassDefinition,
  OidMacros,
  parseSchemaText,
  SchemaDefinition,
  SchemaError,
} from './parse';
import { AnyRule, createMatchingRules, EqualityRule, formatMatchingRule, MatchingRules, SubstringsRule } from './matching';
import { formatSyntax, ldapSyntax, SYNTAX, SYNTAXES, SyntaxContext } from './syntax';
import { SYSTEM_SCHEMA, SYSTEM_SCHEMA_FILE } from './system';
import type { AttributeType, ClassKind, MatchingRule, ObjectClass, Schema, SubstringRule, Usage } from './types';

/** ISPMan 1.4's slapd include order, then ispd's own file. */
export const DEFAULT_SCHEMA_FILES: readonly string[] = [
  'core.schema',
  'cosine.schema',
  'nis.schema',
  'misc.schema',
  'inetorgperson.schema',
  'dnszone.schema',
  'pureftpd.schema',
  'ispman.schema',
  'RADIUS-LDAPv3.schema',
  'ispd.schema',
];

/** PowerDNS's LDAP schema files, shipped in schema/ and loadable after the default set. */
export const POWERDNS_SCHEMA_FILES: readonly string[] = ['dnsdomain2.schema', 'pdns-domaininfo.schema'];

export interface LoadSchemaOptions {
  /** Directory the file names are resolved in; default: the package's schema/ directory. */
  dir?: string;
  /** Files to load, in order (names relative to `dir`, or absolute paths); default DEFAULT_SCHEMA_FILES. */
  files?: readonly string[];
  /** Files loaded after `files` (e.g. POWERDNS_SCHEMA_FILES). */
  extraFiles?: readonly string[];
  /** Schema texts loaded after all files, for definitions that do not live in a file (tests, config). */
  texts?: ReadonlyArray<{ name: string; text: string }>;
}

let packageSchemaDir: string | undefined;

/** The package's schema/ directory, found from this file's location (works from src/ via ts-node and from dist/). */
export function defaultSchemaDir(): string {
  if (packageSchemaDir) return packageSchemaDir;
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, 'schema');
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(candidate, 'core.schema'))) {
      packageSchemaDir = candidate;
      return candidate;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the schema/ directory above ${__dirname}`);
    dir = parent;
  }
}

const identityNormalize = (v: string): string => v;

class Attr implements AttributeType {
  oid: string;
  names: string[];
  name: string;
  key: string;
  sup?: Attr;
  syntax: string;
  syntaxLength?: number;
  equality?: EqualityRule;
  ordering?: EqualityRule;
  substr?: SubstringsRule;
  singleValue: boolean;
  collective: boolean;
  noUserModification: boolean;
  usage: Usage;
  obsolete: boolean;
  desc?: string;
  definition: string;
  /** The equality normalizer, resolved once (the hot path calls it per value). */
  normalize: (value: string) => string | null;
  /** The syntax check bound to this attribute's syntax and length bound, made on first use. */
  check?: (value: string) => string | null;
  /** Canonical form for comparing a redefinition with this one. */
  readonly identity: string;
  readonly source: AttributeTypeDefinition;

  constructor(def: AttributeTypeDefinition, identity: string, sup: Attr | undefined, rules: {
    equality?: EqualityRule;
    ordering?: EqualityRule;
    substr?: SubstringsRule;
  }) {
    this.source = def;
    this.identity = identity;
    this.oid = def.oid;
    this.names = def.names;
    this.name = def.names[0] ?? def.oid;
    this.key = this.name.toLowerCase();
    this.sup = sup;
    this.syntax = def.syntax ?? sup!.syntax;
    this.syntaxLength = def.syntax !== undefined ? def.syntaxLength : sup?.syntaxLength;
    this.equality = rules.equality ?? sup?.equality;
    this.ordering = rules.ordering ?? sup?.ordering;
    this.substr = rules.substr ?? sup?.substr;
    this.singleValue = def.singleValue; // not inherited (slapd does not either)
    this.collective = def.collective;
    this.noUserModification = def.noUserModification;
    this.usage = def.usage;
    this.obsolete = def.obsolete;
    this.desc = def.desc;
    this.definition = formatAttributeType(def);
    this.normalize = this.equality ? this.equality.normalize : identityNormalize;
  }
}

class OClass implements ObjectClass {
  oid: string;
  names: string[];
  name: string;
  key: string;
  sup: OClass[];
  kind: ClassKind;
  must: Attr[];
  may: Attr[];
  obsolete: boolean;
  desc?: string;
  definition: string;
  closure?: OClass[];
  readonly identity: string;
  readonly source: ObjectClassDefinition;

  constructor(def: ObjectClassDefinition, identity: string, sup: OClass[], must: Attr[], may: Attr[]) {
    this.source = def;
    this.identity = identity;
    this.oid = def.oid;
    this.names = def.names;
    this.name = def.names[0] ?? def.oid;
    this.key = this.name.toLowerCase();
    this.sup = sup;
    this.kind = def.classKind;
    this.must = must;
    this.may = may;
    this.obsolete = def.obsolete;
    this.desc = def.desc;
    this.definition = formatObjectClass(def);
  }
}

function where(def: { file: string; line: number }): string {
  return `${def.file}:${def.line}`;
}

export class SchemaRegistry implements Schema {
  /** By OID, lower-cased name and name as declared (so most lookups need no toLowerCase). */
  private readonly attrLookup = new Map<string, Attr>();
  private readonly classLookup = new Map<string, OClass>();
  private readonly attrsByOid = new Map<string, Attr>();
  private readonly attrList: Attr[] = [];
  private readonly classesByOid = new Map<string, OClass>();
  private readonly classList: OClass[] = [];
  private readonly macros: OidMacros = new Map();
  private readonly matching: MatchingRules;
  private readonly rules: Map<string, AnyRule>;
  private readonly dnNormalizer: DNNormalizer;

  constructor() {
    this.dnNormalizer = new DNNormalizer(this);
    this.matching = createMatchingRules({
      resolveOid: (name) => this.resolveOid(name),
      normalizeDN: (dn) => this.normalizeDN(dn),
    });
    this.rules = this.matching.byKey;
    this.loadText(SYSTEM_SCHEMA, SYSTEM_SCHEMA_FILE);
  }

  // ---- loading ----

  /** Parses and registers one schema text. Throws SchemaError (file:line) on any problem. */
  loadText(text: string, fileName: string): void {
    for (const def of parseSchemaText(text, fileName, this.macros)) this.add(def);
  }

  loadFile(file: string, displayName = path.basename(file)): void {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read schema file ${file}: ${(err as Error).message}`);
    }
    this.loadText(text, displayName);
  }

  add(def: SchemaDefinition): void {
    this.matching.forgetResolvedNames();
    if (def.kind === 'attributetype') this.addAttributeType(def);
    else if (def.kind === 'objectclass') this.addObjectClass(def);
    // objectidentifier: already applied to the macro table by the parser
  }

  private rule(name: string | undefined, usage: 'equality' | 'ordering' | 'substr', def: AttributeTypeDefinition): AnyRule | undefined {
    if (name === undefined) return undefined;
    const rule = this.rules.get(name.toLowerCase());
    if (!rule) throw new SchemaError(def.file, def.line, `attributetype ${def.names[0] ?? def.oid}: unknown matching rule "${name}"`);
    const fits = usage === 'substr' ? rule.usage === 'substr' : usage === 'ordering' ? rule.usage === 'ordering' : rule.usage !== 'substr';
    if (!fits) {
      throw new SchemaError(def.file, def.line, `attributetype ${def.names[0] ?? def.oid}: "${name}" is not a${usage === 'equality' ? 'n' : ''} ${usage} rule`);
    }
    return rule;
  }

  private addAttributeType(def: AttributeTypeDefinition): void {
    const label = `attributetype ${def.names[0] ?? def.oid}`;
    const fail: (why: string) => never = (why) => {
      throw new SchemaError(def.file, def.line, `${label}: ${why}`);
    };
    let sup: Attr | undefined;
    if (def.sup !== undefined) {
      sup = this.attrLookup.get(def.sup.toLowerCase()) ?? fail(`SUP "${def.sup}" is not a defined attribute type`);
      if (sup.usage !== def.usage) fail(`USAGE ${def.usage} differs from its SUP ${sup.name}'s ${sup.usage}`);
    }
    if (def.syntax === undefined && !sup) fail('has neither SYNTAX nor SUP');
    if (def.syntax !== undefined && !ldapSyntax(def.syntax)) fail(`unknown SYNTAX ${def.syntax}`);
    const equality = this.rule(def.equality, 'equality', def) as EqualityRule | undefined;
    const ordering = this.rule(def.ordering, 'ordering', def) as EqualityRule | undefined;
    const substr = this.rule(def.substr, 'substr', def) as SubstringsRule | undefined;

    // Canonical form: references by OID, names lower-cased, so spelling differences are not conflicts.
    const identity = formatAttributeType({
      ...def,
      names: def.names.map((n) => n.toLowerCase()),
      sup: sup?.oid,
      equality: equality?.oid,
      ordering: ordering?.oid,
      substr: substr?.oid,
    });

    const existing = this.attrsByOid.get(def.oid);
    if (existing) {
      if (existing.identity === identity) return; // identical redefinition: accepted silently
      // A redefinition that only adds a matching rule the first one lacked (PowerDNS's dnsdomain2.schema gives
      // dNSTTL an ORDERING rule that dnszone.schema does not) is compatible: values and equality are the
      // same. The first definition stays in force; any other difference is a conflict.
      const withoutAdditions = formatAttributeType({
        ...def,
        names: def.names.map((n) => n.toLowerCase()),
        sup: sup?.oid,
        equality: existing.source.equality === undefined ? undefined : equality?.oid,
        ordering: existing.source.ordering === undefined ? undefined : ordering?.oid,
        substr: existing.source.substr === undefined ? undefined : substr?.oid,
      });
      if (withoutAdditions === existing.identity) return;
      this.conflict('attributetype', def, existing.source, `OID ${def.oid} is already defined differently`);
    }
    for (const name of def.names) {
      const other = this.attrLookup.get(name.toLowerCase());
      if (other) this.conflict('attributetype', def, other.source, `name "${name}" is already used by attribute type ${other.oid}`);
    }
    const attr = new Attr(def, identity, sup, { equality, ordering, substr });
    this.attrsByOid.set(attr.oid, attr);
    this.attrLookup.set(attr.oid, attr);
    for (const name of def.names) {
      this.attrLookup.set(name.toLowerCase(), attr);
      this.attrLookup.set(name, attr);
    }
    this.attrList.push(attr);
  }

  private addObjectClass(def: ObjectClassDefinition): void {
    const label = `objectclass ${def.names[0] ?? def.oid}`;
    const fail: (why: string) => never = (why) => {
      throw new SchemaError(def.file, def.line, `${label}: ${why}`);
    };
    const sup = def.sup.map((n) => this.classLookup.get(n.toLowerCase()) ?? fail(`SUP "${n}" is not a defined object class`));
    for (const s of sup) {
      // slapd (oc.c): a superclass of another kind must be ABSTRACT.
      if (s.kind !== def.classKind && s.kind !== 'ABSTRACT') fail(`${def.classKind} class cannot have the ${s.kind} superclass ${s.name}`);
    }
    const attrs = (list: string[], what: string) =>
      list.map((n) => this.attrLookup.get(n.toLowerCase()) ?? fail(`${what} attribute "${n}" is not a defined attribute type`));
    const must = attrs(def.must, 'MUST');
    const may = attrs(def.may, 'MAY');

    const identity = formatObjectClass({
      ...def,
      names: def.names.map((n) => n.toLowerCase()),
      sup: sup.map((s) => s.oid),
      must: must.map((a) => a.oid),
      may: may.map((a) => a.oid),
    });
    const existing = this.classesByOid.get(def.oid);
    if (existing) {
      if (existing.identity === identity) return;
      this.conflict('objectclass', def, existing.source, `OID ${def.oid} is already defined differently`);
    }
    for (const name of def.names) {
      const other = this.classLookup.get(name.toLowerCase());
      if (other) this.conflict('objectclass', def, other.source, `name "${name}" is already used by object class ${other.oid}`);
    }
    const oc = new OClass(def, identity, sup, must, may);
    this.classesByOid.set(oc.oid, oc);
    this.classLookup.set(oc.oid, oc);
    for (const name of def.names) {
      this.classLookup.set(name.toLowerCase(), oc);
      this.classLookup.set(name, oc);
    }
    this.classList.push(oc);
  }

  private conflict(
    kind: 'attributetype' | 'objectclass',
    def: AttributeTypeDefinition | ObjectClassDefinition,
    prior: AttributeTypeDefinition | ObjectClassDefinition,
    why: string,
  ): never {
    const format = (d: AttributeTypeDefinition | ObjectClassDefinition) =>
      d.kind === 'attributetype' ? formatAttributeType(d) : formatObjectClass(d);
    throw new SchemaError(
      def.file,
      def.line,
      `${kind} ${def.names[0] ?? def.oid} conflicts with the definition at ${where(prior)}: ${why}\n` +
        `  ${where(prior)}: ${format(prior)}\n` +
        `  ${where(def)}: ${format(def)}`,
    );
  }

  // ---- lookups ----

  attributeType(nameOrOid: string): AttributeType | undefined {
    // Names usually arrive as declared or lower-cased; both are keys, so most lookups skip toLowerCase.
    return this.attrLookup.get(nameOrOid) ?? this.attrLookup.get(nameOrOid.toLowerCase());
  }

  objectClass(nameOrOid: string): ObjectClass | undefined {
    return this.classLookup.get(nameOrOid) ?? this.classLookup.get(nameOrOid.toLowerCase());
  }

  attributeTypes(): Iterable<AttributeType> {
    return this.attrList;
  }

  objectClasses(): Iterable<ObjectClass> {
    return this.classList;
  }

  /** Where a definition was read from (file name as loaded, 1-based line), e.g. for error messages. */
  source(item: AttributeType | ObjectClass): { file: string; line: number } | undefined {
    const own = item instanceof Attr || item instanceof OClass ? item : undefined;
    return own ? { file: own.source.file, line: own.source.line } : undefined;
  }

  /** A matching rule by name or OID (case-insensitive). */
  matchingRule(nameOrOid: string): MatchingRule | SubstringRule | undefined {
    return this.rules.get(nameOrOid.toLowerCase());
  }

  /** Numeric OID for a name: object classes first (objectClass values), then attribute types, then rules. */
  resolveOid(name: string): string | undefined {
    const key = name.toLowerCase();
    return this.classLookup.get(key)?.oid ?? this.attrLookup.get(key)?.oid ?? this.rules.get(key)?.oid;
  }

  /** Normal form of a DN (schema-aware, dn.ts), or null when it does not parse or names unknown attributes. */
  normalizeDN(dn: string): string | null {
    try {
      return this.dnNormalizer.normalize(dn);
    } catch {
      return null;
    }
  }

  matchingRuleDefinitions(): string[] {
    return this.matching.list.filter((rule) => !rule.hidden).map(formatMatchingRule);
  }

  /**
   * RFC 4512 MatchingRuleUseDescription texts: for each published rule, the attribute types it applies to —
   * those naming it (directly or through SUP) and those whose syntax is the rule's. slapd's own list goes by
   * its syntax compatibility table, so it is somewhat longer.
   */
  matchingRuleUseDefinitions(): string[] {
    const out: string[] = [];
    for (const rule of this.matching.list) {
      if (rule.hidden) continue;
      const applies = this.attrList.filter(
        (a) => a.equality === rule || a.ordering === rule || a.substr === rule || a.syntax === rule.syntax,
      );
      if (applies.length === 0) continue;
      const names = applies.map((a) => a.name);
      const list = names.length === 1 ? names[0] : `( ${names.join(' $ ')} )`;
      out.push(`( ${rule.oid} NAME '${rule.name}' APPLIES ${list} )`);
    }
    return out;
  }

  syntaxDefinitions(): string[] {
    return SYNTAXES.filter((s) => !s.hidden).map(formatSyntax);
  }

  classClosure(oc: ObjectClass): ObjectClass[] {
    const own = oc instanceof OClass ? oc : this.classesByOid.get(oc.oid);
    if (own?.closure) return own.closure;
    const out: ObjectClass[] = [];
    const visit = (c: ObjectClass) => {
      if (out.includes(c)) return;
      out.push(c);
      for (const s of c.sup) visit(s);
    };
    visit(own ?? oc);
    // Shared by every caller: frozen so nobody can change another's answer.
    Object.freeze(out);
    if (own) own.closure = out as OClass[];
    return out;
  }

  normalizeValue(attr: AttributeType, value: string): string | null {
    if (attr instanceof Attr) return attr.normalize(value);
    return attr.equality ? attr.equality.normalize(value) : value;
  }

  checkSyntax(attr: AttributeType, value: string): string | null {
    if (attr instanceof Attr) {
      if (!attr.check) attr.check = this.syntaxChecker(attr);
      return attr.check(value);
    }
    return this.syntaxChecker(attr)(value);
  }

  private syntaxChecker(attr: AttributeType): (value: string) => string | null {
    const syntax = ldapSyntax(attr.syntax);
    const validate = syntax?.validate;
    if (!validate) return () => null;
    const ctx: SyntaxContext = {
      // slapd ignores {n} bounds; we enforce them for IA5 String only, where ISPMan's bounds are data rules
      maxLength: attr.syntax === SYNTAX.ia5String ? attr.syntaxLength : undefined,
      isDN: (v: string) => this.normalizeDN(v) !== null,
    };
    return (value) => validate(value, ctx);
  }

  isSubtype(attr: AttributeType, ancestor: AttributeType): boolean {
    for (let a: AttributeType | undefined = attr; a; a = a.sup) {
      if (a === ancestor || a.oid === ancestor.oid) return true;
    }
    return false;
  }
}

/** Loads the system schema and the schema files (ISPMan 1.4 order plus ispd.schema by default). */
export function loadSchema(options: LoadSchemaOptions = {}): SchemaRegistry {
  const dir = options.dir ?? defaultSchemaDir();
  const registry = new SchemaRegistry();
  for (const file of [...(options.files ?? DEFAULT_SCHEMA_FILES), ...(options.extraFiles ?? [])]) {
    registry.loadFile(path.isAbsolute(file) ? file : path.join(dir, file), file);
  }
  for (const { name, text } of options.texts ?? []) registry.loadText(text, name);
  return registry;
}
