// The authoritative lookup, a pure function over in-memory zones (after CoreDNS plugin/file/lookup.go and
// RFC 1034 §4.3.2, RFC 4592 for wildcards, RFC 2308 for negative answers, RFC 8482 for ANY).

import { nsecAt, nsecCovering, proofSets, signatureOf, withSignatures } from './dnssec/proofs';
import { isSubdomain, parentName } from './name';
import { RData, Rcode, RRset, RRType } from './types';
import { Zone, ZoneSet } from './zone';

export type LookupKind = 'success' | 'nameError' | 'noData' | 'delegation' | 'refused';

export interface LookupResult {
  kind: LookupKind;
  rcode: number;
  aa: boolean;
  answer: RRset[];
  authority: RRset[];
  additional: RRset[];
  /** The zone the question fell in (undefined when refused). */
  zone?: Zone;
}

/** CNAME chains inside our zones are followed at most this far (and never through a name twice). */
const MAX_CHAIN = 12;

/**
 * `dnssecOk` (the query's DO bit): answers from signed zones carry RRSIGs and NSEC proofs (RFC 4035 §3.1).
 * Unsigned zones answer the same either way.
 */
export function lookup(zones: ZoneSet, qname: string, qtype: number, dnssecOk = false): LookupResult {
  const zone = zones.find(qname);
  if (!zone) return { kind: 'refused', rcode: Rcode.REFUSED, aa: false, answer: [], authority: [], additional: [] };

  const answer: RRset[] = [];
  const visited = new Set<string>();
  let current = qname;
  let currentZone = zone;
  /** NSEC proofs for the authority section (with their signatures), gathered along the chain. */
  const proofs: RRset[] = [];
  for (let step = 0; ; step++) {
    visited.add(current);
    const signed = dnssecOk && currentZone.signed;
    const r = lookupInZone(currentZone, current, qtype);
    if (r.kind === 'delegation') {
      if (step === 0) {
        if (signed) r.authority.push(...delegationProof(currentZone, r.authority[0].name));
        return { ...r, zone };
      }
      // A CNAME into a delegated name: give the chain so far and let the resolver chase the referral.
      return finish(zones, zone, 'success', Rcode.NOERROR, answer, proofs, qtype);
    }
    if (r.kind === 'cname' || r.kind === 'success') {
      const sets = r.kind === 'cname' ? [r.cname] : r.answer;
      for (const set of sets) {
        answer.push(set);
        if (!signed) continue;
        const sig = signatureOf(currentZone, set, r.source);
        if (sig) answer.push(sig);
      }
      // RFC 4035 §3.1.3.3: a wildcard expansion comes with the NSEC proving the query name itself does not exist.
      if (signed && r.source !== current) proofs.push(...proofSets(currentZone, [nsecCovering(currentZone, current)]));
    }
    if (r.kind === 'cname') {
      const target = (r.cname.rdatas[0] as Extract<RData, { type: 5 }>).target;
      const nextZone = zones.find(target);
      if (step + 1 >= MAX_CHAIN || visited.has(target) || !nextZone) {
        return finish(zones, zone, 'success', Rcode.NOERROR, answer, proofs, qtype);
      }
      current = target;
      currentZone = nextZone;
      continue;
    }
    if (r.kind === 'success') return finish(zones, zone, 'success', Rcode.NOERROR, answer, proofs, qtype);
    // Negative: RFC 2308 §3 SOA in authority, TTL min(SOA TTL, SOA minimum); RFC 6604 the rcode of the last link.
    const soa = negativeSoa(currentZone);
    const kind: LookupKind = answer.length > 0 ? 'success' : r.kind;
    const authority = signed ? [...withSignatures(currentZone, [soa]), ...proofs, ...denialProof(currentZone, current, r)] : [soa];
    return finish(zones, zone, kind, r.kind === 'nameError' ? Rcode.NXDOMAIN : Rcode.NOERROR, answer, authority, qtype);
  }
}

/** RFC 4035 §3.1.3.1-2, 3.1.3.4: the NSEC records that prove a name or type absent. */
function denialProof(zone: Zone, qname: string, r: Extract<InZone, { kind: 'noData' | 'nameError' }>): RRset[] {
  if (r.kind === 'nameError') {
    // No such name, and no wildcard at the closest encloser that could have produced it.
    return proofSets(zone, [nsecCovering(zone, qname), nsecCovering(zone, '*.' + r.encloser)]);
  }
  if (r.source !== undefined && r.source !== qname) {
    // The wildcard matched but lacks the type: its NSEC, and the one proving the name itself absent.
    return proofSets(zone, [nsecAt(zone, r.source), nsecCovering(zone, qname)]);
  }
  // The name has no such type; an empty non-terminal is proven by the NSEC that covers it (its next name is below it).
  return proofSets(zone, [nsecAt(zone, qname) ?? nsecCovering(zone, qname)]);
}

/** A referral from a signed zone carries the DS (secure delegation) or the NSEC proving there is none. */
function delegationProof(zone: Zone, cut: string): RRset[] {
  const ds = zone.nodes.get(cut)?.get(RRType.DS);
  return ds ? withSignatures(zone, [ds]) : proofSets(zone, [nsecAt(zone, cut)]);
}

function finish(zones: ZoneSet, zone: Zone, kind: LookupKind, rcode: number, answer: RRset[], authority: RRset[], qtype: number): LookupResult {
  return { kind, rcode, aa: true, answer, authority, additional: additionalFor(zones, answer, qtype), zone };
}

export function negativeSoa(zone: Zone): RRset {
  const set = zone.soaSet;
  const ttl = Math.min(set.ttl, zone.soa.minimum);
  return ttl === set.ttl ? set : { ...set, ttl };
}

/** `source`: the owner the data came from (the wildcard for a synthesized answer); `encloser`: the closest encloser. */
type InZone =
  | { kind: 'success'; answer: RRset[]; source: string }
  | { kind: 'cname'; cname: RRset; source: string }
  | { kind: 'noData'; source?: string }
  | { kind: 'nameError'; encloser: string }
  | { kind: 'delegation'; rcode: number; aa: boolean; answer: RRset[]; authority: RRset[]; additional: RRset[] };

function lookupInZone(zone: Zone, qname: string, qtype: number): InZone {
  // Walk down from the apex: an NS RRset below the apex is a zone cut (RFC 1034 §4.3.2 step 3b).
  const cut = findCut(zone, qname, qtype);
  if (cut) return delegation(zone, cut);

  const node = zone.nodes.get(qname);
  if (node) return answerFromNode(node, qname, qtype, qname);
  if (zone.emptyNonTerminals.has(qname)) return { kind: 'noData', source: qname };

  // RFC 4592 §3.3.1: the closest encloser is the longest existing ancestor; the source of synthesis is
  // '*.' + closest encloser. An empty non-terminal also blocks wildcards below it from matching above it.
  let encloser = parentName(qname);
  while (encloser !== zone.origin && !zone.nameExists(encloser) && isSubdomain(encloser, zone.origin)) encloser = parentName(encloser);
  const wildcard = zone.nodes.get('*.' + encloser);
  if (wildcard) return answerFromNode(wildcard, qname, qtype, '*.' + encloser);
  return { kind: 'nameError', encloser };
}

/** The highest zone cut strictly below the apex on the way to qname (DS at the cut itself belongs to the parent). */
function findCut(zone: Zone, qname: string, qtype: number): RRset | undefined {
  if (qname === zone.origin) return undefined;
  const labels = qname.slice(0, qname.length - zone.origin.length - (zone.origin === '' ? 0 : 1)).split('.');
  let name = zone.origin;
  for (let i = labels.length - 1; i >= 0; i--) {
    name = name === '' ? labels[i] : `${labels[i]}.${name}`;
    const ns = zone.nodes.get(name)?.get(RRType.NS);
    if (ns && !(name === qname && qtype === RRType.DS)) return ns;
  }
  return undefined;
}

function delegation(zone: Zone, ns: RRset): InZone {
  // Glue: addresses of name servers at or below the cut, which only this zone can give (RFC 1034 §4.2.1).
  const glue: RRset[] = [];
  for (const r of ns.rdatas) {
    const host = (r as Extract<RData, { type: 2 }>).host;
    if (!isSubdomain(host, zone.origin)) continue;
    const node = zone.nodes.get(host);
    const a = node?.get(RRType.A);
    const aaaa = node?.get(RRType.AAAA);
    if (a) glue.push(a);
    if (aaaa) glue.push(aaaa);
  }
  return { kind: 'delegation', rcode: Rcode.NOERROR, aa: false, answer: [], authority: [ns], additional: glue };
}

function answerFromNode(node: Map<number, RRset>, qname: string, qtype: number, source: string): InZone {
  const owned = (set: RRset): RRset => (source === qname ? set : { ...set, name: qname });
  if (qtype === RRType.ANY) {
    // RFC 8482 §4.2: answer ANY with one RRset of the name rather than all of them.
    const first = [...node.values()].sort((a, b) => a.type - b.type)[0];
    return { kind: 'success', answer: [owned(first)], source };
  }
  const set = node.get(qtype);
  if (set) return { kind: 'success', answer: [owned(set)], source };
  const cname = node.get(RRType.CNAME);
  if (cname && qtype !== RRType.CNAME) return { kind: 'cname', cname: owned(cname), source };
  return { kind: 'noData', source };
}

/** Additional section: addresses of MX, NS and SRV targets that we are authoritative for (exact names only). */
function additionalFor(zones: ZoneSet, answer: RRset[], qtype: number): RRset[] {
  if (qtype !== RRType.MX && qtype !== RRType.NS && qtype !== RRType.SRV) return [];
  const out: RRset[] = [];
  const seen = new Set<string>();
  for (const set of answer) {
    if (set.type !== qtype) continue;
    for (const r of set.rdatas) {
      const target = r.type === RRType.MX ? r.exchange : r.type === RRType.NS ? r.host : r.type === RRType.SRV ? r.target : undefined;
      if (target === undefined || seen.has(target)) continue;
      seen.add(target);
      const zone = zones.find(target);
      const node = zone?.nodes.get(target);
      if (!node) continue;
      const a = node.get(RRType.A);
      const aaaa = node.get(RRType.AAAA);
      if (a) out.push(a);
      if (aaaa) out.push(aaaa);
    }
  }
  return out;
}
