// Record data: parsing the presentation forms found in directory attributes, wire encoding, master-file text.

import { isIPv4, isIPv6 } from 'node:net';
import { absoluteText } from './name';
import { RData, RRType } from './types';
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
  }
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
  }
}

/** Identity of an RDATA within its RRset (duplicates are dropped, IXFR diffs compare by it). */
export function rdataKey(r: RData): string {
  return `${r.type} ${rdataText(r)}`;
}
