// Shared DNS data shapes. Names inside ispd's DNS code are absolute, lower-case, without the trailing dot
// ('' is the root): one spelling per name so that map lookups need no normalization per packet.

export const RRType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  DS: 43,
  IXFR: 251,
  AXFR: 252,
  MAILB: 253,
  MAILA: 254,
  ANY: 255,
  CAA: 257,
} as const;

export const RRClass = { IN: 1, CH: 3, NONE: 254, ANY: 255 } as const;

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  NOTAUTH: 9,
  /** Extended (RFC 6891): high 8 bits travel in the OPT TTL. */
  BADVERS: 16,
} as const;

export const Opcode = { QUERY: 0, NOTIFY: 4 } as const;

export type RData =
  | { type: 1; address: string }
  | { type: 28; address: string }
  | { type: 2; host: string }
  | { type: 5; target: string }
  | { type: 12; target: string }
  | { type: 15; preference: number; exchange: string }
  | { type: 16; strings: string[] }
  | { type: 33; priority: number; weight: number; port: number; target: string }
  | { type: 6; mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number }
  | { type: 257; flags: number; tag: string; value: string }
  | { type: 13; cpu: string; os: string };

/** All records of one owner and type. RFC 2181 §5.2: one TTL per RRset (the smallest given wins). */
export interface RRset {
  name: string;
  type: number;
  ttl: number;
  rdatas: RData[];
}

export type SoaData = Extract<RData, { type: 6 }>;

export const TYPE_NAMES: Record<number, string> = {
  1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 13: 'HINFO', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV',
  41: 'OPT', 43: 'DS', 251: 'IXFR', 252: 'AXFR', 255: 'ANY', 257: 'CAA',
};

export function typeName(type: number): string {
  return TYPE_NAMES[type] ?? `TYPE${type}`;
}
