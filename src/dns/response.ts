// Encoding a lookup result as a response message, within the size the client can take.

import type { LookupResult } from './lookup';
import { writeRecord } from './rdata';
import type { RRset } from './types';
import { HEADER_SIZE, OPT_SIZE, WireWriter, writeHeader, writeOpt, EdnsInfo } from './wire';

export interface ResponseFrame {
  id: number;
  opcode: number;
  rd: boolean;
  cd: boolean;
  qname: string;
  /** The question section exactly as the client sent it (echoed; 0x20 case randomization survives). */
  question: Buffer;
  edns: EdnsInfo | null;
}

export interface EncodeLimits {
  /** The largest message the client accepts (512 without EDNS over UDP, 65535 over TCP). */
  maxSize: number;
  /** Our EDNS payload size, announced in the OPT record. */
  ourPayload: number;
}

const writer = new WireWriter(4096);

/**
 * Answer and authority must fit whole, else TC=1 with the question only (RFC 2181 §9); additional RRsets are
 * optional and are left out one by one when they do not fit, without TC.
 */
export function encodeResult(frame: ResponseFrame, result: LookupResult, limits: EncodeLimits): Buffer {
  const w = writer;
  w.reset();
  const optSize = frame.edns ? OPT_SIZE : 0;
  const budget = limits.maxSize - optSize;
  writeHeader(w, frame.id, frame.opcode, result.aa, frame.rd, false, result.rcode, 1, 0, 0, 0);
  w.bytes(frame.question);
  w.registerName(HEADER_SIZE);
  const questionEnd = w.pos;
  const an = writeSets(w, result.answer);
  const ns = writeSets(w, result.authority);
  let tc = false;
  let ar = 0;
  if (w.pos > budget) {
    w.truncateTo(questionEnd);
    tc = true;
  } else {
    for (const set of result.additional) {
      const mark = w.pos;
      const n = writeSets(w, [set]);
      if (w.pos > budget) {
        w.truncateTo(mark);
        break;
      }
      ar += n;
    }
  }
  if (frame.edns) writeOpt(w, limits.ourPayload, result.rcode >> 4, frame.edns.dnssecOk);
  patchHeader(w.buf, frame, result.aa, tc, result.rcode, tc ? 0 : an, tc ? 0 : ns, ar + (frame.edns ? 1 : 0));
  return w.toBuffer();
}

function writeSets(w: WireWriter, sets: RRset[]): number {
  let n = 0;
  for (const set of sets) {
    for (const r of set.rdatas) {
      writeRecord(w, set.name, set.ttl, r);
      n++;
    }
  }
  return n;
}

function patchHeader(buf: Buffer, frame: ResponseFrame, aa: boolean, tc: boolean, rcode: number, an: number, ns: number, ar: number): void {
  buf[2] = 0x80 | ((frame.opcode & 0xf) << 3) | (aa ? 0x04 : 0) | (tc ? 0x02 : 0) | (frame.rd ? 0x01 : 0);
  buf[3] = (frame.cd ? 0x10 : 0) | (rcode & 0xf);
  buf.writeUInt16BE(an, 6);
  buf.writeUInt16BE(ns, 8);
  buf.writeUInt16BE(ar, 10);
}

/**
 * A cached response re-used for another query with the same question (case aside): new ID, RD/CD from the
 * query, and the client's own spelling of the question.
 */
export function personalize(cached: Buffer, query: Buffer, questionEnd: number, id: number, rd: boolean, cd: boolean): Buffer {
  // TypedArray#set and a byte loop: Buffer#copy's argument checks cost more than these few dozen octets.
  const out = Buffer.allocUnsafe(cached.length);
  out.set(cached);
  out[0] = id >> 8;
  out[1] = id & 0xff;
  out[2] = (out[2] & 0xfe) | (rd ? 0x01 : 0);
  out[3] = (out[3] & 0xef) | (cd ? 0x10 : 0);
  for (let i = HEADER_SIZE; i < questionEnd; i++) out[i] = query[i];
  return out;
}
