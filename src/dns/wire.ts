// DNS wire format: a message writer with name compression and a strict, bounded query parser.
//
// Why not dns2's Packet codec on the hot path: it reads and writes one bit per array element (slow), and its
// parser swallows section errors (a header claiming qdcount=65535 over 12 bytes parses "fine" with no
// questions, and a name whose pointer leads past the end is skipped silently), so it cannot tell us when to
// answer FORMERR. test/unit/dns-wire.test.ts shows both. dns2 stays useful as an independent decoder in tests.

import { Opcode, RRClass, RRType } from './types';

export const HEADER_SIZE = 12;
export const MAX_MESSAGE = 65535;

/** Growable output buffer with RFC 1035 §4.1.4 compression of names against earlier names in the message. */
export class WireWriter {
  buf: Buffer;
  pos = 0;
  /** Lower-case name suffix → offset of its first occurrence (only offsets < 0x4000 can be pointed to). */
  private names = new Map<string, number>();

  /** `canonical`: never compress (DNSSEC canonical form, RFC 4034 §6.2), even between names of one RDATA. */
  constructor(initialSize = 512, private readonly canonical = false) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  reset(): void {
    this.pos = 0;
    this.names.clear();
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.pos);
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }

  bytes(b: Buffer | Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** A <character-string>: length octet + up to 255 octets (longer input is split by the caller). */
  charString(s: string): void {
    const b = Buffer.from(s, 'utf8');
    const n = Math.min(b.length, 255);
    this.u8(n);
    this.bytes(b.subarray(0, n));
  }

  /** Writes a name (internal spelling); `compress` false for rdata that must not be compressed (SRV). */
  name(name: string, compress = true): void {
    if (name === '') {
      this.u8(0);
      return;
    }
    let rest = name;
    if (this.canonical) compress = false;
    for (;;) {
      if (compress) {
        const at = this.names.get(rest);
        if (at !== undefined) {
          this.u16(0xc000 | at);
          return;
        }
      }
      if (this.pos < 0x4000 && !this.names.has(rest)) this.names.set(rest, this.pos);
      const dot = rest.indexOf('.');
      const label = dot < 0 ? rest : rest.slice(0, dot);
      const lb = Buffer.from(label, 'latin1');
      this.u8(lb.length);
      this.bytes(lb);
      if (dot < 0) break;
      rest = rest.slice(dot + 1);
    }
    this.u8(0);
  }

  /**
   * Registers the uncompressed name written at `offset` (the echoed question) as a compression target, from
   * its wire labels. Suffixes holding a label with a '.' in it are skipped: their dotted spelling would name a
   * different name, and a pointer to them would corrupt the answer.
   */
  registerName(offset: number): void {
    const labels: Array<{ at: number; text: string }> = [];
    for (let pos = offset; pos < this.pos && this.buf[pos] !== 0; pos += this.buf[pos] + 1) {
      labels.push({ at: pos, text: this.buf.toString('latin1', pos + 1, pos + 1 + this.buf[pos]).toLowerCase() });
    }
    let suffix = '';
    for (let i = labels.length - 1; i >= 0; i--) {
      if (labels[i].text.includes('.')) return;
      suffix = suffix === '' ? labels[i].text : `${labels[i].text}.${suffix}`;
      if (labels[i].at < 0x4000 && !this.names.has(suffix)) this.names.set(suffix, labels[i].at);
    }
  }

  /** Undo to an earlier position (drops compression targets registered past it). */
  truncateTo(pos: number): void {
    this.pos = pos;
    for (const [k, v] of this.names) if (v >= pos) this.names.delete(k);
  }

  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

/** Reads a possibly compressed name. Pointers must point strictly backwards, which makes loops impossible. */
export function readName(buf: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = offset;
  let next = -1;
  let wireLength = 1;
  let lowestStart = offset;
  for (;;) {
    if (pos >= buf.length) throw new WireError('name runs past the end');
    const len = buf[pos];
    if (len === 0) {
      if (next < 0) next = pos + 1;
      return { name: labels.join('.'), next };
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= buf.length) throw new WireError('truncated compression pointer');
      const target = ((len & 0x3f) << 8) | buf[pos + 1];
      if (next < 0) next = pos + 2;
      if (target >= lowestStart) throw new WireError('compression pointer does not point backwards');
      lowestStart = target;
      pos = target;
      continue;
    }
    if (kind !== 0) throw new WireError('reserved label type');
    if (pos + 1 + len > buf.length) throw new WireError('label runs past the end');
    wireLength += len + 1;
    if (wireLength > 255) throw new WireError('name longer than 255 octets');
    labels.push(buf.toString('latin1', pos + 1, pos + 1 + len).toLowerCase());
    pos += 1 + len;
  }
}

/** Skips a name without decoding it (its end is where the first pointer or the root label is). */
function skipName(buf: Buffer, offset: number): number {
  let pos = offset;
  for (;;) {
    if (pos >= buf.length) throw new WireError('name runs past the end');
    const len = buf[pos];
    if (len === 0) return pos + 1;
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new WireError('truncated compression pointer');
      return pos + 2;
    }
    if (len & 0xc0) throw new WireError('reserved label type');
    pos += 1 + len;
    if (pos - offset > 255) throw new WireError('name longer than 255 octets');
  }
}

export class WireError extends Error {}

export interface EdnsInfo {
  version: number;
  payload: number;
  dnssecOk: boolean;
}

export type ParsedQuery =
  | { kind: 'drop' }
  /** Unparseable beyond the header: answer `rcode` with header only (question echoed when `questionEnd` > 0). */
  | { kind: 'error'; id: number; opcode: number; rd: boolean; rcode: number; questionEnd: number; edns: EdnsInfo | null }
  | {
      kind: 'query';
      id: number;
      opcode: number;
      rd: boolean;
      cd: boolean;
      qname: string;
      qtype: number;
      qclass: number;
      /** Byte offset just past the question name. */
      nameEnd: number;
      /** Byte offset just past the question section (the question is buf[12, questionEnd)). */
      questionEnd: number;
      edns: EdnsInfo | null;
      /** IXFR: the serial of the SOA the client put in the authority section. */
      clientSerial?: number;
      /** Offset of a TSIG record ending the message (RFC 8945: it must be the last record). */
      tsigStart?: number;
    };

/**
 * Parses a request as an authoritative server needs it: header, exactly one question, and the additional
 * section for OPT; answer/authority are walked (for IXFR's SOA and NOTIFY) with every length checked.
 */
export function parseQuery(buf: Buffer, decodeName = true): ParsedQuery {
  if (buf.length < HEADER_SIZE) return { kind: 'drop' };
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  if (flags & 0x8000) return { kind: 'drop' }; // QR=1: a response, never answer it (reflection loops)
  const opcode = (flags >> 11) & 0xf;
  const rd = (flags & 0x0100) !== 0;
  const cd = (flags & 0x0010) !== 0;
  const qdcount = buf.readUInt16BE(4);
  const ancount = buf.readUInt16BE(6);
  const nscount = buf.readUInt16BE(8);
  const arcount = buf.readUInt16BE(10);
  const fail = (rcode: number, questionEnd = 0, edns: EdnsInfo | null = null): ParsedQuery => ({
    kind: 'error', id, opcode, rd, rcode, questionEnd, edns,
  });
  // RD (like AA, RA, AD, CD) is defined for QUERY only: a NOTIMP answer to another opcode leaves it clear
  // (RFC 1035 §4.1.1 "copied into the response" is read by BIND and NSD as for QUERY; ISC's genreport
  // `opcodeflg` test fails an answer that keeps it).
  if (opcode !== Opcode.QUERY && opcode !== Opcode.NOTIFY) return { kind: 'error', id, opcode, rd: false, rcode: 4 /* NOTIMP */, questionEnd: 0, edns: null };
  if (qdcount !== 1) return fail(1);
  // A record needs at least 11 octets: refuse impossible counts before walking them.
  if ((ancount + nscount + arcount) * 11 > buf.length) return fail(1);
  // The question name: plain labels only. A compression pointer here could only point into the header.
  let pos = HEADER_SIZE;
  let octets = 1;
  for (;;) {
    if (pos >= buf.length) return fail(1);
    const len = buf[pos];
    if (len === 0) {
      pos++;
      break;
    }
    if (len & 0xc0) return fail(1);
    octets += len + 1;
    if (octets > 255) return fail(1);
    pos += len + 1;
  }
  const nameEnd = pos;
  if (pos + 4 > buf.length) return fail(1);
  const qtype = buf.readUInt16BE(pos);
  const qclass = buf.readUInt16BE(pos + 2);
  pos += 4;
  const questionEnd = pos;
  let edns: EdnsInfo | null = null;
  let clientSerial: number | undefined;
  let tsigStart: number | undefined;
  try {
    const total = ancount + nscount + arcount;
    for (let i = 0; i < total; i++) {
      const nameStart = pos;
      pos = skipName(buf, pos);
      if (pos + 10 > buf.length) return fail(1, questionEnd);
      const type = buf.readUInt16BE(pos);
      const klass = buf.readUInt16BE(pos + 2);
      const ttl = buf.readUInt32BE(pos + 4);
      const rdlen = buf.readUInt16BE(pos + 8);
      const rdStart = pos + 10;
      pos = rdStart + rdlen;
      if (pos > buf.length) return fail(1, questionEnd);
      const section = i < ancount ? 'an' : i < ancount + nscount ? 'ns' : 'ar';
      if (type === RRType.OPT) {
        // RFC 6891 §6.1.1: one OPT, in the additional section, owned by the root.
        if (section !== 'ar' || edns || buf[nameStart] !== 0) return fail(1, questionEnd);
        edns = { payload: klass, version: (ttl >>> 16) & 0xff, dnssecOk: (ttl & 0x8000) !== 0 };
        validateOptions(buf, rdStart, pos);
      } else if (type === 250 /* TSIG */) {
        if (section !== 'ar' || i !== total - 1) return fail(1, questionEnd);
        tsigStart = nameStart;
      } else if (type === RRType.SOA && section === 'ns' && qtype === RRType.IXFR) {
        const mname = skipName(buf, rdStart);
        const rname = skipName(buf, mname);
        if (rname + 20 > pos) return fail(1, questionEnd);
        clientSerial = buf.readUInt32BE(rname);
      }
    }
  } catch {
    return fail(1, questionEnd, edns);
  }
  // (An object literal with a lazy getter here costs several times the whole decode: measured.) Without
  // decodeName, qname is '' and the caller decodes it with questionName() when it needs it (not for cached answers).
  const qname = decodeName ? decodeLabels(buf, HEADER_SIZE, nameEnd) : '';
  return { kind: 'query', id, opcode, rd, cd, qname, qtype, qclass, nameEnd, questionEnd, edns, clientSerial, tsigStart };
}

/** The question name of a query parseQuery accepted, lower-case and dotted (nameEnd from parseQuery). */
export function questionName(buf: Buffer, nameEnd: number): string {
  return decodeLabels(buf, HEADER_SIZE, nameEnd);
}

/** Lower-case dotted form of an uncompressed name already checked by the caller. */
function decodeLabels(buf: Buffer, start: number, end: number): string {
  let out = '';
  let pos = start;
  while (pos < end - 1) {
    const len = buf[pos];
    if (out) out += '.';
    out += buf.toString('latin1', pos + 1, pos + 1 + len);
    pos += 1 + len;
  }
  return out.toLowerCase();
}

function validateOptions(buf: Buffer, start: number, end: number): void {
  let p = start;
  while (p < end) {
    if (p + 4 > end) throw new WireError('truncated EDNS option');
    const len = buf.readUInt16BE(p + 2);
    p += 4 + len;
    if (p > end) throw new WireError('EDNS option runs past the OPT record');
  }
}

/** The minimum response for errors: header (+ question when it parsed) + OPT when the client sent one. */
export function encodeErrorResponse(
  query: Buffer,
  id: number,
  opcode: number,
  rd: boolean,
  rcode: number,
  questionEnd: number,
  edns: EdnsInfo | null,
  ourPayload: number,
): Buffer {
  const w = new WireWriter(64 + Math.max(0, questionEnd - HEADER_SIZE));
  writeHeader(w, id, opcode, false, rd, false, rcode & 0xf, questionEnd > 0 ? 1 : 0, 0, 0, edns ? 1 : 0);
  if (questionEnd > 0) w.bytes(query.subarray(HEADER_SIZE, questionEnd));
  if (edns) writeOpt(w, ourPayload, rcode >> 4, edns.dnssecOk);
  return w.toBuffer();
}

export function writeHeader(
  w: WireWriter,
  id: number,
  opcode: number,
  aa: boolean,
  rd: boolean,
  tc: boolean,
  rcode: number,
  qd: number,
  an: number,
  ns: number,
  ar: number,
): void {
  w.u16(id);
  w.u16(0x8000 | ((opcode & 0xf) << 11) | (aa ? 0x0400 : 0) | (tc ? 0x0200 : 0) | (rd ? 0x0100 : 0) | (rcode & 0xf));
  w.u16(qd);
  w.u16(an);
  w.u16(ns);
  w.u16(ar);
}

/** OPT pseudo-record (RFC 6891 §6.1.2): our payload size, extended rcode, version 0, DO echoed (RFC 3225). */
export function writeOpt(w: WireWriter, payload: number, extendedRcode: number, dnssecOk: boolean): void {
  w.u8(0);
  w.u16(RRType.OPT);
  w.u16(payload);
  w.u32(((extendedRcode & 0xff) << 24) | (dnssecOk ? 0x8000 : 0));
  w.u16(0);
}

export const OPT_SIZE = 11;

export { RRClass };
