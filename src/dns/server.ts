// The DNS listener: UDP and TCP sockets around the engine, zones loaded from the store and kept current
// from its change log, NOTIFY to secondaries when a serial moves.
//
// dns2's Server classes are not used: they parse with dns2's codec (see wire.ts for why not), answer
// unparseable packets with nothing, and give no hook to cap TCP buffering. We keep dgram/net sockets here.

import dgram from 'node:dgram';
import net from 'node:net';
import type { Backend, StoredEntry } from '../../backends/types';
import type { Entry } from '../directory/types';
import { addReverseZones, buildZonesReport, classifyEntry, ptrFlagsOf, reverseZoneOfAddress, type PtrFlag } from './build';
import { dnssecEntryZone } from './dnssec/model';
import { attachDnssec } from './dnssec/zone-keys';
import { DnsEngine, QueryEvent } from './engine';
import { canonicalName } from './name';
import { Notifier, NotifyMode, NotifyTarget, notifyTargetsFor, parseTarget } from './notify';
import type { TsigKey } from './tsig';
import { initialSerial, SerialFormat } from './serial';
import { ResponseRateLimiter, truncatedResponse, type RrlOptions } from './rrl';
import { DnsTcpServer, type TcpCloseReason } from './tcp';
import { setUdpReading, skipAddressLookup } from './udp-handle';
import { ZoneSet, type Zone } from './zone';

export interface DnsLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error?(obj: object, msg?: string): void;
  debug?(obj: object, msg?: string): void;
}

export interface DnsServerOptions {
  /** The store to serve from: loaded at start (then releaseMemory), followed through changesSince(). */
  backend?: Pick<Backend, 'all' | 'getByDnNorm' | 'changesSince' | 'lastChangeSeq' | 'search' | 'capabilities'>;
  /** Alternatively a fixed set of entries (CLI tools, tests without a store). */
  entries?: Entry[];
  /** Called with a callback to run after each committed write; returns an unsubscribe function. */
  onCommitted?: (cb: () => void) => () => void;
  listen: { host: string; port: number };
  /** Addresses/CIDRs allowed AXFR and IXFR. */
  allowTransfer?: string[];
  /** TSIG keys signed requests may use (answers are signed with the same key). */
  tsigKeys?: TsigKey[];
  /** When set, transfers need a TSIG signature with one of these key names. */
  transferKeys?: string[];
  /** Name of the key (in tsigKeys) NOTIFY messages are signed with. */
  notifyKey?: string;
  /** NOTIFY targets: a list for every zone, or per zone ('*' = every zone). "host[:port]" or {host, port}. */
  notify?: Array<string | NotifyTarget> | Record<string, string[]>;
  /** Times an unanswered NOTIFY is resent. */
  notifyRetry?: number;
  /** Also NOTIFY the addresses of each zone's NS hosts that we know (other than the SOA primary), like BIND. */
  notifyNsRecords?: boolean;
  /** BIND's notify yes | explicit | no; overrides notifyNsRecords (yes = NS hosts too, explicit = `notify` only). */
  notifyMode?: NotifyMode;
  serialFormat?: SerialFormat;
  udpPayload?: number;
  tcpIdleSeconds?: number;
  /** Fallback polling of the change log (other frontends writing to a shared PostgreSQL). 0 = off. */
  pollIntervalMs?: number;
  maxTcpConnections?: number;
  /** Response rate limiting over UDP (rrl.ts); absent or responsesPerSecond 0 = off. */
  rrl?: RrlOptions;
  /** TCP connections one address (IPv6: one /64) may hold; 0 = no limit. */
  maxTcpConnectionsPerAddress?: number;
  /** Seconds a TCP message may take to arrive once its first byte has (the dribbling client's bound). */
  tcpMessageSeconds?: number;
  logger?: DnsLogger;
  observer?: DnsObserver;
  /** Notify retry timing (tests shorten it). */
  notifyInitialDelayMs?: number;
  /** DNSSEC signature lifetime and refresh margin in seconds (config dns.dnssec.*). */
  signatureValidity?: number;
  signatureRefresh?: number;
}

/** How often signed zones are checked for signatures due for refresh. */
const SIGNATURE_CHECK_MS = 15 * 60 * 1000;

/** Checks for signatures due for refresh on a timer that does not keep the process alive. */
function refreshTimer(engine: DnsEngine, logger: DnsLogger): NodeJS.Timeout {
  const t = setInterval(() => {
    try {
      const zones = engine.refreshSignatures();
      if (zones.length) logger.info({ zones: zones.length }, 'DNSSEC signatures refreshed');
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'DNSSEC signature refresh failed');
    }
  }, SIGNATURE_CHECK_MS);
  t.unref();
  return t;
}

export interface DnsServer {
  address(): { host: string; port: number };
  /** The bound UDP socket: the cluster primary hands it to worker processes, which answer on it too. */
  udpSocket(): dgram.Socket;
  close(): Promise<void>;
  zones(): Zone[];
  /** Re-reads the change log now (the write path may call it; also run by onCommitted and the poll). */
  sync(): void;
  /** Replaces the served entries (only for servers started with `entries`). */
  setEntries(entries: Entry[]): void;
  engine: DnsEngine;
}

export interface DnsObserver {
  onQuery?(e: QueryEvent): void;
  onReload?(info: { zones: number; ms: number; full: boolean }): void;
  onSerial?(zone: string, serial: number): void;
  onNotify?(e: { zone: string; serial: number; target: NotifyTarget; result: 'acknowledged' | 'timeout' }): void;
  onLag?(pending: number): void;
  /** Handling time of a sample of the queries (one in 64), in seconds. */
  onDuration?(seconds: number): void;
  /** A UDP response limited by RRL: sent truncated (slip) or dropped. */
  onRateLimited?(action: 'slipped' | 'dropped'): void;
  /** A TCP connection refused or closed by us (limits, deadlines, bad framing). */
  onTcpClosed?(reason: TcpCloseReason): void;
}

/** One query in this many is timed for the duration histogram (timing each one costs throughput). */
const DURATION_SAMPLE = 64;

const noopLogger: DnsLogger = { info: () => undefined, warn: () => undefined };

/**
 * dgram's default lookup resolves even an IP literal through dns.lookup and a process.nextTick per send;
 * answers always go to the address a query came from, so the address is used as it is, synchronously.
 */
const literalAddress = (address: string, family: unknown, callback: (err: Error | null, address: string, family: number) => void): void =>
  callback(null, address, address.includes(':') ? 6 : 4);

/** The UDP 'message' handler: one query in, its answer out to the sender (through RRL when it is on). */
function udpAnswerer(udp: dgram.Socket, engine: DnsEngine, logger: DnsLogger, observer: DnsObserver | undefined, rrlOptions: RrlOptions | undefined): (msg: Buffer, rinfo: dgram.RemoteInfo) => void {
  let sampleCounter = 0;
  const onDuration = observer?.onDuration;
  const limiter = rrlOptions && rrlOptions.responsesPerSecond > 0 ? new ResponseRateLimiter(rrlOptions) : null;
  const send = (m: Buffer, rinfo: dgram.RemoteInfo): void => {
    if (limiter) {
      const verdict = limiter.check(rinfo.address, m);
      if (verdict !== 'send') {
        observer?.onRateLimited?.(verdict === 'slip' ? 'slipped' : 'dropped');
        if (verdict === 'drop') return;
        m = truncatedResponse(m);
      }
    }
    udp.send(m, rinfo.port, rinfo.address);
  };
  return (msg, rinfo) => {
    let out: Buffer[] | null;
    try {
      if (onDuration && ++sampleCounter >= DURATION_SAMPLE) {
        sampleCounter = 0;
        const started = process.hrtime.bigint();
        out = engine.handle(msg, 'udp', rinfo.address);
        onDuration(Number(process.hrtime.bigint() - started) / 1e9);
      } else {
        out = engine.handle(msg, 'udp', rinfo.address);
      }
    } catch (err) {
      logger.warn({ err: (err as Error).message, peer: rinfo.address }, 'DNS request failed');
      return;
    }
    if (out) for (const m of out) send(m, rinfo);
  };
}

export type DnsReplicaOptions = Pick<
  DnsServerOptions,
  'backend' | 'entries' | 'onCommitted' | 'allowTransfer' | 'tsigKeys' | 'transferKeys' | 'serialFormat' | 'udpPayload' | 'pollIntervalMs' | 'logger' | 'observer' | 'rrl' | 'signatureValidity' | 'signatureRefresh'
>;

/**
 * A UDP-only copy of the DNS server for another process of the same service (a cluster worker): its own zones,
 * loaded from the store and kept current from the change log like the primary's, answering on a UDP socket
 * the primary bound and handed over. TCP, AXFR over TCP, NOTIFY and NOTIFY targets stay with the primary.
 */
export interface DnsReplica {
  engine: DnsEngine;
  /** Starts answering on the socket. Call it in the same tick the socket arrives: a datagram read before a handler exists is lost. */
  attach(udp: dgram.Socket): void;
  /** Re-reads the change log now (another process committed a write). */
  sync(): void;
  /** Counts zone updates (each one clears the answer cache): a write that moved it touched DNS data. */
  generation(): number;
  /** Hands the query counts kept since the last call to the metrics registry (index.ts sets it). */
  flushMetrics?(): void;
  /**
   * Stops or resumes this process's reads of the shared socket (it still answers what it has read): while its
   * LDAP side runs scans, the other processes answer the DNS queries (issue 13: DNS never waits behind LDAP).
   */
  setReading(reading: boolean): void;
  close(): Promise<void>;
}

/** Builds the replica's zones now (synchronously: a process that reports ready has them). */
export function startDnsReplica(opts: DnsReplicaOptions): DnsReplica {
  const logger = opts.logger ?? noopLogger;
  const engine = new DnsEngine({
    udpPayload: opts.udpPayload,
    allowTransfer: opts.allowTransfer,
    tsigKeys: opts.tsigKeys,
    transferKeys: opts.transferKeys,
    serialFormat: opts.serialFormat ?? 'date',
    onQuery: opts.observer?.onQuery,
    signatureValidity: opts.signatureValidity,
    signatureRefresh: opts.signatureRefresh,
  });
  const source = new EntrySource(opts, engine, logger);
  source.loadAll();
  const resign = refreshTimer(engine, logger);
  const unsubscribe = opts.onCommitted?.(() => source.sync());
  const poll = opts.backend && (opts.pollIntervalMs ?? 1000) > 0 ? setInterval(() => source.sync(), opts.pollIntervalMs ?? 1000) : undefined;
  poll?.unref();
  let socket: dgram.Socket | null = null;
  let reading = true;
  return {
    engine,
    attach(udp) {
      if (socket) throw new Error('the DNS replica already has a socket');
      socket = udp;
      udp.on('message', udpAnswerer(udp, engine, logger, opts.observer, opts.rrl));
      udp.on('error', (err) => logger.warn({ err: err.message }, 'DNS UDP socket error'));
      skipAddressLookup(udp);
      if (!reading) setUdpReading(udp, false);
    },
    setReading(next) {
      if (next === reading) return;
      reading = next;
      if (socket) setUdpReading(socket, next);
    },
    sync: () => source.sync(),
    generation: () => engine.generation,
    close: async () => {
      unsubscribe?.();
      if (poll) clearInterval(poll);
      clearInterval(resign);
      // Closes this process's descriptor only; the primary and the other workers keep theirs.
      socket?.close();
      socket = null;
    },
  };
}

export async function startDnsServer(opts: DnsServerOptions): Promise<DnsServer> {
  const logger = opts.logger ?? noopLogger;
  const format = opts.serialFormat ?? 'date';
  const notifyTargets = normalizeNotify(opts.notify);
  const notifyKey = opts.notifyKey === undefined ? undefined : opts.tsigKeys?.find((k) => k.name === opts.notifyKey!.toLowerCase().replace(/\.$/, ''));
  if (opts.notifyKey !== undefined && !notifyKey) throw new Error(`NOTIFY key ${opts.notifyKey} is not among the TSIG keys`);
  const notifier = new Notifier({
    logger,
    key: notifyKey,
    initialDelayMs: opts.notifyInitialDelayMs,
    maxAttempts: (opts.notifyRetry ?? 5) + 1,
    onAcknowledged: (zone, serial, target) => opts.observer?.onNotify?.({ zone, serial, target, result: 'acknowledged' }),
    onGiveUp: (zone, serial, target) => opts.observer?.onNotify?.({ zone, serial, target, result: 'timeout' }),
  });
  const engine = new DnsEngine({
    udpPayload: opts.udpPayload,
    allowTransfer: opts.allowTransfer,
    tsigKeys: opts.tsigKeys,
    transferKeys: opts.transferKeys,
    serialFormat: format,
    onQuery: opts.observer?.onQuery,
    signatureValidity: opts.signatureValidity,
    signatureRefresh: opts.signatureRefresh,
    onSigned: (zone, stats) => logger.debug?.({ zone: zone.origin, serial: zone.serial, ...stats }, 'zone signed'),
    onSerialChange: (zone) => {
      opts.observer?.onSerial?.(zone.origin, zone.serial);
      const mode = opts.notifyMode ?? (opts.notifyNsRecords ? 'yes' : 'explicit');
      const targets = notifyTargetsFor(mode, notifyTargets(zone.origin), () => nsTargets(engine, zone));
      if (targets.length) notifier.notify(zone.origin, zone.soa, zone.soaSet.ttl, targets);
    },
  });

  const source = new EntrySource(opts, engine, logger);
  source.loadAll();
  const resign = refreshTimer(engine, logger);

  const tcpIdleMs = (opts.tcpIdleSeconds ?? 10) * 1000;
  const tcpLimits = {
    idleMs: tcpIdleMs,
    messageMs: (opts.tcpMessageSeconds ?? 5) * 1000,
    maxConnections: opts.maxTcpConnections ?? 512,
    maxPerAddress: opts.maxTcpConnectionsPerAddress ?? 32,
    // NSD gives connections 200 ms when more than half of tcp-count is in use; a second leaves room for
    // a resolver's next query on a slow path.
    busyIdleMs: 1000,
  };
  // UDP and TCP share one port number; with port 0 the OS picks the UDP port and TCP may find it taken.
  let udp!: dgram.Socket;
  let tcp!: DnsTcpServer;
  for (let attempt = 0; ; attempt++) {
    udp = dgram.createSocket({ type: net.isIPv6(opts.listen.host) ? 'udp6' : 'udp4', lookup: literalAddress });
    udp.on('message', udpAnswerer(udp, engine, logger, opts.observer, opts.rrl));
    await listenUdp(udp, opts.listen.port, opts.listen.host);
    const port = udp.address().port;
    tcp = new DnsTcpServer({
      handle: (msg, transport, peer) => engine.handle(msg, transport, peer),
      limits: tcpLimits,
      onClosed: (reason, peer) => {
        opts.observer?.onTcpClosed?.(reason);
        if (reason === 'perAddressLimit' || reason === 'connectionLimit' || reason === 'messageDeadline') logger.debug?.({ peer, reason }, 'DNS TCP connection closed');
      },
      onError: (err, peer) => logger.warn({ err: (err as Error).message, peer }, 'DNS TCP request failed'),
    });
    try {
      await tcp.listen(port, opts.listen.host);
      break;
    } catch (err) {
      udp.close();
      if (opts.listen.port !== 0 || attempt >= 10) throw err;
    }
  }
  udp.on('error', (err) => logger.warn({ err: err.message }, 'DNS UDP socket error'));
  // Bursts of queries queue in the kernel while a zone rebuild runs: give them room (capped by net.core.rmem_max).
  try {
    udp.setRecvBufferSize(4 << 20);
    udp.setSendBufferSize(1 << 20);
  } catch {
    // the OS refused; its defaults stay
  }
  const port = udp.address().port;

  const unsubscribe = opts.onCommitted?.(() => source.sync());
  const poll = opts.backend && (opts.pollIntervalMs ?? 1000) > 0 ? setInterval(() => source.sync(), opts.pollIntervalMs ?? 1000) : undefined;
  poll?.unref();
  logger.info({ host: opts.listen.host, port, zones: engine.zones().length }, 'DNS listening');

  return {
    engine,
    address: () => ({ host: opts.listen.host, port }),
    udpSocket: () => udp,
    zones: () => engine.zones(),
    sync: () => source.sync(),
    setEntries: (entries) => source.setEntries(entries),
    close: async () => {
      unsubscribe?.();
      if (poll) clearInterval(poll);
      clearInterval(resign);
      notifier.close();
      udp.close();
      await tcp.close();
    },
  };
}

function listenUdp(udp: dgram.Socket, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(port, host, () => {
      udp.removeListener('error', reject);
      resolve();
    });
  });
}

function normalizeNotify(notify: DnsServerOptions['notify']): (zone: string) => NotifyTarget[] {
  if (!notify) return () => [];
  if (Array.isArray(notify)) {
    const all = notify.map((t) => (typeof t === 'string' ? parseTarget(t) : t));
    return () => all;
  }
  const per = new Map<string, NotifyTarget[]>();
  for (const [zone, targets] of Object.entries(notify)) per.set(zone === '*' ? '*' : canonicalName(zone), targets.map(parseTarget));
  return (zone) => [...(per.get(zone) ?? []), ...(per.get('*') ?? [])];
}

/** byZone key prefix of a zone's DNSSEC entries (no zone name starts with a NUL). */
const DNSSEC_KEY = '\u0000dnssec:';

/**
 * The DNS view of the store: every zone-relevant entry by normalized DN, rebuilt into zones when the change
 * log moves. Zones whose entries did not change keep their objects (and their cached answers).
 */
class EntrySource {
  private readonly entries = new Map<string, Entry>();
  /** Zone key (origin) → normalized DNs of the entries naming it. */
  private readonly byZone = new Map<string, Set<string>>();
  private readonly keysOf = new Map<string, string[]>();
  /** pTRRecord flags by entry, and the entries flagging into each generated reverse zone. */
  private readonly flagsOf = new Map<string, PtrFlag[]>();
  private readonly flagHolders = new Map<string, Set<string>>();
  private seq = 0;
  private syncing = false;
  private broken = false;

  constructor(
    private readonly opts: DnsReplicaOptions,
    private readonly engine: DnsEngine,
    private readonly logger: DnsLogger,
  ) {}

  loadAll(): void {
    const started = Date.now();
    this.entries.clear();
    this.byZone.clear();
    this.keysOf.clear();
    this.flagsOf.clear();
    this.flagHolders.clear();
    if (this.opts.backend) {
      this.seq = this.opts.backend.lastChangeSeq();
      for (const e of this.opts.backend.all()) this.put(e.dnNorm, toEntry(e));
    } else {
      for (const e of this.opts.entries ?? []) this.put(e.dn.toLowerCase().replace(/\s*,\s*/g, ','), e);
    }
    this.rebuildAll();
    // The full read filled the store's page cache (SQLite: the whole file) for nothing DNS reads again, and
    // SQLite discards that whole cache at this connection's first read after another process commits: 45 ms
    // at 75,000 entries, paid by the first LDAP write → DNS change (and, through the cluster's write → DNS
    // barrier, by the LDAP response). A backend that can let it go does so now.
    this.opts.backend?.capabilities.releaseMemory?.();
    this.warmUp();
    this.opts.observer?.onReload?.({ zones: this.engine.zones().length, ms: Date.now() - started, full: true });
  }

  /**
   * Runs the change path once on unchanged data (one zone rebuilt as it is: same records, same serial, no
   * NOTIFY), so that the first real change does not pay for compiling it in every process.
   */
  private warmUp(): void {
    const backend = this.opts.backend;
    if (!backend) return;
    const origin = [...this.byZone.keys()].find((k) => k !== '*dnsdomain2' && this.engine.zone(k) && this.engine.zone(k)!.source.layout !== 'reverse');
    if (!origin) return;
    backend.changesSince(this.seq, 10000);
    for (const dn of this.byZone.get(origin) ?? []) backend.getByDnNorm(dn);
    this.rebuildZones(new Set([origin]), new Set());
  }

  setEntries(entries: Entry[]): void {
    if (this.opts.backend) throw new Error('setEntries is for servers without a backend');
    this.opts.entries = entries;
    this.loadAll();
  }

  private put(dnNorm: string, entry: Entry): boolean {
    const info = classifyEntry(entry);
    if (!info) {
      // DNSSEC switches and keys (dnssec/model.ts) count as data of their zone under a key of their own, so that
      // a zone left with only those is still seen as gone.
      const zone = dnssecEntryZone(entry);
      if (zone === undefined) return false;
      this.entries.set(dnNorm, entry);
      this.keysOf.set(dnNorm, [DNSSEC_KEY + zone]);
      let s = this.byZone.get(DNSSEC_KEY + zone);
      if (!s) this.byZone.set(DNSSEC_KEY + zone, (s = new Set()));
      s.add(dnNorm);
      return true;
    }
    this.entries.set(dnNorm, entry);
    const keys = info.layout === 'dnsdomain2' ? ['*dnsdomain2'] : info.names;
    this.keysOf.set(dnNorm, keys);
    for (const k of keys) {
      let s = this.byZone.get(k);
      if (!s) this.byZone.set(k, (s = new Set()));
      s.add(dnNorm);
    }
    const flags = ptrFlagsOf(entry);
    if (flags.length) {
      this.flagsOf.set(dnNorm, flags);
      for (const origin of this.reverseOrigins(flags)) {
        let s = this.flagHolders.get(origin);
        if (!s) this.flagHolders.set(origin, (s = new Set()));
        s.add(dnNorm);
      }
    }
    return true;
  }

  private reverseOrigins(flags: PtrFlag[]): Set<string> {
    const out = new Set<string>();
    for (const f of flags) {
      const o = reverseZoneOfAddress(f.address);
      if (o) out.add(o);
    }
    return out;
  }

  /** Forgets an entry; returns its zone keys and the reverse zones its flags fed. */
  private remove(dnNorm: string): { keys: string[]; reverse: Set<string> } {
    const keys = this.keysOf.get(dnNorm) ?? [];
    for (const k of keys) this.byZone.get(k)?.delete(dnNorm);
    const reverse = this.reverseOrigins(this.flagsOf.get(dnNorm) ?? []);
    for (const o of reverse) this.flagHolders.get(o)?.delete(dnNorm);
    this.flagsOf.delete(dnNorm);
    this.keysOf.delete(dnNorm);
    this.entries.delete(dnNorm);
    return { keys, reverse };
  }

  private defaultSerial(): number {
    return initialSerial(this.opts.serialFormat ?? 'date');
  }

  /** The DNSSEC entries of the given zones (all zones when undefined). */
  private dnssecEntries(origins?: Iterable<string>): Entry[] {
    const out: Entry[] = [];
    const keys = origins ? [...origins].map((o) => DNSSEC_KEY + o) : [...this.byZone.keys()].filter((k) => k.startsWith(DNSSEC_KEY));
    for (const k of keys) for (const dn of this.byZone.get(k) ?? []) out.push(this.entries.get(dn)!);
    return out;
  }

  private attachDnssec(zones: Zone[], origins?: Iterable<string>): void {
    attachDnssec(zones, this.dnssecEntries(origins), (w) => this.logger.warn({ warning: w }, 'DNSSEC problem'));
  }

  private rebuildAll(): void {
    const report = buildZonesReport([...this.entries.values()], { defaultSerial: this.defaultSerial() });
    for (const w of report.warnings.slice(0, 50)) this.logger.warn({ warning: w }, 'DNS data problem');
    this.attachDnssec(report.zones);
    this.engine.replaceAll(report.zones);
  }

  /** Applies new change-log records. Partial rebuild when only plain forward zones are touched. */
  sync(): void {
    const backend = this.opts.backend;
    if (!backend || this.syncing) return;
    this.syncing = true;
    try {
      const started = Date.now();
      if (this.broken) {
        // A sync failed half-way: the in-memory view may be off; start again from the store.
        this.broken = false;
        this.loadAll();
        return;
      }
      const changes = backend.changesSince(this.seq, 10000);
      if (changes.length === 0) {
        this.opts.observer?.onLag?.(0);
        return;
      }
      if (changes[0].seq !== this.seq + 1) {
        // The records after our position were pruned (we were behind the log's horizon): what changed in
        // between is unknown, so every zone is built again from the store.
        this.logger.info({ at: this.seq, oldest: changes[0].seq }, 'DNS fell behind the pruned change log; reloading all zones');
        this.loadAll();
        return;
      }
      const dirty = new Set<string>();
      const dirtyReverse = new Set<string>();
      let full = changes.length >= 10000;
      const forget = (dnNorm: string) => {
        const gone = this.remove(dnNorm);
        for (const k of gone.keys) dirty.add(k);
        for (const o of gone.reverse) dirtyReverse.add(o);
      };
      const learn = (stored: StoredEntry) => {
        if (!this.put(stored.dnNorm, toEntry(stored))) return;
        for (const k of this.keysOf.get(stored.dnNorm) ?? []) dirty.add(k);
        for (const o of this.reverseOrigins(this.flagsOf.get(stored.dnNorm) ?? [])) dirtyReverse.add(o);
      };
      for (const c of changes) {
        if (c.kind === 'rename' && c.oldDnNorm !== undefined) {
          // The log names only the renamed entry; its descendants moved with it. Forget what we had under the
          // old name and read the new subtree, if any of it is zone data.
          const old = c.oldDnNorm;
          const under = [...this.entries.keys()].filter((k) => k === old || k.endsWith(',' + old));
          for (const k of under) forget(k);
          const base = backend.getByDnNorm(c.dnNorm);
          if (!base) continue;
          if (under.length === 0) {
            learn(base);
            continue;
          }
          for (const e of backend.search({ base, scope: 'sub', candidates: { kind: 'all' } })) learn(e);
          continue;
        }
        forget(c.dnNorm);
        if (c.kind === 'delete') continue;
        const stored = backend.getByDnNorm(c.dnNorm);
        if (stored) learn(stored);
      }
      // A DNSSEC entry changed: its zone is rebuilt (and re-signed with the new keys).
      for (const k of [...dirty]) {
        if (!k.startsWith(DNSSEC_KEY)) continue;
        dirty.delete(k);
        dirty.add(k.slice(DNSSEC_KEY.length));
      }
      this.seq = changes[changes.length - 1].seq;
      if (full || dirty.has('*dnsdomain2') || !this.rebuildZones(dirty, dirtyReverse)) {
        full = true;
        this.rebuildAll();
      }
      this.opts.observer?.onReload?.({ zones: dirty.size, ms: Date.now() - started, full });
      this.opts.observer?.onLag?.(Math.max(0, backend.lastChangeSeq() - this.seq));
      if (changes.length >= 10000) {
        this.syncing = false;
        this.sync();
      }
    } catch (err) {
      this.broken = true;
      this.logger.warn({ err: (err as Error).message }, 'DNS change-log sync failed; reloading all zones at the next sync');
    } finally {
      this.syncing = false;
    }
  }

  /**
   * Rebuilds the named forward zones and generated reverse zones only. Returns false when that cannot be done
   * exactly (PowerDNS-layout data in the same zone, flags into a reverse zone the directory hosts itself).
   */
  private rebuildZones(origins: Set<string>, reverseOrigins: Set<string>): boolean {
    // Zones whose flags feed a generated reverse zone: a change to their SOA/NS changes the reverse SOA/NS.
    const powerdns = this.byZone.get('*dnsdomain2');
    if (powerdns?.size) {
      // PowerDNS-layout names join whichever zone is their longest suffix: leave mixed zones to a full build.
      for (const dn of powerdns) {
        for (const name of classifyEntry(this.entries.get(dn)!)?.names ?? []) {
          for (const o of origins) if (name === o || name.endsWith('.' + o)) return false;
        }
      }
    }
    const entries: Entry[] = [];
    for (const origin of origins) for (const dn of this.byZone.get(origin) ?? []) entries.push(this.entries.get(dn)!);
    const report = buildZonesReport(entries, { defaultSerial: this.defaultSerial(), reverse: false });
    for (const w of report.warnings.slice(0, 50)) this.logger.warn({ warning: w }, 'DNS data problem');
    this.attachDnssec(report.zones, origins);
    const built = new Set(report.zones.map((z) => z.origin));
    // A zone whose SOA entry went while other entries of it remain keeps being served as it was: ISPMan's
    // touchSOA deletes and re-adds the SOA entry (the serial is in its DN) in separate operations, and the
    // zone must not flicker to REFUSED in between. It goes when its last entry goes.
    const removed = [...origins].filter((o) => !built.has(o) && this.engine.zone(o)?.source.layout !== 'reverse' && this.engine.zone(o) && !this.byZone.get(o)?.size);
    // A generated reverse zone takes its SOA names and NS from a contributing forward zone: regenerate the
    // ones fed by a zone whose SOA names or NS changed (or that went away).
    for (const o of origins) {
      const old = this.engine.zone(o);
      const now = report.zones.find((z) => z.origin === o);
      if (!old || (now && sameDelegationData(old, now))) continue;
      for (const dn of this.byZone.get(o) ?? []) for (const r of this.reverseOrigins(this.flagsOf.get(dn) ?? [])) reverseOrigins.add(r);
      for (const [r, holders] of this.flagHolders) if (!now && holders.size) reverseOrigins.add(r);
    }
    this.engine.update(report.zones, removed);
    if (reverseOrigins.size === 0) return true;
    const flags: PtrFlag[] = [];
    for (const o of reverseOrigins) {
      for (const dn of this.flagHolders.get(o) ?? []) {
        for (const f of this.flagsOf.get(dn) ?? []) if (reverseZoneOfAddress(f.address) === o) flags.push(f);
      }
    }
    const warnings: string[] = [];
    const { generated, hostedHit } = addReverseZones(new ZoneSet(this.engine.zones()), flags, warnings, false);
    if (hostedHit) return false;
    const made = new Set(generated.map((z) => z.origin));
    const gone = [...reverseOrigins].filter((o) => !made.has(o) && this.engine.zone(o)?.source.layout === 'reverse');
    this.engine.update(generated, gone);
    return true;
  }
}

/** Whether two versions of a zone agree on what generated reverse zones copy: SOA names and apex NS. */
function sameDelegationData(a: Zone, b: Zone): boolean {
  if (a.soa.mname !== b.soa.mname || a.soa.rname !== b.soa.rname) return false;
  const ns = (z: Zone) => (z.nodes.get(z.origin)?.get(2)?.rdatas ?? []).map((r) => (r.type === 2 ? r.host : '')).sort().join(' ');
  return ns(a) === ns(b);
}

/** Addresses of the zone's NS hosts that our own zones give, except the primary's (it is us). */
function nsTargets(engine: DnsEngine, zone: Zone): NotifyTarget[] {
  const out: NotifyTarget[] = [];
  const ns = zone.nodes.get(zone.origin)?.get(2);
  for (const r of ns?.rdatas ?? []) {
    if (r.type !== 2 || r.host === zone.soa.mname) continue;
    const node = engine.findZone(r.host)?.nodes.get(r.host);
    for (const set of [node?.get(1), node?.get(28)]) for (const a of set?.rdatas ?? []) if (a.type === 1 || a.type === 28) out.push({ host: a.address, port: 53 });
  }
  return out;
}

function toEntry(e: StoredEntry): Entry {
  return { dn: e.dn, attributes: e.attrs };
}

