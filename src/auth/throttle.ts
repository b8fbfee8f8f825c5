// Failed-bind throttling (design §8; issue 13: no lockout switch). Failed simple binds are counted within a
// sliding window per (bind DN, client address) pair, per client address and per DN. The policy slows the
// guesser down instead of locking the account:
//
//  - A pair (this DN from this address) gets `perDn` failures free; after that its binds are paced: one
//    attempt per delay, the delay doubling with every further failure (1 s, 2 s, 4 s … up to maxDelay). An
//    attempt that would have to wait longer than maxDelay (a guesser running binds in parallel) is refused at
//    once, answered like a wrong password.
//  - An address gets `perAddress` failures over all DNs free (Dovecot binds for every user from one host),
//    then is paced the same way: one host guessing many accounts.
//  - Once a DN has `perDn` failures from all addresses together (guessing spread over many hosts), every
//    address that already failed on it is paced from its next attempt; each host gets one try.
//  - An address with no failure for the DN (and under its own limit) is never delayed: the account's owner
//    logs in from a clean address at once while someone else is guessing. A success clears the pair.
//
// Memory is bounded: each key keeps a bounded number of failure times; keys whose newest failure left the
// window are dropped; each table holds at most `maxTrackedKeys` keys (the least recently failed go first).
import { isIPv4, isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface BindThrottleOptions {
  /** Length of the sliding window, in seconds. */
  windowSeconds: number;
  /** Failures of one DN from one address within the window before that pair is paced; 0 disables. */
  maxFailuresPerDn: number;
  /** Failures from one client address within the window (all DNs) before the address is paced; 0 disables. */
  maxFailuresPerAddress: number;
  /** Longest delay between two attempts of a paced key, in milliseconds. Default 30000. */
  maxDelayMs?: number;
  /** The first delay once a key is paced, doubled with every further failure. Default 1000. */
  baseDelayMs?: number;
  /** Most keys kept per table (pairs, DNs, addresses). Default 100000. */
  maxTrackedKeys?: number;
  /** IPv6 clients are counted per network of this prefix length (one host usually owns a /64). Default 64. */
  ipv6PrefixLength?: number;
  /** Monotonic clock in milliseconds; injected by tests. Default performance.now. */
  now?: () => number;
}

/** One bind outcome as the throttle records it (shared between processes). */
export interface BindOutcome {
  ok: boolean;
  dn: string;
  address: string;
}

export interface ThrottleVerdict {
  /** Refused without checking the password (the caller answers it like a wrong one). */
  refused: boolean;
  /** Milliseconds the caller must wait before checking the password (0: at once). */
  delayMs: number;
  /** Which counter paced or refused the attempt. */
  reason?: 'dn' | 'address';
}

/** Failure times kept per key beyond its free allowance: enough doublings to pass any sane maxDelay. */
const EXTRA_KEPT = 32;

/** Failure times per key, in a Map kept ordered by each key's most recent failure. */
class FailureTable {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly keep: number,
    private readonly windowMs: number,
    private readonly maxKeys: number,
  ) {}

  get size(): number {
    return this.failures.size;
  }

  /** Failures of `key` inside the window. */
  count(key: string, now: number): number {
    const times = this.failures.get(key);
    if (!times) return 0;
    let n = 0;
    for (let i = times.length - 1; i >= 0 && times[i]! > now - this.windowMs; i--) n++;
    return n;
  }

  /** Time of the newest failure of `key`, or -Infinity. */
  last(key: string): number {
    const times = this.failures.get(key);
    return times && times.length > 0 ? times[times.length - 1]! : -Infinity;
  }

  record(key: string, now: number): void {
    if (this.keep <= 0) return;
    const times = this.failures.get(key) ?? [];
    this.failures.delete(key); // re-inserted below, so the Map stays ordered by newest failure
    times.push(now);
    while (times.length > 0 && (times.length > this.keep || times[0]! <= now - this.windowMs)) times.shift();
    this.failures.set(key, times);
    this.expire(now);
  }

  has(key: string): boolean {
    return this.failures.has(key);
  }

  clear(key: string): void {
    this.failures.delete(key);
  }

  /** Drops keys from the front (oldest newest-failure first) while they are expired or over the cap. */
  expire(now: number): void {
    for (const [key, times] of this.failures) {
      const expired = times[times.length - 1]! <= now - this.windowMs;
      if (!expired && this.failures.size <= this.maxKeys) break;
      this.failures.delete(key);
    }
  }
}

/** When each paced key may next try, so parallel attempts queue one delay apart instead of all at once. */
class Reservations {
  private readonly next = new Map<string, number>();

  constructor(private readonly maxKeys: number) {}

  get(key: string): number {
    return this.next.get(key) ?? -Infinity;
  }

  set(key: string, at: number, now: number): void {
    this.next.delete(key);
    this.next.set(key, at);
    for (const [oldest, when] of this.next) {
      if (when > now && this.next.size <= this.maxKeys) break;
      this.next.delete(oldest);
    }
  }

  clear(key: string): void {
    this.next.delete(key);
  }
}

export class BindThrottle {
  private readonly byPair: FailureTable;
  private readonly byDn: FailureTable;
  private readonly byAddress: FailureTable;
  private readonly reserved: Reservations;
  private readonly now: () => number;
  private readonly listeners: Array<(outcome: BindOutcome) => void> = [];
  private readonly ipv6PrefixLength: number;
  private readonly perDn: number;
  private readonly perAddress: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(options: BindThrottleOptions) {
    const windowMs = options.windowSeconds * 1000;
    if (!(windowMs > 0)) throw new Error('bind throttle window must be a positive number of seconds');
    for (const limit of [options.maxFailuresPerDn, options.maxFailuresPerAddress]) {
      if (!Number.isInteger(limit) || limit < 0) throw new Error('bind throttle limits must be integers >= 0');
    }
    const maxKeys = options.maxTrackedKeys ?? 100_000;
    if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new Error('bind throttle maxTrackedKeys must be an integer >= 1');
    this.perDn = options.maxFailuresPerDn;
    this.perAddress = options.maxFailuresPerAddress;
    this.baseDelayMs = options.baseDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    if (!(this.baseDelayMs > 0) || !(this.maxDelayMs >= this.baseDelayMs)) throw new Error('bind throttle delays must be positive, maxDelayMs >= baseDelayMs');
    const keepPair = this.perDn > 0 ? this.perDn + EXTRA_KEPT : 0;
    this.byPair = new FailureTable(keepPair, windowMs, maxKeys);
    this.byDn = new FailureTable(keepPair, windowMs, maxKeys);
    this.byAddress = new FailureTable(this.perAddress > 0 ? this.perAddress + EXTRA_KEPT : 0, windowMs, maxKeys);
    this.reserved = new Reservations(maxKeys);
    this.now = options.now ?? (() => performance.now());
    this.ipv6PrefixLength = options.ipv6PrefixLength ?? 64;
  }

  /**
   * What to do with a bind of `dn` (normalized, as the directory compares DNs) from `address` now: go on,
   * wait `delayMs` first, or refuse. Asking reserves the attempt's slot: the next attempt of the same paced
   * key is placed one delay later. The verdict never depends on the password.
   */
  check(dn: string, address: string): ThrottleVerdict {
    const now = this.now();
    const addr = addressKey(address, this.ipv6PrefixLength);
    const pair = pairKey(dn, addr);
    let at = now;
    let reason: ThrottleVerdict['reason'];
    const paced: Array<[string, number]> = [];
    if (this.perDn > 0) {
      const failures = this.byPair.count(pair, now);
      // Guessing spread over many addresses: every address that failed on this DN has used its free try.
      const elsewhere = this.byDn.count(dn, now) - failures;
      const free = elsewhere >= this.perDn ? 1 : this.perDn;
      const delay = this.delayFor(failures - free + 1);
      if (delay > 0) {
        paced.push([pair, delay]);
        const slot = Math.max(now, Math.max(this.reserved.get(pair), this.byPair.last(pair)) + delay);
        if (slot > at) [at, reason] = [slot, 'dn'];
      }
    }
    if (this.perAddress > 0) {
      const delay = this.delayFor(this.byAddress.count(addr, now) - this.perAddress + 1);
      if (delay > 0) {
        paced.push([addr, delay]);
        const slot = Math.max(now, Math.max(this.reserved.get(addr), this.byAddress.last(addr)) + delay);
        if (slot > at) [at, reason] = [slot, 'address'];
        else reason ??= 'address';
      }
    }
    if (paced.length === 0) return { refused: false, delayMs: 0 };
    reason ??= 'dn';
    if (at - now > this.maxDelayMs) return { refused: true, delayMs: 0, reason };
    for (const [key] of paced) this.reserved.set(key, at, now);
    return { refused: false, delayMs: at - now, reason };
  }

  /** The delay of a key `steps` failures past its allowance (0 when within it). */
  private delayFor(steps: number): number {
    if (steps <= 0) return 0;
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(steps - 1, 30));
  }

  /** Counts a bind whose password was checked and found wrong (or whose DN does not exist). */
  recordFailure(dn: string, address: string): void {
    this.countFailure(dn, address);
    for (const l of this.listeners) l({ ok: false, dn, address });
  }

  /**
   * A successful bind clears the failures of its pair (the owner is back); the DN's count from other
   * addresses and the address's count stay (one host guessing many accounts is not forgiven by one right guess).
   */
  recordSuccess(dn: string, address = ''): void {
    // Most binds succeed with nothing on record: only a success that clears failures is worth telling.
    const clears = this.listeners.length > 0 && this.hasFailures(dn, address);
    this.clearPair(dn, address);
    if (clears) for (const l of this.listeners) l({ ok: true, dn, address });
  }

  /**
   * Tells `listener` of every failure recorded here and every success that cleared failures (the cluster
   * passes them to the other processes, so a client spreading its guesses over them meets the same limits).
   * Returns the unsubscribe function.
   */
  onRecorded(listener: (outcome: BindOutcome) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Applies an outcome another process recorded (not told to the listeners again). */
  applyPeerOutcome(outcome: BindOutcome): void {
    if (outcome.ok) this.clearPair(outcome.dn, outcome.address);
    else this.countFailure(outcome.dn, outcome.address);
  }

  private countFailure(dn: string, address: string): void {
    const now = this.now();
    const addr = addressKey(address, this.ipv6PrefixLength);
    this.byPair.record(pairKey(dn, addr), now);
    this.byDn.record(dn, now);
    this.byAddress.record(addr, now);
  }

  private clearPair(dn: string, address: string): void {
    const pair = pairKey(dn, addressKey(address, this.ipv6PrefixLength));
    this.byPair.clear(pair);
    this.reserved.clear(pair);
    this.byPair.expire(this.now());
  }

  /** Whether failures of this DN (from `address`, when given) are on record: a success then has something to clear. */
  hasFailures(dn: string, address?: string): boolean {
    if (address === undefined) return this.byDn.has(dn);
    return this.byPair.has(pairKey(dn, addressKey(address, this.ipv6PrefixLength)));
  }

  /** Keys currently tracked, for metrics. */
  stats(): { trackedDns: number; trackedAddresses: number; trackedPairs: number } {
    const now = this.now();
    this.byDn.expire(now);
    this.byAddress.expire(now);
    this.byPair.expire(now);
    return { trackedDns: this.byDn.size, trackedAddresses: this.byAddress.size, trackedPairs: this.byPair.size };
  }
}

function pairKey(dn: string, addressKeyText: string): string {
  return `${dn}\u0000${addressKeyText}`;
}

/**
 * The counting key of a client address: IPv4 as is (also when written IPv4-mapped, `::ffff:a.b.c.d`),
 * IPv6 reduced to its network of `prefixLength` bits in full form (`2001:db8:0:1::/64`), anything else
 * (a Unix socket, an unknown peer) unchanged.
 */
export function addressKey(address: string, prefixLength = 64): string {
  if (isIPv4(address)) return address;
  const withoutZone = address.replace(/%.*$/, '');
  if (!isIPv6(withoutZone)) return address;
  const groups = expandIPv6(withoutZone);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;
  }
  const bits = Math.min(Math.max(prefixLength, 0), 128);
  const masked = groups.map((group, i) => {
    const keep = Math.min(Math.max(bits - i * 16, 0), 16);
    return keep === 0 ? 0 : group & (0xffff << (16 - keep)) & 0xffff;
  });
  return `${masked.map((g) => g.toString(16)).join(':')}/${bits}`;
}

/** The eight 16-bit groups of a valid IPv6 address (net.isIPv6 has checked it), embedded IPv4 included. */
function expandIPv6(address: string): number[] {
  let text = address;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = text.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const front = parse(head);
  if (tail === undefined) return front;
  const back = parse(tail);
  return [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}
