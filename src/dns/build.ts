// buildZones: directory entries → authoritative zones. Pure: no I/O, no clock (the default serial is passed in).
//
// Three layouts coexist (design §5):
//  (a) ISPMan 1.4 / bind-sdb dNSZone entries: zoneName + relativeDomainName + aRecord, mXRecord "pref host", …
//      pTRRecord on a forward zone is ISPMan's flag "also publish the reverse"; in a reverse zone it is a PTR.
//  (b) the article's `ou=dnsdata,domain=<d>` entries: cn=soarecords (primary, rootmail, refresh, retry, expire,
//      minimum; ispd keeps the serial in `ispdZoneSerial`), cn=nsrecords/mxrecords/arecords/cnames/txtrecords
//      with comma-separated `record` values.
//  (c) PowerDNS dNSDomain2: associatedDomain + record attributes, all names absolute; the apex carries sOARecord.
// CAA comes from the `cAARecord` attribute (dnsdomain2.schema, OID 1.3.6.1.4.1.2428.20.1.257) in any layout,
// value in presentation form `0 issue "letsencrypt.org"` as PowerDNS stores it.

import type { Entry } from '../directory/types';
import { canonicalName, isValidName, resolveHostTarget, resolveRelative } from './name';
import { canonicalIPv6, parseTtl, parseTxt, validIPv4, validIPv6, ipv6Bytes } from './rdata';
import { RData, RRType, SoaData } from './types';
import { Zone, ZoneLayout, ZoneSet } from './zone';

export interface BuildOptions {
  /** Serial for zones whose data carries none (the article's soarecords before ispd stored one). */
  defaultSerial?: number;
  /** Generate reverse zones from pTRRecord flags (default true; the server does it separately when incremental). */
  reverse?: boolean;
}

export interface BuildReport {
  zones: Zone[];
  warnings: string[];
}

/** Attribute holding the serial ispd owns for layout (b) zones (defined in schema/ispd.schema). */
export const DNSDATA_SERIAL_ATTRIBUTE = 'ispdZoneSerial';

const REVERSE_SOA = { refresh: 10800, retry: 900, expire: 604800, minimum: 86400 };
const REVERSE_TTL = 86400;

type NamePolicy = 'bind' | 'absolute';

interface PendingRecord {
  owner: string;
  ttl?: number;
  rdata: RData;
}

interface PendingZone {
  origin: string;
  layout: ZoneLayout;
  soa?: SoaData;
  soaTtl?: number;
  soaDn?: string;
  soaRank: number;
  storedSerial: boolean;
  records: PendingRecord[];
}

/** ISPMan's pTRRecord flag: publish `address` → `target` in the reverse zone; `zone` is the forward zone. */
export interface PtrFlag {
  address: string;
  target: string;
  zone: string;
}

/** Case-insensitive attribute access: LDAP attribute names arrive in any case. */
class Attrs {
  private readonly map = new Map<string, string[]>();
  constructor(entry: Entry) {
    for (const [k, v] of Object.entries(entry.attributes)) {
      const key = k.toLowerCase();
      const prev = this.map.get(key);
      this.map.set(key, prev ? prev.concat(v) : v);
    }
  }
  all(name: string): string[] {
    return this.map.get(name.toLowerCase()) ?? [];
  }
  first(name: string): string | undefined {
    return this.all(name)[0];
  }
  has(name: string): boolean {
    return this.all(name).length > 0;
  }
  objectClasses(): Set<string> {
    return new Set(this.all('objectClass').map((c) => c.toLowerCase()));
  }
}

/** RDN (attribute, value) pairs of a DN, leftmost first; values in these DNs are domain names, so the split is simple. */
function rdnPairs(dn: string): Array<[string, string]> {
  return dn
    .split(/(?<!\\),/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => {
      const eq = p.indexOf('=');
      return [p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim()] as [string, string];
    });
}

export function buildZones(entries: Entry[], options: BuildOptions = {}): Zone[] {
  return buildZonesReport(entries, options).zones;
}

export function buildZonesReport(entries: Entry[], options: BuildOptions = {}): BuildReport {
  const warnings: string[] = [];
  const pending = new Map<string, PendingZone>();
  const ptrFlags: PtrFlag[] = [];
  const defaultSerial = options.defaultSerial ?? 1;

  const zoneFor = (origin: string, layout: ZoneLayout): PendingZone => {
    let z = pending.get(origin);
    if (!z) {
      z = { origin, layout, soaRank: 99, storedSerial: false, records: [] };
      pending.set(origin, z);
    }
    return z;
  };
  const setSoa = (z: PendingZone, soa: SoaData, ttl: number | undefined, dn: string, rank: number, layout: ZoneLayout, stored: boolean) => {
    if (z.soa && z.soaRank <= rank) {
      warnings.push(`${z.origin}: second SOA in ${dn} ignored`);
      return;
    }
    z.soa = soa;
    z.soaTtl = ttl;
    z.soaDn = dn;
    z.soaRank = rank;
    z.layout = layout;
    z.storedSerial = stored;
  };

  const powerdns: Array<{ entry: Entry; attrs: Attrs }> = [];

  for (const entry of entries) {
    const attrs = new Attrs(entry);
    const classes = attrs.objectClasses();
    if (classes.has('dnszone')) {
      collectDnsZone(entry, attrs, zoneFor, setSoa, ptrFlags, warnings);
    } else if (classes.has('dnsdomain2') || (classes.has('dnsdomain') && attrs.has('associatedDomain'))) {
      powerdns.push({ entry, attrs });
    } else if (classes.has('domainrelatedobject') && isDnsDataEntry(entry, attrs)) {
      collectDnsData(entry, attrs, zoneFor, setSoa, defaultSerial, warnings);
    }
  }
  collectPowerDns(powerdns, pending, zoneFor, setSoa, warnings);

  const zones: Zone[] = [];
  for (const p of pending.values()) {
    if (!p.soa) {
      warnings.push(`${p.origin}: records without an SOA, zone not served`);
      continue;
    }
    if (!isValidName(p.origin)) {
      warnings.push(`${p.origin}: invalid zone name`);
      continue;
    }
    const zone = new Zone(p.origin, { layout: p.layout, soaDn: p.soaDn, storedSerial: p.storedSerial });
    const defaultTtl = p.soaTtl ?? p.soa.minimum;
    zone.add(p.origin, defaultTtl, p.soa);
    for (const r of p.records) {
      if (!isValidName(r.owner) || !(r.owner === p.origin || r.owner.endsWith('.' + p.origin))) {
        warnings.push(`${p.origin}: owner ${r.owner} is outside the zone or invalid, skipped`);
        continue;
      }
      zone.add(r.owner, r.ttl ?? defaultTtl, r.rdata);
    }
    zones.push(zone);
  }
  if (options.reverse !== false) {
    const set = new ZoneSet(zones);
    zones.push(...addReverseZones(set, ptrFlags, warnings, true).generated);
  }
  for (const z of zones) {
    z.finish();
    warnings.push(...z.warnings);
  }
  return { zones, warnings };
}

type ZoneFor = (origin: string, layout: ZoneLayout) => PendingZone;
type SetSoa = (z: PendingZone, soa: SoaData, ttl: number | undefined, dn: string, rank: number, layout: ZoneLayout, stored: boolean) => void;

function isReverseZone(origin: string): boolean {
  return origin.endsWith('in-addr.arpa') || origin.endsWith('ip6.arpa');
}

/** "ns mbox serial refresh retry expire minimum" with BIND time tokens; missing tail fields get BIND-ish defaults. */
export function parseSoa(text: string, origin: string, policy: NamePolicy): SoaData | undefined {
  const f = text.replace(/[()]/g, ' ').trim().split(/\s+/);
  if (f.length < 2) return undefined;
  const name = (s: string) => (policy === 'absolute' ? canonicalName(s) : resolveHostTarget(s, origin));
  const num = (s: string | undefined, dflt: number) => (s === undefined ? dflt : parseTtl(s));
  const serial = f[2] !== undefined && /^\d+$/.test(f[2]) ? Number(f[2]) : f[2] === undefined ? 0 : undefined;
  const refresh = num(f[3], 10800);
  const retry = num(f[4], 3600);
  const expire = num(f[5], 604800);
  const minimum = num(f[6], 3600);
  if (serial === undefined || refresh === undefined || retry === undefined || expire === undefined || minimum === undefined) return undefined;
  return { type: 6, mname: name(f[0]), rname: mailboxName(f[1], origin, policy), serial: serial >>> 0, refresh, retry, expire, minimum };
}

/** SOA RNAME: 'hostmaster.example.com.'; a written e-mail address 'dnsmaster@x.net' is turned into 'dnsmaster.x.net'. */
function mailboxName(text: string, origin: string, policy: NamePolicy): string {
  const t = text.includes('@') ? text.replace('@', '.') : text;
  return policy === 'absolute' ? canonicalName(t) : resolveHostTarget(t, origin);
}

/** Parses one record attribute value; undefined when it is malformed (the caller warns). */
function parseRecord(attr: string, value: string, origin: string, policy: NamePolicy): RData | undefined {
  const rel = (s: string) => (policy === 'absolute' ? canonicalName(s) : resolveRelative(s, origin));
  const host = (s: string) => (policy === 'absolute' ? canonicalName(s) : resolveHostTarget(s, origin));
  const v = value.trim();
  const f = v.split(/\s+/);
  let r: RData | undefined;
  switch (attr) {
    case 'arecord':
      r = validIPv4(v) ? { type: 1, address: v } : undefined;
      break;
    case 'aaaarecord':
      r = validIPv6(v) ? { type: 28, address: canonicalIPv6(v) } : undefined;
      break;
    case 'nsrecord':
      r = f.length === 1 ? { type: 2, host: host(f[0]) } : undefined;
      break;
    case 'cnamerecord':
      r = f.length === 1 ? { type: 5, target: rel(f[0]) } : undefined;
      break;
    case 'ptrrecord':
      r = f.length === 1 ? { type: 12, target: rel(f[0]) } : undefined;
      break;
    case 'mxrecord':
      r = f.length === 2 && /^\d+$/.test(f[0]) ? { type: 15, preference: Number(f[0]) & 0xffff, exchange: host(f[1]) } : undefined;
      break;
    case 'txtrecord':
      r = { type: 16, strings: parseTxt(value) };
      break;
    case 'srvrecord':
      r = f.length === 4 && f.slice(0, 3).every((x) => /^\d+$/.test(x))
        ? { type: 33, priority: Number(f[0]) & 0xffff, weight: Number(f[1]) & 0xffff, port: Number(f[2]) & 0xffff, target: f[3] === '.' ? '' : host(f[3]) }
        : undefined;
      break;
    case 'caarecord': {
      const m = v.match(/^(\d+)\s+([A-Za-z0-9]+)\s+(.*)$/);
      if (m) {
        const raw = m[3].trim();
        const val = raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2 ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
        r = { type: 257, flags: Number(m[1]) & 0xff, tag: m[2].toLowerCase(), value: val };
      }
      break;
    }
    default:
      return undefined;
  }
  if (!r) return undefined;
  for (const n of rdataNames(r)) if (!isValidName(n)) return undefined;
  return r;
}

function rdataNames(r: RData): string[] {
  switch (r.type) {
    case 2: return [r.host];
    case 5: case 12: return [r.target];
    case 15: return [r.exchange];
    case 33: return [r.target];
    case 6: return [r.mname, r.rname];
    default: return [];
  }
}

const RECORD_ATTRIBUTES = ['arecord', 'aaaarecord', 'nsrecord', 'cnamerecord', 'mxrecord', 'txtrecord', 'srvrecord', 'caarecord'];

function entryTtl(attrs: Attrs): number | undefined {
  const t = attrs.first('dNSTTL');
  return t === undefined ? undefined : parseTtl(t);
}

function collectDnsZone(entry: Entry, attrs: Attrs, zoneFor: ZoneFor, setSoa: SetSoa, ptrFlags: PtrFlag[], warnings: string[]): void {
  const zoneName = attrs.first('zoneName');
  if (!zoneName) return;
  const origin = canonicalName(zoneName);
  const z = zoneFor(origin, 'dnszone');
  const ttl = entryTtl(attrs);
  const owners = attrs.all('relativeDomainName').map((o) => resolveRelative(o, origin));
  const reverse = isReverseZone(origin);
  for (const soaText of attrs.all('sOARecord')) {
    const soa = parseSoa(soaText, origin, 'bind');
    if (soa) setSoa(z, soa, ttl, entry.dn, 1, 'dnszone', true);
    else warnings.push(`${entry.dn}: bad sOARecord "${soaText}"`);
  }
  for (const owner of owners) {
    for (const attr of RECORD_ATTRIBUTES) {
      for (const value of attrs.all(attr)) {
        const r = parseRecord(attr, value, origin, 'bind');
        if (r) z.records.push({ owner, ttl, rdata: r });
        else warnings.push(`${entry.dn}: bad ${attr} "${value}"`);
      }
    }
    if (reverse) {
      for (const value of attrs.all('pTRRecord')) {
        const r = parseRecord('ptrrecord', value, origin, 'bind');
        if (r) z.records.push({ owner, ttl, rdata: r });
        else warnings.push(`${entry.dn}: bad pTRRecord "${value}"`);
      }
    }
  }
  if (!reverse) ptrFlags.push(...flagsFromAttrs(attrs, owners, origin));
}

/**
 * ISPMan: pTRRecord on a forward-zone entry carries the address whose reverse should point here; a value that
 * is no address just flags every address of the entry.
 */
function flagsFromAttrs(attrs: Attrs, owners: string[], origin: string): PtrFlag[] {
  const out: PtrFlag[] = [];
  for (const owner of owners) {
    for (const value of attrs.all('pTRRecord')) {
      const v = value.trim();
      const addresses = validIPv4(v) || validIPv6(v) ? [v] : [...attrs.all('aRecord'), ...attrs.all('aAAARecord')];
      for (const address of addresses) out.push({ address: address.trim(), target: owner, zone: origin });
    }
  }
  return out;
}

/** The pTRRecord flags an entry carries (empty for entries of other layouts and of reverse zones). */
export function ptrFlagsOf(entry: Entry): PtrFlag[] {
  const attrs = new Attrs(entry);
  if (!attrs.objectClasses().has('dnszone') || !attrs.has('pTRRecord')) return [];
  const zoneName = attrs.first('zoneName');
  if (!zoneName) return [];
  const origin = canonicalName(zoneName);
  if (isReverseZone(origin)) return [];
  return flagsFromAttrs(attrs, attrs.all('relativeDomainName').map((o) => resolveRelative(o, origin)), origin);
}

/** The generated reverse zone an address falls in (its /24 or /64), or undefined for a bad address. */
export function reverseZoneOfAddress(address: string): string | undefined {
  const owner = reverseName(address);
  return owner ? reverseZoneName(owner) : undefined;
}

const DNSDATA_KINDS = new Set(['soarecords', 'nsrecords', 'mxrecords', 'arecords', 'aaaarecords', 'cnames', 'txtrecords']);

function isDnsDataEntry(entry: Entry, attrs: Attrs): boolean {
  const cn = (attrs.first('cn') ?? '').toLowerCase();
  if (!DNSDATA_KINDS.has(cn)) return false;
  return rdnPairs(entry.dn).some(([a, v]) => a === 'ou' && v.toLowerCase() === 'dnsdata');
}

function dnsDataOrigin(entry: Entry, attrs: Attrs): string | undefined {
  const d = attrs.first('domain') ?? attrs.first('associatedDomain') ?? attrs.first('ispmanDomain');
  if (d) return canonicalName(d);
  const rdn = rdnPairs(entry.dn).find(([a]) => a === 'domain' || a === 'ispmandomain' || a === 'associateddomain');
  return rdn ? canonicalName(rdn[1]) : undefined;
}

function collectDnsData(entry: Entry, attrs: Attrs, zoneFor: ZoneFor, setSoa: SetSoa, defaultSerial: number, warnings: string[]): void {
  const origin = dnsDataOrigin(entry, attrs);
  if (!origin) {
    warnings.push(`${entry.dn}: dnsdata entry without a domain`);
    return;
  }
  const z = zoneFor(origin, 'dnsdata');
  const kind = (attrs.first('cn') ?? '').toLowerCase();
  const ttl = entryTtl(attrs);
  const pick = (name: string) => attrs.first(name) ?? attrs.first('ispman' + name);
  if (kind === 'soarecords') {
    const primary = pick('primary');
    const rootmail = pick('rootmail');
    if (!primary || !rootmail) {
      warnings.push(`${entry.dn}: soarecords without primary/rootmail`);
      return;
    }
    const stored = attrs.first(DNSDATA_SERIAL_ATTRIBUTE);
    const serial = stored !== undefined && /^\d+$/.test(stored.trim()) ? Number(stored.trim()) : undefined;
    const text = [primary, rootmail, String(serial ?? defaultSerial), pick('refresh') ?? '10800', pick('retry') ?? '3600', pick('expire') ?? '604800', pick('minimum') ?? '3600'].join(' ');
    const soa = parseSoa(text, origin, 'bind');
    if (soa) setSoa(z, soa, ttl, entry.dn, 3, 'dnsdata', serial !== undefined);
    else warnings.push(`${entry.dn}: bad soarecords values`);
    return;
  }
  for (const value of [...attrs.all('record'), ...attrs.all('ispmanRecord')]) {
    const parts = value.split(/\s*,\s*/).map((s) => s.trim());
    let owner: string | undefined;
    let r: RData | undefined;
    if (kind === 'nsrecords' && parts.length === 2) {
      owner = resolveRelative(parts[0], origin);
      r = parseRecord('nsrecord', parts[1], origin, 'bind');
    } else if (kind === 'mxrecords' && parts.length === 3) {
      owner = resolveRelative(parts[0], origin);
      r = parseRecord('mxrecord', `${parts[1]} ${parts[2]}`, origin, 'bind');
    } else if ((kind === 'arecords' || kind === 'aaaarecords') && parts.length === 2) {
      owner = resolveRelative(parts[0], origin);
      r = parseRecord(validIPv6(parts[1]) ? 'aaaarecord' : 'arecord', parts[1], origin, 'bind');
    } else if (kind === 'cnames' && parts.length === 2) {
      owner = resolveRelative(parts[0], origin);
      r = parseRecord('cnamerecord', parts[1], origin, 'bind');
    } else if (kind === 'txtrecords' && parts.length >= 2) {
      owner = resolveRelative(parts[0], origin);
      r = parseRecord('txtrecord', value.slice(value.indexOf(',') + 1).trim(), origin, 'bind');
    }
    if (owner !== undefined && r) z.records.push({ owner, ttl, rdata: r });
    else warnings.push(`${entry.dn}: bad record "${value}"`);
  }
}

function collectPowerDns(
  items: Array<{ entry: Entry; attrs: Attrs }>,
  pending: Map<string, PendingZone>,
  zoneFor: ZoneFor,
  setSoa: SetSoa,
  warnings: string[],
): void {
  // First the apexes (entries with an SOA), then every other name goes to its longest hosted suffix.
  for (const { entry, attrs } of items) {
    for (const soaText of attrs.all('sOARecord')) {
      for (const d of attrs.all('associatedDomain')) {
        const origin = canonicalName(d);
        const soa = parseSoa(soaText, origin, 'absolute');
        if (soa) setSoa(zoneFor(origin, 'dnsdomain2'), soa, entryTtl(attrs), entry.dn, 2, 'dnsdomain2', true);
        else warnings.push(`${entry.dn}: bad sOARecord "${soaText}"`);
      }
    }
  }
  const origins = new ZoneSet();
  for (const p of pending.values()) if (p.soa) origins.byOrigin.set(p.origin, new Zone(p.origin, { layout: p.layout, storedSerial: true }));
  for (const { entry, attrs } of items) {
    const ttl = entryTtl(attrs);
    for (const d of attrs.all('associatedDomain')) {
      const owner = canonicalName(d);
      const zone = origins.find(owner);
      if (!zone) {
        warnings.push(`${entry.dn}: ${owner} is in no zone with an SOA`);
        continue;
      }
      const z = pending.get(zone.origin)!;
      for (const attr of [...RECORD_ATTRIBUTES, 'ptrrecord']) {
        for (const value of attrs.all(attr)) {
          const r = parseRecord(attr, value, zone.origin, 'absolute');
          if (r) z.records.push({ owner, ttl, rdata: r });
          else warnings.push(`${entry.dn}: bad ${attr} "${value}"`);
        }
      }
    }
  }
}

/** The reverse owner name of an address: 4.3.2.1.in-addr.arpa, or 32 nibbles under ip6.arpa. */
export function reverseName(address: string): string | undefined {
  if (validIPv4(address)) return address.split('.').reverse().join('.') + '.in-addr.arpa';
  if (!validIPv6(address)) return undefined;
  const nibbles: string[] = [];
  for (const b of ipv6Bytes(address)) nibbles.push((b >> 4).toString(16), (b & 15).toString(16));
  return nibbles.reverse().join('.') + '.ip6.arpa';
}

/** The generated reverse zone for an address: its /24 (as ISPMan made them) or, for IPv6, its /64. */
function reverseZoneName(owner: string): string {
  if (owner.endsWith('.in-addr.arpa')) return owner.slice(owner.indexOf('.') + 1);
  return owner.split('.').slice(16).join('.');
}

/**
 * Reverse data from pTRRecord flags, as ISPMan generated it: one zone per /24 (per /64 for IPv6) with the SOA
 * and NS of the first contributing forward zone (in a fixed order, so partial and full builds agree), or PTRs
 * added to a reverse zone the directory hosts itself. With `mayAddToHosted` false nothing is added to hosted
 * zones and `hostedHit` says that it would have been needed (the caller then rebuilds everything).
 */
export function addReverseZones(
  forward: ZoneSet,
  flags: PtrFlag[],
  warnings: string[],
  mayAddToHosted: boolean,
): { generated: Zone[]; hostedHit: boolean } {
  const generated = new Map<string, Zone>();
  let hostedHit = false;
  const sorted = [...flags].sort((a, b) => (a.zone < b.zone ? -1 : a.zone > b.zone ? 1 : a.address < b.address ? -1 : a.address > b.address ? 1 : a.target < b.target ? -1 : 1));
  for (const flag of sorted) {
    const owner = reverseName(flag.address);
    const source = forward.get(flag.zone);
    if (!owner || !source || source.source.layout === 'reverse') {
      if (!owner) warnings.push(`${flag.zone}: pTRRecord flag with bad address ${flag.address}`);
      continue;
    }
    const rdata: RData = { type: 12, target: flag.target };
    const origin = reverseZoneName(owner);
    const hosted = forward.find(owner);
    if (hosted && hosted.source.layout !== 'reverse' && !generated.has(origin)) {
      hostedHit = true;
      if (mayAddToHosted) hosted.add(owner, REVERSE_TTL, rdata);
      continue;
    }
    let zone = generated.get(origin);
    const sourceSoa = source.soa;
    if (!zone) {
      zone = new Zone(origin, { layout: 'reverse', storedSerial: true });
      zone.add(origin, REVERSE_TTL, { ...REVERSE_SOA, type: 6, mname: sourceSoa.mname, rname: sourceSoa.rname, serial: sourceSoa.serial });
      const ns = source.nodes.get(source.origin)?.get(RRType.NS);
      for (const r of ns?.rdatas ?? [{ type: 2 as const, host: sourceSoa.mname }]) zone.add(origin, REVERSE_TTL, r);
      generated.set(origin, zone);
    } else if (sourceSoa.serial > zone.serial) {
      // The reverse zone changes whenever a contributing zone does: follow the highest contributing serial.
      zone.setSerial(sourceSoa.serial);
    }
    zone.add(owner, REVERSE_TTL, rdata);
  }
  const zones = [...generated.values()];
  for (const z of zones) z.finish();
  return { generated: zones, hostedHit };
}

/** What a single entry means for DNS, without the rest of the data (used by the serial hook and the server). */
export interface EntryZoneInfo {
  layout: 'dnszone' | 'dnsdata' | 'dnsdomain2';
  /** The zone named by the entry itself (dnszone: zoneName; dnsdata: domain). For dnsdomain2: the owner names. */
  names: string[];
  /** Whether the entry carries the zone's SOA. */
  isSoa: boolean;
  /** The serial the entry carries, when it carries one. */
  serial?: number;
}

export function classifyEntry(entry: Entry): EntryZoneInfo | undefined {
  const attrs = new Attrs(entry);
  const classes = attrs.objectClasses();
  if (classes.has('dnszone')) {
    const zoneName = attrs.first('zoneName');
    if (!zoneName) return undefined;
    const soa = attrs.first('sOARecord');
    return { layout: 'dnszone', names: [canonicalName(zoneName)], isSoa: soa !== undefined, serial: soa ? soaSerialOf(soa) : undefined };
  }
  if (classes.has('dnsdomain2') || (classes.has('dnsdomain') && attrs.has('associatedDomain'))) {
    const soa = attrs.first('sOARecord');
    return { layout: 'dnsdomain2', names: attrs.all('associatedDomain').map(canonicalName), isSoa: soa !== undefined, serial: soa ? soaSerialOf(soa) : undefined };
  }
  if (classes.has('domainrelatedobject') && isDnsDataEntry(entry, attrs)) {
    const origin = dnsDataOrigin(entry, attrs);
    if (!origin) return undefined;
    const isSoa = (attrs.first('cn') ?? '').toLowerCase() === 'soarecords';
    const stored = attrs.first(DNSDATA_SERIAL_ATTRIBUTE);
    return { layout: 'dnsdata', names: [origin], isSoa, serial: isSoa && stored && /^\d+$/.test(stored.trim()) ? Number(stored.trim()) : undefined };
  }
  return undefined;
}

/** Whether an entry can contribute to any zone (cheap pre-filter for loading and the change log). */
export function isZoneEntry(entry: Entry): boolean {
  return classifyEntry(entry) !== undefined;
}

function soaSerialOf(text: string): number | undefined {
  const f = text.replace(/[()]/g, ' ').trim().split(/\s+/);
  return f[2] !== undefined && /^\d+$/.test(f[2]) ? Number(f[2]) : undefined;
}
