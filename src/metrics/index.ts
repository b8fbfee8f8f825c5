export { createMetrics, ldapResultLabel, type Metrics, type ScrapeHook } from './registry';
export { startMetricsServer, type MetricsServer, type MetricsServerOptions } from './http';
export { timeBackendQueries } from './backend';
