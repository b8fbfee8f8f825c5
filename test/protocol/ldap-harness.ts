// Starts the real ispd server in this process (startServer: SQLite store with the demo data, the real
// directory, the LDAP adapter) on 127.0.0.1 port 0, with its log lines collected for assertions.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { importLdif } from '../../src/cli/import';
import { Progress } from '../../src/cli/progress';
import { loadConfig } from '../../src/config/load';
import { createLogger } from '../../src/log';
import { openStore, startServer, type RunningServer } from '../../src/server';

export const DEMO_LDIF = path.resolve(__dirname, '../../../src/provision/demo-data.ldif');
export const ADMIN_DN = 'uid=ispman,ou=admins,o=ispman';
export const ADMIN_PASSWORD = 'ispman-admin';
export const GRACE_DN = 'uid=grace_example_net,ou=users,ispmanDomain=example.net,o=ispman';
export const GRACE_PASSWORD = 'grace-secret';

export interface TestServer {
  server: RunningServer;
  host: string;
  port: number;
  url: string;
  dir: string;
  /** JSON log lines written so far. */
  logs(): Array<Record<string, unknown>>;
  /** Sum of a counter's values (optionally those whose labels include `labels`). */
  counter(name: string, labels?: Record<string, string>): Promise<number>;
  stop(): Promise<void>;
}

export interface TestServerOptions {
  /** Configuration through the environment form, e.g. { ISPD_LDAP__MAX_PDU_BYTES: '65536' }. */
  env?: Record<string, string>;
  ldif?: string;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ispd-ldap-'));
  const db = path.join(dir, 'ispd.sqlite');
  const env: Record<string, string> = {
    ISPD_LDAP__ANONYMOUS_READ: 'true',
    ISPD_LOG__LEVEL: 'debug',
    ISPD_LOG__FORMAT: 'json',
    ...options.env,
  };
  const config = loadConfig(['--db', db, '--ldap', '127.0.0.1:0', '--dns', 'off', '--metrics', 'off'], env);
  const lines: Array<Record<string, unknown>> = [];
  let partial = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      partial += chunk.toString('utf8');
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        if (line.trim() === '') continue;
        try {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          lines.push({ msg: line });
        }
      }
      callback();
    },
  });
  const logger = createLogger(config, { destination });

  const store = openStore(config, logger);
  try {
    const devNull = fs.createWriteStream('/dev/null') as unknown as NodeJS.WriteStream;
    await importLdif(store, fs.createReadStream(options.ldif ?? DEMO_LDIF), 'demo', { relaxed: false, progress: new Progress('import', devNull) });
  } finally {
    store.backend.close();
  }

  const server = await startServer(config, { logger });
  const address = server.ldapAddress();
  if (!address) throw new Error('LDAP listener did not start');
  return {
    server,
    host: address.host,
    port: address.port,
    url: `ldap://${address.host}:${address.port}`,
    dir,
    logs: () => lines,
    async counter(name: string, labels: Record<string, string> = {}): Promise<number> {
      const metric = server.metrics.registry.getSingleMetric(name);
      if (!metric) throw new Error(`no metric ${name}`);
      const { values } = await metric.get();
      return values
        .filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
        .reduce((sum, v) => sum + v.value, 0);
    },
    async stop() {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

