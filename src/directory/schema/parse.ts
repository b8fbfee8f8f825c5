// Reader for OpenLDAP .schema text (the slapd.conf directives attributetype, objectclass, objectidentifier).
//
// The line handling follows slapd's config reader (servers/slapd/config.c fp_getline / read_config_file):
// a line starting with whitespace continues the previous one, a line starting with '#' is a comment, and an
// empty line ends the current directive. The definition grammar follows RFC 4512 §4.1 the way libldap's
// ldap_str2attributetype/ldap_str2objectclass read it with LDAP_SCHEMA_ALLOW_ALL: keywords in any order,
// each at most once, OID macros ("ISPMan:2.1") in place of OIDs, and whatever follows the closing
// parenthesis ignored. That last point is what gives ISPMan's malformed mailAlias/mailForwardingAddress
// (a complete "( … SUP mailLocalAddress )" followed by stray "DESC … SYNTAX … )" lines) the effective
// definitions slapd loads.

import type { ClassKind, Usage } from './types';

export interface SourcePosition {
  file: string;
  /** 1-based line of the directive keyword. */
  line: number;
}

export interface AttributeTypeDefinition extends SourcePosition {
  kind: 'attributetype';
  oid: string;
  names: string[];
  desc?: string;
  obsolete: boolean;
  sup?: string;
  equality?: string;
  ordering?: string;
  substr?: string;
  syntax?: string;
  syntaxLength?: number;
  singleValue: boolean;
  collective: boolean;
  noUserModification: boolean;
  usage: Usage;
  /** X-… extensions in declaration order, e.g. ['X-ORDERED', ['VALUES']]. */
  extensions: Array<[string, string[]]>;
}

export interface ObjectClassDefinition extends SourcePosition {
  kind: 'objectclass';
  oid: string;
  names: string[];
  desc?: string;
  obsolete: boolean;
  sup: string[];
  classKind: ClassKind;
  must: string[];
  may: string[];
  extensions: Array<[string, string[]]>;
}

export interface ObjectIdentifierDefinition extends SourcePosition {
  kind: 'objectidentifier';
  name: string;
  /** The resolved numeric OID. */
  oid: string;
}

export type SchemaDefinition = AttributeTypeDefinition | ObjectClassDefinition | ObjectIdentifierDefinition;

/** A schema error (syntax, unknown reference or conflicting definition); the message starts with "file:line:". */
export class SchemaError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'SchemaError';
  }
}

/** OID macros (objectidentifier name → numeric OID), keyed by lower-cased name; shared across files. */
export type OidMacros = Map<string, string>;

interface LogicalLine {
  text: string;
  line: number;
}

/** Joins continuation lines and drops comments and blank lines, as slapd's config reader does. */
function logicalLines(text: string): LogicalLine[] {
  const out: LogicalLine[] = [];
  const physical = text.split('\n');
  let current: LogicalLine | null = null;
  for (let k = 0; k < physical.length; k++) {
    let raw = physical[k];
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    const first = raw.charCodeAt(0);
    const continues = raw.length > 0 && (first === 32 || first === 9 || first === 11 || first === 12 || first === 13);
    if (continues) {
      // slapd turns the leading whitespace character into one space and appends the line.
      if (current) current.text += ' ' + raw.slice(1);
      continue;
    }
    if (current) out.push(current);
    current = { text: raw, line: k + 1 };
  }
  if (current) out.push(current);
  return out.filter((l) => l.text.length > 0 && l.text[0] !== '#');
}

const NUMERIC_OID = /^[0-2](\.(0|[1-9][0-9]*))+$/;
const DESCR = /^[A-Za-z][A-Za-z0-9-]*$/;

export function isNumericOid(s: string): boolean {
  return NUMERIC_OID.test(s);
}

/** Resolves an OID that may be written as a macro ("ISPMan", "ISPMan:2.1") to a numeric OID, or undefined. */
export function resolveOidMacro(s: string, macros: OidMacros): string | undefined {
  if (NUMERIC_OID.test(s)) return s;
  const colon = s.indexOf(':');
  const base = macros.get((colon < 0 ? s : s.slice(0, colon)).toLowerCase());
  if (base === undefined) return undefined;
  if (colon < 0) return base;
  const suffix = s.slice(colon + 1);
  const full = `${base}.${suffix}`;
  return NUMERIC_OID.test(full) ? full : undefined;
}

type Token = { t: '(' } | { t: ')' } | { t: '$' } | { t: 'q'; v: string } | { t: 'w'; v: string };

class Tokens {
  private pos = 0;
  constructor(
    private readonly toks: Token[],
    private readonly fail: (why: string) => never,
  ) {}
  peek(): Token | undefined {
    return this.toks[this.pos];
  }
  next(): Token {
    const tok = this.toks[this.pos++];
    if (!tok) this.fail('unexpected end of definition (missing ")"?)');
    return tok;
  }
  /** A bare word or a quoted string (ALLOW_QUOTED lets OIDs and descrs be quoted). */
  word(what: string): string {
    const tok = this.next();
    if (tok.t === 'w' || tok.t === 'q') return tok.v;
    this.fail(`expected ${what}, found "${tok.t}"`);
  }
  quoted(what: string): string {
    const tok = this.next();
    if (tok.t === 'q') return tok.v;
    this.fail(`expected quoted ${what}`);
  }
  /** qdescrs: 'a' or ( 'a' 'b' ). */
  qdescrs(): string[] {
    const tok = this.peek();
    if (tok?.t === '(') {
      this.next();
      const names: string[] = [];
      for (;;) {
        const t = this.next();
        if (t.t === ')') break;
        if (t.t === 'q' || t.t === 'w') names.push(t.v);
        else this.fail('expected a quoted name in NAME ( … )');
      }
      if (names.length === 0) this.fail('empty NAME list');
      return names;
    }
    return [this.quoted('name')];
  }
  /** oids: oid or ( oid $ oid … ); whitespace between list members is tolerated like libldap does. */
  oids(what: string): string[] {
    const tok = this.peek();
    if (tok?.t === '(') {
      this.next();
      const list: string[] = [];
      for (;;) {
        const t = this.next();
        if (t.t === ')') break;
        if (t.t === '$') continue;
        if (t.t === 'w' || t.t === 'q') list.push(t.v);
        else this.fail(`unexpected "(" in ${what} list`);
      }
      if (list.length === 0) this.fail(`empty ${what} list`);
      return list;
    }
    return [this.word(what)];
  }
  /** Values of an X- extension: qdstring or ( qdstring … ). */
  qdstrings(): string[] {
    const tok = this.peek();
    if (tok?.t === '(') {
      this.next();
      const list: string[] = [];
      for (;;) {
        const t = this.next();
        if (t.t === ')') break;
        if (t.t === 'q' || t.t === 'w') list.push(t.v);
        else this.fail('unexpected token in extension value list');
      }
      return list;
    }
    return [this.quoted('extension value')];
  }
}

/**
 * Tokenizes a definition up to its matching closing parenthesis. Returns the tokens of "( … )"; text after
 * the closing parenthesis is ignored, as libldap does.
 */
function tokenize(s: string, fail: (why: string) => never): Token[] {
  const toks: Token[] = [];
  let i = 0;
  let depth = 0;
  const n = s.length;
  while (i < n) {
    const c = s[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '(') {
      toks.push({ t: '(' });
      depth++;
      i++;
      continue;
    }
    if (c === ')') {
      toks.push({ t: ')' });
      depth--;
      i++;
      if (depth === 0) return toks;
      if (depth < 0) fail('unbalanced ")"');
      continue;
    }
    if (toks.length === 0) fail(`expected "(" to open the definition, found "${s.slice(i, i + 20)}"`);
    if (c === '$') {
      toks.push({ t: '$' });
      i++;
      continue;
    }
    if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) fail('unterminated quoted string');
      toks.push({ t: 'q', v: s.slice(i + 1, end) });
      i = end + 1;
      continue;
    }
    const start = i;
    while (i < n) {
      const d = s[i];
      if (d === ' ' || d === '\t' || d === '(' || d === ')' || d === '$' || d === "'") break;
      i++;
    }
    toks.push({ t: 'w', v: s.slice(start, i) });
  }
  if (toks.length === 0) fail('missing definition');
  fail('unexpected end of definition (missing ")")');
}

const USAGES: Record<string, Usage> = {
  userapplications: 'userApplications',
  directoryoperation: 'directoryOperation',
  distributedoperation: 'distributedOperation',
  dsaoperation: 'dSAOperation',
};

/** The parts every definition shares (RFC 4512 §4.1): OID, NAME, DESC, OBSOLETE and X- extensions. */
type CommonFields = { oid: string; names: string[]; desc?: string; obsolete: boolean; extensions: Array<[string, string[]]> };

/**
 * Reads `( oid clause* )`: the common clauses are handled here, every other keyword goes to `clause`, which
 * returns false for a keyword it does not know. A keyword given twice is an error, as in slapd.
 */
function parseDefinition<T extends CommonFields>(
  body: string,
  pos: SourcePosition,
  macros: OidMacros,
  what: string,
  make: (oid: string) => T,
  clause: (kw: string, def: T, tk: Tokens, fail: (why: string) => never) => boolean,
): T {
  const fail: (why: string) => never = (why) => {
    throw new SchemaError(pos.file, pos.line, `${what}: ${why}`);
  };
  const tk = new Tokens(tokenize(body, fail), fail);
  tk.next(); // '('
  const oidText = tk.word('OID');
  const def = make(resolveOidMacro(oidText, macros) ?? fail(`"${oidText}" is neither a numeric OID nor a known OID macro`));
  const seen = new Set<string>();
  for (;;) {
    const tok = tk.next();
    if (tok.t === ')') break;
    if (tok.t !== 'w') fail(`unexpected token "${tok.t === 'q' ? `'${tok.v}'` : tok.t}"`);
    const kw = tok.v.toUpperCase();
    if (kw.startsWith('X-')) {
      def.extensions.push([tok.v, tk.qdstrings()]);
      continue;
    }
    if (seen.has(kw)) fail(`${kw} given twice`);
    seen.add(kw);
    if (kw === 'NAME') {
      def.names = tk.qdescrs();
      for (const name of def.names) if (!DESCR.test(name)) fail(`invalid name "${name}"`);
    } else if (kw === 'DESC') def.desc = tk.quoted('DESC');
    else if (kw === 'OBSOLETE') def.obsolete = true;
    else if (!clause(kw, def, tk, fail)) fail(`unknown keyword "${tok.v}"`);
  }
  return def;
}

function parseAttributeType(body: string, pos: SourcePosition, macros: OidMacros): AttributeTypeDefinition {
  const make = (oid: string): AttributeTypeDefinition => ({
    kind: 'attributetype',
    ...pos,
    oid,
    names: [],
    obsolete: false,
    singleValue: false,
    collective: false,
    noUserModification: false,
    usage: 'userApplications',
    extensions: [],
  });
  return parseDefinition(body, pos, macros, 'attributetype', make, (kw, def, tk, fail) => {
    switch (kw) {
      case 'SUP':
        def.sup = tk.word('SUP');
        return true;
      case 'EQUALITY':
        def.equality = tk.word('EQUALITY rule');
        return true;
      case 'ORDERING':
        def.ordering = tk.word('ORDERING rule');
        return true;
      case 'SUBSTR':
        def.substr = tk.word('SUBSTR rule');
        return true;
      case 'SYNTAX': {
        const raw = tk.word('SYNTAX');
        const brace = raw.indexOf('{');
        let syntax = raw;
        if (brace >= 0) {
          if (!raw.endsWith('}')) fail(`bad SYNTAX length in "${raw}"`);
          const len = raw.slice(brace + 1, -1);
          if (!/^[0-9]+$/.test(len)) fail(`bad SYNTAX length in "${raw}"`);
          def.syntaxLength = Number(len);
          syntax = raw.slice(0, brace);
        }
        def.syntax = resolveOidMacro(syntax, macros) ?? fail(`SYNTAX "${syntax}" is neither a numeric OID nor a known OID macro`);
        return true;
      }
      case 'SINGLE-VALUE':
        def.singleValue = true;
        return true;
      case 'COLLECTIVE':
        def.collective = true;
        return true;
      case 'NO-USER-MODIFICATION':
        def.noUserModification = true;
        return true;
      case 'USAGE': {
        const u = tk.word('USAGE');
        def.usage = USAGES[u.toLowerCase()] ?? fail(`unknown USAGE "${u}"`);
        return true;
      }
      default:
        return false;
    }
  });
}

const KINDS: Record<string, ClassKind> = { STRUCTURAL: 'STRUCTURAL', AUXILIARY: 'AUXILIARY', ABSTRACT: 'ABSTRACT' };

function parseObjectClass(body: string, pos: SourcePosition, macros: OidMacros): ObjectClassDefinition {
  const make = (oid: string): ObjectClassDefinition => ({
    kind: 'objectclass',
    ...pos,
    oid,
    names: [],
    obsolete: false,
    sup: [],
    classKind: 'STRUCTURAL',
    must: [],
    may: [],
    extensions: [],
  });
  let kindGiven = false;
  return parseDefinition(body, pos, macros, 'objectclass', make, (kw, def, tk, fail) => {
    switch (kw) {
      case 'SUP':
        def.sup = tk.oids('SUP');
        return true;
      case 'STRUCTURAL':
      case 'AUXILIARY':
      case 'ABSTRACT':
        if (kindGiven) fail('more than one of STRUCTURAL, AUXILIARY, ABSTRACT');
        kindGiven = true;
        def.classKind = KINDS[kw];
        return true;
      case 'MUST':
        def.must = tk.oids('MUST');
        return true;
      case 'MAY':
        def.may = tk.oids('MAY');
        return true;
      default:
        return false;
    }
  });
}

/**
 * Parses one .schema file. `macros` carries objectidentifier definitions across files (slapd's are global);
 * new ones found here are added to it. Throws SchemaError naming file and line.
 */
export function parseSchemaText(text: string, fileName: string, macros: OidMacros = new Map()): SchemaDefinition[] {
  const defs: SchemaDefinition[] = [];
  for (const { text: lineText, line } of logicalLines(text)) {
    const m = /^(\S+)\s*(.*)$/s.exec(lineText);
    if (!m) continue;
    const directive = m[1].toLowerCase();
    const rest = m[2];
    const pos = { file: fileName, line };
    switch (directive) {
      case 'attributetype':
      case 'attributetypes':
        defs.push(parseAttributeType(rest, pos, macros));
        break;
      case 'objectclass':
      case 'objectclasses':
        defs.push(parseObjectClass(rest, pos, macros));
        break;
      case 'objectidentifier': {
        const parts = rest.trim().split(/\s+/);
        if (parts.length !== 2 || !parts[0]) {
          throw new SchemaError(fileName, line, 'objectidentifier: expected "objectidentifier <name> <oid>"');
        }
        const [name, value] = parts;
        if (!DESCR.test(name)) throw new SchemaError(fileName, line, `objectidentifier: invalid name "${name}"`);
        const oid = resolveOidMacro(value, macros);
        if (oid === undefined) {
          throw new SchemaError(fileName, line, `objectidentifier: "${value}" is neither a numeric OID nor a known OID macro`);
        }
        const prior = macros.get(name.toLowerCase());
        if (prior !== undefined && prior !== oid) {
          throw new SchemaError(fileName, line, `objectidentifier: "${name}" already defined as ${prior}`);
        }
        macros.set(name.toLowerCase(), oid);
        defs.push({ kind: 'objectidentifier', ...pos, name, oid });
        break;
      }
      default:
        throw new SchemaError(fileName, line, `unknown directive "${m[1]}" (expected attributetype, objectclass or objectidentifier)`);
    }
  }
  return defs;
}

function qdstring(s: string): string {
  return `'${s}'`;
}

function qdescrs(names: string[]): string {
  return names.length === 1 ? ` NAME ${qdstring(names[0])}` : ` NAME ( ${names.map(qdstring).join(' ')} )`;
}

function oidlist(list: string[]): string {
  return list.length === 1 ? list[0] : `( ${list.join(' $ ')} )`;
}

function extensions(ext: Array<[string, string[]]>): string {
  let out = '';
  for (const [name, values] of ext) {
    out += ` ${name} ${values.length === 1 ? qdstring(values[0]) : `( ${values.map(qdstring).join(' ')} )`}`;
  }
  return out;
}

/** RFC 4512 text of an attribute type definition, in slapd's keyword order (as published in cn=Subschema). */
export function formatAttributeType(d: AttributeTypeDefinition): string {
  let s = `( ${d.oid}`;
  if (d.names.length) s += qdescrs(d.names);
  if (d.desc !== undefined) s += ` DESC ${qdstring(d.desc)}`;
  if (d.obsolete) s += ' OBSOLETE';
  if (d.sup) s += ` SUP ${d.sup}`;
  if (d.equality) s += ` EQUALITY ${d.equality}`;
  if (d.ordering) s += ` ORDERING ${d.ordering}`;
  if (d.substr) s += ` SUBSTR ${d.substr}`;
  if (d.syntax) s += ` SYNTAX ${d.syntax}${d.syntaxLength !== undefined ? `{${d.syntaxLength}}` : ''}`;
  if (d.singleValue) s += ' SINGLE-VALUE';
  if (d.collective) s += ' COLLECTIVE';
  if (d.noUserModification) s += ' NO-USER-MODIFICATION';
  if (d.usage !== 'userApplications') s += ` USAGE ${d.usage}`;
  s += extensions(d.extensions);
  return s + ' )';
}

/** RFC 4512 text of an object class definition, in slapd's keyword order. */
export function formatObjectClass(d: ObjectClassDefinition): string {
  let s = `( ${d.oid}`;
  if (d.names.length) s += qdescrs(d.names);
  if (d.desc !== undefined) s += ` DESC ${qdstring(d.desc)}`;
  if (d.obsolete) s += ' OBSOLETE';
  if (d.sup.length) s += ` SUP ${oidlist(d.sup)}`;
  s += ` ${d.classKind}`;
  if (d.must.length) s += ` MUST ${oidlist(d.must)}`;
  if (d.may.length) s += ` MAY ${oidlist(d.may)}`;
  s += extensions(d.extensions);
  return s + ' )';
}
