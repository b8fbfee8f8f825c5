// The root DSE (RFC 4512 §5.1): the entry with the empty DN, read with a base-scope search.
// Like OpenLDAP, its attributes other than objectClass are operational: a plain `ldapsearch -b "" -s base`
// shows objectClass only, `+` shows everything, and named attributes are returned when asked for.

import type { Entry, Filter } from '../directory/types';

export interface RootDseOptions {
  namingContexts: string[];
  vendorName?: string;
  vendorVersion: string;
  supportedLDAPVersion: string[];
  supportedControl: readonly string[];
  supportedExtension: readonly string[];
}

/** RFC 4525 increment; RFC 3673 all operational attributes ('+'). */
const SUPPORTED_FEATURES = ['1.3.6.1.1.14', '1.3.6.1.4.1.4203.1.5.1'];

export class RootDse {
  private readonly user: Record<string, string[]>;
  private readonly operational: Record<string, string[]>;

  constructor(options: RootDseOptions) {
    this.user = { objectClass: ['top'] };
    const operational: Record<string, string[]> = {
      namingContexts: [...options.namingContexts],
      subschemaSubentry: ['cn=Subschema'],
      supportedControl: [...options.supportedControl],
      supportedExtension: [...options.supportedExtension],
      supportedFeatures: SUPPORTED_FEATURES,
      supportedLDAPVersion: [...options.supportedLDAPVersion],
      vendorName: [options.vendorName ?? 'ispd'],
      vendorVersion: [options.vendorVersion],
    };
    for (const [name, values] of Object.entries(operational)) if (values.length === 0) delete operational[name];
    this.operational = operational;
  }

  /** The entry as a search returns it: attributes chosen by the request, or undefined when the filter does not match. */
  read(filter: Filter, requested: string[]): Entry | undefined {
    const all = { ...this.user, ...this.operational };
    if (!matches(filter, all)) return undefined;
    return { dn: '', attributes: this.select(requested) };
  }

  private select(requested: string[]): Record<string, string[]> {
    const wanted = new Set(requested.map((name) => name.toLowerCase()));
    const noneAsked = wanted.size === 0;
    // '1.1' alone means "no attributes"; mixed with others it is ignored (RFC 4511 §4.5.1.8).
    const allUser = noneAsked || wanted.has('*');
    const allOperational = wanted.has('+');
    const result: Record<string, string[]> = {};
    for (const [name, values] of Object.entries(this.user)) {
      if (allUser || wanted.has(name.toLowerCase())) result[name] = values;
    }
    for (const [name, values] of Object.entries(this.operational)) {
      if (allOperational || wanted.has(name.toLowerCase())) result[name] = values;
    }
    return result;
  }
}

/** Enough of RFC 4515 matching for an entry whose values are all case-insensitive strings. */
function matches(filter: Filter, attributes: Record<string, string[]>): boolean {
  const valuesOf = (attribute: string): string[] => {
    const wanted = attribute.toLowerCase();
    for (const [name, values] of Object.entries(attributes)) if (name.toLowerCase() === wanted) return values;
    return [];
  };
  switch (filter.type) {
    case 'and':
      return filter.filters.every((f) => matches(f, attributes));
    case 'or':
      return filter.filters.some((f) => matches(f, attributes));
    case 'not':
      return !matches(filter.filter, attributes);
    case 'present':
      return valuesOf(filter.attribute).length > 0;
    case 'equality':
    case 'approx': {
      const wanted = filter.value.toLowerCase();
      return valuesOf(filter.attribute).some((v) => v.toLowerCase() === wanted);
    }
    case 'substrings':
      return valuesOf(filter.attribute).some((v) => matchSubstrings(v.toLowerCase(), filter));
    default:
      return false;
  }
}

function matchSubstrings(value: string, filter: { initial?: string; any: string[]; final?: string }): boolean {
  let position = 0;
  if (filter.initial !== undefined) {
    if (!value.startsWith(filter.initial.toLowerCase())) return false;
    position = filter.initial.length;
  }
  for (const part of filter.any) {
    const found = value.indexOf(part.toLowerCase(), position);
    if (found < 0) return false;
    position = found + part.length;
  }
  if (filter.final !== undefined) {
    const final = filter.final.toLowerCase();
    return value.length - final.length >= position && value.endsWith(final);
  }
  return true;
}
