// What a signed zone adds to an answer for a query with DO (RFC 4035 §3.1): the RRSIGs of the RRsets given,
// and NSEC records that prove what does not exist (§3.1.3: NXDOMAIN, NODATA, wildcard expansion, insecure
// delegations). Pure functions over a signed Zone; lookup.ts calls them.

import type { RRset } from '../types';
import { RRType } from '../types';
import type { Zone } from '../zone';
import { canonicalKey } from './canonical';

/** The RRSIG set of `set` (found under `source`, the wildcard when the answer was synthesized), owned by `set.name`. */
export function signatureOf(zone: Zone, set: RRset, source = set.name): RRset | undefined {
  const sig = zone.sigFor(source, set.type);
  if (!sig) return undefined;
  return source === set.name ? sig : { ...sig, name: set.name };
}

/** The sets followed each by its signatures. */
export function withSignatures(zone: Zone, sets: RRset[]): RRset[] {
  const out: RRset[] = [];
  for (const s of sets) {
    out.push(s);
    const sig = signatureOf(zone, s);
    if (sig) out.push(sig);
  }
  return out;
}

/** The NSEC owned by `name`, when `name` is in the chain. */
export function nsecAt(zone: Zone, name: string): RRset | undefined {
  return zone.nodes.get(name)?.get(RRType.NSEC);
}

/**
 * The NSEC whose owner is the canonical predecessor of `name` (or `name` itself): it covers `name` when
 * `name` does not exist. Bisection over the chain's canonical keys.
 */
export function nsecCovering(zone: Zone, name: string): RRset | undefined {
  const chain = zone.nsecChain;
  if (!chain || chain.keys.length === 0) return undefined;
  const key = canonicalKey(name);
  let lo = 0;
  let hi = chain.keys.length - 1;
  // The apex sorts first; every name of the zone sorts at or after it.
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (chain.keys[mid] <= key) lo = mid;
    else hi = mid - 1;
  }
  return nsecAt(zone, chain.names[lo]);
}

/** Distinct proofs with their signatures, in the order given. */
export function proofSets(zone: Zone, proofs: Array<RRset | undefined>): RRset[] {
  const seen = new Set<string>();
  const sets: RRset[] = [];
  for (const p of proofs) {
    if (!p || seen.has(p.name)) continue;
    seen.add(p.name);
    sets.push(p);
  }
  return withSignatures(zone, sets);
}
