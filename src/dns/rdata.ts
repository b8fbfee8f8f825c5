// Record data: parsing the presentation forms found in directory attributes, wire encoding, master-file text.

import { isIPv4, isIPv6 } from 'node:net';
import { absoluteText } from './name';
import { RData, RRType, typeName } from './types';
import { WireWriter } from './wire';

/** BIND time values: plain seconds or tokens like 3H, 30M, 1W, 1D, 1h30m (case-insensitive). */
export function parseTtl(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (/^\d+$/.test(t)) return clampTtl(Number(t));
  if (!/^(\d+[smhdw])+$/.test(t)) return undefined;
  const unit: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  let total = 0;
  for (const m of t.matchAll(/(\d+)([smhdw])/g)) total += Number(m[1]) * unit[m[2]];
  return clampTtl(total);
}

function clampTtl(n: number): number {
  return Math.min(n, 0x7fffffff);
}

/** Splits TXT presentation text into character-strings: quoted parts, or the whole unquoted text. */
export function parseTxt(text: string): string[] {
  const t = text.trim();
  if (!t.startsWith('"')) return splitLong(text);
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"/g;
  for (const m of t.matchAll(re)) out.push(...splitLong(m[1].replace(/\\(.)/g, '$1')));
  return out.length ? out : [''];
}

/**
 * A character-string holds 255 octets; longer text becomes several strings (as BIND and PowerDNS do), cut at
 * character boundaries so that UTF-8 text survives.
 */
function splitLong(s: string): string[] {
  if (Buffer.byteLength(s, 'utf8') <= 255) return [s];
  const out: string[] = [];
  let current = '';
  let bytes = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > 255) {
      out.push(current);
      current = '';
      bytes = 0;
    }
    current += ch;
    bytes += n;
  }
  out.push(current);
  return out;
}

export function validIPv4(s: string): boolean {
  return isIPv4(s.trim());
}

export function validIPv6(s: string): boolean {
  return isIPv6(s.trim());
}

function ipv4Bytes(addr: string): number[] {
  return addr.split('.').map((p) => Number(p));
}

/** 16 bytes of an IPv6 address (no zone index; validated with net.isIPv6 first). */
export function ipv6Bytes(addr: string): Buffer {
  let text = addr;
  const out = Buffer.alloc(16);
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const v4 = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (v4) {
    const b = ipv4Bytes(v4[1]);
    text = text.slice(0, -v4[1].length) + ((b[0] << 8) | b[1]).toString(16) + ':' + ((b[2] << 8) | b[3]).toString(16);
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** Canonical text of an IPv6 address (RFC 5952), so that equal addresses compare equal. */
export function canonicalIPv6(addr: string): string {
  const b = ipv6Bytes(addr);
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return groups.slice(0, bestStart).join(':') + '::' + groups.slice(bestStart + bestLen).join(':');
}

/** Writes the RDATA (without RDLENGTH). Names compress where RFC 3597 §4 allows it (the RFC 1035 types). */
export function writeRdata(w: WireWriter, r: RData): void {
  switch (r.type) {
    case RRType.A:
      for (const b of ipv4Bytes(r.address)) w.u8(b);
      return;
    case RRType.AAAA:
      w.bytes(ipv6Bytes(r.address));
      return;
    case RRType.NS:
      w.name(r.host);
      return;
    case RRType.CNAME:
    case RRType.PTR:
      w.name(r.target);
      return;
    case RRType.MX:
      w.u16(r.preference);
      w.name(r.exchange);
      return;
    case RRType.TXT:
      for (const s of r.strings) w.charString(s);
      return;
    case RRType.SRV:
      w.u16(r.priority);
      w.u16(r.weight);
      w.u16(r.port);
      w.name(r.target, false);
      return;
    case RRType.SOA:
      w.name(r.mname);
      w.name(r.rname);
      w.u32(r.serial);
      w.u32(r.refresh);
      w.u32(r.retry);
      w.u32(r.expire);
      w.u32(r.minimum);
      return;
    case RRType.CAA:
      w.u8(r.flags);
      w.charString(r.tag);
      w.bytes(Buffer.from(r.value, 'utf8'));
      return;
    case RRType.HINFO:
      w.charString(r.cpu);
      w.charString(r.os);
      return;
    case RRType.DS:
    case RRType.CDS:
      w.u16(r.keyTag);
      w.u8(r.algorithm);
      w.u8(r.digestType);
      w.bytes(r.digest);
      return;
    case RRType.DNSKEY:
    case RRType.CDNSKEY:
      w.u16(r.flags);
      w.u8(r.protocol);
      w.u8(r.algorithm);
      w.bytes(r.publicKey);
      return;
    case RRType.RRSIG:
      // RFC 4034 §3.1.7 / RFC 3597 §4: the signer's name is never compressed.
      w.u16(r.typeCovered);
      w.u8(r.algorithm);
      w.u8(r.labels);
      w.u32(r.originalTtl);
      w.u32(r.expiration);
      w.u32(r.inception);
      w.u16(r.keyTag);
      w.name(r.signer, false);
      w.bytes(r.signature);
      return;
    case RRType.NSEC:
      w.name(r.next, false);
      w.bytes(typeBitmap(r.types));
      return;
  }
}

/** RFC 4034 §4.1.2: window blocks of 256 types, each with the bitmap up to its last set bit. */
export function typeBitmap(types: number[]): Buffer {
  const sorted = [...new Set(types)].sort((a, b) => a - b);
  const parts: number[] = [];
  let i = 0;
  while (i < sorted.length) {
    const window = sorted[i] >> 8;
    const bits = new Uint8Array(32);
    let last = 0;
    for (; i < sorted.length && sorted[i] >> 8 === window; i++) {
      const low = sorted[i] & 0xff;
      bits[low >> 3] |= 0x80 >> (low & 7);
      last = low >> 3;
    }
    parts.push(window, last + 1, ...bits.subarray(0, last + 1));
  }
  return Buffer.from(parts);
}

/** Writes one resource record: owner, type, class IN, TTL, RDLENGTH, RDATA. */
export function writeRecord(w: WireWriter, owner: string, ttl: number, r: RData): void {
  w.name(owner);
  w.u16(r.type);
  w.u16(1);
  w.u32(ttl);
  const lenAt = w.pos;
  w.u16(0);
  writeRdata(w, r);
  w.buf.writeUInt16BE(w.pos - lenAt - 2, lenAt);
}

function quote(s: string): string {
  return '"' + s.replace(/["\\]/g, (c) => '\\' + c) + '"';
}

/** RDATA in master-file presentation form, names absolute. */
export function rdataText(r: RData): string {
  switch (r.type) {
    case RRType.A:
    case RRType.AAAA:
      return r.address;
    case RRType.NS:
      return absoluteText(r.host);
    case RRType.CNAME:
    case RRType.PTR:
      return absoluteText(r.target);
    case RRType.MX:
      return `${r.preference} ${absoluteText(r.exchange)}`;
    case RRType.TXT:
      return r.strings.map(quote).join(' ');
    case RRType.SRV:
      return `${r.priority} ${r.weight} ${r.port} ${absoluteText(r.target)}`;
    case RRType.SOA:
      return `${absoluteText(r.mname)} ${absoluteText(r.rname)} ${r.serial} ${r.refresh} ${r.retry} ${r.expire} ${r.minimum}`;
    case RRType.CAA:
      return `${r.flags} ${r.tag} ${quote(r.value)}`;
    case RRType.HINFO:
      return `${quote(r.cpu)} ${quote(r.os)}`;
    case RRType.DS:
    case RRType.CDS:
      return `${r.keyTag} ${r.algorithm} ${r.digestType} ${r.digest.toString('hex').toUpperCase()}`;
    case RRType.DNSKEY:
    case RRType.CDNSKEY:
      return `${r.flags} ${r.protocol} ${r.algorithm} ${r.publicKey.toString('base64')}`;
    case RRType.RRSIG:
      return `${typeName(r.typeCovered)} ${r.algorithm} ${r.labels} ${r.originalTtl} ${sigTime(r.expiration)} ${sigTime(r.inception)} ${r.keyTag} ${absoluteText(r.signer)} ${r.signature.toString('base64')}`;
    case RRType.NSEC:
      return `${absoluteText(r.next)} ${[...r.types].sort((a, b) => a - b).map(typeName).join(' ')}`;
  }
}

/** RRSIG times in presentation form (RFC 4034 §3.2): YYYYMMDDHHmmSS, UTC. */
function sigTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** Identity of an RDATA within its RRset (duplicates are dropped, IXFR diffs compare by it). */
export function rdataKey(r: RData): string {
  return `${r.type} ${rdataText(r)}`;
}
