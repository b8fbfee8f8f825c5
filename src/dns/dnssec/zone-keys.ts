// From a zone's DNSSEC configuration (model.ts) to what the signer needs: the keys that sign, and the DNSKEY,
// CDS and CDNSKEY RRsets published at the apex (added to the zone before the engine compares it with the
// version it serves, so that a key change is a content change and raises the serial).

import type { KeyObject } from 'node:crypto';
import type { RData } from '../types';
import { RRType } from '../types';
import type { Zone } from '../zone';
import { AlgorithmNumber, dnskeyRdata, dsRdata, keyTag, KSK_FLAGS, privateKeyObject, ZSK_FLAGS } from './keys';
import type { Entry } from '../../directory/types';
import { readDnssecConfigs, type ZoneDnssecConfig } from './model';

export interface SigningKey {
  tag: number;
  algorithm: AlgorithmNumber;
  ksk: boolean;
  key: KeyObject;
}

export interface ZoneSigning {
  /** Keys that sign the DNSKEY, CDS and CDNSKEY RRsets. */
  keySigning: SigningKey[];
  /** Keys that sign everything else. */
  zoneSigning: SigningKey[];
}

/** Parsed private keys by their stored text: parsing PKCS#8 per rebuild would cost more than the rebuild. */
const privateKeys = new Map<string, KeyObject>();

function privateKey(der: Buffer): KeyObject {
  const id = der.toString('base64');
  let k = privateKeys.get(id);
  if (!k) {
    k = privateKeyObject(der);
    if (privateKeys.size > 10000) privateKeys.clear();
    privateKeys.set(id, k);
  }
  return k;
}

/**
 * Attaches signing to a freshly built zone when its configuration says so and usable keys exist. Returns a
 * problem to report, or undefined. Without an active key that has its private part the zone stays unsigned.
 */
export function attachSigning(zone: Zone, config: ZoneDnssecConfig | undefined): string | undefined {
  if (!config?.enabled) return undefined;
  const ttl = zone.soaSet.ttl;
  const dnskeys: RData[] = [];
  const cds: RData[] = [];
  const cdnskeys: RData[] = [];
  const keySigning: SigningKey[] = [];
  const zoneSigning: SigningKey[] = [];
  for (const k of config.keys) {
    const rdata = dnskeyRdata(k.ksk ? KSK_FLAGS : ZSK_FLAGS, k.algorithm, k.publicKey);
    const published = k.ksk ? k.state === 'active' : k.state !== 'standby';
    if (published) dnskeys.push(rdata);
    if (k.ksk) {
      // RFC 7344: CDS/CDNSKEY say which DS the parent should hold: the active KSK and, during a double-DS
      // rollover, the standby one.
      cds.push(dsRdata(zone.origin, rdata, RRType.CDS));
      cdnskeys.push({ ...rdata, type: RRType.CDNSKEY } as RData);
    }
    if (k.state !== 'active' || !k.privateKey) continue;
    const signing: SigningKey = { tag: keyTag(rdata), algorithm: k.algorithm, ksk: k.ksk, key: privateKey(k.privateKey) };
    (k.ksk ? keySigning : zoneSigning).push(signing);
  }
  // A single active key signs everything (a combined signing key).
  if (keySigning.length === 0) keySigning.push(...zoneSigning);
  if (zoneSigning.length === 0) zoneSigning.push(...keySigning);
  if (keySigning.length === 0) return `${zone.origin}: DNSSEC is enabled but no active key with its private part exists; served unsigned`;
  for (const r of dnskeys) zone.add(zone.origin, ttl, r);
  for (const r of cds) zone.add(zone.origin, ttl, r);
  for (const r of cdnskeys) zone.add(zone.origin, ttl, r);
  zone.dnssec = { keySigning, zoneSigning };
  return undefined;
}

/** Attaches signing to each zone from the DNSSEC entries given (model.ts); problems go to `warn`. */
export function attachDnssec(zones: Zone[], dnssecEntries: Entry[], warn: (w: string) => void): void {
  if (dnssecEntries.length === 0) return;
  const configs = readDnssecConfigs(dnssecEntries, warn);
  for (const zone of zones) {
    const problem = attachSigning(zone, configs.get(zone.origin));
    if (problem) warn(problem);
  }
}
