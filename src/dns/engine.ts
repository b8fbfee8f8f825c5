// The request engine: zones in memory, per-zone serial state and change history, the encoded-answer cache,
// and the decision for each request. No sockets here; server.ts feeds it bytes and sends what it returns.

import { AnswerCache, answerShape } from './answer-cache';
import { AddressList } from './cidr';
import { DEFAULT_SIGN_OPTIONS, signZone } from './dnssec/signer';
import { lookup } from './lookup';
import { encodeResult, personalize } from './response';
import { nextSerial, SerialFormat } from './serial';
import { axfrRecords, diffRecords, ixfrRecords, packTransfer, serialGreater, ZoneDiff, zoneRecordMap } from './transfer';
import { Opcode, Rcode, RRClass, RRType, SoaData } from './types';
import { encodeErrorResponse, HEADER_SIZE, MAX_MESSAGE, parseQuery, questionName } from './wire';
import { errorTsig, readTsig, signResponses, tsigSize, TsigKey, verifyRequest } from './tsig';
import { Zone, ZoneSet } from './zone';

export type Transport = 'udp' | 'tcp';

type QueryRequest = Extract<ReturnType<typeof parseQuery>, { kind: 'query' }>;

export interface QueryEvent {
  transport: Transport;
  /** Client address. */
  peer: string;
  /** The question name (lower case), when the request parsed. */
  qname?: string;
  qtype?: number;
  rcode: number;
  cached: boolean;
  dropped?: boolean;
  /** A signed request that failed verification: the TSIG error (BADSIG 16, BADKEY 17, BADTIME 18, BADTRUNC 22). */
  tsigError?: number;
}

/** A request whose TSIG verified: the key's name, and the octets its signature will add to each answer. */
export interface SignedRequest {
  key: string;
  reserve: number;
}

export interface EngineOptions {
  /** Our EDNS UDP payload size (RFC 6891; 1232 is the DNS Flag Day 2020 value). */
  udpPayload?: number;
  /** Peers allowed AXFR/IXFR. */
  allowTransfer?: string[];
  serialFormat?: SerialFormat;
  /** TSIG keys (RFC 8945) requests may be signed with; their answers are signed with the same key. */
  tsigKeys?: TsigKey[];
  /** When set, AXFR/IXFR also need a TSIG signature with one of these keys (besides allowTransfer). */
  transferKeys?: string[];
  /** History entries kept per zone for IXFR. */
  historyDepth?: number;
  cacheEntries?: number;
  now?: () => Date;
  /** A zone's serial changed (or the zone appeared): the server sends NOTIFY. */
  onSerialChange?(zone: Zone): void;
  onQuery?(e: QueryEvent): void;
  /** DNSSEC signature lifetime and refresh margin, seconds (signer.ts DEFAULT_SIGN_OPTIONS). */
  signatureValidity?: number;
  signatureRefresh?: number;
  /** A signed zone was (re)signed: how many signatures were made and how many kept. */
  onSigned?(zone: Zone, stats: { signed: number; reused: number; ms: number }): void;
}

interface ZoneState {
  served: number;
  /** The zone as last served: diffed against its successor only when one comes (no per-zone maps kept). */
  zone: Zone;
  soa: SoaData;
  soaTtl: number;
  history: ZoneDiff[];
}

const TRANSFER_TYPES = new Set<number>([RRType.AXFR, RRType.IXFR]);
/** Meta-query types we do not implement (MAILB, MAILA, TKEY, TSIG as a question). */
const UNSUPPORTED_QTYPES = new Set<number>([RRType.MAILB, RRType.MAILA, 249, 250]);
/** Question types never answered from the cache: transfers, meta-types, OPT as a question. */
const UNCACHED_QTYPES = new Set<number>([...TRANSFER_TYPES, ...UNSUPPORTED_QTYPES, RRType.OPT]);

export class DnsEngine {
  private zoneSet = new ZoneSet();
  private readonly state = new Map<string, ZoneState>();
  /** Last served serial of zones that went away: a zone that comes back never serves a lower one. */
  private readonly retired = new Map<string, number>();
  private readonly cache: AnswerCache;
  private readonly transferAcl: AddressList;
  private readonly tsigKeys: Map<string, TsigKey>;
  private readonly transferKeys: Set<string>;
  readonly udpPayload: number;
  /** Counts zone updates (each clears the answer cache); the cluster tells from it whether a write touched DNS data. */
  generation = 0;
  private readonly opts: EngineOptions;

  constructor(opts: EngineOptions = {}) {
    this.opts = opts;
    this.udpPayload = Math.max(512, Math.min(opts.udpPayload ?? 1232, 65535));
    this.transferAcl = new AddressList(opts.allowTransfer ?? []);
    this.tsigKeys = new Map((opts.tsigKeys ?? []).map((k) => [k.name, k]));
    this.transferKeys = new Set((opts.transferKeys ?? []).map((k) => k.toLowerCase().replace(/\.$/, '')));
    this.cache = new AnswerCache(opts.cacheEntries ?? 100000);
  }

  zones(): Zone[] {
    return this.zoneSet.all();
  }

  zone(origin: string): Zone | undefined {
    return this.zoneSet.get(origin);
  }

  /** The hosted zone a name falls in (longest suffix). */
  findZone(name: string): Zone | undefined {
    return this.zoneSet.find(name);
  }

  history(origin: string): ZoneDiff[] {
    return this.state.get(origin)?.history ?? [];
  }

  /** Replaces every zone (full rebuild). */
  replaceAll(zones: Zone[]): void {
    const next = new Set(zones.map((z) => z.origin));
    const removed = this.zoneSet.all().filter((z) => !next.has(z.origin)).map((z) => z.origin);
    this.update(zones, removed);
  }

  /** Replaces the given zones and removes the named ones; unchanged zones keep their state and cache. */
  update(replaced: Zone[], removed: string[]): void {
    const changed: Zone[] = [];
    for (const origin of removed) {
      const st = this.state.get(origin);
      if (st) this.retired.set(origin, st.served);
      this.state.delete(origin);
      this.zoneSet.byOrigin.delete(origin);
    }
    for (const zone of replaced) {
      if (this.settle(zone)) changed.push(zone);
      this.zoneSet.byOrigin.set(zone.origin, zone);
    }
    this.cache.clear();
    this.generation++;
    for (const z of changed) this.opts.onSerialChange?.(z);
  }

  /**
   * Re-signs the signed zones whose earliest signature is due for refresh: a new version with a raised serial,
   * so that secondaries transfer the fresh signatures too. The server calls it on a timer. Returns the origins.
   */
  refreshSignatures(): string[] {
    const now = Math.floor((this.opts.now?.() ?? new Date()).getTime() / 1000);
    const refresh = this.signOptions().refresh;
    const due = this.zoneSet.all().filter((z) => z.sigsExpire !== undefined && z.sigsExpire - now < refresh);
    for (const zone of due) {
      const next = zone.clone();
      const changed = this.settle(next, true);
      this.zoneSet.byOrigin.set(next.origin, next);
      if (changed) this.opts.onSerialChange?.(next);
    }
    if (due.length) {
      this.cache.clear();
      this.generation++;
    }
    return due.map((z) => z.origin);
  }

  /** Lifetime and refresh margin; the margin is at most half the lifetime whatever was configured (no re-signing loop). */
  private signOptions(): { validity: number; refresh: number } {
    const validity = this.opts.signatureValidity ?? DEFAULT_SIGN_OPTIONS.validity;
    return { validity, refresh: Math.min(this.opts.signatureRefresh ?? DEFAULT_SIGN_OPTIONS.refresh, Math.floor(validity / 2)) };
  }

  /** Signs a zone whose serial is final, reusing what it can of the version served before. */
  private sign(zone: Zone, prev: Zone | undefined, now: Date): void {
    if (!zone.dnssec) return;
    const started = process.hrtime.bigint();
    const stats = signZone(zone, prev, { now: Math.floor(now.getTime() / 1000), ...this.signOptions() });
    this.opts.onSigned?.(zone, { ...stats, ms: Number(process.hrtime.bigint() - started) / 1e6 });
  }

  /**
   * Decides the served serial of a rebuilt zone and signs it (when it has keys); returns whether the serial
   * changed (or the zone is new). `force` raises the serial even without a data change (signature refresh).
   */
  private settle(zone: Zone, force = false): boolean {
    const format = this.opts.serialFormat ?? 'date';
    const now = this.opts.now?.() ?? new Date();
    const prev = this.state.get(zone.origin);
    const stored = zone.serial;
    if (!prev) {
      const floor = this.retired.get(zone.origin);
      let served = stored;
      if (floor !== undefined && !serialGreater(stored, floor)) served = nextSerial(floor, format, now);
      if (served !== stored) zone.setSerial(served);
      this.retired.delete(zone.origin);
      this.sign(zone, undefined, now);
      this.state.set(zone.origin, { served, zone, soa: zone.soa, soaTtl: zone.soaSet.ttl, history: [] });
      return true;
    }
    // Content is compared before signing (signatures differ with every serial); transfers get the signed diff.
    const signedEither = zone.dnssec !== undefined || prev.zone.signed;
    let { deleted, added } = diffRecords(zoneRecordMap(prev.zone, false), zoneRecordMap(zone, false));
    const soaChanged = soaFieldsDiffer(prev.soa, zone.soa) || prev.soaTtl !== zone.soaSet.ttl;
    const contentChanged = deleted.length > 0 || added.length > 0 || soaChanged || force;
    let served = prev.served;
    if (serialGreater(stored, prev.served)) served = stored;
    else if (contentChanged) served = nextSerial(prev.served, format, now); // a write that bypassed the serial hook
    if (served !== stored) zone.setSerial(served);
    if (signedEither) {
      this.sign(zone, prev.zone, now);
      ({ deleted, added } = diffRecords(zoneRecordMap(prev.zone), zoneRecordMap(zone)));
    }
    const history = prev.history;
    if (served !== prev.served) {
      history.push({ from: prev.soa, fromTtl: prev.soaTtl, to: zone.soa, toTtl: zone.soaSet.ttl, deleted, added });
      const depth = this.opts.historyDepth ?? 64;
      if (history.length > depth) history.splice(0, history.length - depth);
    }
    this.state.set(zone.origin, { served, zone, soa: zone.soa, soaTtl: zone.soaSet.ttl, history });
    return served !== prev.served;
  }

  /**
   * Answers one request. Returns the response messages (several for AXFR/IXFR over TCP), or null when the
   * packet must be dropped (responses, runts).
   */
  handle(buf: Buffer, transport: Transport, peer: string, signer?: SignedRequest): Buffer[] | null {
    // The name is decoded only when needed: a cached answer carries it.
    const q = parseQuery(buf, false);
    const onQuery = this.opts.onQuery;
    if (q.kind === 'drop') {
      onQuery?.({ transport, peer, rcode: -1, cached: false, dropped: true });
      return null;
    }
    if (q.kind === 'error') {
      onQuery?.({ transport, peer, rcode: q.rcode, cached: false });
      return [encodeErrorResponse(buf, q.id, q.opcode, q.rd, q.rcode, q.questionEnd, q.edns, this.udpPayload)];
    }
    if (q.tsigStart !== undefined && !signer) return this.handleSigned(buf, q, transport, peer);
    // A plain query for an ordinary type: its answer depends only on the question and the response shape.
    const answerable = q.opcode === Opcode.QUERY && !(q.edns && q.edns.version > 0) && (q.qclass === RRClass.IN || q.qclass === RRClass.ANY) && !UNCACHED_QTYPES.has(q.qtype);
    const maxSize = (transport === 'tcp' ? MAX_MESSAGE : q.edns ? Math.max(512, Math.min(q.edns.payload, this.udpPayload)) : 512) - (signer?.reserve ?? 0);
    const shape = answerShape(maxSize, q.edns !== null, q.edns?.dnssecOk === true);
    if (answerable) {
      const hit = this.cache.get(buf, HEADER_SIZE, q.nameEnd, q.qtype, q.qclass, shape);
      if (hit) {
        onQuery?.({ transport, peer, qname: hit.qname, qtype: q.qtype, rcode: hit.message[3] & 0xf, cached: true });
        return [personalize(hit.message, buf, q.questionEnd, q.id, q.rd, q.cd)];
      }
    }
    q.qname = questionName(buf, q.nameEnd);
    if (q.edns && q.edns.version > 0) return this.errorReply(buf, q, Rcode.BADVERS, transport, peer);
    if (q.opcode === Opcode.NOTIFY) {
      // We are the primary: a NOTIFY for a zone we host is acknowledged (and changes nothing), others refused.
      const zone = this.zoneSet.get(q.qname);
      const rcode = zone ? Rcode.NOERROR : Rcode.NOTAUTH;
      onQuery?.({ transport, peer, qname: q.qname, qtype: q.qtype, rcode, cached: false });
      const out = encodeErrorResponse(buf, q.id, q.opcode, q.rd, rcode, q.questionEnd, q.edns, this.udpPayload);
      if (zone) out[2] |= 0x04;
      return [out];
    }
    if (q.qclass !== RRClass.IN && q.qclass !== RRClass.ANY) return this.errorReply(buf, q, Rcode.REFUSED, transport, peer);
    if (q.qtype === RRType.OPT) return this.errorReply(buf, q, Rcode.FORMERR, transport, peer);
    if (UNSUPPORTED_QTYPES.has(q.qtype)) return this.errorReply(buf, q, Rcode.NOTIMP, transport, peer);
    if (TRANSFER_TYPES.has(q.qtype)) return this.transfer(buf, q, transport, peer, (rcode) => this.errorReply(buf, q, rcode, transport, peer), signer);

    const result = lookup(this.zoneSet, q.qname, q.qtype, q.edns?.dnssecOk === true);
    const frame = { id: q.id, opcode: q.opcode, rd: q.rd, cd: q.cd, qname: q.qname, question: buf.subarray(HEADER_SIZE, q.questionEnd), edns: q.edns };
    const out = encodeResult(frame, result, { maxSize, ourPayload: this.udpPayload });
    // REFUSED (a zone we do not host) is not kept: anyone could fill the cache with names of other zones.
    if (result.kind !== 'refused') this.cache.set(buf, HEADER_SIZE, q.nameEnd, q.qtype, q.qclass, shape, q.qname, out);
    onQuery?.({ transport, peer, qname: q.qname, qtype: q.qtype, rcode: result.rcode, cached: false });
    return [out];
  }

  /**
   * A TSIG-signed request (RFC 8945 §5.2): unknown key, bad MAC or a clock outside the fudge get NOTAUTH with
   * BADKEY/BADSIG/BADTIME (and TSIG-aware clients see why); a good one is answered like the same request
   * unsigned, with the key's name for the transfer check, and every message of the answer signed.
   */
  private handleSigned(buf: Buffer, q: QueryRequest, transport: Transport, peer: string): Buffer[] {
    const now = Math.floor((this.opts.now?.() ?? new Date()).getTime() / 1000);
    let v: ReturnType<typeof verifyRequest>;
    try {
      v = verifyRequest(buf, readTsig(buf, q.tsigStart!), this.tsigKeys, now);
    } catch {
      this.opts.onQuery?.({ transport, peer, qtype: q.qtype, rcode: Rcode.FORMERR, cached: false });
      return [encodeErrorResponse(buf, q.id, q.opcode, q.rd, Rcode.FORMERR, q.questionEnd, q.edns, this.udpPayload)];
    }
    if (!v.ok) {
      this.opts.onQuery?.({ transport, peer, qname: questionName(buf, q.nameEnd), qtype: q.qtype, rcode: Rcode.NOTAUTH, cached: false, tsigError: v.error });
      const plain = encodeErrorResponse(v.unsigned, q.id, q.opcode, q.rd, Rcode.NOTAUTH, q.questionEnd, q.edns, this.udpPayload);
      return [errorTsig(plain, v, now)];
    }
    const out = this.handle(v.unsigned, transport, peer, { key: v.key.name, reserve: tsigSize(v.key) });
    return out ? signResponses(out, v.key, v.record, now) : [];
  }

  private errorReply(buf: Buffer, q: QueryRequest, rcode: number, transport: Transport, peer: string): Buffer[] {
    this.opts.onQuery?.({ transport, peer, qname: q.qname, qtype: q.qtype, rcode, cached: false });
    return [encodeErrorResponse(buf, q.id, q.opcode, q.rd, rcode, q.questionEnd, q.edns, this.udpPayload)];
  }

  private transfer(
    buf: Buffer,
    q: QueryRequest,
    transport: Transport,
    peer: string,
    error: (rcode: number) => Buffer[],
    signer?: SignedRequest,
  ): Buffer[] {
    const zone = this.zoneSet.get(q.qname);
    if (!zone) return error(this.zoneSet.find(q.qname) ? Rcode.NOTAUTH : Rcode.REFUSED);
    if (!this.transferAcl.contains(peer)) return error(Rcode.REFUSED);
    if (this.transferKeys.size > 0 && !(signer && this.transferKeys.has(signer.key))) return error(Rcode.REFUSED);
    const frame = { id: q.id, question: buf.subarray(HEADER_SIZE, q.questionEnd), qname: q.qname, edns: q.edns, ourPayload: this.udpPayload };
    if (q.qtype === RRType.AXFR) {
      // RFC 5936 §4.2: AXFR is a TCP affair.
      if (transport === 'udp') return error(Rcode.FORMERR);
      this.opts.onQuery?.({ transport, peer, qname: q.qname, qtype: q.qtype, rcode: 0, cached: false });
      return packTransfer(frame, axfrRecords(zone));
    }
    if (q.clientSerial === undefined) return error(Rcode.FORMERR);
    const incremental = ixfrRecords(zone, this.history(zone.origin), q.clientSerial);
    this.opts.onQuery?.({ transport, peer, qname: q.qname, qtype: q.qtype, rcode: 0, cached: false });
    if (transport === 'udp') {
      // RFC 1995 §2: over UDP, what does not fit is answered with the current SOA only ("use TCP").
      const soaOnly = [{ name: zone.origin, ttl: zone.soaSet.ttl, rdata: zone.soa }];
      const messages = packTransfer(frame, incremental ?? soaOnly);
      const limit = q.edns ? Math.max(512, Math.min(q.edns.payload, this.udpPayload)) : 512;
      return messages.length === 1 && messages[0].length <= limit ? messages : packTransfer(frame, soaOnly);
    }
    return packTransfer(frame, incremental ?? axfrRecords(zone));
  }
}

function soaFieldsDiffer(a: SoaData, b: SoaData): boolean {
  return a.mname !== b.mname || a.rname !== b.rname || a.refresh !== b.refresh || a.retry !== b.retry || a.expire !== b.expire || a.minimum !== b.minimum;
}
