// RFC 4034 §6: canonical name order (for the NSEC chain) and the canonical form of an RRset (what an RRSIG
// signs). Names inside ispd are already lower-case and absolute (types.ts), so canonical form is "uncompressed".

import { writeRdata } from '../rdata';
import type { RData, RRset } from '../types';
import { WireWriter } from '../wire';

/**
 * A string whose JavaScript order is the canonical order of the name (RFC 4034 §6.1): labels from the root
 * down, each closed by \x00 so that a label sorts before its own extensions and a name before its children.
 * Names are latin1 strings (one character per octet), so code-unit order is octet order.
 */
export function canonicalKey(name: string): string {
  if (name === '') return '';
  const labels = name.split('.');
  let out = '';
  for (let i = labels.length - 1; i >= 0; i--) out += labels[i] + '\x00';
  return out;
}

export function compareCanonical(a: string, b: string): number {
  const ka = canonicalKey(a);
  const kb = canonicalKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Label count for the RRSIG Labels field (RFC 4034 §3.1.3): the root and a leading '*' are not counted. */
export function rrsigLabels(owner: string): number {
  if (owner === '') return 0;
  const n = owner.split('.').length;
  return owner.startsWith('*.') || owner === '*' ? n - 1 : n;
}

/** Name in canonical wire form: uncompressed labels (already lower case). */
export function nameWire(name: string): Buffer {
  const w = new WireWriter(name.length + 2);
  w.name(name, false);
  return w.toBuffer();
}

/** RDATA in canonical wire form: no compression, names lower case (RFC 4034 §6.2). */
export function rdataWire(r: RData): Buffer {
  // Canonical: no compression at all, also not of the SOA's RNAME against its MNAME.
  const w = new WireWriter(64, true);
  writeRdata(w, r);
  return w.toBuffer();
}

/**
 * The signed data of one RRset after the RRSIG RDATA fields (RFC 4034 §3.1.8.1): every RR as
 * owner | type | class | original TTL | RDLENGTH | RDATA, in canonical RDATA order, duplicates removed.
 */
export function canonicalRRsetWire(set: RRset, owner: string, originalTtl: number): Buffer {
  const ownerWire = nameWire(owner);
  const rdatas = [...new Map(set.rdatas.map((r) => { const b = rdataWire(r); return [b.toString('latin1'), b] as const; })).values()];
  rdatas.sort(Buffer.compare);
  const parts: Buffer[] = [];
  for (const rd of rdatas) {
    const head = Buffer.allocUnsafe(10);
    head.writeUInt16BE(set.type, 0);
    head.writeUInt16BE(1, 2);
    head.writeUInt32BE(originalTtl >>> 0, 4);
    head.writeUInt16BE(rd.length, 8);
    parts.push(ownerWire, head, rd);
  }
  return Buffer.concat(parts);
}
