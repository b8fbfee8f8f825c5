// Wiring of one ispd process: store → schema → directory → LDAP, DNS and metrics adapters.
// Everything here is construction and lifecycle; behaviour lives in the modules it wires.

import fs from 'node:fs';
import path from 'node:path';
import { openSqliteBackend } from '../backends/sqlite';
import type { Backend } from '../backends/types';
import { AccessControl, defaultRules } from './acl';
import { loadAclFile } from './acl/file';
import { BindThrottle } from './auth';
import type { Config } from './config/load';
import { createDirectory, type DirectoryService } from './directory/operations';
import { loadSchema, POWERDNS_SCHEMA_FILES } from './directory/schema';
import type { Schema } from './directory/schema/types';
import { startLdapServer } from './ldap';
import { createLogger, setLogLevel, type Logger } from './log';
import { createMetrics, ldapResultLabel, startMetricsServer, type Metrics } from './metrics';

export const VERSION: string = (() => {
  try {
    return (require('../../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

export interface Store {
  backend: Backend;
  schema: Schema;
  directory: DirectoryService;
}

/** Opens the store and builds the directory over it (no listeners): used by serve, import and export. */
export function openStore(config: Config, logger?: Logger): Store {
  if (config.backend !== 'sqlite') throw new Error(`backend ${config.backend} is not available in this build`);
  fs.mkdirSync(path.dirname(path.resolve(config.db)), { recursive: true });
  // PowerDNS's LDAP schema too, so a PowerDNS-LDAP directory (dNSDomain2/associatedDomain) loads and is served unchanged.
  const schema = loadSchema({ extraFiles: POWERDNS_SCHEMA_FILES });
  const backend = openSqliteBackend(config.db);
  const baseNorm = () => directory.baseNorm;
  void baseNorm;
  const directory = createDirectory({
    backend,
    schema,
    baseDN: config.baseDN,
    indexedAttributes: [...config.indexes],
    sizeLimit: config.ldap.sizeLimit,
    timeLimit: config.ldap.timeLimit,
    anonymousRead: config.ldap.anonymousRead,
    allowAnonymous: config.ldap.allowAnonymous,
    passwordScheme: config.auth.passwordScheme,
    rehashOnBind: config.auth.rehashOnBind,
    throttle: new BindThrottle({
      windowSeconds: config.auth.throttle.window,
      maxFailuresPerDn: config.auth.throttle.perDn,
      maxFailuresPerAddress: config.auth.throttle.perAddress,
    }),
    logger,
  });
  directory.acl.replaceRules(aclRules(config, directory));
  return { backend, schema, directory };
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
  dnsAddress(): { host: string; port: number } | null;
  metricsAddress(): { host: string; port: number } | null;
  /** Re-reads ACLs, TLS certificates and the log level (SIGHUP). */
  reload(next: Config): Promise<void>;
  /** Stops accepting, finishes in-flight work, closes the store. */
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

export async function startServer(config: Config, options: { logger?: Logger } = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config);
  const metrics = createMetrics();
  const store = openStore(config, logger);
  const { directory, backend } = store;
  let ready = false;

  directory.on('bindFailure', (reason: string) => {
    if (reason === 'throttled') metrics.ldapBindThrottled.inc();
    else metrics.ldapBindFailures.inc({ reason });
  });
  metrics.onScrape(() => {
    metrics.storeSizeBytes.set(backend.sizeBytes());
    metrics.storeEntries.set(backend.count());
  });

  const tls = readTls(config);
  const ldap = config.ldap.listen
    ? await startLdapServer({
        directory,
        listen: config.ldap.listen,
        ldaps: tls && config.ldaps.listen ? config.ldaps.listen : undefined,
        tls,
        limits: {
          maxPduBytes: config.ldap.maxPduBytes,
          idleTimeoutSeconds: config.ldap.idleTimeoutSeconds,
          maxConnections: config.ldap.maxConnections,
          maxConnectionsPerAddress: config.ldap.maxConnectionsPerAddress,
        },
        requireTlsForBind: config.ldap.requireTlsForBind,
        allowAnonymous: config.ldap.allowAnonymous,
        allowV2Bind: config.ldap.allowV2Bind,
        rootDse: { namingContexts: directory.namingContexts, vendorVersion: `ispd ${VERSION}` },
        logger: logger.child({ subsystem: 'ldap' }),
        observer: {
          onConnectionOpen: () => {
            metrics.ldapConnections.inc();
            metrics.ldapConnectionsOpen.inc();
          },
          onConnectionClose: () => metrics.ldapConnectionsOpen.dec(),
          onOperation: (operation: string, code: number, seconds: number) => {
            metrics.ldapOperations.inc({ operation, result: ldapResultLabel(code) });
            metrics.ldapOperationDuration.observe({ operation }, seconds);
          },
          onProtocolError: (reason: string) => metrics.ldapProtocolErrors.inc({ reason }),
          onBindFailure: (reason: string) => metrics.ldapBindFailures.inc({ reason }),
        },
      })
    : null;

  // Loaded only when DNS is on, so offline commands (import, export) do not pay for it.
  const dns = config.dns.listen
    ? await (require('./dns') as typeof import('./dns')).startDnsServer({
        directory,
        backend,
        listen: config.dns.listen,
        allowTransfer: [...config.dns.allowTransfer],
        notify: config.dns.notify.map((n) => ({ host: n.host, port: n.port })),
        notifyRetry: config.dns.notifyRetry,
        serialFormat: config.dns.serialFormat,
        udpPayload: config.dns.udpPayload,
        tcpIdleSeconds: config.dns.tcpIdleSeconds,
        logger: logger.child({ subsystem: 'dns' }),
        metrics,
      })
    : null;

  const metricsServer = config.metrics.listen
    ? await startMetricsServer({
        host: config.metrics.listen.host,
        port: config.metrics.listen.port,
        registry: metrics.registry,
        scrape: () => metrics.scrape(),
        ready: () => ready,
        onError: (err) => logger.error({ err }, 'metrics scrape failed'),
      })
    : null;

  ready = true;
  let closed = false;
  return {
    store,
    metrics,
    logger,
    ldapAddress: () => (ldap ? ldap.address() : null),
    dnsAddress: () => (dns ? dns.address() : null),
    metricsAddress: () => (metricsServer ? metricsServer.address() : null),
    async reload(next: Config) {
      setLogLevel(logger, next.log.level);
      directory.acl.replaceRules(aclRules(next, directory));
      const nextTls = readTls(next);
      if (ldap && nextTls) ldap.reloadTls(nextTls);
      logger.info({ level: next.log.level }, 'configuration reloaded');
    },
    async close() {
      if (closed) return;
      closed = true;
      ready = false;
      await Promise.allSettled([ldap?.close(), dns?.close()]);
      await metricsServer?.close();
      backend.close();
    },
  };
}
