// DNSSEC key material with node:crypto: generation, the DNSKEY public-key field, key tags, DS digests and
// signatures. ECDSAP256SHA256 (13, RFC 6605) and ED25519 (15, RFC 8080). ECDSA signatures are r|s, 32 octets
// each: node's default DER encoding is not what DNSSEC carries, dsaEncoding 'ieee-p1363' is.

import crypto, { KeyObject } from 'node:crypto';
import type { RData } from '../types';
import { nameWire, rdataWire } from './canonical';

export const Algorithm = { ECDSAP256SHA256: 13, ED25519: 15 } as const;
export type AlgorithmNumber = 13 | 15;

export const ALGORITHM_NAMES: Record<AlgorithmNumber, string> = { 13: 'ECDSAP256SHA256', 15: 'ED25519' };

/** '13', 'ecdsap256sha256', 'ecdsa', '15', 'ed25519' → the algorithm number; undefined when not supported. */
export function parseAlgorithm(text: string): AlgorithmNumber | undefined {
  const t = text.trim().toLowerCase();
  if (t === '13' || t === 'ecdsap256sha256' || t === 'ecdsa' || t === 'ecdsa256') return 13;
  if (t === '15' || t === 'ed25519') return 15;
  return undefined;
}

/** DNSKEY flags: ZONE (256) for a ZSK, ZONE|SEP (257) for a KSK (RFC 4034 §2.1.1). */
export const ZSK_FLAGS = 256;
export const KSK_FLAGS = 257;

export interface GeneratedKey {
  /** The DNSKEY public-key field. */
  publicKey: Buffer;
  /** PKCS#8 DER of the private key (stored in the directory, base64). */
  privateKey: Buffer;
}

export function generateKey(algorithm: AlgorithmNumber): GeneratedKey {
  const pair = algorithm === 13 ? crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }) : crypto.generateKeyPairSync('ed25519');
  return { publicKey: publicKeyField(algorithm, pair.publicKey), privateKey: pair.privateKey.export({ format: 'der', type: 'pkcs8' }) };
}

/** The DNSKEY public-key field of a key: P-256 x|y (RFC 6605 §4), Ed25519 the 32 raw octets (RFC 8080 §3). */
export function publicKeyField(algorithm: AlgorithmNumber, key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' }) as { x?: string; y?: string };
  if (algorithm === 13) return Buffer.concat([Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  return Buffer.from(jwk.x!, 'base64url');
}

/** A node KeyObject from the DNSKEY public-key field (to verify our own signatures in tests and at load). */
export function publicKeyObject(algorithm: AlgorithmNumber, field: Buffer): KeyObject {
  if (algorithm === 13) {
    return crypto.createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: field.subarray(0, 32).toString('base64url'), y: field.subarray(32, 64).toString('base64url') }, format: 'jwk' });
  }
  return crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: field.toString('base64url') }, format: 'jwk' });
}

export function privateKeyObject(pkcs8: Buffer): KeyObject {
  return crypto.createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
}

export function dnskeyRdata(flags: number, algorithm: AlgorithmNumber, publicKey: Buffer, type: 48 | 60 = 48): RData {
  return { type, flags, protocol: 3, algorithm, publicKey };
}

/** RFC 4034 Appendix B: the key tag over the DNSKEY RDATA. */
export function keyTag(dnskey: RData): number {
  const rd = rdataWire(dnskey);
  let ac = 0;
  for (let i = 0; i < rd.length; i++) ac += i & 1 ? rd[i] : rd[i] << 8;
  ac += (ac >> 16) & 0xffff;
  return ac & 0xffff;
}

/** DS (or CDS) of a DNSKEY (RFC 4509: SHA-256 over owner name | DNSKEY RDATA). */
export function dsRdata(owner: string, dnskey: RData, type: 43 | 59 = 43): RData {
  if (dnskey.type !== 48 && dnskey.type !== 60) throw new Error('DS of a non-DNSKEY record');
  const digest = crypto.createHash('sha256').update(nameWire(owner)).update(rdataWire({ ...dnskey, type: 48 })).digest();
  return { type, keyTag: keyTag(dnskey), algorithm: dnskey.algorithm, digestType: 2, digest };
}

export function sign(algorithm: AlgorithmNumber, key: KeyObject, data: Buffer): Buffer {
  if (algorithm === 13) return crypto.sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
  return crypto.sign(null, data, key);
}

export function verify(algorithm: AlgorithmNumber, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  if (algorithm === 13) return crypto.verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  return crypto.verify(null, data, key, signature);
}
