// Wiring of one ispd process: store → schema → directory → LDAP, DNS and metrics adapters.
// Everything here is construction and lifecycle; behaviour lives in the modules it wires.

import cluster from 'node:cluster';
import type { Socket } from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { openBackend } from '../backends/registry';
import type { Backend } from '../backends/types';
import { AccessControl, defaultRules } from './acl';
import { loadAclFile } from './acl/file';
import { BindThrottle } from './auth';
import { FLAT_OPTIONS, type Config } from './config/load';
import { createDirectory, type DirectoryService } from './directory/operations';
import type { DnsReplica } from './dns/server';
import { installSerialHook } from './dns/serial';
import { parseKeySpec } from './dns/tsig';
import { loadSchema, POWERDNS_SCHEMA_FILES } from './directory/schema';
import type { Schema } from './directory/schema/types';
import { startLdapServer } from './ldap';
import { createAccessLog, createLogger, setLogLevel, type Logger } from './log';
import { storeOpenError } from './store-file';
import { createMetrics, ldapResultLabel, startMetricsServer, timeBackendQueries, type Metrics } from './metrics';

export const VERSION: string = (() => {
  try {
    return (require('../../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

export interface Store {
  backend: Backend;
  /** The backend the directory queries through (timed when metrics are on). */
  queries: Backend;
  schema: Schema;
  directory: DirectoryService;
}

/**
 * Opens the store and builds the directory over it (no listeners): used by serve, import, export and
 * reindex. With `metrics`, the directory's storage calls are timed into ispd_backend_query_duration_seconds
 * (store.backend stays the plain backend: bulk work is not a query).
 */
export function openStore(config: Config, logger?: Logger, options: { metrics?: Metrics } = {}): Store {
  fs.mkdirSync(path.dirname(path.resolve(config.db)), { recursive: true });
  // PowerDNS's LDAP schema too, so a PowerDNS-LDAP directory (dNSDomain2/associatedDomain) loads and is served unchanged.
  const schema = loadSchema({ extraFiles: POWERDNS_SCHEMA_FILES });
  // The backend learns which attributes are indexed, so one added to `indexes` later is not trusted for
  // candidates (it would miss older entries) until `ispd reindex` has filled it in.
  const indexedAttributes = config.indexes.map((name) => schema.attributeType(name)?.key ?? name.toLowerCase());
  let backend: ReturnType<typeof openBackend>;
  try {
    backend = openBackend(config.backend, { location: config.db, indexedAttributes, entryCacheSize: config.entryCache, busyTimeoutMs: config.busyTimeoutMs });
  } catch (err) {
    throw storeOpenError(config.db, err); // a read-only or damaged file: exit 2, naming the file and the fix
  }
  const queries = options.metrics ? timeBackendQueries(backend, options.metrics.backendQueryDuration) : backend;
  const directory = createDirectory({
    backend: queries,
    schema,
    baseDN: config.baseDN,
    indexedAttributes: [...config.indexes],
    sizeLimit: config.ldap.sizeLimit,
    timeLimit: config.ldap.timeLimit,
    anonymousRead: config.ldap.anonymousRead,
    allowAnonymous: config.ldap.allowAnonymous,
    passwordScheme: config.auth.passwordScheme,
    rehashOnBind: config.auth.rehashOnBind,
    schemaChecks: config.schema.checks,
    throttle: new BindThrottle({
      windowSeconds: config.auth.throttle.window,
      maxFailuresPerDn: config.auth.throttle.perDn,
      maxFailuresPerAddress: config.auth.throttle.perAddress,
      maxDelayMs: config.auth.throttle.maxDelaySeconds * 1000,
    }),
    failedBindDelayMs: config.auth.failedBindDelayMs,
    uncheckedAnonymous: config.ldap.unindexed.uncheckedAnonymous,
    uncheckedUsers: config.ldap.unindexed.uncheckedUsers,
    logger,
  });
  directory.acl.replaceRules(aclRules(config, directory));
  // Every write to zone data raises the zone's SOA serial in its own transaction, whether or not this
  // process serves DNS (LDAP workers, provisioning).
  installSerialHook(directory, { format: config.dns.serialFormat });
  return { backend, queries, schema, directory };
}

/** The files SQLite keeps for the store: the database, its write-ahead log and shared-memory index. */
export function storeFiles(config: Config): string[] {
  const db = path.resolve(config.db);
  return [db, `${db}-wal`, `${db}-shm`];
}

/** Configuration keys SIGHUP applies; a change to any other key is reported as needing a restart. */
export const RELOADABLE_KEYS: readonly string[] = ['log.level', 'log.access', 'log.accessSample', 'acl.file', 'tls.cert', 'tls.key', 'tls.ca'];

function valueAt(config: Config, key: string): unknown {
  return key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], config);
}

/** Keys whose values differ between two configurations, other than the reloadable ones. */
export function restartOnlyChanges(running: Config, next: Config): string[] {
  return FLAT_OPTIONS.map(({ key }) => key).filter(
    (key) => !RELOADABLE_KEYS.includes(key) && JSON.stringify(valueAt(running, key)) !== JSON.stringify(valueAt(next, key)),
  );
}

function aclRules(config: Config, directory: DirectoryService) {
  const adminsNorm = directory.dn.normalize(`ou=admins,${config.baseDN}`);
  if (config.acl.file) return loadAclFile(config.acl.file, directory.dn);
  const servicesNorm = directory.dn.normalize(`ou=services,${config.baseDN}`);
  return defaultRules({ baseNorm: directory.baseNorm, adminsNorm, servicesNorm, anonymousRead: config.ldap.anonymousRead });
}

export interface RunningServer {
  store: Store;
  metrics: Metrics;
  logger: Logger;
  ldapAddress(): { host: string; port: number } | null;
  ldapsAddress(): { host: string; port: number } | null;
  dnsAddress(): { host: string; port: number } | null;
  /** The DNS UDP socket this process bound, when worker processes are to answer on it too (dns.workers). */
  dnsSocketForWorkers(): Socket | null;
  /**
   * Loads the zones for answering DNS over UDP on a socket another process bound (a cluster worker;
   * src/cluster.ts). `udpReaders`: the processes sharing that socket (each applies its share of the RRL rates).
   */
  startDnsReplica(udpReaders?: number): DnsReplica;
  /** Calls `listener` when this process's LDAP side starts running unindexed searches (true) and when it stops. */
  onLdapScanning(listener: (busy: boolean) => void): void;
  metricsAddress(): { host: string; port: number } | null;
  /**
   * Applies a re-read configuration (SIGHUP): ACLs, TLS certificates, log level and access log. Every
   * part is prepared first; if one fails (a bad ACL file, a certificate that does not load) this throws
   * and nothing changes. Open connections are kept. Returns the changed keys that need a restart.
   */
  reload(next: Config): Promise<{ restartNeeded: string[] }>;
  /** /readyz answers 503 from now on (the drain has begun, possibly in other processes first). */
  markDraining(): void;
  /** Stops accepting, finishes in-flight work, flushes the log, closes the store. */
  close(): Promise<void>;
}

function readTls(config: Config) {
  if (!config.tls.cert || !config.tls.key) return undefined;
  return {
    cert: fs.readFileSync(config.tls.cert),
    key: fs.readFileSync(config.tls.key),
    ca: config.tls.ca ? fs.readFileSync(config.tls.ca) : undefined,
  };
}

/** Loads the certificate and key the way the LDAP listener will, so a bad pair is refused before anything changes. */
function checkTls(material: ReturnType<typeof readTls>): void {
  if (material) tls.createSecureContext({ cert: material.cert, key: material.key, ...(material.ca ? { ca: material.ca } : {}) });
}

const DNS_RCODES: Record<number, string> = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED', 9: 'NOTAUTH', 16: 'BADVERS' };

/** How often the change log is pruned to changeLog.maxAgeSeconds / changeLog.maxRecords. */
const CHANGE_LOG_PRUNE_MS = 60_000;

export interface StartOptions {
  logger?: Logger;
  /** Produces the /metrics text instead of this process's registry (the cluster primary sums its workers'). */
  scrape?: (own: Metrics) => Promise<string>;
  /**
   * Listeners other processes own (the cluster's LDAP workers): /readyz says ready only when this also
   * does, so "ready" means every listener of the service answers, not only this process's.
   */
  othersReady?: () => boolean;
}

export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config);
  const metrics = createMetrics();
  const store = openStore(config, logger, { metrics });
  const { directory, backend, queries } = store;
  let running = config;
  let ready = false;
  // One line per LDAP operation and DNS query when log.access is on (sampled by log.accessSample). The
  // adapters report kinds, codes and timings, never request contents, so no password can reach it.
  const access = createAccessLog(logger, config.log);

  const pending = backend.capabilities.reindex?.pending() ?? [];
  if (pending.length > 0) {
    logger.warn({ attributes: pending }, 'indexes configured after the data was loaded are not used until "ispd reindex" has filled them in (searches on them scan instead)');
  }

  // Throttled binds come from the directory (the adapter only sees the result code); every other failed
  // bind is counted once, by the adapter, with its result code as reason.
  directory.on('bindFailure', (reason: string) => {
    if (reason === 'throttled') metrics.ldapBindThrottled.inc();
  });
  metrics.onScrape(() => {
    metrics.storeSizeBytes.set(backend.sizeBytes());
    metrics.storeEntries.set(backend.count());
    metrics.changelogRecords.set(backend.changeLogSize());
  });
  // Change-log retention, by one process (not by each LDAP worker): a reader behind the pruned horizon (a
  // DNS copy, an entry cache) sees the gap and reloads in full, so pruning never loses a change for anyone.
  const pruneTimer = cluster.isWorker ? null : setInterval(() => pruneChangeLog(), CHANGE_LOG_PRUNE_MS);
  pruneTimer?.unref();
  const pruneChangeLog = () => {
    try {
      const n = backend.pruneChanges({ maxAgeMs: running.changeLog.maxAgeSeconds * 1000, maxRecords: running.changeLog.maxRecords });
      if (n > 0) logger.debug({ records: n }, 'change log pruned');
    } catch (err) {
      // Busy (another writer) or full: the next round tries again; the log only grows meanwhile.
      logger.warn({ err: (err as Error).message }, 'change-log pruning failed');
    }
  };
  if (pruneTimer) pruneChangeLog();

  const scanningListeners: Array<(busy: boolean) => void> = [];
  let tlsMaterial = readTls(config);
  const ldap = config.ldap.listen
    ? await startLdapServer({
        directory,
        listen: config.ldap.listen,
        ldaps: tlsMaterial && config.ldaps.listen ? config.ldaps.listen : undefined,
        tls: tlsMaterial,
        limits: {
          maxPduBytes: config.ldap.maxPduBytes,
          maxPduBytesAnonymous: Math.min(config.ldap.maxPduBytesAnonymous, config.ldap.maxPduBytes),
          idleTimeoutSeconds: config.ldap.idleTimeoutSeconds,
          maxConnections: config.ldap.maxConnections,
          maxConnectionsPerAddress: config.ldap.maxConnectionsPerAddress,
          maxBufferedOutput: config.ldap.maxBufferedOutput,
          maxBufferedOutputTotal: config.ldap.maxBufferedOutputTotal,
          writeTimeoutSeconds: config.ldap.writeTimeoutSeconds,
          unindexedPerIdentity: config.ldap.unindexed.perIdentity,
          scanSliceMs: config.ldap.unindexed.sliceMs,
        },
        requireTlsForBind: config.ldap.requireTlsForBind,
        allowAnonymous: config.ldap.allowAnonymous,
        allowV2Bind: config.ldap.allowV2Bind,
        shutdownGraceMs: config.ldap.shutdownGraceSeconds * 1000,
        rootDse: { namingContexts: directory.namingContexts, vendorVersion: `ispd ${VERSION}` },
        logger: logger.child({ subsystem: 'ldap' }),
        observer: {
          onConnectionOpen: (info: { peer: string; secure: boolean }) => {
            metrics.ldapConnections.inc();
            metrics.ldapConnectionsOpen.inc();
            if (access.enabled) access.record({ proto: 'ldap', event: 'connect', peer: info.peer, secure: info.secure });
          },
          onConnectionClose: (info: { peer: string; secure: boolean; reason: string }) => {
            metrics.ldapConnectionsOpen.dec();
            if (access.enabled) access.record({ proto: 'ldap', event: 'disconnect', peer: info.peer, reason: info.reason });
          },
          onConnectionRefused: (reason: string) => metrics.ldapProtocolErrors.inc({ reason: reason === 'server shutting down' ? 'shuttingDown' : reason }),
          // `detail` is whatever the adapter adds about the request (peer, DN …); the logger redacts secrets in it.
          onOperation: (operation: string, code: number, seconds: number, detail?: Record<string, unknown>) => {
            const result = ldapResultLabel(code);
            metrics.ldapOperations.inc({ operation, result });
            metrics.ldapOperationDuration.observe({ operation }, seconds);
            if (access.enabled) access.record({ proto: 'ldap', ...detail, op: operation, result, ms: Math.round(seconds * 1e6) / 1e3 });
          },
          onProtocolError: (reason: string) => metrics.ldapProtocolErrors.inc({ reason }),
          onBindFailure: (reason: string) => metrics.ldapBindFailures.inc({ reason }),
          onScanning: (busy: boolean) => {
            for (const listener of scanningListeners) listener(busy);
          },
        },
      })
    : null;

  // Loaded only when DNS is on, so offline commands (import, export) do not pay for it.
  const dnsModule = () => require('./dns') as typeof import('./dns');
  const dnsShared = () => {
    const typeName = (require('./dns/types') as typeof import('./dns/types')).typeName;
    return {
      directory,
      backend: queries,
      allowTransfer: [...config.dns.allowTransfer],
      tsigKeys: config.dns.tsig.keys.map(parseKeySpec),
      transferKeys: [...config.dns.tsig.transferKeys],
      serialFormat: config.dns.serialFormat,
      udpPayload: config.dns.udpPayload,
      signatureValidity: config.dns.dnssec.signatureValidity,
      signatureRefresh: config.dns.dnssec.signatureRefresh,
      rrl: { ...config.dns.rrl, exempt: [...config.dns.rrl.exempt] },
      logger: logger.child({ subsystem: 'dns' }),
      metrics,
      observer: {
        onQuery: (e: import('./dns/engine').QueryEvent) => {
          if (!access.enabled || e.dropped) return;
          // Every field the DNS adapter reports (a qname or client address, once it adds them) goes in; type and rcode as names.
          access.record({ proto: 'dns', ...e, qtype: e.qtype === undefined ? null : typeName(e.qtype), rcode: DNS_RCODES[e.rcode] ?? e.rcode });
        },
      },
    };
  };
  const dns = config.dns.listen
    ? await dnsModule().startDnsServer({
        ...dnsShared(),
        listen: config.dns.listen,
        notify: config.dns.notify.map((n) => ({ host: n.host, port: n.port })),
        notifyMode: config.dns.notifyMode,
        notifyRetry: config.dns.notifyRetry,
        notifyKey: config.dns.tsig.notifyKey ?? undefined,
        tcpIdleSeconds: config.dns.tcpIdleSeconds,
        tcpMessageSeconds: config.dns.tcpMessageSeconds,
        maxTcpConnections: config.dns.tcpMaxConnections,
        maxTcpConnectionsPerAddress: config.dns.tcpMaxConnectionsPerAddress,
      })
    : null;
  let dnsReplica: DnsReplica | null = null;
  // Another process's commit (ispd domain add, user add …) is served at once: the DNS server re-reads the
  // change log on the directory's change feed, and a cluster primary passes such notices on to its workers.
  const stopWatching = (dns && backend.capabilities.watchCommits?.(() => void directory.changes.publish({ origin: 'external' }))) || (() => undefined);

  const metricsServer = config.metrics.listen
    ? await startMetricsServer({
        host: config.metrics.listen.host,
        port: config.metrics.listen.port,
        registry: metrics.registry,
        scrape: () => (options.scrape ? options.scrape(metrics) : metrics.scrape()),
        ready: () => ready && (options.othersReady?.() ?? true),
        onError: (err) => logger.error({ err }, 'metrics scrape failed'),
      })
    : null;

  ready = true;
  let closing: Promise<void> | null = null;
  return {
    store,
    metrics,
    logger,
    ldapAddress: () => (ldap ? ldap.address() : null),
    ldapsAddress: () => (ldap ? ldap.ldapsAddress() ?? null : null),
    dnsAddress: () => (dns ? dns.address() : null),
    dnsSocketForWorkers: () => (dns && config.dns.workers ? dns.udpSocket() : null),
    onLdapScanning(listener) {
      scanningListeners.push(listener);
    },
    startDnsReplica(udpReaders = 1) {
      const shared = dnsShared();
      dnsReplica ??= dnsModule().startDnsReplica({ ...shared, rrl: { ...shared.rrl, processes: udpReaders } });
      return dnsReplica;
    },
    metricsAddress: () => (metricsServer ? metricsServer.address() : null),
    async reload(next: Config) {
      // Prepare every part first: any failure leaves the running configuration untouched.
      const rules = aclRules(next, directory);
      const nextTls = readTls(next);
      checkTls(nextTls);
      if (nextTls && !tlsMaterial) throw new Error('tls: turning TLS on needs a restart (StartTLS and LDAPS are set up at start)');
      if (!nextTls && tlsMaterial) throw new Error('tls: turning TLS off needs a restart');
      const restartNeeded = restartOnlyChanges(running, next);
      // Apply.
      directory.acl.replaceRules(rules);
      if (ldap && nextTls) ldap.reloadTls(nextTls);
      tlsMaterial = nextTls;
      setLogLevel(logger, next.log.level);
      access.update(next.log);
      running = next;
      logger.info({ logLevel: next.log.level, acl: next.acl.file ?? '(built-in rules)', tls: next.tls.cert ?? '(off)', access: next.log.access }, 'configuration reloaded');
      if (restartNeeded.length > 0) logger.warn({ keys: restartNeeded }, 'changed options that only take effect after a restart');
      return { restartNeeded };
    },
    markDraining() {
      ready = false;
    },
    close() {
      closing ??= (async () => {
        ready = false; // /readyz says 503 while draining
        stopWatching();
        if (pruneTimer) clearInterval(pruneTimer);
        await Promise.allSettled([ldap?.close(), dns?.close(), dnsReplica?.close()]);
        await metricsServer?.close();
        logger.flush?.();
        backend.close();
      })();
      return closing;
    },
  };
}
