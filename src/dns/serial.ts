// SOA serials: ispd owns them. Every write that changes a zone's data raises that zone's serial in the same
// backend transaction, ISPMan's YYYYMMDDnn by default (DNSMan/SOArecords.pm updateSOASerial) or a counter.
//
// Where the serial lives, per layout:
//  - dnszone (ISPMan 1.4) and dnsdomain2 (PowerDNS): the third field of the sOARecord value, rewritten in place
//    (other fields kept as written, BIND time tokens included).
//  - dnsdata (the article's cn=soarecords, which has no serial): the ispd-owned attribute `ispdZoneSerial`
//    on the cn=soarecords entry (schema/ispd.schema), added on the first change.

import type { AttributeMap, Backend, StoredEntry, WriteTransaction } from '../../backends/types';
import { classifyEntry, DNSDATA_SERIAL_ATTRIBUTE, EntryZoneInfo } from './build';
import { canonicalName, isSubdomain } from './name';

export type SerialFormat = 'date' | 'counter';

/** The next serial after `current`: never lower, always different (RFC 1982 arithmetic is not needed below 2^31 steps). */
export function nextSerial(current: number, format: SerialFormat = 'date', now: Date = new Date()): number {
  if (format === 'counter') return (current + 1) >>> 0 || 1;
  const today = now.getUTCFullYear() * 1000000 + (now.getUTCMonth() + 1) * 10000 + now.getUTCDate() * 100;
  if (current < today) return today + 1;
  return (current + 1) >>> 0 || 1;
}

/** The serial for a zone that has never had one. */
export function initialSerial(format: SerialFormat = 'date', now: Date = new Date()): number {
  return format === 'counter' ? 1 : nextSerial(0, 'date', now);
}

/** An entry as the write path sees it; backends' StoredEntry fits. */
export interface HookEntry {
  dn: string;
  dnNorm: string;
  attrs: AttributeMap;
}

export interface SerialChange {
  /** The entry before the write (undefined for add). */
  before?: HookEntry;
  /** The entry after the write (undefined for delete). */
  after?: HookEntry;
}

export interface SerialHookDeps {
  /** Reads inside the open transaction (SQLite: same connection, so it sees this transaction's writes). */
  backend: Pick<Backend, 'search' | 'getByDnNorm'>;
  tx: WriteTransaction;
  /** Writes new attributes to an entry inside the transaction, with the directory's index terms. */
  update(entry: StoredEntry, attrs: AttributeMap): void;
  format?: SerialFormat;
  now?: Date;
  /**
   * Whether the schema defines an attribute (dnsdata zones need `ispdZoneSerial`). When it does not, the
   * serial of such zones is not stored and the DNS server raises it in memory when their data changes.
   */
  schemaHas?(attribute: string): boolean;
}

export interface SerialBump {
  zone: string;
  dn: string;
  from: number | undefined;
  to: number;
}

/**
 * Call inside the backend write transaction after the data change was applied, with every entry the
 * operation added, modified, renamed or deleted. Raises the serial of each zone whose data changed, once per
 * zone and transaction. Returns what it did (for logs and tests).
 */
export function serialHook(changes: readonly SerialChange[], deps: SerialHookDeps): SerialBump[] {
  const zones = new Map<string, { layout: EntryZoneInfo['layout']; near: HookEntry }>();
  const explicit = new Set<string>();
  /** Serials a write tried to lower: the new serial goes above the old one (serials never go down). */
  const floors = new Map<string, number>();
  for (const change of changes) {
    const before = change.before ? classifyEntry({ dn: change.before.dn, attributes: change.before.attrs }) : undefined;
    const after = change.after ? classifyEntry({ dn: change.after.dn, attributes: change.after.attrs }) : undefined;
    if (!before && !after) continue;
    // A write to the SOA entry that set the serial itself (ISPMan's touchSOA, an operator) is respected if it
    // went up; adding or deleting the SOA entry creates or removes the zone: nothing to raise then.
    if (before?.isSoa || after?.isSoa) {
      if (!before?.isSoa || !after?.isSoa) {
        for (const n of (after ?? before)!.names) explicit.add(n);
        continue;
      }
      if (before.serial !== undefined && after.serial !== undefined && after.serial > before.serial) {
        for (const n of after.names) explicit.add(n);
        continue;
      }
      if (before.serial !== undefined) for (const n of after.names) floors.set(n, before.serial);
    }
    for (const info of [before, after]) {
      if (!info) continue;
      const near = (info === after ? change.after : change.before)!;
      for (const name of info.names) if (!zones.has(name)) zones.set(name, { layout: info.layout, near });
    }
  }
  const bumps: SerialBump[] = [];
  const done = new Set<string>();
  for (const [name, { layout, near }] of zones) {
    // A zone whose SOA this transaction wrote (created, deleted, set by hand) is not searched for at all.
    if (explicit.has(name)) continue;
    const soaEntry = findSoaEntry(layout, name, near, deps);
    if (!soaEntry) continue;
    const key = soaEntry.dnNorm;
    if (done.has(key)) continue;
    done.add(key);
    const info = classifyEntry({ dn: soaEntry.dn, attributes: soaEntry.attrs });
    if (!info) continue;
    if (info.names.some((n) => explicit.has(n))) continue;
    const floor = Math.max(...info.names.map((n) => floors.get(n) ?? 0));
    const bump = raiseSerial(soaEntry, info, deps, floor);
    if (bump) bumps.push(bump);
  }
  return bumps;
}

function raiseSerial(entry: StoredEntry, info: EntryZoneInfo, deps: SerialHookDeps, floor: number): SerialBump | undefined {
  const format = deps.format ?? 'date';
  const now = deps.now ?? new Date();
  const attrs: AttributeMap = {};
  for (const [k, v] of Object.entries(entry.attrs)) attrs[k] = [...v];
  const zone = info.names[0];
  if (info.layout === 'dnsdata') {
    if (deps.schemaHas && !deps.schemaHas(DNSDATA_SERIAL_ATTRIBUTE)) return undefined;
    const key = Object.keys(attrs).find((k) => k.toLowerCase() === DNSDATA_SERIAL_ATTRIBUTE.toLowerCase()) ?? DNSDATA_SERIAL_ATTRIBUTE;
    const to = info.serial === undefined && floor === 0 ? initialSerial(format, now) : nextSerial(Math.max(info.serial ?? 0, floor), format, now);
    attrs[key] = [String(to)];
    deps.update(entry, attrs);
    return { zone, dn: entry.dn, from: info.serial, to };
  }
  const key = Object.keys(attrs).find((k) => k.toLowerCase() === 'soarecord');
  if (!key) return undefined;
  const text = attrs[key][0];
  const fields = text.trim().split(/\s+/);
  if (fields.length < 3 || !/^\d+$/.test(fields[2])) return undefined;
  const from = Number(fields[2]);
  const to = nextSerial(Math.max(from, floor), format, now);
  // Rewrite only the serial token, keeping the operator's spelling of the rest.
  let seen = 0;
  attrs[key] = [text.replace(/\S+/g, (tok) => (seen++ === 2 ? String(to) : tok)), ...attrs[key].slice(1)];
  deps.update(entry, attrs);
  return { zone, dn: entry.dn, from, to };
}

/** Parent of a normalized DN: everything after the first unescaped comma. */
export function parentDnNorm(dnNorm: string): string | undefined {
  for (let i = 0; i < dnNorm.length; i++) {
    if (dnNorm[i] === '\\') {
      i++;
      continue;
    }
    if (dnNorm[i] === ',') return dnNorm.slice(i + 1).trim();
  }
  return undefined;
}

/** How many rows one ancestor's subtree may have before the search for the SOA entry gives up climbing. */
const SOA_SEARCH_LIMIT = 5000;
const SOA_SEARCH_LEVELS = 5;

function findSoaEntry(layout: EntryZoneInfo['layout'], name: string, near: HookEntry, deps: SerialHookDeps): StoredEntry | undefined {
  if (layout === 'dnsdata') {
    // The article's layout: cn=soarecords is a sibling of cn=arecords etc. under ou=dnsdata.
    const parent = parentDnNorm(near.dnNorm);
    if (parent === undefined) return undefined;
    const own = deps.tx.getByDnNorm(near.dnNorm);
    if (own && classifyEntry({ dn: own.dn, attributes: own.attrs })?.isSoa) return own;
    for (const candidate of ['cn=soarecords,' + parent]) {
      const e = deps.tx.getByDnNorm(candidate);
      if (e) return e;
    }
    return searchUp(near.dnNorm, deps, (info) => info.layout === 'dnsdata' && info.isSoa && info.names.includes(name));
  }
  if (layout === 'dnszone') {
    return searchUp(near.dnNorm, deps, (info) => info.layout === 'dnszone' && info.isSoa && info.names[0] === name);
  }
  // PowerDNS: the apex is the entry with an SOA whose associatedDomain is the longest suffix of the name.
  let best: StoredEntry | undefined;
  let bestLen = -1;
  searchUp(near.dnNorm, deps, (info, e) => {
    if (info.layout !== 'dnsdomain2' || !info.isSoa) return false;
    for (const apex of info.names) {
      if (isSubdomain(canonicalName(name), apex) && apex.length > bestLen) {
        best = e;
        bestLen = apex.length;
      }
    }
    return false;
  });
  return best;
}

/** Climbs from the entry's parent, searching each ancestor's subtree (bounded) for the SOA-carrying entry. */
function searchUp(
  dnNorm: string,
  deps: SerialHookDeps,
  match: (info: EntryZoneInfo, e: StoredEntry) => boolean,
): StoredEntry | undefined {
  let current: string | undefined = dnNorm;
  for (let level = 0; level < SOA_SEARCH_LEVELS && current !== undefined; level++) {
    const base = deps.tx.getByDnNorm(current);
    if (base) {
      let rows = 0;
      for (const e of deps.backend.search({ base, scope: 'sub', candidates: { kind: 'all' }, limit: SOA_SEARCH_LIMIT + 1 })) {
        if (++rows > SOA_SEARCH_LIMIT) return undefined;
        const info = classifyEntry({ dn: e.dn, attributes: e.attrs });
        if (info && match(info, e)) return e;
      }
    }
    current = parentDnNorm(current);
  }
  return undefined;
}

/** What installSerialHook needs of the directory (DirectoryService fits). */
export interface HookableDirectory {
  readonly backend: Pick<Backend, 'search' | 'getByDnNorm'>;
  readonly schema?: { attributeType(name: string): unknown };
  addWriteHook(hook: (tx: WriteTransaction, changes: ReadonlyArray<{ kind: string; before?: StoredEntry; after?: StoredEntry }>) => void): void;
  indexTerms(attrs: AttributeMap): import('../../backends/types').IndexTerm[];
}

type SerialHookOptions = { format?: SerialFormat; onBump?(b: SerialBump): void };
const hooked = new WeakMap<object, SerialHookOptions>();

/**
 * Registers the serial bump as a write hook of the directory (once per directory): every add, modify,
 * delete and rename that touches zone data raises that zone's serial inside the same transaction. Installing
 * again on the same directory only replaces the options (the serial format, the bump callback).
 */
export function installSerialHook(directory: HookableDirectory, options: SerialHookOptions = {}): void {
  const installed = hooked.has(directory);
  hooked.set(directory, options);
  if (installed) return;
  directory.addWriteHook((tx, changes) => {
    const current = hooked.get(directory) ?? {};
    const bumps = serialHook(changes, {
      backend: directory.backend,
      tx,
      update: (entry, attrs) => tx.update({ id: entry.id, attrs, index: directory.indexTerms(attrs) }),
      format: current.format,
      schemaHas: directory.schema ? (name) => directory.schema!.attributeType(name) !== undefined : undefined,
    });
    for (const b of bumps) current.onBump?.(b);
  });
}
