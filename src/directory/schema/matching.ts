// Matching rules (RFC 4517, plus the few slapd adds for its operational attributes).
//
// normalize() runs for every stored value that is indexed and every filter assertion, so it is on the hot
// path: each normalizer first scans the string once and returns it unchanged when nothing needs doing, and
// the few regular expressions are module constants (compiled once).
//
// String preparation is RFC 4518 simplified the way slapd does it (checked against slapd in
// test/unit/schema-slapd.test.ts): SPACE and the Unicode space separators (NBSP, EM SPACE, …) are
// insignificant — leading and trailing ones dropped, inner runs collapsed to one space — while TAB and
// newlines stay significant; IA5 rules treat only SPACE so; *Ignore* rules fold case (toLowerCase), and
// non-ASCII text is NFKC-normalized. Substring rules use the same preparation for values and assertion
// fragments, so containment can be tested on the normal forms.

import type { MatchingRule, SubstringRule } from './types';
import { isNumericOid } from './parse';
import { SYNTAX } from './syntax';
import { compareGeneralizedTime, parseGeneralizedTime } from './time';

export type RuleUsage = 'equality' | 'ordering' | 'substr';

const OID_CACHE_LIMIT = 10_000;

/** What some rules need from the registry that owns them. */
export interface RuleContext {
  /** Name → OID (object classes first, then attribute types, then matching rules); undefined when unknown. */
  resolveOid(name: string): string | undefined;
  /** Normal form of a DN, or null when the string is not a DN. */
  normalizeDN(dn: string): string | null;
}

export interface EqualityRule extends MatchingRule {
  usage: 'equality' | 'ordering';
  syntax: string;
  /** Not published in cn=Subschema (slapd hides these too). */
  hidden?: boolean;
}

export interface SubstringsRule extends SubstringRule {
  usage: 'substr';
  syntax: string;
  hidden?: boolean;
}

export type AnyRule = EqualityRule | SubstringsRule;

export interface MatchingRules {
  /** By OID and by lower-cased name. */
  byKey: Map<string, AnyRule>;
  list: AnyRule[];
  /** Drops cached name → OID resolutions (the registry calls it when definitions are added). */
  forgetResolvedNames(): void;
}

/** Runs of SPACE and Unicode space separators (category Zs). */
const UNICODE_SPACE_RUNS = /[ \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+/g;
const SPACE_RUNS = / +/g;

/**
 * Insignificant space handling. `fold` lower-cases. Printable ASCII with single inner spaces (the common
 * case for stored values) is checked in one tight loop and returned as is (or just lower-cased).
 */
function prepare(v: string, fold: boolean, ia5: boolean): string {
  const n = v.length;
  if (n === 0) return v;
  let upper = false;
  let prev = 32; // as if preceded by a space, so a leading space takes the slow path
  let i = 0;
  for (; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c > 32 && c < 127) {
      if (c <= 90 && c >= 65) upper = true;
      prev = c;
    } else if (c === 32 && prev !== 32) {
      prev = 32;
    } else {
      break;
    }
  }
  if (i === n && prev !== 32) return fold && upper ? v.toLowerCase() : v;
  return prepareSlow(v, fold, ia5);
}

/** The general case, in RFC 4518's order: NFKC (non-ASCII only), then insignificant space handling. */
function prepareSlow(v: string, fold: boolean, ia5: boolean): string {
  let out = hasNonAscii(v) ? v.normalize('NFKC') : v;
  out = out.replace(ia5 ? SPACE_RUNS : UNICODE_SPACE_RUNS, ' ');
  if (out.charCodeAt(0) === 32) out = out.slice(1);
  if (out.charCodeAt(out.length - 1) === 32) out = out.slice(0, -1);
  if (out.length === 0) return ' '; // RFC 4518: a string of spaces normalizes to one space
  return fold ? out.toLowerCase() : out;
}

function hasNonAscii(v: string): boolean {
  for (let i = 0; i < v.length; i++) if (v.charCodeAt(i) > 127) return true;
  return false;
}

const caseIgnore = (v: string): string => prepare(v, true, false);
const caseExact = (v: string): string => prepare(v, false, false);
const caseIgnoreIA5 = (v: string): string => prepare(v, true, true);
const caseExactIA5 = (v: string): string => prepare(v, false, true);
const identity = (v: string): string => v;

function removeChars(v: string, a: number, b: number): string {
  let needs = false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === a || c === b) {
      needs = true;
      break;
    }
  }
  if (!needs) return v;
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c !== a && c !== b) out += v[i];
  }
  return out;
}

/** Integer normal form: no leading zeros, no '+', "-0" → "0"; null when not an integer. */
export function normalizeInteger(v: string): string | null {
  let s = v;
  if (s.length === 0 || s.charCodeAt(0) === 32 || s.charCodeAt(s.length - 1) === 32) s = s.trim();
  let i = 0;
  let negative = false;
  if (s[0] === '-' || s[0] === '+') {
    negative = s[0] === '-';
    i = 1;
  }
  if (i >= s.length) return null;
  let firstNonZero = -1;
  for (let k = i; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c < 48 || c > 57) return null;
    if (firstNonZero < 0 && c !== 48) firstNonZero = k;
  }
  if (firstNonZero < 0) return '0';
  if (firstNonZero === 0) return s; // already normal (no sign, no leading zero)
  const digits = s.slice(firstNonZero);
  return negative ? '-' + digits : digits;
}

export function compareIntegers(a: string, b: string): number {
  const na = a.charCodeAt(0) === 45;
  const nb = b.charCodeAt(0) === 45;
  if (na !== nb) return na ? -1 : 1;
  let cmp = a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
  if (na) cmp = -cmp;
  return cmp;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const NUMERIC_ONLY = /^[0-9]*$/;
const BIT_STRING = /^'[01]*'B$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const DESCR = /^[A-Za-z][A-Za-z0-9-]*$/;

function numericString(v: string): string | null {
  const s = removeChars(v, 32, 32);
  return NUMERIC_ONLY.test(s) ? s : null;
}

/** First component of "( oid … )", as used by the *FirstComponentMatch rules on schema descriptions. */
function firstComponent(v: string): string {
  const s = v.trim();
  if (s[0] !== '(') return s;
  const m = /^\(\s*([^\s)]+)/.exec(s);
  return m ? m[1] : s;
}

/**
 * The matching rules ispd implements, keyed by OID and by lower-cased name, bound to one registry (for
 * objectIdentifierMatch and distinguishedNameMatch).
 */
export function createMatchingRules(ctx: RuleContext): MatchingRules {
  // objectClass values repeat endlessly (every entry, every filter): remember resolved names.
  const oidCache = new Map<string, string | null>();
  const oidNormalize = (v: string): string | null => {
    const hit = oidCache.get(v);
    if (hit !== undefined) return hit;
    const s = v.length > 0 && (v.charCodeAt(0) === 32 || v.charCodeAt(v.length - 1) === 32) ? v.trim() : v;
    const out = isNumericOid(s) ? s : DESCR.test(s) ? (ctx.resolveOid(s) ?? s.toLowerCase()) : null;
    if (oidCache.size >= OID_CACHE_LIMIT) oidCache.clear();
    oidCache.set(v, out);
    return out;
  };
  const dnNormalize = (v: string): string | null => ctx.normalizeDN(v);
  const uniqueMember = (v: string): string | null => {
    const hash = v.lastIndexOf('#');
    if (hash >= 0 && BIT_STRING.test(v.slice(hash + 1))) {
      const dn = ctx.normalizeDN(v.slice(0, hash));
      return dn === null ? null : `${dn}#${v.slice(hash + 1)}`;
    }
    return ctx.normalizeDN(v);
  };

  const eq = (oid: string, name: string, syntax: string, normalize: (v: string) => string | null, hidden?: boolean): EqualityRule => ({
    oid, name, syntax, usage: 'equality', normalize, hidden,
  });
  const ord = (
    oid: string, name: string, syntax: string,
    normalize: (v: string) => string | null, compare: (a: string, b: string) => number, hidden?: boolean,
  ): EqualityRule => ({ oid, name, syntax, usage: 'ordering', normalize, compare, hidden });
  const sub = (oid: string, name: string, syntax: string, normalize: (v: string) => string, hidden?: boolean): SubstringsRule => ({
    oid, name, syntax, usage: 'substr', normalize, hidden,
  });

  const S = SYNTAX;
  const rules: AnyRule[] = [
    eq('2.5.13.0', 'objectIdentifierMatch', S.oid, oidNormalize),
    eq('2.5.13.1', 'distinguishedNameMatch', S.dn, dnNormalize),
    eq('2.5.13.2', 'caseIgnoreMatch', S.directoryString, caseIgnore),
    ord('2.5.13.3', 'caseIgnoreOrderingMatch', S.directoryString, caseIgnore, compareStrings),
    sub('2.5.13.4', 'caseIgnoreSubstringsMatch', S.substringAssertion, caseIgnore),
    eq('2.5.13.5', 'caseExactMatch', S.directoryString, caseExact),
    ord('2.5.13.6', 'caseExactOrderingMatch', S.directoryString, caseExact, compareStrings),
    sub('2.5.13.7', 'caseExactSubstringsMatch', S.substringAssertion, caseExact),
    eq('2.5.13.8', 'numericStringMatch', S.numericString, numericString),
    ord('2.5.13.9', 'numericStringOrderingMatch', S.numericString, numericString, compareStrings),
    sub('2.5.13.10', 'numericStringSubstringsMatch', S.substringAssertion, (v) => removeChars(v, 32, 32)),
    eq('2.5.13.11', 'caseIgnoreListMatch', S.postalAddress, (v) => v.split('$').map(caseIgnore).join('$')),
    sub('2.5.13.12', 'caseIgnoreListSubstringsMatch', S.substringAssertion, caseIgnore),
    eq('2.5.13.13', 'booleanMatch', S.boolean, (v) => (v === 'TRUE' || v === 'FALSE' ? v : null)),
    eq('2.5.13.14', 'integerMatch', S.integer, normalizeInteger),
    ord('2.5.13.15', 'integerOrderingMatch', S.integer, normalizeInteger, compareIntegers),
    eq('2.5.13.16', 'bitStringMatch', S.bitString, (v) => (BIT_STRING.test(v) ? v : null)),
    eq('2.5.13.17', 'octetStringMatch', S.octetString, identity),
    ord('2.5.13.18', 'octetStringOrderingMatch', S.octetString, identity, compareStrings),
    sub('2.5.13.19', 'octetStringSubstringsMatch', S.octetString, identity),
    // slapd drops spaces and hyphens and compares the rest exactly (no case folding)
    eq('2.5.13.20', 'telephoneNumberMatch', S.telephoneNumber, (v) => removeChars(v, 32, 45)),
    sub('2.5.13.21', 'telephoneNumberSubstringsMatch', S.substringAssertion, (v) => removeChars(v, 32, 45)),
    eq('2.5.13.22', 'presentationAddressMatch', '1.3.6.1.4.1.1466.115.121.1.43', caseIgnore, true),
    eq('2.5.13.23', 'uniqueMemberMatch', S.nameAndOptionalUID, uniqueMember),
    eq('2.5.13.24', 'protocolInformationMatch', '1.3.6.1.4.1.1466.115.121.1.42', caseIgnore, true),
    eq('2.5.13.27', 'generalizedTimeMatch', S.generalizedTime, (v) => parseGeneralizedTime(v)?.normalized ?? null),
    ord('2.5.13.28', 'generalizedTimeOrderingMatch', S.generalizedTime, (v) => parseGeneralizedTime(v)?.normalized ?? null, compareGeneralizedTime),
    eq('2.5.13.29', 'integerFirstComponentMatch', S.integer, (v) => normalizeInteger(firstComponent(v))),
    eq('2.5.13.30', 'objectIdentifierFirstComponentMatch', S.oid, (v) => oidNormalize(firstComponent(v))),
    eq('2.5.13.34', 'certificateExactMatch', '1.3.6.1.1.15.1', identity),
    eq('1.3.6.1.4.1.1466.109.114.1', 'caseExactIA5Match', S.ia5String, caseExactIA5),
    eq('1.3.6.1.4.1.1466.109.114.2', 'caseIgnoreIA5Match', S.ia5String, caseIgnoreIA5),
    sub('1.3.6.1.4.1.1466.109.114.3', 'caseIgnoreIA5SubstringsMatch', S.ia5String, caseIgnoreIA5),
    sub('1.3.6.1.4.1.4203.1.2.1', 'caseExactIA5SubstringsMatch', S.ia5String, caseExactIA5),
    eq('1.3.6.1.1.16.2', 'UUIDMatch', '1.3.6.1.1.16.1', (v) => (UUID.test(v) ? v.toLowerCase() : null)),
    ord('1.3.6.1.1.16.3', 'UUIDOrderingMatch', '1.3.6.1.1.16.1', (v) => (UUID.test(v) ? v.toLowerCase() : null), compareStrings),
    eq('1.3.6.1.4.1.4203.666.11.2.2', 'CSNMatch', '1.3.6.1.4.1.4203.666.11.2.1', identity, true),
    ord('1.3.6.1.4.1.4203.666.11.2.3', 'CSNOrderingMatch', '1.3.6.1.4.1.4203.666.11.2.1', identity, compareStrings, true),
  ];
  const byKey = new Map<string, AnyRule>();
  for (const rule of rules) {
    byKey.set(rule.oid, rule);
    byKey.set(rule.name.toLowerCase(), rule);
  }
  return { byKey, list: rules, forgetResolvedNames: () => oidCache.clear() };
}

/** RFC 4512 MatchingRuleDescription text, as slapd publishes it. */
export function formatMatchingRule(rule: AnyRule): string {
  return `( ${rule.oid} NAME '${rule.name}' SYNTAX ${rule.syntax} )`;
}
