// Distinguished names (RFC 4514): parsing, formatting and schema-aware normalization.
//
// We parse DNs ourselves instead of with @ldapjs/dn: measured here (test/unit/dn.test.ts), @ldapjs/dn 1.1
// cuts `cn=a\+b` to "a" and keeps only the last value of `cn=x+cn=y`, and returns a BerReader for `#hex`
// values. The parser below is a direct reading of the RFC 4514 grammar.

import { DirectoryError } from './errors';
import type { Schema } from './schema/types';

export interface AVA {
  /** Attribute type as written (a name or a dotted OID). */
  type: string;
  /** Unescaped value. */
  value: string;
}

/** An RDN is one or more AVAs joined with '+'. */
export type RDN = AVA[];

function invalid(dn: string, why: string): DirectoryError {
  return DirectoryError.of('invalidDNSyntax', `invalid DN "${dn}": ${why}`);
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** Parses a DN string into RDNs, leftmost (most specific) first. The empty string is the root (no RDNs). */
export function parseDN(dn: string): RDN[] {
  const rdns: RDN[] = [];
  const n = dn.length;
  let i = 0;
  const skipSpaces = () => {
    while (i < n && dn.charCodeAt(i) === 32) i++;
  };
  skipSpaces();
  if (i === n) return rdns;
  let rdn: RDN = [];
  for (;;) {
    skipSpaces();
    // attribute type: descr (ALPHA *(ALPHA/DIGIT/-)) or numericoid
    const typeStart = i;
    while (i < n) {
      const c = dn.charCodeAt(i);
      if (c === 61 /* = */ || c === 32) break;
      const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 46 || c === 59;
      if (!ok) throw invalid(dn, `unexpected character "${dn[i]}" in attribute type`);
      i++;
    }
    const type = dn.slice(typeStart, i);
    if (!type) throw invalid(dn, 'empty attribute type');
    skipSpaces();
    if (dn.charCodeAt(i) !== 61) throw invalid(dn, `missing "=" after "${type}"`);
    i++;
    skipSpaces();
    let value: string;
    if (dn.charCodeAt(i) === 35 /* # */) {
      // hexstring: the BER encoding of the value; we keep the contents octets of a string type.
      i++;
      const start = i;
      while (i < n && isHex(dn.charCodeAt(i))) i++;
      const hex = dn.slice(start, i);
      if (hex.length === 0 || hex.length % 2 !== 0) throw invalid(dn, 'bad #hex value');
      value = decodeBerString(Buffer.from(hex, 'hex'), dn);
    } else if (dn.charCodeAt(i) === 34 /* " */) {
      // Quoted values are an RFC 1779/2253 legacy that OpenLDAP still accepts.
      i++;
      let out = '';
      while (i < n && dn.charCodeAt(i) !== 34) {
        if (dn.charCodeAt(i) === 92 && i + 1 < n) i++;
        out += dn[i++];
      }
      if (i >= n) throw invalid(dn, 'unterminated quoted value');
      i++;
      value = out;
    } else {
      const bytes: number[] = [];
      let pendingSpaces = 0;
      while (i < n) {
        const c = dn.charCodeAt(i);
        if (c === 44 /* , */ || c === 43 /* + */ || c === 59 /* ; */) break;
        if (c === 92 /* \ */) {
          for (; pendingSpaces > 0; pendingSpaces--) bytes.push(32);
          const d = dn.charCodeAt(i + 1);
          if (isHex(d) && isHex(dn.charCodeAt(i + 2))) {
            bytes.push(parseInt(dn.slice(i + 1, i + 3), 16));
            i += 3;
          } else if (i + 1 < n) {
            pushUtf8(bytes, dn.codePointAt(i + 1)!);
            i += d > 0xffff ? 3 : 2;
          } else {
            throw invalid(dn, 'trailing backslash');
          }
          continue;
        }
        if (c === 32) {
          pendingSpaces++;
          i++;
          continue;
        }
        for (; pendingSpaces > 0; pendingSpaces--) bytes.push(32);
        const cp = dn.codePointAt(i)!;
        pushUtf8(bytes, cp);
        i += cp > 0xffff ? 2 : 1;
      }
      value = Buffer.from(bytes).toString('utf8');
    }
    skipSpaces();
    rdn.push({ type, value });
    if (i >= n) {
      rdns.push(rdn);
      return rdns;
    }
    const sep = dn.charCodeAt(i);
    i++;
    if (sep === 43 /* + */) continue;
    if (sep === 44 || sep === 59) {
      rdns.push(rdn);
      rdn = [];
      skipSpaces();
      if (i >= n) throw invalid(dn, 'empty RDN at the end');
      continue;
    }
    throw invalid(dn, `unexpected "${dn[i - 1]}"`);
  }
}

function pushUtf8(bytes: number[], cp: number): void {
  if (cp < 0x80) bytes.push(cp);
  else for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(b);
}

function decodeBerString(buf: Buffer, dn: string): string {
  // tag, length (short or long form), contents
  if (buf.length < 2) throw invalid(dn, 'bad #hex value');
  let len = buf[1];
  let off = 2;
  if (len & 0x80) {
    const nbytes = len & 0x7f;
    len = 0;
    for (let k = 0; k < nbytes; k++) len = len * 256 + buf[off++];
  }
  if (off + len !== buf.length) throw invalid(dn, 'bad #hex value length');
  return buf.subarray(off).toString('utf8');
}

/** Escapes a value for a DN string (RFC 4514 §2.4). */
export function escapeDNValue(value: string): string {
  let out = '';
  for (let k = 0; k < value.length; k++) {
    const ch = value[k];
    const c = value.charCodeAt(k);
    if (c === 44 || c === 43 || c === 34 || c === 92 || c === 60 || c === 62 || c === 59 || c === 61) out += '\\' + ch;
    else if (c === 0) out += '\\00';
    else if ((k === 0 && (c === 32 || c === 35)) || (k === value.length - 1 && c === 32)) out += '\\' + ch;
    else out += ch;
  }
  return out;
}

/**
 * Escaping used inside normalized DNs: every special character as \xx hex, so a normalized DN can be
 * split on unescaped ',' and '+' (the backend relies on it) and compared byte for byte.
 */
function escapeNormValue(value: string): string {
  let out = '';
  for (let k = 0; k < value.length; k++) {
    const c = value.charCodeAt(k);
    if (c === 44 || c === 43 || c === 34 || c === 92 || c === 60 || c === 62 || c === 59 || c === 61 || c < 32) {
      out += '\\' + (c < 16 ? '0' : '') + c.toString(16);
    } else if ((k === 0 && (c === 32 || c === 35)) || (k === value.length - 1 && c === 32)) {
      out += '\\' + c.toString(16);
    } else {
      out += value[k];
    }
  }
  return out;
}

export function formatRDN(rdn: RDN): string {
  return rdn.map((ava) => `${ava.type}=${escapeDNValue(ava.value)}`).join('+');
}

export function formatDN(rdns: RDN[]): string {
  return rdns.map(formatRDN).join(',');
}

/**
 * Schema-aware DN normalization with a bounded cache. The normal form uses each attribute's key (lower-case
 * primary name, so OIDs and aliases collapse), values normalized by the attribute's equality rule, AVAs of a
 * multi-valued RDN sorted, and ',' between RDNs with no spaces.
 */
export class DNNormalizer {
  private readonly cache = new Map<string, string>();
  private readonly cacheLimit: number;

  constructor(private readonly schema: Schema, cacheLimit = 200_000) {
    this.cacheLimit = cacheLimit;
  }

  normalize(dn: string): string {
    const hit = this.cache.get(dn);
    if (hit !== undefined) return hit;
    const norm = this.normalizeRDNs(parseDN(dn));
    if (this.cache.size >= this.cacheLimit) this.cache.clear();
    this.cache.set(dn, norm);
    return norm;
  }

  normalizeRDNs(rdns: RDN[]): string {
    return rdns.map((rdn) => this.normalizeRDN(rdn)).join(',');
  }

  normalizeRDN(rdn: RDN): string {
    const parts = rdn.map((ava) => this.normalizeAVA(ava));
    if (parts.length > 1) parts.sort();
    return parts.join('+');
  }

  private normalizeAVA(ava: AVA): string {
    const at = this.schema.attributeType(ava.type);
    if (!at) throw DirectoryError.of('invalidDNSyntax', `invalid DN: undefined attribute type "${ava.type}"`);
    const v = this.schema.normalizeValue(at, ava.value);
    if (v === null) throw DirectoryError.of('invalidDNSyntax', `invalid DN: value "${ava.value}" is not valid for ${at.name}`);
    return `${at.key}=${escapeNormValue(v)}`;
  }
}

/** The parent of a DN given as RDNs (drops the leftmost RDN). */
export function parentRDNs(rdns: RDN[]): RDN[] {
  return rdns.slice(1);
}

/** Splits a normalized DN into its normalized RDNs (normalized values never contain a raw ','). */
export function splitNormalizedDN(dnNorm: string): string[] {
  return dnNorm === '' ? [] : dnNorm.split(',');
}

/** The normalized parent DN of a normalized DN ('' for a top-level entry). */
export function parentOfNormalized(dnNorm: string): string {
  const k = dnNorm.indexOf(',');
  return k < 0 ? '' : dnNorm.slice(k + 1);
}

/** True when `dnNorm` equals `baseNorm` or lies below it. */
export function isWithin(dnNorm: string, baseNorm: string): boolean {
  if (baseNorm === '') return true;
  return dnNorm === baseNorm || dnNorm.endsWith(',' + baseNorm);
}
