// The one place ispd's Prometheus metrics are created. Adapters receive the typed Metrics object and
// call e.g. metrics.ldapOperations.inc({ operation: 'search', result: 'success' }).
// Names follow ispd_<subsystem>_<name>_<unit>; label values must come from small fixed sets
// (operation names, result code names, qtypes), never from DNs, addresses or user input.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { resultCodeName } from '../directory/errors';

/** LDAP operations and backend queries: most take well under a millisecond, a big subtree search seconds. */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** DNS answers come from memory: resolution matters in the tens of microseconds; AXFR is the long tail. */
const DNS_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1];

export type ScrapeHook = () => void | Promise<void>;

export interface Metrics {
  readonly registry: Registry;
  /** operation: bind, search, add, modify, delete, modifyDN, compare, extended, abandon, unbind; result: result code name. */
  readonly ldapOperations: Counter<'operation' | 'result'>;
  readonly ldapOperationDuration: Histogram<'operation'>;
  readonly ldapConnectionsOpen: Gauge;
  readonly ldapConnections: Counter;
  /** reason: e.g. invalidCredentials, noSuchUser, anonymousDisabled, tlsRequired. */
  readonly ldapBindFailures: Counter<'reason'>;
  readonly ldapBindThrottled: Counter;
  /** reason: e.g. decode, pduTooLarge, unknownOperation, idleTimeout, connectionLimit. */
  readonly ldapProtocolErrors: Counter<'reason'>;
  /** transport: udp or tcp; rcode: NOERROR, NXDOMAIN, REFUSED …; qtype: A, MX, AXFR … */
  readonly dnsQueries: Counter<'qtype' | 'rcode' | 'transport'>;
  readonly dnsQueryDuration: Histogram;
  readonly dnsZones: Gauge;
  readonly dnsZoneSerial: Gauge<'zone'>;
  /** kind: axfr (served) or …; result: success, refused, error. */
  readonly dnsTransfers: Counter<'kind' | 'result'>;
  /** result: acknowledged, timeout, error, received. */
  readonly dnsNotifies: Counter<'result'>;
  /** action: slipped (sent truncated) or dropped. */
  readonly dnsRateLimited: Counter<'action'>;
  /** reason: perAddressLimit, connectionLimit, messageDeadline, idle, badFrame, failed. */
  readonly dnsTcpClosed: Counter<'reason'>;
  /** Change-log entries written but not yet applied to DNS zones and caches. */
  readonly changelogLag: Gauge;
  readonly changelogRecords: Gauge;
  /** kind: e.g. search, get, write, changes. */
  readonly backendQueryDuration: Histogram<'kind'>;
  readonly storeSizeBytes: Gauge;
  readonly storeEntries: Gauge;
  /** Problems the start check (quick_check) found in the database file; 0 when sound or not checked. */
  readonly storeCheckProblems: Gauge;
  readonly storeCheckSeconds: Gauge;
  /** LDAP worker processes that died (not asked to stop) and were replaced; reason: the signal name or "exit". */
  readonly clusterWorkerDeaths: Counter<'reason'>;
  /** Messages between the primary and a worker that could not be sent (the other side had died); kind: the message type. */
  readonly clusterSendFailures: Counter<'kind'>;
  /**
   * Registers work to run before each scrape (e.g. reading the store size); returns a function that
   * unregisters it. Hooks run in registration order; one that throws does not stop the scrape.
   */
  onScrape(hook: ScrapeHook): () => void;
  /** Runs the scrape hooks, then returns the exposition text. */
  scrape(): Promise<string>;
}

/** The label value for an LDAP result code, e.g. 0 → "success", 49 → "invalidCredentials". */
export function ldapResultLabel(code: number): string {
  return resultCodeName(code);
}

/** Version reported by ispd_build_info. */
function packageVersion(): string {
  try {
    // dist/src/metrics → package.json three levels up (the same from src/metrics under ts-node).
    return (require('../../../package.json') as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry });
    // prom-client exports these three sums as gauges named *_total, which promtool rejects (only
    // counters may end in _total). The per-type gauges nodejs_active_{handles,requests,resources}
    // carry the same information, so the sums go.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      registry.removeSingleMetric(name);
    }
  }
  const registers = [registry];

  const buildInfo = new Gauge({
    name: 'ispd_build_info',
    help: 'Always 1; labels carry the ispd and Node.js versions',
    labelNames: ['version', 'nodejs'] as const,
    registers,
    // Several processes (LDAP workers) report it: summed it would say 2, 3 … instead of 1.
    aggregator: 'first',
  });
  buildInfo.set({ version: packageVersion(), nodejs: process.versions.node }, 1);

  const hooks: ScrapeHook[] = [];
  const hookFailures = new Counter({
    name: 'ispd_metrics_scrape_hook_errors_total',
    help: 'Scrape hooks (store size, zone serials …) that threw; their metrics may be stale',
    registers,
  });

  const metrics: Metrics = {
    registry,
    ldapOperations: new Counter({
      name: 'ispd_ldap_operations_total',
      help: 'LDAP operations completed, by operation and LDAP result code name',
      labelNames: ['operation', 'result'] as const,
      registers,
    }),
    ldapOperationDuration: new Histogram({
      name: 'ispd_ldap_operation_duration_seconds',
      help: 'Time from receiving an LDAP request to sending its final response',
      labelNames: ['operation'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    ldapConnectionsOpen: new Gauge({
      name: 'ispd_ldap_connections_open',
      help: 'LDAP client connections currently open (plain, StartTLS and LDAPS)',
      registers,
    }),
    ldapConnections: new Counter({
      name: 'ispd_ldap_connections_total',
      help: 'LDAP client connections accepted',
      registers,
    }),
    ldapBindFailures: new Counter({
      name: 'ispd_ldap_bind_failures_total',
      help: 'Failed LDAP binds, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    ldapBindThrottled: new Counter({
      name: 'ispd_ldap_bind_throttled_total',
      help: 'LDAP binds slowed down or refused by failed-bind throttling',
      registers,
    }),
    ldapProtocolErrors: new Counter({
      name: 'ispd_ldap_protocol_errors_total',
      help: 'LDAP connections or requests rejected for protocol reasons, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    dnsQueries: new Counter({
      name: 'ispd_dns_queries_total',
      help: 'DNS queries answered, by query type, response code and transport',
      labelNames: ['qtype', 'rcode', 'transport'] as const,
      registers,
    }),
    dnsQueryDuration: new Histogram({
      name: 'ispd_dns_query_duration_seconds',
      help: 'Time from receiving a DNS query to sending its response',
      buckets: DNS_BUCKETS,
      registers,
    }),
    dnsZones: new Gauge({
      name: 'ispd_dns_zones',
      help: 'DNS zones served',
      registers,
    }),
    dnsZoneSerial: new Gauge({
      name: 'ispd_dns_zone_serial',
      help: 'Current SOA serial of each zone served',
      labelNames: ['zone'] as const,
      registers,
    }),
    dnsTransfers: new Counter({
      name: 'ispd_dns_transfers_total',
      help: 'Zone transfers, by kind and result',
      labelNames: ['kind', 'result'] as const,
      registers,
    }),
    dnsNotifies: new Counter({
      name: 'ispd_dns_notifies_total',
      help: 'DNS NOTIFY messages sent to secondaries, by result',
      labelNames: ['result'] as const,
      registers,
    }),
    dnsRateLimited: new Counter({
      name: 'ispd_dns_rate_limited_total',
      help: 'UDP responses held back by response rate limiting (dns.rrl), by action: slipped (sent truncated, TC=1) or dropped',
      labelNames: ['action'] as const,
      registers,
    }),
    dnsTcpClosed: new Counter({
      name: 'ispd_dns_tcp_closed_total',
      help: 'DNS TCP connections refused or closed by the server, by reason (limits, message deadline, idle, bad framing)',
      labelNames: ['reason'] as const,
      registers,
    }),
    changelogLag: new Gauge({
      name: 'ispd_changelog_lag',
      help: 'Change-log entries written but not yet applied to DNS zones and caches',
      registers,
    }),
    changelogRecords: new Gauge({
      name: 'ispd_changelog_records',
      help: 'Records in the change log (pruned by changeLog.maxAgeSeconds and changeLog.maxRecords)',
      registers,
    }),
    backendQueryDuration: new Histogram({
      name: 'ispd_backend_query_duration_seconds',
      help: 'Time spent in storage backend calls, by kind',
      labelNames: ['kind'] as const,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    storeSizeBytes: new Gauge({
      name: 'ispd_store_size_bytes',
      help: 'Size of the store on disk (SQLite database plus WAL)',
      registers,
    }),
    storeEntries: new Gauge({
      name: 'ispd_store_entries',
      help: 'Directory entries in the store',
      registers,
    }),
    storeCheckProblems: new Gauge({
      name: 'ispd_store_check_problems',
      help: 'Problems the start check (SQLite quick_check) found in the database file; 0 when it is sound',
      registers,
      aggregator: 'max',
    }),
    storeCheckSeconds: new Gauge({
      name: 'ispd_store_check_seconds',
      help: 'How long the start check of the database file took',
      registers,
      aggregator: 'max',
    }),
    clusterWorkerDeaths: new Counter({
      name: 'ispd_cluster_worker_deaths_total',
      help: 'LDAP worker processes that died without being asked to (crash, OOM killer, kill -9) and were replaced, by signal',
      labelNames: ['reason'] as const,
      registers,
    }),
    clusterSendFailures: new Counter({
      name: 'ispd_cluster_send_failures_total',
      help: 'Messages between the primary and an LDAP worker that could not be sent because the other process had died, by message kind',
      labelNames: ['kind'] as const,
      registers,
    }),
    onScrape(hook) {
      hooks.push(hook);
      return () => {
        const index = hooks.indexOf(hook);
        if (index >= 0) hooks.splice(index, 1);
      };
    },
    async scrape() {
      for (const hook of [...hooks]) {
        try {
          await hook();
        } catch {
          hookFailures.inc();
        }
      }
      return registry.metrics();
    },
  };
  return metrics;
}
