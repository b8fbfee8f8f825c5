// A DNS query as tests send it: the name's labels exactly as given (no case change, no compression), an
// optional EDNS OPT record. One builder for every DNS test instead of a copy in each.

import { WireWriter } from '../../src/dns/wire';

export interface QueryOptions {
  id?: number;
  /** Header flags; default 0x0100 (RD). */
  flags?: number;
  edns?: { payload: number; version?: number; dnssecOk?: boolean };
}

export function encodeQuery(name: string, type: number, opts: QueryOptions = {}): Buffer {
  const w = new WireWriter();
  for (const v of [opts.id ?? 0x1234, opts.flags ?? 0x0100, 1, 0, 0, opts.edns ? 1 : 0]) w.u16(v);
  w.name(name, false);
  w.u16(type);
  w.u16(1);
  if (opts.edns) {
    w.u8(0);
    w.u16(41);
    w.u16(opts.edns.payload);
    w.u32(((opts.edns.version ?? 0) << 16) | (opts.edns.dnssecOk ? 0x8000 : 0));
    w.u16(0);
  }
  return w.toBuffer();
}
