// The DNS subsystem's entry point for src/server.ts: startDnsServer over the directory and its store.

import type { Backend, IndexTerm, AttributeMap, StoredEntry, WriteTransaction } from '../../backends/types';
import type { ChangeNotice } from '../directory/change-feed';
import type { Metrics } from '../metrics';
import { installSerialHook } from './serial';
import { DnsObserver, DnsReplica, DnsReplicaOptions, DnsServer, DnsServerOptions, startDnsReplica as startReplicaListener, startDnsServer as startListener } from './server';
import { typeName } from './types';

export { buildZones, buildZonesReport, classifyEntry } from './build';
export { lookup } from './lookup';
export { zoneToMasterFile } from './masterfile';
export { installSerialHook, nextSerial, serialHook } from './serial';
export type { DnsReplica, DnsServer, DnsServerOptions } from './server';

/** What the DNS server uses of the directory (DirectoryService fits): change events and the write hook. */
export interface DnsDirectory {
  readonly backend: Pick<Backend, 'search' | 'getByDnNorm'>;
  readonly schema?: { attributeType(name: string): unknown };
  /** The directory's change feed (src/directory/change-feed.ts). */
  readonly changes: { subscribe(consumer: (notice: ChangeNotice) => void): () => void };
  addWriteHook(hook: (tx: WriteTransaction, changes: ReadonlyArray<{ kind: string; before?: StoredEntry; after?: StoredEntry }>) => void): void;
  indexTerms(attrs: AttributeMap): IndexTerm[];
}

export interface StartDnsOptions extends DnsServerOptions {
  directory?: DnsDirectory;
  metrics?: Metrics;
}

const RCODE_NAMES: Record<number, string> = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED', 9: 'NOTAUTH', 16: 'BADVERS' };
/** Label values are bounded (metric cardinality): unknown types are counted as OTHER. */
const QTYPE_LABELS = new Set(['A', 'NS', 'CNAME', 'SOA', 'PTR', 'MX', 'TXT', 'AAAA', 'SRV', 'DS', 'IXFR', 'AXFR', 'ANY', 'CAA', 'HINFO']);

/**
 * Starts the DNS listener on the directory's store: zones load from the store, follow its change log (pushed
 * by the directory's change feed, polled as a fallback), and every write to zone data raises the zone's
 * serial in its own transaction (the serial hook is installed on the directory here if it is not yet).
 */
export async function startDnsServer(options: StartDnsOptions): Promise<DnsServer> {
  const { directory, metrics } = options;
  if (directory) installSerialHook(directory, { format: options.serialFormat });
  const counted = metrics ? countQueries(metrics, options.observer, 'all') : null;
  const observer = counted?.observer ?? options.observer;
  const onCommitted = options.onCommitted ?? (directory ? afterCommits(directory) : undefined);
  const server = await startListener({ notifyNsRecords: true, ...options, observer, onCommitted });
  if (metrics) {
    const onScrape = () => {
      metrics.dnsZones.set(server.zones().length);
      counted?.flush();
    };
    onScrape();
    const unregister = metrics.onScrape(onScrape);
    const close = server.close;
    server.close = async () => {
      unregister();
      await close();
    };
  }
  return server;
}

/**
 * The UDP-only DNS copy of a cluster worker (server.ts startDnsReplica): same zones, same serial hook, its
 * query counts in its own metrics (the primary's scrape sums them). Zone count, serials and change-log lag are
 * the primary's to report: summed over processes they would be wrong.
 */
export function startDnsReplica(options: DnsReplicaOptions & { directory?: DnsDirectory; metrics?: Metrics }): DnsReplica {
  const { directory, metrics } = options;
  if (directory) installSerialHook(directory, { format: options.serialFormat });
  const counted = metrics ? countQueries(metrics, options.observer, 'queries') : null;
  const onCommitted = options.onCommitted ?? (directory ? afterCommits(directory) : undefined);
  const replica = startReplicaListener({ ...options, observer: counted?.observer ?? options.observer, onCommitted });
  if (!metrics || !counted) return replica;
  // A worker's registry is read without its scrape hooks (src/cluster.ts): the cluster calls flushMetrics first.
  replica.flushMetrics = counted.flush;
  const unregister = metrics.onScrape(counted.flush);
  const close = replica.close;
  replica.close = async () => {
    unregister();
    counted.flush();
    await close();
  };
  return replica;
}

/** Runs the callback after the directory's commits, once per tick; runs before the LDAP response of the write goes out. */
function afterCommits(directory: DnsDirectory): (cb: () => void) => () => void {
  return (cb) => {
    let queued = false;
    const listener = () => {
      if (queued) return;
      queued = true;
      queueMicrotask(() => {
        queued = false;
        cb();
      });
    };
    return directory.changes.subscribe(listener);
  };
}

/**
 * Counting into prom-client per packet (label hashing) costs more than answering: count into a Map of small
 * integer keys and hand the sums to prom-client when it is scraped (flush). `queries` leaves out the
 * per-process zone state (serial gauges, change-log lag).
 */
function countQueries(metrics: Metrics, user: DnsObserver | undefined, scope: 'all' | 'queries'): { observer: DnsObserver; flush(): void } {
  const queryCounts = new Map<number, number>();
  const flush = () => {
    for (const [key, n] of queryCounts) {
      const qtype = key & 0xffff;
      const rcode = (key >>> 16) & 0xff;
      const name = typeName(qtype);
      metrics.dnsQueries.inc({ qtype: QTYPE_LABELS.has(name) ? name : 'OTHER', rcode: RCODE_NAMES[rcode] ?? 'OTHER', transport: key >= 0x1000000 ? 'tcp' : 'udp' }, n);
    }
    queryCounts.clear();
  };
  const observer: DnsObserver = {
    ...user,
    onQuery: (e) => {
      user?.onQuery?.(e);
      if (e.dropped) return;
      const key = ((e.qtype ?? 0) & 0xffff) | ((e.rcode & 0xff) << 16) | (e.transport === 'tcp' ? 0x1000000 : 0);
      queryCounts.set(key, (queryCounts.get(key) ?? 0) + 1);
      if (e.qtype === 252 || e.qtype === 251) metrics.dnsTransfers.inc({ kind: e.qtype === 252 ? 'axfr' : 'ixfr', result: e.rcode === 0 ? 'success' : 'refused' });
    },
    onRateLimited: (action) => {
      user?.onRateLimited?.(action);
      metrics.dnsRateLimited.inc({ action });
    },
    onDuration: (seconds) => {
      user?.onDuration?.(seconds);
      metrics.dnsQueryDuration.observe(seconds);
    },
  };
  if (scope === 'all') {
    observer.onSerial = (zone, serial) => {
      user?.onSerial?.(zone, serial);
      metrics.dnsZoneSerial.set({ zone }, serial);
    };
    observer.onNotify = (e) => {
      user?.onNotify?.(e);
      metrics.dnsNotifies.inc({ result: e.result });
    };
    observer.onLag = (pending) => {
      user?.onLag?.(pending);
      metrics.changelogLag.set(pending);
    };
    observer.onTcpClosed = (reason) => {
      user?.onTcpClosed?.(reason);
      metrics.dnsTcpClosed.inc({ reason });
    };
  }
  return { observer, flush };
}
