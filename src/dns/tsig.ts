// TSIG (RFC 8945): shared-secret HMAC signatures on requests and responses, for zone transfers and NOTIFY.
//
// Pure functions over wire messages: the engine verifies a signed request (key, MAC, time, in the RFC's order),
// answers the request with the TSIG record stripped, and signs what it sends back: each message of an AXFR/IXFR
// stream over the MAC of the one before it (§5.3.1; we sign every message, not only every hundredth).
// The algorithms are the ones BIND and NSD offer; HMAC and the digests are Node's crypto.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { readName, WireWriter } from './wire';

export const TSIG_TYPE = 250;
const CLASS_ANY = 255;

/** TSIG error field values (RFC 8945 §3). The header RCODE of such answers is NOTAUTH. */
export const TsigError = { NOERROR: 0, BADSIG: 16, BADKEY: 17, BADTIME: 18, BADTRUNC: 22 } as const;

/** Wire algorithm name → Node digest and MAC length. */
const ALGORITHMS: Record<string, { digest: string; size: number }> = {
  'hmac-md5.sig-alg.reg.int': { digest: 'md5', size: 16 },
  'hmac-sha1': { digest: 'sha1', size: 20 },
  'hmac-sha224': { digest: 'sha224', size: 28 },
  'hmac-sha256': { digest: 'sha256', size: 32 },
  'hmac-sha384': { digest: 'sha384', size: 48 },
  'hmac-sha512': { digest: 'sha512', size: 64 },
};

/** The names operators write (BIND's key statements, NSD's algorithm:, dig -y), mapped to the wire names. */
export const ALGORITHM_NAMES = ['hmac-md5', 'hmac-sha1', 'hmac-sha224', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512'];

export interface TsigKey {
  /** Key name, lower case, no trailing dot. */
  name: string;
  /** Wire algorithm name (hmac-md5 is hmac-md5.sig-alg.reg.int). */
  algorithm: string;
  secret: Buffer;
}

export function wireAlgorithm(name: string): string | undefined {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (n === 'hmac-md5') return 'hmac-md5.sig-alg.reg.int';
  return ALGORITHMS[n] ? n : undefined;
}

/** "[algorithm:]name:base64secret" (dig -y syntax; algorithm defaults to hmac-sha256). Throws on anything else. */
export function parseKeySpec(spec: string): TsigKey {
  const parts = spec.trim().split(':');
  if (parts.length < 2 || parts.length > 3) throw new Error('expected [algorithm:]name:secret');
  const [algText, name, secretText] = parts.length === 3 ? parts : ['hmac-sha256', parts[0], parts[1]];
  const algorithm = wireAlgorithm(algText);
  if (!algorithm) throw new Error(`unknown TSIG algorithm ${algText} (one of ${ALGORITHM_NAMES.join(', ')})`);
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`bad key name ${name}`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(secretText)) throw new Error('the secret is not base64');
  const secret = Buffer.from(secretText, 'base64');
  if (secret.length === 0) throw new Error('empty secret');
  return { name: name.toLowerCase().replace(/\.$/, ''), algorithm, secret };
}

/** A TSIG record as read from a message. */
export interface TsigRecord {
  /** Offset of the record's owner name (the message without TSIG is buf[0, start) with ARCOUNT - 1). */
  start: number;
  keyName: string;
  algorithm: string;
  timeSigned: number;
  fudge: number;
  mac: Buffer;
  originalId: number;
  error: number;
  other: Buffer;
}

/** Reads the TSIG record at `start` (parseQuery found it last in the additional section). */
export function readTsig(buf: Buffer, start: number): TsigRecord {
  const owner = readName(buf, start);
  let p = owner.next + 10;
  const rdEnd = p + buf.readUInt16BE(owner.next + 8);
  if (rdEnd > buf.length) throw new Error('TSIG runs past the end');
  const alg = readName(buf, p);
  p = alg.next;
  if (p + 10 > rdEnd) throw new Error('TSIG too short');
  const timeSigned = buf.readUIntBE(p, 6);
  const fudge = buf.readUInt16BE(p + 6);
  const macSize = buf.readUInt16BE(p + 8);
  p += 10;
  if (p + macSize + 6 > rdEnd) throw new Error('TSIG MAC runs past the record');
  const mac = buf.subarray(p, p + macSize);
  p += macSize;
  const originalId = buf.readUInt16BE(p);
  const error = buf.readUInt16BE(p + 2);
  const otherLen = buf.readUInt16BE(p + 4);
  p += 6;
  if (p + otherLen !== rdEnd) throw new Error('TSIG other data does not end the record');
  return { start, keyName: owner.name, algorithm: alg.name, timeSigned, fudge, mac, originalId, error, other: buf.subarray(p, rdEnd) };
}

/** The message as it was before TSIG was added: the record cut off, ARCOUNT one less, the original ID back. */
function unsignedPart(buf: Buffer, start: number, originalId: number): Buffer {
  const out = Buffer.from(buf.subarray(0, start));
  out.writeUInt16BE(originalId, 0);
  out.writeUInt16BE(out.readUInt16BE(10) - 1, 10);
  return out;
}

function canonicalName(name: string): Buffer {
  const w = new WireWriter(64);
  w.name(name, false);
  return w.toBuffer();
}

/** TSIG variables (§4.3.3): what is MACed besides the message. `timersOnly` for later messages of a stream. */
function variables(keyName: string, algorithm: string, timeSigned: number, fudge: number, error: number, other: Buffer, timersOnly: boolean): Buffer {
  const w = new WireWriter(128);
  if (!timersOnly) {
    w.bytes(canonicalName(keyName));
    w.u16(CLASS_ANY);
    w.u32(0);
    w.bytes(canonicalName(algorithm));
  }
  w.u16(Math.floor(timeSigned / 0x100000000));
  w.u32(timeSigned >>> 0);
  w.u16(fudge);
  if (!timersOnly) {
    w.u16(error);
    w.u16(other.length);
    w.bytes(other);
  }
  return w.toBuffer();
}

function hmac(key: TsigKey, parts: Buffer[]): Buffer {
  const h = createHmac(ALGORITHMS[key.algorithm].digest, key.secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

function macPrefix(mac: Buffer): Buffer {
  const b = Buffer.allocUnsafe(2 + mac.length);
  b.writeUInt16BE(mac.length, 0);
  mac.copy(b, 2);
  return b;
}

export type Verification =
  | { ok: true; key: TsigKey; record: TsigRecord; unsigned: Buffer }
  /** NOTAUTH with this TSIG error; `key` set when the answer is to be signed (BADTIME). */
  | { ok: false; error: number; record: TsigRecord; key?: TsigKey; unsigned: Buffer };

/** Verifies a request's TSIG (§5.2): key and algorithm known, then the MAC, then the time. */
export function verifyRequest(buf: Buffer, record: TsigRecord, keys: ReadonlyMap<string, TsigKey>, nowSeconds: number): Verification {
  const unsigned = unsignedPart(buf, record.start, record.originalId);
  const key = keys.get(record.keyName);
  if (!key || key.algorithm !== record.algorithm) return { ok: false, error: TsigError.BADKEY, record, unsigned };
  const full = ALGORITHMS[key.algorithm].size;
  const expected = hmac(key, [unsigned, variables(record.keyName, record.algorithm, record.timeSigned, record.fudge, record.error, record.other, false)]);
  // §5.2.2.1: a truncated MAC keeps at least half the digest and 10 octets; longer than the digest is wrong.
  if (record.mac.length > full || record.mac.length === 0) return { ok: false, error: TsigError.BADSIG, record, unsigned };
  if (!timingSafeEqual(expected.subarray(0, record.mac.length), record.mac)) return { ok: false, error: TsigError.BADSIG, record, unsigned };
  if (record.mac.length < Math.max(10, full / 2)) return { ok: false, error: TsigError.BADTRUNC, record, unsigned };
  if (Math.abs(nowSeconds - record.timeSigned) > record.fudge) return { ok: false, error: TsigError.BADTIME, record, key, unsigned };
  return { ok: true, key, record, unsigned };
}

/** Appends a TSIG record to a message (ARCOUNT + 1). */
function appendRecord(msg: Buffer, keyName: string, algorithm: string, timeSigned: number, fudge: number, mac: Buffer, originalId: number, error: number, other: Buffer): Buffer {
  const w = new WireWriter(msg.length + 128 + mac.length);
  w.bytes(msg);
  w.name(keyName, false);
  w.u16(TSIG_TYPE);
  w.u16(CLASS_ANY);
  w.u32(0);
  const lenAt = w.pos;
  w.u16(0);
  const rdStart = w.pos;
  w.name(algorithm, false);
  w.u16(Math.floor(timeSigned / 0x100000000));
  w.u32(timeSigned >>> 0);
  w.u16(fudge);
  w.u16(mac.length);
  w.bytes(mac);
  w.u16(originalId);
  w.u16(error);
  w.u16(other.length);
  w.bytes(other);
  w.buf.writeUInt16BE(w.pos - rdStart, lenAt);
  w.buf.writeUInt16BE(w.buf.readUInt16BE(10) + 1, 10);
  return w.toBuffer();
}

/** Octets a TSIG record with this key adds to a message (to leave room for it under a size limit). */
export function tsigSize(key: TsigKey): number {
  return key.name.length + 2 + 10 + key.algorithm.length + 2 + 16 + ALGORITHMS[key.algorithm].size + 6 + 6;
}

export const DEFAULT_FUDGE = 300;

/** Signs a request (NOTIFY we send): MAC over the message and the variables. */
export function signRequest(msg: Buffer, key: TsigKey, nowSeconds: number): Buffer {
  const mac = hmac(key, [msg, variables(key.name, key.algorithm, nowSeconds, DEFAULT_FUDGE, 0, Buffer.alloc(0), false)]);
  return appendRecord(msg, key.name, key.algorithm, nowSeconds, DEFAULT_FUDGE, mac, msg.readUInt16BE(0), 0, Buffer.alloc(0));
}

/**
 * Signs the responses to a verified request: the first over the request's MAC, each later one of a stream
 * over the MAC before it with the timers only (§5.3.1).
 */
export function signResponses(messages: Buffer[], key: TsigKey, request: TsigRecord, nowSeconds: number): Buffer[] {
  let prior = request.mac;
  return messages.map((msg, i) => {
    const vars = variables(key.name, key.algorithm, nowSeconds, DEFAULT_FUDGE, 0, Buffer.alloc(0), i > 0);
    const mac = hmac(key, [macPrefix(prior), msg, vars]);
    prior = mac;
    return appendRecord(msg, key.name, key.algorithm, nowSeconds, DEFAULT_FUDGE, mac, msg.readUInt16BE(0), 0, Buffer.alloc(0));
  });
}

/**
 * The TSIG part of a NOTAUTH answer to a request that failed verification (§5.2): BADKEY and BADSIG answers
 * carry an empty MAC (we cannot or must not sign with that key); BADTIME is signed and tells our clock in
 * Other Data, with the request's Time Signed (§5.2.3).
 */
export function errorTsig(response: Buffer, v: Extract<Verification, { ok: false }>, nowSeconds: number): Buffer {
  const r = v.record;
  if (v.error === TsigError.BADTIME && v.key) {
    const other = Buffer.alloc(6);
    other.writeUIntBE(nowSeconds, 0, 6);
    const vars = variables(r.keyName, r.algorithm, r.timeSigned, r.fudge, v.error, other, false);
    const mac = hmac(v.key, [macPrefix(r.mac), response, vars]);
    return appendRecord(response, r.keyName, r.algorithm, r.timeSigned, r.fudge, mac, response.readUInt16BE(0), v.error, other);
  }
  return appendRecord(response, r.keyName, r.algorithm, r.timeSigned, r.fudge, Buffer.alloc(0), response.readUInt16BE(0), v.error, Buffer.alloc(0));
}
