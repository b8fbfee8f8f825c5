// DNS fuzz inputs: messages built from a model (header, question, records, EDNS OPT) and mutated in the
// model — header counts that disagree with the sections, opcodes and flags, compression pointers forward,
// to themselves and in loops, bad label lengths, EDNS versions, payload sizes, options and duplicate OPTs —
// then sometimes damaged byte by byte; plus plain random bytes. For TCP, the framing is mutated too.

import { damageBytes, Rng } from './random';

interface Rr {
  name: Buffer;
  type: number;
  cls: number;
  ttl: number;
  rdata: Buffer;
}

interface Model {
  id: number;
  flags: number;
  counts: [number, number, number, number] | null;
  question: Array<{ name: Buffer; type: number; cls: number }>;
  answer: Rr[];
  authority: Rr[];
  additional: Rr[];
}

const NAMES = ['www.example.com', 'example.com', 'example.net', 'mail.example.com', 'nosuch.example.com', '*.example.com', 'example.org', '10.2.0.192.in-addr.arpa', '', 'a.b.c.d.e.f.g.example.com'];
const TYPES = [1, 2, 5, 6, 12, 15, 16, 28, 33, 43, 46, 48, 252, 251, 255, 41, 250, 249, 253, 254, 257, 65, 64, 0, 65535];

function wireName(text: string): Buffer {
  const labels = text.split('.').filter((l) => l !== '');
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
}

/** Name mutations: pointers (backward, forward, to itself, loops), overlong labels, bad length bytes, 255+ octets. */
function fuzzName(rng: Rng, name: Buffer): Buffer {
  switch (rng.int(9)) {
    case 0:
      return Buffer.from([0xc0, 12]); // pointer to the question name
    case 1:
      return Buffer.from([0xc0 | rng.int(64), rng.u32() & 0xff]); // anywhere, forward included
    case 2:
      return Buffer.concat([Buffer.from([3]), Buffer.from('abc'), Buffer.from([0xc0, 12])]);
    case 3:
      return Buffer.concat([Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0])]); // label of 64
    case 4:
      return Buffer.concat([...Array.from({ length: 130 }, () => Buffer.from([1, 0x61])), Buffer.from([0])]); // 261 octets
    case 5:
      return Buffer.from([rng.pick([0x40, 0x80, 0x41]), 0x61, 0]); // reserved label types
    case 6:
      return name.subarray(0, Math.max(0, name.length - 1)); // no terminating zero
    case 7:
      return Buffer.concat([Buffer.from([5]), Buffer.from('A\0.\xff*', 'latin1'), Buffer.from([0])]);
    default:
      return name;
  }
}

function opt(rng: Rng): Rr {
  const options: Buffer[] = [];
  for (let n = rng.int(3); n > 0; n--) {
    const code = rng.pick([8, 10, 12, 15, 3, 65001, rng.u32() & 0xffff]);
    const data = rng.bytes(rng.size(40));
    const len = rng.chance(0.8) ? data.length : rng.u32() & 0xffff;
    options.push(Buffer.concat([Buffer.from([code >> 8, code & 0xff, len >> 8, len & 0xff]), data]));
  }
  const version = rng.chance(0.8) ? 0 : rng.pick([1, 255]);
  const doBit = rng.chance(0.3) ? 0x8000 : 0;
  return {
    name: rng.chance(0.95) ? Buffer.from([0]) : wireName('example.com'),
    type: 41,
    cls: rng.pick([512, 1232, 4096, 65535, 0, 511, 1]),
    ttl: ((rng.chance(0.9) ? 0 : rng.u32() & 0xff) << 24) | (version << 16) | doBit,
    rdata: Buffer.concat(options),
  };
}

function seed(rng: Rng): Model {
  const name = wireName(rng.pick(NAMES));
  const type = rng.pick(TYPES);
  const m: Model = {
    id: rng.u32() & 0xffff,
    flags: rng.chance(0.8) ? rng.pick([0x0000, 0x0100, 0x0010, 0x0120]) : rng.pick([0x2000, 0x2400, 0x1000, 0x8000, 0x7800, 0x2800]),
    counts: null,
    question: [{ name, type, cls: rng.chance(0.9) ? 1 : rng.pick([3, 4, 254, 255, 0]) }],
    answer: [],
    authority: [],
    additional: [],
  };
  if (type === 251) {
    // IXFR carries the client's SOA in authority
    const soa = Buffer.concat([wireName('ns.example.com'), wireName('h.example.com'), Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1])]);
    m.authority.push({ name: Buffer.from([0xc0, 12]), type: 6, cls: 1, ttl: 0, rdata: soa });
  }
  if (rng.chance(0.6)) m.additional.push(opt(rng));
  return m;
}

function mutateModel(rng: Rng, m: Model): void {
  switch (rng.int(10)) {
    case 0:
      m.counts = [rng.pick([0, 1, 2, 65535, rng.int(20)]), rng.pick([0, 1, 65535, rng.int(20)]), rng.pick([0, 1, 65535]), rng.pick([0, 1, 2, 65535])];
      break;
    case 1:
      m.flags = rng.u32() & 0xffff;
      break;
    case 2:
      if (m.question[0]) m.question[0].name = fuzzName(rng, m.question[0].name);
      break;
    case 3:
      m.question.push({ name: Buffer.from([0xc0, 12]), type: rng.pick(TYPES), cls: 1 });
      break;
    case 4:
      m.question = [];
      break;
    case 5:
      m.additional.push(opt(rng)); // a second OPT
      break;
    case 6:
      m.answer.push({ name: fuzzName(rng, wireName('x.example.com')), type: rng.pick(TYPES), cls: 1, ttl: rng.u32(), rdata: rng.bytes(rng.size(100)) });
      break;
    case 7:
      m.additional.unshift({ name: Buffer.from([0]), type: 41, cls: 4096, ttl: rng.u32(), rdata: rng.bytes(rng.size(20)) });
      break;
    case 8:
      if (m.question[0]) m.question[0].type = rng.u32() & 0xffff;
      break;
    default:
      if (m.additional[0]) m.additional[0].name = fuzzName(rng, m.additional[0].name);
  }
}

function encodeModel(m: Model): Buffer {
  const counts = m.counts ?? [m.question.length, m.answer.length, m.authority.length, m.additional.length];
  const head = Buffer.alloc(12);
  head.writeUInt16BE(m.id, 0);
  head.writeUInt16BE(m.flags & 0xffff, 2);
  counts.forEach((c, i) => head.writeUInt16BE(c & 0xffff, 4 + 2 * i));
  const parts: Buffer[] = [head];
  for (const q of m.question) parts.push(q.name, Buffer.from([q.type >> 8, q.type & 0xff, q.cls >> 8, q.cls & 0xff]));
  for (const rr of [...m.answer, ...m.authority, ...m.additional]) {
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(rr.type & 0xffff, 0);
    fixed.writeUInt16BE(rr.cls & 0xffff, 2);
    fixed.writeUInt32BE(rr.ttl >>> 0, 4);
    fixed.writeUInt16BE(rr.rdata.length & 0xffff, 8);
    parts.push(rr.name, fixed, rr.rdata);
  }
  return Buffer.concat(parts);
}

export type DnsInputKind = 'valid' | 'mutated' | 'damaged' | 'random';

/** One DNS message (its bytes as a UDP datagram or a TCP message body). */
export function dnsMessage(rng: Rng): { bytes: Buffer; kind: DnsInputKind } {
  const r = rng.int(100);
  if (r < 6) return { bytes: rng.bytes(rng.size(600)), kind: 'random' };
  const m = seed(rng);
  if (r < 12) return { bytes: encodeModel(m), kind: 'valid' };
  for (let n = 1 + rng.int(3); n > 0; n--) mutateModel(rng, m);
  let bytes = encodeModel(m);
  let kind: DnsInputKind = 'mutated';
  if (rng.chance(0.35)) {
    bytes = damageBytes(rng, bytes);
    kind = 'damaged';
  }
  return { bytes, kind };
}

/**
 * What one TCP connection sends: one to three messages with 2-octet length prefixes that are mostly right,
 * sometimes short, long, tiny (< 12) or 65535, written in random pieces.
 */
export function dnsTcpStream(rng: Rng): { chunks: Buffer[]; messages: number } {
  const frames: Buffer[] = [];
  const messages = 1 + rng.int(3);
  for (let i = 0; i < messages; i++) {
    const { bytes } = dnsMessage(rng);
    let length = bytes.length;
    if (rng.chance(0.15)) length = rng.pick([0, 1, 11, 12, bytes.length - 1, bytes.length + 1, bytes.length + 100, 65535]);
    frames.push(Buffer.from([(length >> 8) & 0xff, length & 0xff]), bytes);
  }
  const stream = Buffer.concat(frames);
  const chunks: Buffer[] = [];
  let at = 0;
  while (at < stream.length) {
    const n = rng.chance(0.7) ? stream.length - at : 1 + rng.int(Math.max(1, stream.length - at));
    chunks.push(stream.subarray(at, at + n));
    at += n;
  }
  return { chunks, messages };
}
