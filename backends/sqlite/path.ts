// DN ⇄ tree path helpers for the SQLite store.
//
// Subtree scope is answered with a range scan on `entries.path`: the normalized RDNs from the root down,
// joined by PATH_SEP (\u0001), which cannot occur inside a normalized RDN (control characters are
// escaped as \xx by the normalizer). Every descendant of P has a path in (P + '\u0001', P + '\u0002').

export const PATH_SEP = '\u0001';
/** The character just above PATH_SEP: the exclusive upper bound of a subtree's path range. */
export const PATH_SEP_NEXT = '\u0002';

const CONTROL_0_2 = /[\u0000-\u0002]/;
const CONTROL_0_2_G = /[\u0000-\u0002]/g;

/**
 * Splits a DN into its RDNs, in the order written (leaf first). Separators are unescaped ',' (and ';',
 * which RFC 2253 parsers accept in user input, unless `semicolonSeparates` is false); a backslash escapes the next character (or starts a \xx pair, whose
 * characters are never separators), and a double-quoted stretch (LDAPv2 style) is taken as is. Spaces
 * around separators are kept out of the RDNs.
 */
export function splitDn(dn: string, semicolonSeparates = true): string[] {
  const rdns: string[] = [];
  let start = 0;
  let quoted = false;
  const n = dn.length;
  for (let i = 0; i < n; i++) {
    const c = dn.charCodeAt(i);
    if (c === 0x5c /* \ */) {
      i++;
      continue;
    }
    if (c === 0x22 /* " */) {
      quoted = !quoted;
      continue;
    }
    if (!quoted && (c === 0x2c /* , */ || (c === 0x3b /* ; */ && semicolonSeparates))) {
      rdns.push(dn.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = dn.slice(start).trim();
  if (last !== '' || rdns.length > 0) rdns.push(last);
  return rdns;
}

/** The tree path of a normalized DN: its RDNs from the root down, joined by PATH_SEP. */
export function pathOfDnNorm(dnNorm: string): string {
  // Control characters 0-2 would collide with the separator and its range bound: escape them like RFC 4514
  // hex pairs (a normalizer should already have done so).
  if (CONTROL_0_2.test(dnNorm)) dnNorm = dnNorm.replace(CONTROL_0_2_G, (c) => '\\0' + c.charCodeAt(0));
  // Fast path for the common case without escapes or quotes: a plain split on ','.
  // A normalized DN separates RDNs with ',' only (any ';' is part of a value).
  const rdns = dnNorm.indexOf('\\') < 0 && dnNorm.indexOf('"') < 0 ? dnNorm.split(',') : splitDn(dnNorm, false);
  rdns.reverse();
  return rdns.join(PATH_SEP);
}

/**
 * The user-form DN of a descendant after its ancestor `oldDn` became `newDn`. The descendant's DN normally
 * ends with the ancestor's DN as written; when it does not (the two were written with different spacing or
 * case), its leading RDNs are kept and the ancestor's part replaced, counting RDNs.
 */
export function rebaseDn(dn: string, oldDn: string, newDn: string, depthBelow: number): string {
  if (dn.length > oldDn.length && dn.endsWith(oldDn)) {
    const head = dn.slice(0, dn.length - oldDn.length);
    if (/[,;]\s*$/.test(head)) return head + newDn;
  }
  const own = splitDn(dn).slice(0, depthBelow);
  return own.join(',') + ',' + newDn;
}
