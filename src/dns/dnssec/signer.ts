// Signs a zone: the NSEC chain (RFC 4034 §4) over its authoritative names and an RRSIG per authoritative
// RRset, reusing the previous version's signatures wherever the RRset and the signing keys are unchanged and
// the signature is not due for refresh. A write to one record therefore costs the signatures of that RRset,
// of the NSEC records whose next-name or type list moved, and of the SOA (its serial changed), not the zone.

import { rdataKey } from '../rdata';
import type { RData, RRset } from '../types';
import { RRType } from '../types';
import type { Zone } from '../zone';
import { parentName } from '../name';
import { canonicalKey, canonicalRRsetWire, rrsigLabels } from './canonical';
import { sign } from './keys';
import type { SigningKey } from './zone-keys';

export interface SignOptions {
  /** Seconds since the epoch. */
  now: number;
  /** Signature lifetime in seconds (expiration - inception). */
  validity: number;
  /** A signature with less than this left (seconds) is made again. */
  refresh: number;
}

export const DEFAULT_SIGN_OPTIONS = { validity: 14 * 86400, refresh: 7 * 86400 };

export interface SignStats {
  signed: number;
  reused: number;
}

/**
 * Inception at the start of the current day (or a shorter step for short lifetimes), less an hour for clocks
 * behind ours: processes and restarts within one step sign with the same window. A fresh signature always has
 * at least 3/4 of its lifetime left, more than any refresh margin (at most half of it, engine.ts).
 */
function window(now: number, validity: number): { inception: number; expiration: number } {
  const step = Math.min(86400, Math.floor(validity / 8));
  const inception = Math.floor(now / step) * step - Math.min(3600, Math.floor(validity / 8));
  return { inception, expiration: inception + validity };
}

/** Owners below a zone cut (glue, occluded data): not authoritative, neither signed nor in the NSEC chain. */
function occluded(zone: Zone, owner: string, cuts: Set<string>): boolean {
  for (let p = parentName(owner); p !== zone.origin && p.length > zone.origin.length; p = parentName(p)) if (cuts.has(p)) return true;
  return false;
}

function setKey(set: RRset): string {
  return set.ttl + '|' + set.rdatas.map(rdataKey).sort().join('|');
}

/** Signs `zone` in place (serial already final); `prev` is the version served until now, if any. */
export function signZone(zone: Zone, prev: Zone | undefined, opts: SignOptions): SignStats {
  const signing = zone.dnssec;
  zone.sigs.clear();
  zone.nsecChain = undefined;
  zone.sigsExpire = undefined;
  if (!signing) return { signed: 0, reused: 0 };
  const stats: SignStats = { signed: 0, reused: 0 };
  const cuts = new Set<string>();
  for (const [owner, node] of zone.nodes) if (owner !== zone.origin && node.has(RRType.NS)) cuts.add(owner);

  // The NSEC chain: every authoritative owner (a delegation point included), canonical order, wrapping to the apex.
  const owners: Array<{ name: string; key: string }> = [];
  for (const owner of zone.nodes.keys()) if (!occluded(zone, owner, cuts)) owners.push({ name: owner, key: canonicalKey(owner) });
  owners.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const nsecTtl = Math.min(zone.soaSet.ttl, zone.soa.minimum);
  for (let i = 0; i < owners.length; i++) {
    const name = owners[i].name;
    const node = zone.nodes.get(name)!;
    node.delete(RRType.NSEC);
    const types = cuts.has(name) ? [...node.keys()].filter((t) => t === RRType.NS || t === RRType.DS) : [...node.keys()];
    types.push(RRType.RRSIG, RRType.NSEC);
    const next = owners[(i + 1) % owners.length].name;
    node.set(RRType.NSEC, { name, type: RRType.NSEC, ttl: nsecTtl, rdatas: [{ type: RRType.NSEC, next, types: types.sort((a, b) => a - b) }] });
  }
  zone.nsecChain = { names: owners.map((o) => o.name), keys: owners.map((o) => o.key) };

  const { inception, expiration } = window(opts.now, opts.validity);
  let earliest = Infinity;
  for (const { name } of owners) {
    const node = zone.nodes.get(name)!;
    const atCut = cuts.has(name);
    const sigs = new Map<number, RRset>();
    for (const set of node.values()) {
      // At a delegation only DS and NSEC belong to this zone (RFC 4035 §2.2); the NS set and glue are the child's.
      if (atCut && set.type !== RRType.DS && set.type !== RRType.NSEC) continue;
      const apexKeySet = name === zone.origin && (set.type === RRType.DNSKEY || set.type === RRType.CDS || set.type === RRType.CDNSKEY);
      const keys = apexKeySet ? signing.keySigning : signing.zoneSigning;
      const reused = reusable(prev, set, keys, opts);
      if (reused) {
        sigs.set(set.type, reused);
        stats.reused += reused.rdatas.length;
        for (const r of reused.rdatas) if (r.type === RRType.RRSIG && r.expiration < earliest) earliest = r.expiration;
        continue;
      }
      const rdatas: RData[] = keys.map((k) => signSet(zone.origin, set, k, inception, expiration));
      stats.signed += rdatas.length;
      if (expiration < earliest) earliest = expiration;
      sigs.set(set.type, { name, type: RRType.RRSIG, ttl: set.ttl, rdatas });
    }
    if (sigs.size) zone.sigs.set(name, sigs);
  }
  zone.sigsExpire = earliest === Infinity ? undefined : earliest;
  return stats;
}

/** The previous version's signatures of an identical RRset by the same keys, when not yet due for refresh. */
function reusable(prev: Zone | undefined, set: RRset, keys: SigningKey[], opts: SignOptions): RRset | undefined {
  const old = prev?.sigFor(set.name, set.type);
  if (!old || old.rdatas.length !== keys.length) return undefined;
  for (const r of old.rdatas) {
    if (r.type !== RRType.RRSIG) return undefined;
    if (r.expiration - opts.now < opts.refresh || r.inception > opts.now) return undefined;
    if (!keys.some((k) => k.tag === r.keyTag && k.algorithm === r.algorithm)) return undefined;
  }
  const before = prev!.nodes.get(set.name)?.get(set.type);
  if (!before || setKey(before) !== setKey(set)) return undefined;
  return old;
}

function signSet(signer: string, set: RRset, k: SigningKey, inception: number, expiration: number): RData {
  const fields = {
    type: RRType.RRSIG,
    typeCovered: set.type,
    algorithm: k.algorithm,
    labels: rrsigLabels(set.name),
    originalTtl: set.ttl,
    expiration,
    inception,
    keyTag: k.tag,
    signer,
  } as const;
  const head = Buffer.allocUnsafe(18);
  head.writeUInt16BE(fields.typeCovered, 0);
  head[2] = fields.algorithm;
  head[3] = fields.labels;
  head.writeUInt32BE(fields.originalTtl >>> 0, 4);
  head.writeUInt32BE(expiration >>> 0, 8);
  head.writeUInt32BE(inception >>> 0, 12);
  head.writeUInt16BE(k.tag, 16);
  const signerWire = canonicalSigner(signer);
  const data = Buffer.concat([head, signerWire, canonicalRRsetWire(set, set.name, set.ttl)]);
  return { ...fields, signature: sign(k.algorithm, k.key, data) };
}

const signerWires = new Map<string, Buffer>();
function canonicalSigner(name: string): Buffer {
  let b = signerWires.get(name);
  if (!b) {
    const parts: Buffer[] = [];
    for (const label of name === '' ? [] : name.split('.')) parts.push(Buffer.from([label.length]), Buffer.from(label, 'latin1'));
    parts.push(Buffer.from([0]));
    b = Buffer.concat(parts);
    if (signerWires.size > 100000) signerWires.clear();
    signerWires.set(name, b);
  }
  return b;
}
