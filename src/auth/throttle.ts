// Failed-bind throttling (design §8, issue 3 item 5): counts failed simple binds per bind DN and per
// client address within a sliding window. Once a key holds `limit` failures inside the window, further
// binds for it are refused without checking the password; the caller answers them exactly like a wrong
// password (invalidCredentials), so the throttle reveals nothing an attacker could use.
//
// Memory is bounded: each key keeps at most `limit` failure times; keys whose newest failure left the
// window are dropped; and each table holds at most `maxTrackedKeys` keys (the least recently failed go
// first when it is full).
import { isIPv4, isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface BindThrottleOptions {
  /** Length of the sliding window, in seconds. */
  windowSeconds: number;
  /** Failures per bind DN within the window before binds to that DN are refused; 0 disables. */
  maxFailuresPerDn: number;
  /** Failures per client address within the window before its binds are refused; 0 disables. */
  maxFailuresPerAddress: number;
  /** Most keys kept per table (DNs, addresses). Default 100000. */
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
  refused: boolean;
  /** Which counter refused the attempt (the DN's is reported when both do). */
  reason?: 'dn' | 'address';
  /** When the attempt would next be allowed, in milliseconds from now. */
  retryAfterMs?: number;
}

/** Failure times per key, in a Map kept ordered by each key's most recent failure. */
class FailureTable {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxKeys: number,
  ) {}

  get size(): number {
    return this.failures.size;
  }

  /** Milliseconds until `key` falls below the limit, or 0 when it is below already. */
  blockedFor(key: string, now: number): number {
    if (this.limit <= 0) return 0;
    const times = this.failures.get(key);
    if (!times || times.length < this.limit) return 0;
    // times holds the newest `limit` failures, oldest first: the key is blocked while the oldest of them
    // is still inside the window.
    const until = times[0]! + this.windowMs;
    return until > now ? until - now : 0;
  }

  record(key: string, now: number): void {
    if (this.limit <= 0) return;
    const times = this.failures.get(key) ?? [];
    this.failures.delete(key); // re-inserted below, so the Map stays ordered by newest failure
    times.push(now);
    while (times.length > 0 && (times.length > this.limit || times[0]! <= now - this.windowMs)) times.shift();
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

export class BindThrottle {
  private readonly byDn: FailureTable;
  private readonly byAddress: FailureTable;
  private readonly now: () => number;
  private readonly listeners: Array<(outcome: BindOutcome) => void> = [];
  private readonly ipv6PrefixLength: number;

  constructor(options: BindThrottleOptions) {
    const windowMs = options.windowSeconds * 1000;
    if (!(windowMs > 0)) throw new Error('bind throttle window must be a positive number of seconds');
    for (const limit of [options.maxFailuresPerDn, options.maxFailuresPerAddress]) {
      if (!Number.isInteger(limit) || limit < 0) throw new Error('bind throttle limits must be integers >= 0');
    }
    const maxKeys = options.maxTrackedKeys ?? 100_000;
    if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new Error('bind throttle maxTrackedKeys must be an integer >= 1');
    this.byDn = new FailureTable(options.maxFailuresPerDn, windowMs, maxKeys);
    this.byAddress = new FailureTable(options.maxFailuresPerAddress, windowMs, maxKeys);
    this.now = options.now ?? (() => performance.now());
    this.ipv6PrefixLength = options.ipv6PrefixLength ?? 64;
  }

  /**
   * Whether a bind of `dn` (normalized, as the directory compares DNs) from `address` must be refused
   * now. Refused attempts are not verified, so they are not failures to record: the key unblocks once
   * its recorded failures age out of the window.
   */
  check(dn: string, address: string): ThrottleVerdict {
    const now = this.now();
    const dnWait = this.byDn.blockedFor(dn, now);
    const addressWait = this.byAddress.blockedFor(addressKey(address, this.ipv6PrefixLength), now);
    if (dnWait > 0) return { refused: true, reason: 'dn', retryAfterMs: Math.max(dnWait, addressWait) };
    if (addressWait > 0) return { refused: true, reason: 'address', retryAfterMs: addressWait };
    return { refused: false };
  }

  /** Counts a bind whose password was checked and found wrong (or whose DN does not exist). */
  recordFailure(dn: string, address: string): void {
    this.countFailure(dn, address);
    for (const l of this.listeners) l({ ok: false, dn, address });
  }

  /** A successful bind clears its DN's failures; the address keeps its count (one host guessing many
   *  accounts must not be forgiven by one right guess). */
  recordSuccess(dn: string, address = ''): void {
    // Most binds succeed with nothing on record: only a success that clears failures is worth telling.
    const clears = this.listeners.length > 0 && this.byDn.has(dn);
    this.clearFailures(dn);
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
    if (outcome.ok) this.clearFailures(outcome.dn);
    else this.countFailure(outcome.dn, outcome.address);
  }

  private countFailure(dn: string, address: string): void {
    const now = this.now();
    this.byDn.record(dn, now);
    this.byAddress.record(addressKey(address, this.ipv6PrefixLength), now);
  }

  private clearFailures(dn: string): void {
    this.byDn.clear(dn);
    this.byDn.expire(this.now());
  }

  /** Whether failures of this DN are on record (a success then has something to clear). */
  hasFailures(dn: string): boolean {
    return this.byDn.has(dn);
  }

  /** Keys currently tracked, for metrics. */
  stats(): { trackedDns: number; trackedAddresses: number } {
    const now = this.now();
    this.byDn.expire(now);
    this.byAddress.expire(now);
    return { trackedDns: this.byDn.size, trackedAddresses: this.byAddress.size };
  }
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
