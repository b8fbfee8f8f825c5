// Search filters (RFC 4515 / RFC 4511 §4.5.1): parsing the string form, converting the decoded wire form,
// evaluating against entries with the schema's matching rules (three-valued logic), and narrowing a filter
// to index candidates for the backend.
//
// The string parser is ours: @ldapjs/filter's parseString keeps escapes such as \2a literally in the
// value (measured: `(b=\2a)` yields the value "\2a"), while its BER decoder yields raw octets. We use
// @ldapjs/filter only for what arrives on the wire (fromLdapjsFilter).

import { DirectoryError } from './errors';
import type { Filter } from './types';
import type { AttributeType, Schema } from './schema/types';
import type { AttributeMap, Candidates } from '../../backends/types';

// ---------------------------------------------------------------------------------------------------------
// String form

export function parseFilter(text: string): Filter {
  const s = text.trim();
  const p = new FilterParser(s.startsWith('(') ? s : `(${s})`);
  const f = p.parseFilter();
  if (p.pos !== p.text.length) throw badFilter(text, 'trailing characters');
  return f;
}

function badFilter(text: string, why: string): DirectoryError {
  return DirectoryError.of('protocolError', `bad search filter "${text}": ${why}`);
}

class FilterParser {
  pos = 0;
  constructor(readonly text: string) {}

  parseFilter(): Filter {
    this.expect('(');
    const c = this.text[this.pos];
    let f: Filter;
    if (c === '&' || c === '|') {
      this.pos++;
      const filters: Filter[] = [];
      while (this.text[this.pos] === '(') filters.push(this.parseFilter());
      f = c === '&' ? { type: 'and', filters } : { type: 'or', filters };
    } else if (c === '!') {
      this.pos++;
      f = { type: 'not', filter: this.parseFilter() };
    } else {
      f = this.parseItem();
    }
    this.expect(')');
    return f;
  }

  private expect(ch: string) {
    if (this.text[this.pos] !== ch) throw badFilter(this.text, `expected "${ch}" at ${this.pos}`);
    this.pos++;
  }

  private parseItem(): Filter {
    const start = this.pos;
    while (this.pos < this.text.length && !'=~<>:()'.includes(this.text[this.pos])) this.pos++;
    const attr = this.text.slice(start, this.pos).trim();
    const op = this.text[this.pos];
    if (op === ':') {
      // extensible: attr? [:dn] [:rule] := value
      const rest = this.text.slice(this.pos);
      const m = /^((?::dn)?)((?::[A-Za-z0-9.\-]+)?):=/.exec(rest);
      if (!m) throw badFilter(this.text, 'bad extensible match');
      this.pos += m[0].length;
      const value = this.readValue();
      if (!attr && !m[2]) throw badFilter(this.text, 'extensible match needs a type or a rule');
      return { type: 'extensible', attribute: attr || undefined, rule: m[2] ? m[2].slice(1) : undefined, value: unescapeFilterValue(value, this.text), dnAttributes: m[1] === ':dn' };
    }
    if (!attr) throw badFilter(this.text, 'missing attribute');
    let kind: 'equality' | 'approx' | 'ge' | 'le';
    if (op === '=') {
      kind = 'equality';
      this.pos++;
    } else if ((op === '~' || op === '<' || op === '>') && this.text[this.pos + 1] === '=') {
      kind = op === '~' ? 'approx' : op === '<' ? 'le' : 'ge';
      this.pos += 2;
    } else {
      throw badFilter(this.text, `bad operator at ${this.pos}`);
    }
    const raw = this.readValue();
    if (kind === 'equality') {
      if (raw === '*') return { type: 'present', attribute: attr };
      if (raw.includes('*')) {
        const parts = raw.split('*').map((p) => unescapeFilterValue(p, this.text));
        const initial = parts[0] || undefined;
        const final = parts[parts.length - 1] || undefined;
        const any = parts.slice(1, -1).filter((p) => p.length > 0);
        return { type: 'substrings', attribute: attr, initial, any, final };
      }
    }
    return { type: kind, attribute: attr, value: unescapeFilterValue(raw, this.text) };
  }

  private readValue(): string {
    const start = this.pos;
    while (this.pos < this.text.length && this.text[this.pos] !== ')') {
      if (this.text[this.pos] === '(') throw badFilter(this.text, 'unescaped "(" in value');
      this.pos++;
    }
    return this.text.slice(start, this.pos);
  }
}

function unescapeFilterValue(v: string, text: string): string {
  if (!v.includes('\\')) return v;
  const bytes: number[] = [];
  for (let i = 0; i < v.length; ) {
    if (v[i] === '\\') {
      const hex = v.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw badFilter(text, `bad escape "\\${hex}"`);
      bytes.push(parseInt(hex, 16));
      i += 3;
    } else {
      const cp = v.codePointAt(i)!;
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(b);
      i += cp > 0xffff ? 2 : 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

export function escapeFilterValue(v: string): string {
  return v.replace(/[\\*()\0]/g, (c) => '\\' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}

export function filterToString(f: Filter): string {
  switch (f.type) {
    case 'and':
      return `(&${f.filters.map(filterToString).join('')})`;
    case 'or':
      return `(|${f.filters.map(filterToString).join('')})`;
    case 'not':
      return `(!${filterToString(f.filter)})`;
    case 'equality':
      return `(${f.attribute}=${escapeFilterValue(f.value)})`;
    case 'approx':
      return `(${f.attribute}~=${escapeFilterValue(f.value)})`;
    case 'ge':
      return `(${f.attribute}>=${escapeFilterValue(f.value)})`;
    case 'le':
      return `(${f.attribute}<=${escapeFilterValue(f.value)})`;
    case 'present':
      return `(${f.attribute}=*)`;
    case 'substrings':
      return `(${f.attribute}=${f.initial ? escapeFilterValue(f.initial) : ''}*${f.any.map((a) => escapeFilterValue(a) + '*').join('')}${f.final ? escapeFilterValue(f.final) : ''})`;
    case 'extensible':
      return `(${f.attribute ?? ''}${f.dnAttributes ? ':dn' : ''}${f.rule ? ':' + f.rule : ''}:=${escapeFilterValue(f.value)})`;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Wire form (@ldapjs/filter objects decoded by @ldapjs/messages): values are raw octets already.

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function fromLdapjsFilter(f: any): Filter {
  switch (f.type) {
    case 'AndFilter':
      return { type: 'and', filters: f.clauses.map(fromLdapjsFilter) };
    case 'OrFilter':
      return { type: 'or', filters: f.clauses.map(fromLdapjsFilter) };
    case 'NotFilter':
      return { type: 'not', filter: fromLdapjsFilter(f.filter) };
    case 'EqualityFilter':
      return { type: 'equality', attribute: f.attribute, value: String(f.value) };
    case 'ApproximateFilter':
      return { type: 'approx', attribute: f.attribute, value: String(f.value) };
    case 'GreaterThanEqualsFilter':
      return { type: 'ge', attribute: f.attribute, value: String(f.value) };
    case 'LessThanEqualsFilter':
      return { type: 'le', attribute: f.attribute, value: String(f.value) };
    case 'PresenceFilter':
      return { type: 'present', attribute: f.attribute };
    case 'SubstringFilter':
      return { type: 'substrings', attribute: f.attribute, initial: f.subInitial || undefined, any: (f.subAny ?? []).filter((a: string) => a), final: f.subFinal || undefined };
    case 'ExtensibleFilter':
      return { type: 'extensible', attribute: f.matchType || undefined, rule: f.matchingRule || undefined, value: String(f.matchValue ?? f.value ?? ''), dnAttributes: !!f.dnAttributes };
    default:
      throw DirectoryError.of('protocolError', `unsupported filter type ${f.type}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Evaluation. Three-valued: true, false, or undefined (RFC 4511 §4.5.1.7: an unknown attribute type or an
// assertion the matching rule cannot evaluate is Undefined; NOT Undefined is Undefined; the search returns
// only entries for which the filter is TRUE).

export type EntryTest = (attrs: AttributeMap, dnNorm: string) => boolean | undefined;

/** Per attribute key: the names under which an entry may carry it or one of its subtypes. */
export class AttributeNames {
  private readonly subtypeNames = new Map<string, string[]>();
  private readonly subtypeKeys = new Map<string, string[]>();

  constructor(private readonly schema: Schema) {
    const all = [...schema.attributeTypes()];
    for (const at of all) {
      const subs = all.filter((t) => schema.isSubtype(t, at));
      this.subtypeNames.set(at.key, subs.map((t) => t.name));
      this.subtypeKeys.set(at.key, subs.map((t) => t.key));
    }
  }

  /** Stored names (primary names) of the type and its subtypes. */
  namesOf(at: AttributeType): string[] {
    return this.subtypeNames.get(at.key) ?? [at.name];
  }

  keysOf(at: AttributeType): string[] {
    return this.subtypeKeys.get(at.key) ?? [at.key];
  }
}

function valuesOf(attrs: AttributeMap, names: string[]): string[] | undefined {
  if (names.length === 1) return attrs[names[0]];
  let out: string[] | undefined;
  for (const n of names) {
    const v = attrs[n];
    if (v) out = out ? out.concat(v) : v;
  }
  return out;
}

/**
 * Compiles a filter into a test over stored attributes. `canRead(attrKey)` says whether the requester may use
 * an attribute in a filter (ACL "search" access); an attribute it may not use evaluates as Undefined, so
 * filters cannot be used to probe protected values such as userPassword.
 */
export function compileFilter(filter: Filter, schema: Schema, names: AttributeNames, canUse: (at: AttributeType) => boolean = () => true): EntryTest {
  const compile = (f: Filter): EntryTest => {
    switch (f.type) {
      case 'and': {
        const parts = f.filters.map(compile);
        return (a, d) => {
          let result: boolean | undefined = true;
          for (const p of parts) {
            const r = p(a, d);
            if (r === false) return false;
            if (r === undefined) result = undefined;
          }
          return result;
        };
      }
      case 'or': {
        const parts = f.filters.map(compile);
        return (a, d) => {
          let result: boolean | undefined = false;
          for (const p of parts) {
            const r = p(a, d);
            if (r === true) return true;
            if (r === undefined) result = undefined;
          }
          return result;
        };
      }
      case 'not': {
        const inner = compile(f.filter);
        return (a, d) => {
          const r = inner(a, d);
          return r === undefined ? undefined : !r;
        };
      }
      case 'present': {
        const at = schema.attributeType(f.attribute);
        if (!at) return () => false; // RFC 4511: presence of an unknown type is FALSE, not Undefined
        if (!canUse(at)) return () => undefined;
        const ns = names.namesOf(at);
        return (a) => {
          const v = valuesOf(a, ns);
          return v !== undefined && v.length > 0;
        };
      }
      case 'equality':
      case 'approx': {
        const at = schema.attributeType(f.attribute);
        if (!at || !canUse(at)) return () => undefined;
        if (!at.equality) return () => undefined;
        const rule = at.equality;
        const want = rule.normalize(f.value);
        if (want === null) return () => undefined;
        const ns = names.namesOf(at);
        if (at.key === 'objectclass') {
          // (objectClass=person) matches an entry that lists only inetOrgPerson, as in slapd.
          const closures = objectClassClosures(schema);
          return (a) => {
            const vs = valuesOf(a, ns);
            if (!vs) return false;
            for (const v of vs) if (closures(v).has(want)) return true;
            return false;
          };
        }
        return (a) => {
          const vs = valuesOf(a, ns);
          if (!vs) return false;
          for (const v of vs) if (rule.normalize(v) === want) return true;
          return false;
        };
      }
      case 'ge':
      case 'le': {
        const at = schema.attributeType(f.attribute);
        if (!at || !canUse(at)) return () => undefined;
        const rule = at.ordering;
        if (!rule || !rule.compare) return () => undefined;
        const want = rule.normalize(f.value);
        if (want === null) return () => undefined;
        const ns = names.namesOf(at);
        const ge = f.type === 'ge';
        return (a) => {
          const vs = valuesOf(a, ns);
          if (!vs) return false;
          for (const v of vs) {
            const n = rule.normalize(v);
            if (n === null) continue;
            const c = rule.compare!(n, want);
            if (ge ? c >= 0 : c <= 0) return true;
          }
          return false;
        };
      }
      case 'substrings': {
        const at = schema.attributeType(f.attribute);
        if (!at || !canUse(at)) return () => undefined;
        const rule = at.substr;
        if (!rule) return () => undefined;
        const initial = f.initial !== undefined ? rule.normalize(f.initial) : undefined;
        const final = f.final !== undefined ? rule.normalize(f.final) : undefined;
        const any = f.any.map((x) => rule.normalize(x));
        const ns = names.namesOf(at);
        return (a) => {
          const vs = valuesOf(a, ns);
          if (!vs) return false;
          for (const raw of vs) {
            const v = rule.normalize(raw);
            let pos = 0;
            let end = v.length;
            if (initial !== undefined) {
              if (!v.startsWith(initial)) continue;
              pos = initial.length;
            }
            if (final !== undefined) {
              if (!v.endsWith(final) || v.length - final.length < pos) continue;
              end = v.length - final.length;
            }
            let ok = true;
            for (const part of any) {
              const k = v.indexOf(part, pos);
              if (k < 0 || k + part.length > end) {
                ok = false;
                break;
              }
              pos = k + part.length;
            }
            if (ok) return true;
          }
          return false;
        };
      }
      case 'extensible': {
        // Extensible match where a rule applies: with a type and either no rule or the type's own equality
        // rule (or a known equality rule by name), it is an equality test under that rule. With :dn, the
        // AVAs of the entry's DN count as values too (RFC 4511 §4.5.1.7.7).
        if (!f.attribute) return () => undefined;
        const at = schema.attributeType(f.attribute);
        if (!at || !canUse(at)) return () => undefined;
        const rule = f.rule ? matchingRuleByName(schema, f.rule, at) : at.equality;
        if (!rule) return () => undefined;
        const want = rule.normalize(f.value);
        if (want === null) return () => undefined;
        const ns = names.namesOf(at);
        const keys = new Set(names.keysOf(at));
        const dnAttributes = f.dnAttributes;
        return (a, dnNorm) => {
          const vs = valuesOf(a, ns);
          if (vs) for (const v of vs) if (rule.normalize(v) === want) return true;
          if (dnAttributes) {
            for (const rdn of dnNorm.split(',')) {
              for (const ava of rdn.split('+')) {
                const eq = ava.indexOf('=');
                if (eq > 0 && keys.has(ava.slice(0, eq)) && rule.normalize(unescapeNormValue(ava.slice(eq + 1))) === want) return true;
              }
            }
          }
          return false;
        };
      }
    }
  };
  return compile(filter);
}

/** Finds an equality-style matching rule by name or OID among those the loaded attribute types use. */
function matchingRuleByName(schema: Schema, nameOrOid: string, preferred: AttributeType) {
  const want = nameOrOid.toLowerCase();
  const candidates = [preferred.equality, preferred.ordering];
  for (const at of schema.attributeTypes()) candidates.push(at.equality);
  for (const r of candidates) if (r && (r.name.toLowerCase() === want || r.oid === want)) return r;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Candidate planning (like back-mdb's filterindex.c): narrow by the indexed attributes, let the directory
// re-check everything.

export function planCandidates(filter: Filter, schema: Schema, names: AttributeNames, indexed: Set<string>): Candidates {
  const all: Candidates = { kind: 'all' };
  const plan = (f: Filter): Candidates => {
    switch (f.type) {
      case 'and': {
        const items: Candidates[] = [];
        for (const sub of f.filters) {
          const c = plan(sub);
          if (c.kind === 'none') return c;
          if (c.kind !== 'all') items.push(c);
        }
        if (items.length === 0) return all;
        return items.length === 1 ? items[0] : { kind: 'and', items };
      }
      case 'or': {
        if (f.filters.length === 0) return { kind: 'none' };
        const items: Candidates[] = [];
        for (const sub of f.filters) {
          const c = plan(sub);
          if (c.kind === 'all') return all;
          if (c.kind !== 'none') items.push(c);
        }
        if (items.length === 0) return { kind: 'none' };
        return items.length === 1 ? items[0] : { kind: 'or', items };
      }
      case 'present': {
        const at = schema.attributeType(f.attribute);
        if (!at) return { kind: 'none' };
        if (at.key === 'objectclass') return all;
        return eachKey(at, (key) => ({ kind: 'present', attr: key }));
      }
      case 'equality':
      case 'approx': {
        const at = schema.attributeType(f.attribute);
        if (!at || !at.equality) return all;
        const v = schema.normalizeValue(at, f.value);
        if (v === null) return all;
        return eachKey(at, (key) => ({ kind: 'eq', attr: key, value: v }));
      }
      case 'substrings': {
        const at = schema.attributeType(f.attribute);
        if (!at || f.initial === undefined || !at.equality || !at.substr) return all;
        if (!/^case(Ignore|Exact)(IA5)?Match$/.test(at.equality.name)) return all;
        const p = at.equality.normalize(f.initial);
        if (!p) return all;
        return eachKey(at, (key) => ({ kind: 'prefix', attr: key, prefix: p }));
      }
      default:
        return all;
    }
  };
  const eachKey = (at: AttributeType, make: (key: string) => Candidates): Candidates => {
    const keys = names.keysOf(at);
    for (const k of keys) if (!indexed.has(k)) return all;
    return keys.length === 1 ? make(keys[0]) : { kind: 'or', items: keys.map(make) };
  };
  return plan(filter);
}

const closureCaches = new WeakMap<Schema, (value: string) => Set<string>>();

/**
 * For an objectClass value: the normalized values of the class and all its superclasses (cached).
 * Used by equality filters and by the index, so (objectClass=person) finds inetOrgPerson entries.
 */
export function objectClassClosures(schema: Schema): (value: string) => Set<string> {
  let fn = closureCaches.get(schema);
  if (fn) return fn;
  const ocAt = schema.attributeType('objectClass')!;
  const cache = new Map<string, Set<string>>();
  fn = (value: string) => {
    let hit = cache.get(value);
    if (hit) return hit;
    hit = new Set<string>();
    const self = schema.normalizeValue(ocAt, value);
    if (self !== null) hit.add(self);
    const oc = schema.objectClass(value);
    if (oc) for (const c of schema.classClosure(oc)) {
      const n = schema.normalizeValue(ocAt, c.oid);
      if (n !== null) hit.add(n);
    }
    if (cache.size > 10_000) cache.clear();
    cache.set(value, hit);
    return hit;
  };
  closureCaches.set(schema, fn);
  return fn;
}

/** Undoes the \\xx escaping of values inside normalized DNs (see dn.ts). */
function unescapeNormValue(v: string): string {
  if (!v.includes('\\')) return v;
  return v.replace(/\\([0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}
