import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { createMetrics, ldapResultLabel, startMetricsServer, type Metrics, type MetricsServer } from '../../src/metrics';

/** The metric families issue 6 and design §8 promise, with their Prometheus types. */
const REQUIRED: Record<string, string> = {
  ispd_ldap_operations_total: 'counter',
  ispd_ldap_operation_duration_seconds: 'histogram',
  ispd_ldap_connections_open: 'gauge',
  ispd_ldap_connections_total: 'counter',
  ispd_ldap_bind_failures_total: 'counter',
  ispd_ldap_bind_throttled_total: 'counter',
  ispd_ldap_protocol_errors_total: 'counter',
  ispd_dns_queries_total: 'counter',
  ispd_dns_query_duration_seconds: 'histogram',
  ispd_dns_zones: 'gauge',
  ispd_dns_zone_serial: 'gauge',
  ispd_dns_transfers_total: 'counter',
  ispd_dns_notifies_total: 'counter',
  ispd_changelog_lag: 'gauge',
  ispd_backend_query_duration_seconds: 'histogram',
  ispd_store_size_bytes: 'gauge',
  ispd_store_entries: 'gauge',
  // default process metrics
  process_cpu_seconds_total: 'counter',
  process_resident_memory_bytes: 'gauge',
  nodejs_eventloop_lag_seconds: 'gauge',
  nodejs_heap_size_used_bytes: 'gauge',
};

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A raw HTTP request over a fresh socket (no keep-alive), so close() is exercised as a client sees it. */
function request(port: number, path: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function sampleValue(exposition: string, series: string): number | undefined {
  const line = exposition.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Touches every ispd metric with realistic labels, as the adapters will. */
function exercise(metrics: Metrics): void {
  metrics.ldapOperations.inc({ operation: 'search', result: ldapResultLabel(0) });
  metrics.ldapOperations.inc({ operation: 'bind', result: ldapResultLabel(49) });
  metrics.ldapOperationDuration.observe({ operation: 'search' }, 0.0004);
  metrics.ldapConnectionsOpen.inc();
  metrics.ldapConnections.inc();
  metrics.ldapBindFailures.inc({ reason: 'invalidCredentials' });
  metrics.ldapBindThrottled.inc();
  metrics.ldapProtocolErrors.inc({ reason: 'pduTooLarge' });
  metrics.dnsQueries.inc({ qtype: 'MX', rcode: 'NOERROR', transport: 'udp' });
  metrics.dnsQueries.inc({ qtype: 'A', rcode: 'NXDOMAIN', transport: 'tcp' });
  metrics.dnsQueryDuration.observe(0.00008);
  metrics.dnsZones.set(2);
  metrics.dnsZoneSerial.set({ zone: 'example.com.' }, 2026112501);
  metrics.dnsZoneSerial.set({ zone: 'developer.ch.' }, 7);
  metrics.dnsTransfers.inc({ kind: 'axfr', result: 'success' });
  metrics.dnsNotifies.inc({ result: 'acknowledged' });
  metrics.changelogLag.set(0);
  metrics.backendQueryDuration.observe({ kind: 'search' }, 0.0002);
}

describe('metrics endpoint (real listening port)', function () {
  this.timeout(20_000);
  let metrics: Metrics;
  let server: MetricsServer;
  let port: number;
  let ready: boolean;

  beforeEach(async () => {
    metrics = createMetrics();
    ready = false;
    server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry: metrics.registry, ready: () => ready, scrape: () => metrics.scrape() });
    port = server.address().port;
    assert.ok(port > 0);
  });
  afterEach(async () => {
    await server?.close();
  });

  it('answers /healthz while the process runs', async () => {
    const reply = await request(port, '/healthz');
    assert.equal(reply.status, 200);
    assert.equal(reply.body, 'ok\n');
  });

  it('answers /readyz 503 until the readiness callback says yes, and 503 again when it says no', async () => {
    assert.equal((await request(port, '/readyz')).status, 503);
    ready = true;
    const reply = await request(port, '/readyz');
    assert.equal(reply.status, 200);
    assert.equal(reply.body, 'ready\n');
    ready = false;
    assert.equal((await request(port, '/readyz')).status, 503);
  });

  it('treats a readiness callback that throws as not ready', async () => {
    await server.close();
    server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry: metrics.registry, ready: () => { throw new Error('store closed'); } });
    assert.equal((await request(server.address().port, '/readyz')).status, 503);
  });

  it('answers 404 for other paths and 405 for other methods', async () => {
    assert.equal((await request(port, '/')).status, 404);
    assert.equal((await request(port, '/metrics/extra')).status, 404);
    const post = await request(port, '/metrics', 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
  });

  it('serves every required metric family with its type and the Prometheus content type', async () => {
    const reply = await request(port, '/metrics');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], metrics.registry.contentType);
    assert.match(String(reply.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    for (const [name, type] of Object.entries(REQUIRED)) {
      assert.ok(reply.body.includes(`# TYPE ${name} ${type}\n`), `missing # TYPE ${name} ${type}`);
      assert.ok(reply.body.includes(`# HELP ${name} `), `missing help for ${name}`);
    }
  });

  it('shows what the adapters count, with their labels', async () => {
    exercise(metrics);
    metrics.ldapOperations.inc({ operation: 'search', result: 'success' });
    const body = (await request(port, '/metrics')).body;
    assert.equal(sampleValue(body, 'ispd_ldap_operations_total{operation="search",result="success"}'), 2);
    assert.equal(sampleValue(body, 'ispd_ldap_operations_total{operation="bind",result="invalidCredentials"}'), 1);
    assert.equal(sampleValue(body, 'ispd_dns_zone_serial{zone="example.com."}'), 2026112501);
    assert.equal(sampleValue(body, 'ispd_dns_queries_total{qtype="MX",rcode="NOERROR",transport="udp"}'), 1);
    assert.equal(sampleValue(body, 'ispd_ldap_operation_duration_seconds_bucket{le="0.0005",operation="search"}'), 1);
    assert.equal(sampleValue(body, 'ispd_ldap_operation_duration_seconds_bucket{le="0.00025",operation="search"}'), 0);
    assert.equal(sampleValue(body, 'ispd_ldap_connections_open'), 1);
  });

  it('runs scrape hooks before each scrape, and survives one that throws', async () => {
    let entries = 0;
    metrics.onScrape(() => {
      entries += 10;
      metrics.storeEntries.set(entries);
    });
    const remove = metrics.onScrape(() => {
      throw new Error('store busy');
    });
    const first = (await request(port, '/metrics')).body;
    assert.equal(sampleValue(first, 'ispd_store_entries'), 10);
    assert.equal(sampleValue(first, 'ispd_metrics_scrape_hook_errors_total'), 1);
    remove();
    const second = (await request(port, '/metrics')).body;
    assert.equal(sampleValue(second, 'ispd_store_entries'), 20);
    assert.equal(sampleValue(second, 'ispd_metrics_scrape_hook_errors_total'), 1);
  });

  it('answers 500 when collection fails', async () => {
    await server.close();
    const errors: unknown[] = [];
    server = await startMetricsServer({
      host: '127.0.0.1', port: 0, registry: metrics.registry, ready: () => true,
      scrape: () => Promise.reject(new Error('collector broke')),
      onError: (error) => errors.push(error),
    });
    assert.equal((await request(server.address().port, '/metrics')).status, 500);
    assert.equal(errors.length, 1);
  });

  it('keeps registries apart: two servers in one process do not share counters', async () => {
    const other = createMetrics();
    metrics.ldapBindThrottled.inc();
    assert.equal(sampleValue(await other.scrape(), 'ispd_ldap_bind_throttled_total'), 0);
    assert.equal(sampleValue(await metrics.scrape(), 'ispd_ldap_bind_throttled_total'), 1);
  });

  it('stops listening on close()', async () => {
    await server.close();
    await assert.rejects(request(port, '/healthz'), (error: NodeJS.ErrnoException) => error.code === 'ECONNREFUSED');
    server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry: metrics.registry, ready: () => true });
  });

  it('fails to start with EADDRINUSE on a taken port', async () => {
    await assert.rejects(
      startMetricsServer({ host: '127.0.0.1', port, registry: metrics.registry, ready: () => true }),
      (error: NodeJS.ErrnoException) => error.code === 'EADDRINUSE',
    );
  });

  it('passes promtool check metrics', function () {
    const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => fs.existsSync(p));
    if (!promtool) {
      if (process.env.CI === 'true') assert.fail('promtool is missing: install Debian package prometheus');
      this.skip();
    }
    exercise(metrics);
    return request(port, '/metrics').then((reply) => {
      const run = spawnSync(promtool!, ['check', 'metrics'], { input: reply.body, encoding: 'utf8', timeout: 15_000 });
      assert.equal(run.error, undefined);
      assert.equal(run.status, 0, `promtool check metrics failed:\n${run.stdout}${run.stderr}`);
      assert.equal(run.stdout.trim() + run.stderr.trim(), '', 'promtool printed lint problems');
    });
  });
});
