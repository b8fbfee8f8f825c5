// The directory's DNSSEC entries (schema/ispd.schema, "DNSSEC") read into typed per-zone configurations:
//   ispdDnssecZone=<zone>,ou=dnssec,<base>                        objectClass ispdDnssecZoneConfig: the switch
//   ispdDnssecKeyId=<id>,ispdDnssecZone=<zone>,ou=dnssec,<base>   objectClass ispdDnssecKey: one key pair
// Nothing here touches the store: the DNS server hands in the entries it follows, the CLI the ones it read.

import type { Entry } from '../../directory/types';
import { canonicalName } from '../name';
import type { AlgorithmNumber } from './keys';

export const DNSSEC_CONTAINER_RDN = 'ou=dnssec';
export const ZONE_CLASS = 'ispdDnssecZoneConfig';
export const KEY_CLASS = 'ispdDnssecKey';
/** The secret attribute: admins only (src/acl), withheld from `ispd export` unless asked. */
export const PRIVATE_KEY_ATTRIBUTE = 'ispdDnssecPrivateKey';

/**
 * Key states. ZSK: published (in the DNSKEY set, not signing: pre-publish) → active → retired (published, no
 * longer signing, until its signatures have expired from caches) → deleted. KSK: standby (not in DNSKEY; its
 * DS is printed and published as CDS so the parent can hold both DS: double-DS) → active → deleted.
 */
export type KeyState = 'published' | 'active' | 'retired' | 'standby';
const STATES = new Set<KeyState>(['published', 'active', 'retired', 'standby']);

export interface DnssecKeyRecord {
  dn: string;
  id: string;
  zone: string;
  ksk: boolean;
  algorithm: AlgorithmNumber;
  publicKey: Buffer;
  /** Absent when the reader may not see it (the CLI over LDAP) or the entry lacks it. */
  privateKey?: Buffer;
  state: KeyState;
  changed?: Date;
}

export interface ZoneDnssecConfig {
  zone: string;
  dn?: string;
  enabled: boolean;
  algorithm: AlgorithmNumber;
  keys: DnssecKeyRecord[];
}

function get(entry: Entry, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(entry.attributes)) if (k.toLowerCase() === lower) return v[0];
  return undefined;
}

function hasClass(entry: Entry, cls: string): boolean {
  const lower = cls.toLowerCase();
  for (const [k, v] of Object.entries(entry.attributes)) if (k.toLowerCase() === 'objectclass') return v.some((c) => c.toLowerCase() === lower);
  return false;
}

/** The zone a DNSSEC entry belongs to, or undefined when the entry is not one (the DNS server's classifier). */
export function dnssecEntryZone(entry: Entry): string | undefined {
  if (!hasClass(entry, ZONE_CLASS) && !hasClass(entry, KEY_CLASS)) return undefined;
  const zone = get(entry, 'ispdDnssecZone');
  return zone === undefined ? undefined : canonicalName(zone);
}

/** Generalized time (YYYYMMDDHHMMSSZ) ↔ Date. */
export function generalizedTime(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
}

export function parseGeneralized(text: string | undefined): Date | undefined {
  const m = text ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})?(\d{2})?/.exec(text) : null;
  if (!m) return undefined;
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +(m[5] ?? 0), +(m[6] ?? 0)));
}

function algorithmOf(text: string | undefined): AlgorithmNumber {
  return text === '15' ? 15 : 13;
}

/** Per-zone configurations from any mix of entries (non-DNSSEC entries are skipped); problems go to `warn`. */
export function readDnssecConfigs(entries: Iterable<Entry>, warn: (w: string) => void = () => undefined): Map<string, ZoneDnssecConfig> {
  const out = new Map<string, ZoneDnssecConfig>();
  const keys: DnssecKeyRecord[] = [];
  for (const e of entries) {
    const zone = dnssecEntryZone(e);
    if (zone === undefined) continue;
    if (hasClass(e, ZONE_CLASS)) {
      const prev = out.get(zone);
      out.set(zone, { zone, dn: e.dn, enabled: (get(e, 'ispdDnssecEnabled') ?? 'FALSE').toUpperCase() === 'TRUE', algorithm: algorithmOf(get(e, 'ispdDnssecAlgorithm')), keys: prev?.keys ?? [] });
      continue;
    }
    const state = (get(e, 'ispdDnssecKeyState') ?? '').toLowerCase() as KeyState;
    const publicKey = Buffer.from(get(e, 'ispdDnssecPublicKey') ?? '', 'base64');
    const flags = Number(get(e, 'ispdDnssecKeyFlags'));
    if (!STATES.has(state) || publicKey.length === 0 || (flags !== 256 && flags !== 257)) {
      warn(`${e.dn}: DNSSEC key entry with a bad state, flags or public key ignored`);
      continue;
    }
    const priv = get(e, PRIVATE_KEY_ATTRIBUTE);
    keys.push({
      dn: e.dn,
      id: get(e, 'ispdDnssecKeyId') ?? e.dn,
      zone,
      ksk: flags === 257,
      algorithm: algorithmOf(get(e, 'ispdDnssecAlgorithm')),
      publicKey,
      privateKey: priv ? Buffer.from(priv, 'base64') : undefined,
      state,
      changed: parseGeneralized(get(e, 'ispdDnssecKeyChanged')),
    });
  }
  for (const k of keys) {
    let c = out.get(k.zone);
    if (!c) out.set(k.zone, (c = { zone: k.zone, enabled: false, algorithm: k.algorithm, keys: [] }));
    c.keys.push(k);
  }
  for (const c of out.values()) c.keys.sort((a, b) => a.id.localeCompare(b.id));
  return out;
}
