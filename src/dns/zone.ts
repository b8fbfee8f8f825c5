// An in-memory authoritative zone: owner → type → RRset, plus the empty non-terminals implied by deeper names.

import { isSubdomain, parentName } from './name';
import { rdataKey } from './rdata';
import type { ZoneSigning } from './dnssec/zone-keys';
import { RData, RRset, RRType, SoaData } from './types';

/** Where a zone's data came from; serial.ts uses it to find the entry that carries the SOA. */
export type ZoneLayout = 'dnszone' | 'dnsdata' | 'dnsdomain2' | 'reverse';

export interface ZoneSource {
  layout: ZoneLayout;
  /** DN of the directory entry holding the SOA (reverse zones have none). */
  soaDn?: string;
  /** Whether the directory data carried a serial (the article's cn=soarecords has none until ispd stores one). */
  storedSerial: boolean;
}

export class Zone {
  readonly origin: string;
  readonly nodes = new Map<string, Map<number, RRset>>();
  /** Names that exist only because something exists below them (RFC 4592 §2.2.2): NODATA, not NXDOMAIN. */
  readonly emptyNonTerminals = new Set<string>();
  source: ZoneSource;
  warnings: string[] = [];
  /** DNSSEC keys to sign with (dnssec/zone-keys.ts attaches them; the engine signs once the serial is settled). */
  dnssec?: ZoneSigning;
  /** RRSIG RRsets by owner and covered type (dnssec/signer.ts); empty for an unsigned zone. */
  readonly sigs = new Map<string, Map<number, RRset>>();
  /** NSEC owners in canonical order with their canonical keys (denial proofs find covering NSECs by bisection). */
  nsecChain?: { names: string[]; keys: string[] };
  /** Earliest RRSIG expiration (seconds since the epoch): the signatures are refreshed before it. */
  sigsExpire?: number;

  constructor(origin: string, source: ZoneSource) {
    this.origin = origin;
    this.source = source;
  }

  get soaSet(): RRset {
    const s = this.nodes.get(this.origin)?.get(RRType.SOA);
    if (!s) throw new Error(`zone ${this.origin} has no SOA`);
    return s;
  }

  get soa(): SoaData {
    return this.soaSet.rdatas[0] as SoaData;
  }

  get serial(): number {
    return this.soa.serial;
  }

  /** Replaces the SOA serial (the server raises it when content changed without a stored serial change). */
  setSerial(serial: number): void {
    const set = this.soaSet;
    set.rdatas = [{ ...this.soa, serial: serial >>> 0 }];
  }

  /** Adds one record; duplicates are ignored and the RRset keeps the smallest TTL. */
  add(owner: string, ttl: number, rdata: RData): void {
    let node = this.nodes.get(owner);
    if (!node) {
      node = new Map();
      this.nodes.set(owner, node);
    }
    const set = node.get(rdata.type);
    if (!set) {
      node.set(rdata.type, { name: owner, type: rdata.type, ttl, rdatas: [rdata] });
      return;
    }
    if (rdata.type === RRType.SOA) return; // one SOA per zone: the first one given wins
    const key = rdataKey(rdata);
    if (set.rdatas.some((r) => rdataKey(r) === key)) return;
    set.rdatas.push(rdata);
    if (ttl < set.ttl) set.ttl = ttl;
  }

  /** Call after all add()s: fixes conflicts and computes empty non-terminals. */
  finish(): void {
    for (const [owner, node] of this.nodes) {
      const cname = node.get(RRType.CNAME);
      if (cname && (node.size > 1 || owner === this.origin)) {
        // RFC 1034 §3.6.2: a CNAME owner has no other data. Keep the other data: it is what mail and the
        // zone apex need; the conflicting alias is reported.
        node.delete(RRType.CNAME);
        this.warnings.push(`${owner}: CNAME next to other data dropped`);
        if (node.size === 0) this.nodes.delete(owner);
      } else if (cname && cname.rdatas.length > 1) {
        cname.rdatas = [cname.rdatas[0]];
        this.warnings.push(`${owner}: more than one CNAME, the first kept`);
      }
    }
    this.emptyNonTerminals.clear();
    for (const owner of this.nodes.keys()) {
      let p = owner;
      while (p !== this.origin && isSubdomain(p, this.origin)) {
        p = parentName(p);
        if (p === this.origin || this.nodes.has(p)) break;
        this.emptyNonTerminals.add(p);
      }
    }
  }

  get signed(): boolean {
    return this.sigs.size > 0;
  }

  sigFor(owner: string, type: number): RRset | undefined {
    return this.sigs.get(owner)?.get(type);
  }

  /** A copy to build the next version from (RRsets copied, NSEC and signatures left for the signer to redo). */
  clone(): Zone {
    const z = new Zone(this.origin, this.source);
    for (const [owner, node] of this.nodes) {
      const copy = new Map<number, RRset>();
      for (const [type, set] of node) if (type !== RRType.NSEC) copy.set(type, { ...set, rdatas: [...set.rdatas] });
      z.nodes.set(owner, copy);
    }
    for (const n of this.emptyNonTerminals) z.emptyNonTerminals.add(n);
    z.warnings = this.warnings;
    z.dnssec = this.dnssec;
    return z;
  }

  nameExists(name: string): boolean {
    return this.nodes.has(name) || this.emptyNonTerminals.has(name);
  }

  /** Every RRset, SOA first (the order AXFR and master files want), each followed by its RRSIGs when signed. */
  *rrsets(withSignatures = true): Iterable<RRset> {
    const signed = withSignatures && this.sigs.size > 0;
    yield this.soaSet;
    if (signed) {
      const s = this.sigFor(this.origin, RRType.SOA);
      if (s) yield s;
    }
    for (const [owner, node] of this.nodes) {
      for (const set of node.values()) {
        if (set.type === RRType.SOA) continue;
        if (!withSignatures && set.type === RRType.NSEC) continue;
        yield set;
        if (signed) {
          const s = this.sigFor(owner, set.type);
          if (s) yield s;
        }
      }
    }
  }

  recordCount(): number {
    let n = 0;
    for (const node of this.nodes.values()) for (const set of node.values()) n += set.rdatas.length;
    return n;
  }
}

/** The zones ispd answers for, found by longest suffix. */
export class ZoneSet {
  readonly byOrigin = new Map<string, Zone>();

  constructor(zones: Iterable<Zone> = []) {
    for (const z of zones) this.byOrigin.set(z.origin, z);
  }

  /** The most specific hosted zone containing `name`, or undefined (→ REFUSED). */
  find(name: string): Zone | undefined {
    let n = name;
    for (;;) {
      const z = this.byOrigin.get(n);
      if (z) return z;
      if (n === '') return undefined;
      n = parentName(n);
    }
  }

  get(origin: string): Zone | undefined {
    return this.byOrigin.get(origin);
  }

  all(): Zone[] {
    return [...this.byOrigin.values()];
  }
}
