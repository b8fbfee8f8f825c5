// After a provisioning command committed DNS data, a running ispd on the same store serves it once it has
// read the change log (another process's commit: its poll notices it within dns poll interval). The
// command waits for that (bounded), asking the DNS listener of the configuration over TCP (the primary
// process) and UDP (any process answering on the shared socket), so "the command returned" means "DNS
// answers with it". No server listening is not an error: the data is stored and served at the next start.

import dgram from 'node:dgram';
import net from 'node:net';
import { readName, WireWriter } from '../dns/wire';

export interface DnsAnswer {
  rcode: number;
  /** Answer records of the asked type: SOA serial as text, A as dotted quad. */
  values: string[];
}

function encode(name: string, type: number, id: number): Buffer {
  const w = new WireWriter();
  for (const v of [id, 0, 1, 0, 0, 0]) w.u16(v);
  w.name(name, false);
  w.u16(type);
  w.u16(1);
  return w.toBuffer();
}

function decode(buf: Buffer, type: number): DnsAnswer {
  const rcode = buf[3] & 0x0f;
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  let off = 12;
  for (let i = 0; i < qd; i++) off = readName(buf, off).next + 4;
  const values: string[] = [];
  for (let i = 0; i < an; i++) {
    off = readName(buf, off).next;
    const rtype = buf.readUInt16BE(off);
    const len = buf.readUInt16BE(off + 8);
    const rdata = off + 10;
    if (rtype === type && type === 1 && len === 4) values.push([...buf.subarray(rdata, rdata + 4)].join('.'));
    if (rtype === type && type === 6) {
      const mname = readName(buf, rdata);
      const rname = readName(buf, mname.next);
      values.push(String(buf.readUInt32BE(rname.next)));
    }
    off = rdata + len;
  }
  return { rcode, values };
}

export function queryTcp(server: { host: string; port: number }, name: string, type: number, timeoutMs = 1000): Promise<DnsAnswer | 'refused' | 'timeout'> {
  return new Promise((resolve) => {
    const socket = net.connect(server.port, server.host);
    let buf = Buffer.alloc(0);
    const done = (v: DnsAnswer | 'refused' | 'timeout') => {
      socket.destroy();
      clearTimeout(timer);
      resolve(v);
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    socket.on('error', () => done('refused'));
    socket.on('connect', () => {
      const q = encode(name, type, 0x4242);
      const len = Buffer.alloc(2);
      len.writeUInt16BE(q.length);
      socket.write(Buffer.concat([len, q]));
    });
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        try {
          done(decode(buf.subarray(2, 2 + buf.readUInt16BE(0)), type));
        } catch {
          done('timeout');
        }
      }
    });
  });
}

export function queryUdp(server: { host: string; port: number }, name: string, type: number, timeoutMs = 500): Promise<DnsAnswer | 'timeout'> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(net.isIPv6(server.host) ? 'udp6' : 'udp4');
    const done = (v: DnsAnswer | 'timeout') => {
      clearTimeout(timer);
      socket.close();
      resolve(v);
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    socket.on('error', () => done('timeout'));
    socket.on('message', (m) => {
      try {
        done(decode(m, type));
      } catch {
        done('timeout');
      }
    });
    socket.send(encode(name, type, 0x4343), server.port, server.host);
  });
}

/**
 * Waits until the DNS server at `server` gives an answer `ok` accepts over TCP and over UDP (several UDP
 * queries: each may land on another process). Returns 'served', 'no-server' (nothing listens) or 'timeout'.
 */
export async function waitUntilServed(
  server: { host: string; port: number } | null,
  name: string,
  type: number,
  ok: (a: DnsAnswer) => boolean,
  timeoutMs = 5000,
): Promise<'served' | 'no-server' | 'timeout'> {
  if (!server) return 'no-server';
  const host = server.host === '0.0.0.0' ? '127.0.0.1' : server.host === '::' ? '::1' : server.host;
  const target = { host, port: server.port };
  const deadline = Date.now() + timeoutMs;
  let udpOk = 0;
  while (Date.now() < deadline) {
    const tcp = await queryTcp(target, name, type);
    if (tcp === 'refused') return 'no-server';
    if (tcp !== 'timeout' && ok(tcp)) {
      const udp = await queryUdp(target, name, type);
      udpOk = udp !== 'timeout' && ok(udp) ? udpOk + 1 : 0;
      if (udpOk >= 4) return 'served';
      continue;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return 'timeout';
}
