// Response rate limiting (RRL) for answers over UDP, as BIND (rate-limit) and NSD (rrl-*) do it: an
// authoritative server answers anyone, so a spoofed source turns it into an amplifier aimed at the address
// it names. Identical responses to one client prefix beyond `responsesPerSecond` are dropped, except every
// `slip`-th, which goes out as a small truncated answer (TC=1, no records): a real resolver behind that
// prefix retries over TCP and gets its answer (TCP cannot be spoofed), the victim of a spoof gets a packet
// no bigger than the query instead of the full answer.
//
// Sits between the engine and the UDP socket (server.ts); works on the response bytes, so the engine and
// its answer cache stay as they are. "Identical" follows BIND: the same client prefix and
// - a positive answer or NODATA: the same question name and type;
// - NXDOMAIN: the same zone (the owner of the SOA in the authority section), so that random names under
//   one zone share one account;
// - other errors (REFUSED, FORMERR, …): one account per prefix, at `errorsPerSecond`.
// A token bucket per account: credit `rate` per second, up to one second's worth; a flood may run the
// balance down to `-windowSeconds * rate`, so a limited source stays limited until it has been quiet for a while.

import { isIPv4 } from 'node:net';
import { AddressList } from './cidr';

export interface RrlOptions {
  /** Identical responses per second per client prefix before limiting; 0 = RRL off. */
  responsesPerSecond: number;
  /** Error responses (REFUSED, FORMERR, SERVFAIL, NOTIMP …) per second per prefix; default responsesPerSecond. */
  errorsPerSecond?: number;
  /** Every slip-th limited response goes out truncated (TC=1); 0 = drop them all, 1 = truncate them all. */
  slip: number;
  ipv4PrefixLength: number;
  ipv6PrefixLength: number;
  /** How far into debt (in seconds of credit) a flood can run an account. */
  windowSeconds: number;
  /** Clients never limited (monitoring, the operator's own resolvers). */
  exempt?: string[];
  /** Accounts kept at most (memory bound); the least recently created are forgotten first. */
  maxAccounts?: number;
  /**
   * Processes answering from the same UDP socket (cluster workers): the kernel spreads a client's datagrams
   * over them, so each applies its share of the rates.
   */
  processes?: number;
}

export type RrlVerdict = 'send' | 'slip' | 'drop';

interface Account {
  balance: number;
  /** Milliseconds (performance.now) of the last update. */
  at: number;
  /** Limited responses so far, for the slip count. */
  limited: number;
}

const DEFAULT_MAX_ACCOUNTS = 200_000;

export class ResponseRateLimiter {
  private readonly accounts = new Map<string, Account>();
  private readonly rate: number;
  private readonly errorRate: number;
  private readonly debt: number;
  private readonly errorDebt: number;
  private readonly exempt: AddressList;
  private readonly exemptPeers = new Map<string, boolean>();
  private readonly maxAccounts: number;
  private lastSweep = 0;

  constructor(private readonly opts: RrlOptions) {
    const share = Math.max(1, opts.processes ?? 1);
    this.rate = opts.responsesPerSecond / share;
    this.errorRate = (opts.errorsPerSecond ?? opts.responsesPerSecond) / share;
    this.debt = -opts.windowSeconds * this.rate;
    this.errorDebt = -opts.windowSeconds * this.errorRate;
    this.exempt = new AddressList(opts.exempt ?? []);
    this.maxAccounts = opts.maxAccounts ?? DEFAULT_MAX_ACCOUNTS;
  }

  get enabled(): boolean {
    return this.rate > 0;
  }

  /** Accounts held now (tests, metrics). */
  get size(): number {
    return this.accounts.size;
  }

  /**
   * Whether to send `response` to `peer` as it is, truncated (slip) or not at all. `now` in milliseconds
   * (performance.now() by default).
   */
  check(peer: string, response: Buffer, now = performance.now()): RrlVerdict {
    if (this.rate <= 0 || response.length < 12) return 'send';
    // Exempt clients (by default the host itself: monitoring, a local resolver, the benchmark) cost one
    // Map lookup, not an account.
    let exempt = this.exemptPeers.get(peer);
    if (exempt === undefined) {
      exempt = this.exempt.contains(peer);
      if (this.exemptPeers.size >= 10000) this.exemptPeers.clear();
      this.exemptPeers.set(peer, exempt);
    }
    if (exempt) return 'send';
    const key = accountKey(prefixOf(peer, this.opts.ipv4PrefixLength, this.opts.ipv6PrefixLength), response);
    if (key === null) return 'send';
    const error = key.charCodeAt(0) === 0x45; /* 'E' */
    const rate = error ? this.errorRate : this.rate;
    if (rate <= 0) return 'send';
    let account = this.accounts.get(key);
    if (!account) {
      this.makeRoom(now);
      account = { balance: rate, at: now, limited: 0 };
      this.accounts.set(key, account);
    } else {
      account.balance = Math.min(rate, account.balance + ((now - account.at) / 1000) * rate);
      account.at = now;
    }
    account.balance -= 1;
    if (account.balance >= 0) return 'send';
    const floor = error ? this.errorDebt : this.debt;
    if (account.balance < floor) account.balance = floor;
    account.limited++;
    const slip = this.opts.slip;
    return slip > 0 && account.limited % slip === 0 ? 'slip' : 'drop';
  }

  /** Forgets accounts whose credit is full again (they are as if new); past the bound, the oldest. */
  private makeRoom(now: number): void {
    if (this.accounts.size < this.maxAccounts) {
      if (now - this.lastSweep < 1000 || this.accounts.size < 1024) return;
    }
    this.lastSweep = now;
    for (const [key, account] of this.accounts) {
      const rate = key.charCodeAt(0) === 0x45 ? this.errorRate : this.rate;
      if (account.balance + ((now - account.at) / 1000) * rate >= rate) this.accounts.delete(key);
    }
    if (this.accounts.size >= this.maxAccounts) {
      let excess = this.accounts.size - Math.floor(this.maxAccounts * 0.9);
      for (const key of this.accounts.keys()) {
        if (excess-- <= 0) break;
        this.accounts.delete(key);
      }
    }
  }
}

/** The client's prefix as a string ("192.0.2.0/24", "2001:db8::/56"). */
export function prefixOf(address: string, v4bits: number, v6bits: number): string {
  const mapped = address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
  if (isIPv4(mapped)) {
    const parts = mapped.split('.').map(Number);
    const n = ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
    const masked = v4bits === 0 ? 0 : (n & (0xffffffff << (32 - v4bits))) >>> 0;
    return `${masked >>> 24}.${(masked >>> 16) & 255}.${(masked >>> 8) & 255}.${masked & 255}/${v4bits}`;
  }
  const groups = expandIPv6(mapped);
  if (!groups) return address;
  const out: number[] = [];
  for (let i = 0; i < 8; i++) {
    const bits = Math.max(0, Math.min(16, v6bits - i * 16));
    out.push(bits === 0 ? 0 : groups[i] & ((0xffff << (16 - bits)) & 0xffff));
  }
  return `${out.map((g) => g.toString(16)).join(':')}/${v6bits}`;
}

function expandIPv6(address: string): number[] | null {
  const zone = address.indexOf('%');
  const text = zone >= 0 ? address.slice(0, zone) : address;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = parse(halves[0]);
  const right = halves.length === 2 ? parse(halves[1]) : [];
  const fill = halves.length === 2 ? 8 - left.length - right.length : 0;
  const groups = [...left, ...Array(Math.max(0, fill)).fill(0), ...right];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

/**
 * The account a response is charged to: prefix + kind + name (lower-cased wire bytes) [+ qtype]. Null when
 * the response is not one we classify (no question: it passes unlimited; such answers are tiny).
 */
function accountKey(prefix: string, r: Buffer): string | null {
  const rcode = r[3] & 0x0f;
  if (r.readUInt16BE(4) !== 1) return rcode === 0 ? null : `E${prefix}`;
  const nameEnd = skipName(r, 12);
  if (nameEnd < 0 || nameEnd + 4 > r.length) return `E${prefix}`;
  if (rcode === 3) {
    // NXDOMAIN: charge the zone, named by the SOA owner in the authority section (after any CNAME chain).
    let at = nameEnd + 4;
    for (let n = r.readUInt16BE(6); n > 0 && at >= 0; n--) at = skipRecord(r, at);
    const zone = at >= 0 && r.readUInt16BE(8) > 0 ? nameAt(r, at) : null;
    return `N${prefix}|${zone ?? nameAt(r, 12)}`;
  }
  if (rcode !== 0) return `E${prefix}`;
  return `A${prefix}|${nameAt(r, 12)}|${r.readUInt16BE(nameEnd)}`;
}

/** Offset after the (possibly compressed) name at `at`, or -1. */
function skipName(r: Buffer, at: number): number {
  while (at < r.length) {
    const len = r[at];
    if (len === 0) return at + 1;
    if ((len & 0xc0) === 0xc0) return at + 2 <= r.length ? at + 2 : -1;
    if (len & 0xc0) return -1;
    at += 1 + len;
  }
  return -1;
}

function skipRecord(r: Buffer, at: number): number {
  const end = skipName(r, at);
  if (end < 0 || end + 10 > r.length) return -1;
  const next = end + 10 + r.readUInt16BE(end + 8);
  return next <= r.length ? next : -1;
}

/** The name at `at` as lower-cased dotted text, following compression pointers (bounded), or null. */
function nameAt(r: Buffer, at: number): string | null {
  let out = '';
  for (let hops = 0; hops < 64 && at < r.length; ) {
    const len = r[at];
    if (len === 0) return out || '.';
    if ((len & 0xc0) === 0xc0) {
      if (at + 1 >= r.length) return null;
      at = ((len & 0x3f) << 8) | r[at + 1];
      hops++;
      continue;
    }
    if (len & 0xc0 || at + 1 + len > r.length) return null;
    out += r.toString('latin1', at + 1, at + 1 + len).toLowerCase() + '.';
    at += 1 + len;
  }
  return null;
}

/**
 * The slipped form of a response: header and question only, TC set, no records (and so no OPT: a resolver
 * retries over TCP on TC whatever EDNS says). Never larger than the query that caused it.
 */
export function truncatedResponse(r: Buffer): Buffer {
  const questions = r.readUInt16BE(4);
  let end = 12;
  if (questions === 1) {
    const nameEnd = skipName(r, 12);
    end = nameEnd > 0 && nameEnd + 4 <= r.length ? nameEnd + 4 : 12;
  }
  const out = Buffer.from(r.subarray(0, end));
  out[2] |= 0x02; // TC
  out.writeUInt16BE(end > 12 ? 1 : 0, 4);
  out.writeUInt32BE(0, 6);
  out.writeUInt16BE(0, 10);
  return out;
}
