// Entry helpers: attribute-name canonicalization, attribute selection for search results (RFC 4511 §4.5.1.8:
// '*', '+', '1.1', names, OIDs, supertypes), and operational attributes the server computes.

import type { AttributeMap } from '../../backends/types';
import type { AttributeType, Schema } from './schema/types';
import { DirectoryError } from './errors';

/** Attribute types that are computed per read and never stored. */
export const COMPUTED_OPERATIONAL = ['hasSubordinates', 'subschemaSubentry', 'entryDN'];

export function isOperational(at: AttributeType): boolean {
  return at.usage !== 'userApplications';
}

/** Splits "cn;lang-en" into the type and its options (lower-cased, sorted). */
export function splitDescription(desc: string): { type: string; options: string } {
  const k = desc.indexOf(';');
  if (k < 0) return { type: desc, options: '' };
  const opts = desc
    .slice(k + 1)
    .split(';')
    .map((o) => o.toLowerCase())
    .filter((o) => o && o !== 'binary')
    .sort();
  return { type: desc.slice(0, k), options: opts.length ? ';' + opts.join(';') : '' };
}

/**
 * The name under which an attribute description is stored: the schema's primary name plus options,
 * as slapd does (a client writing "objectclass" reads back "objectClass").
 */
export function canonicalName(schema: Schema, desc: string): { at: AttributeType; name: string } {
  const { type, options } = splitDescription(desc);
  const at = schema.attributeType(type);
  if (!at) throw DirectoryError.of('undefinedAttributeType', `${type}: attribute type undefined`);
  return { at, name: at.name + options };
}

export interface Selection {
  allUser: boolean;
  allOperational: boolean;
  /** Keys of explicitly requested types (includes their subtypes through isSubtype). */
  explicit: AttributeType[];
  none: boolean;
}

export function parseSelection(schema: Schema, requested: string[]): Selection {
  const sel: Selection = { allUser: requested.length === 0, allOperational: false, explicit: [], none: false };
  let sawOnlyNoAttrs = requested.length > 0;
  for (const r of requested) {
    if (r === '*') sel.allUser = true;
    else if (r === '+') sel.allOperational = true;
    else if (r === '1.1') continue;
    else {
      const at = schema.attributeType(splitDescription(r).type);
      if (at) sel.explicit.push(at);
    }
    sawOnlyNoAttrs = false;
  }
  // "1.1" alone (or with unknown names only) asks for no attributes.
  sel.none = sawOnlyNoAttrs;
  return sel;
}

export function selects(schema: Schema, sel: Selection, at: AttributeType): boolean {
  if (sel.none) return false;
  if (isOperational(at) ? sel.allOperational : sel.allUser) return true;
  for (const want of sel.explicit) if (schema.isSubtype(at, want)) return true;
  return false;
}

const selectedTypeCaches = new WeakMap<Selection, Map<string, AttributeType | null>>();

/**
 * For one selection, a function from a stored attribute name to its type when the selection includes it,
 * else null. Remembered per name: a search result decides the same ~20 names for every entry.
 */
export function selectedTypes(schema: Schema, sel: Selection): (name: string) => AttributeType | null {
  let cache = selectedTypeCaches.get(sel);
  if (!cache) selectedTypeCaches.set(sel, (cache = new Map()));
  const memo = cache;
  return (name) => {
    let at = memo.get(name);
    if (at === undefined) {
      const type = keyOfStoredName(schema, name);
      at = type && selects(schema, sel, type) ? type : null;
      if (memo.size < 10_000) memo.set(name, at);
    }
    return at;
  };
}

const storedNameCaches = new WeakMap<Schema, Map<string, AttributeType | null>>();

/**
 * The attribute type of a stored name ("cn;lang-en" → cn). Cached per schema: stored names are the schema's
 * own spellings, so the map stays as small as the set of attribute descriptions in use.
 */
export function keyOfStoredName(schema: Schema, name: string): AttributeType | undefined {
  let cache = storedNameCaches.get(schema);
  if (!cache) storedNameCaches.set(schema, (cache = new Map()));
  let at = cache.get(name);
  if (at === undefined) {
    at = schema.attributeType(splitDescription(name).type) ?? null;
    if (cache.size < 100_000) cache.set(name, at);
  }
  return at ?? undefined;
}

export function cloneAttrs(attrs: AttributeMap): AttributeMap {
  const out: AttributeMap = {};
  for (const [k, v] of Object.entries(attrs)) out[k] = v.slice();
  return out;
}

/** GeneralizedTime in UTC with seconds, as slapd writes createTimestamp. */
export function generalizedTime(date = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(date.getUTCFullYear(), 4)}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}Z`;
}
