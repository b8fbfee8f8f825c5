// Maximum DNS amplification (issue 13): response octets / query octets over UDP, the figure an attacker
// spoofing a victim's address gets from a server. Every query type an attacker would try (ANY, TXT, MX, NS,
// SOA, A, AAAA, DNSKEY, a name that does not exist) on a sample of the benchmark's zones, with and without
// EDNS (payload 4096, DO set and not), asked from an address outside dns.rrl.exempt so that what RRL would
// hold back is not counted as answered: the worst single answer is the figure, with the question that drew it.

import * as dgram from 'node:dgram';
import { WireWriter } from '../src/dns/wire';

const TYPES: Array<[string, number]> = [['ANY', 255], ['TXT', 16], ['MX', 15], ['NS', 2], ['SOA', 6], ['A', 1], ['AAAA', 28], ['DNSKEY', 48], ['RRSIG', 46]];

export interface Amplification {
  server: string;
  queries: number;
  answered: number;
  maxRatio: number;
  maxQuestion: string;
  maxResponseBytes: number;
  maxQueryBytes: number;
}

function query(id: number, name: string, type: number, edns: { payload: number; dnssecOk: boolean } | null): Buffer {
  const w = new WireWriter();
  for (const v of [id, 0, 1, 0, 0, edns ? 1 : 0]) w.u16(v);
  w.name(name, false);
  w.u16(type);
  w.u16(1);
  if (edns) {
    w.u8(0);
    w.u16(41);
    w.u16(edns.payload);
    w.u32(edns.dnssecOk ? 0x8000 : 0);
    w.u16(0);
  }
  return w.toBuffer();
}

/** Asks each question once (sequentially, 500 ms each at most) from `source` and keeps the worst ratio. */
export async function measureAmplification(server: string, port: number, zones: string[], source = '127.0.0.1'): Promise<Amplification> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, source, () => resolve()));
  const result: Amplification = { server, queries: 0, answered: 0, maxRatio: 0, maxQuestion: '', maxResponseBytes: 0, maxQueryBytes: 0 };
  let id = 1;
  try {
    for (const zone of zones) {
      for (const name of [zone, `mail.${zone}`, `www.${zone}`, `no-such-name.${zone}`]) {
        for (const [typeName, type] of TYPES) {
          for (const edns of [null, { payload: 4096, dnssecOk: false }, { payload: 4096, dnssecOk: true }]) {
            const q = query(id++ & 0xffff, name, type, edns);
            result.queries++;
            const answer = await new Promise<Buffer | null>((resolve) => {
              const timer = setTimeout(() => done(null), 500);
              const done = (m: Buffer | null) => {
                clearTimeout(timer);
                socket.off('message', onMessage);
                resolve(m);
              };
              const onMessage = (m: Buffer) => {
                if (m.readUInt16BE(0) === q.readUInt16BE(0)) done(m);
              };
              socket.on('message', onMessage);
              socket.send(q, port, '127.0.0.1');
            });
            if (!answer) continue;
            result.answered++;
            const ratio = answer.length / q.length;
            if (ratio > result.maxRatio) {
              Object.assign(result, { maxRatio: Math.round(ratio * 100) / 100, maxQuestion: `${name} ${typeName}${edns ? ` EDNS ${edns.payload}${edns.dnssecOk ? ' DO' : ''}` : ''}`, maxResponseBytes: answer.length, maxQueryBytes: q.length });
            }
          }
        }
      }
    }
  } finally {
    socket.close();
  }
  return result;
}
