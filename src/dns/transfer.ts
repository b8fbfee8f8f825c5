// Zone transfers: AXFR (RFC 5936) and IXFR (RFC 1995) message streams, and the per-zone change history
// (serial → diff) that IXFR answers from.

import { rdataKey, writeRecord } from './rdata';
import { RData, RRType, SoaData } from './types';
import { HEADER_SIZE, WireWriter, writeHeader, writeOpt, EdnsInfo } from './wire';
import type { Zone } from './zone';

export interface Rec {
  name: string;
  ttl: number;
  rdata: RData;
}

export interface ZoneDiff {
  from: SoaData;
  fromTtl: number;
  to: SoaData;
  toTtl: number;
  deleted: Rec[];
  added: Rec[];
}

/** Every record of a zone except the SOA, keyed for diffing (without RRSIG and NSEC: the data before signing). */
export function zoneRecordMap(zone: Zone, withSignatures = true): Map<string, Rec> {
  const out = new Map<string, Rec>();
  for (const set of zone.rrsets(withSignatures)) {
    if (set.type === RRType.SOA) continue;
    for (const rdata of set.rdatas) out.set(`${set.name}\t${set.ttl}\t${rdataKey(rdata)}`, { name: set.name, ttl: set.ttl, rdata });
  }
  return out;
}

/** The records that differ (undefined when nothing but possibly the SOA differs). */
export function diffRecords(before: Map<string, Rec>, after: Map<string, Rec>): { deleted: Rec[]; added: Rec[] } {
  const deleted: Rec[] = [];
  const added: Rec[] = [];
  for (const [k, r] of before) if (!after.has(k)) deleted.push(r);
  for (const [k, r] of after) if (!before.has(k)) added.push(r);
  return { deleted, added };
}

/** RFC 1982 serial comparison: is a newer than b? */
export function serialGreater(a: number, b: number): boolean {
  return a !== b && ((a > b && a - b < 0x80000000) || (a < b && b - a > 0x80000000));
}

export interface TransferFrame {
  id: number;
  question: Buffer;
  qname: string;
  edns: EdnsInfo | null;
  ourPayload: number;
}

/** Messages stay below this so compression pointers (14 bits) reach everything and clients buffer little. */
const MESSAGE_TARGET = 16000;

/** Packs records into as many messages as needed; the question goes in the first one (RFC 5936 §2.2). */
export function packTransfer(frame: TransferFrame, records: Rec[]): Buffer[] {
  const messages: Buffer[] = [];
  let i = 0;
  while (i < records.length || messages.length === 0) {
    const w = new WireWriter(MESSAGE_TARGET + 1024);
    const first = messages.length === 0;
    writeHeader(w, frame.id, 0, true, false, false, 0, first ? 1 : 0, 0, 0, 0);
    if (first) {
      w.bytes(frame.question);
      w.registerName(HEADER_SIZE);
    }
    let count = 0;
    while (i < records.length) {
      const mark = w.pos;
      const r = records[i];
      writeRecord(w, r.name, r.ttl, r.rdata);
      if (w.pos > MESSAGE_TARGET && count > 0) {
        w.truncateTo(mark);
        break;
      }
      count++;
      i++;
    }
    if (frame.edns) writeOpt(w, frame.ourPayload, 0, frame.edns.dnssecOk);
    w.buf.writeUInt16BE(count, 6);
    w.buf.writeUInt16BE(frame.edns ? 1 : 0, 10);
    messages.push(w.toBuffer());
  }
  return messages;
}

export function axfrRecords(zone: Zone): Rec[] {
  const soaSet = zone.soaSet;
  const soa: Rec = { name: zone.origin, ttl: soaSet.ttl, rdata: zone.soa };
  const out: Rec[] = [soa];
  for (const set of zone.rrsets()) {
    if (set.type === RRType.SOA) continue;
    for (const rdata of set.rdatas) out.push({ name: set.name, ttl: set.ttl, rdata });
  }
  out.push(soa);
  return out;
}

/**
 * IXFR answer records (RFC 1995 §4): the current SOA alone when the client is current; else the chain of
 * differences from the client's serial; else undefined, and the caller falls back to AXFR.
 */
export function ixfrRecords(zone: Zone, history: ZoneDiff[], clientSerial: number): Rec[] | undefined {
  const soaSet = zone.soaSet;
  const current: Rec = { name: zone.origin, ttl: soaSet.ttl, rdata: zone.soa };
  if (clientSerial === zone.serial || serialGreater(clientSerial, zone.serial)) return [current];
  const start = history.findIndex((d) => d.from.serial === clientSerial);
  if (start < 0) return undefined;
  const chain = history.slice(start);
  for (let i = 1; i < chain.length; i++) if (chain[i].from.serial !== chain[i - 1].to.serial) return undefined;
  if (chain[chain.length - 1].to.serial !== zone.serial) return undefined;
  const out: Rec[] = [current];
  for (const d of chain) {
    out.push({ name: zone.origin, ttl: d.fromTtl, rdata: d.from });
    out.push(...d.deleted);
    out.push({ name: zone.origin, ttl: d.toTtl, rdata: d.to });
    out.push(...d.added);
  }
  out.push(current);
  return out;
}
