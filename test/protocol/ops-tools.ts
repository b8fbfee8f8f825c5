// Helpers for the operator-facing tests (lifecycle, configuration CLI, metrics after a run): a real
// `ispd serve` process on free ports whose JSON log lines can be awaited, plus data generators.

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { describeResult, runClient, type ClientResult } from '../support/clients';
import { ISPD_CLI } from '../support/ispd-process';
import { pickFreePort, waitForTcpPort } from '../support/ports';
import { startServerProcess, type ServerProcess } from '../support/server-process';

export { ISPD_CLI };

/** Runs `ispd <args>` to completion. */
export function ispd(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; input?: string } = {}): Promise<ClientResult> {
  return runClient(process.execPath, [ISPD_CLI, ...args], { timeoutMs: options.timeoutMs ?? 60000, env: options.env, cwd: options.cwd, input: options.input });
}

/** An LDIF with o=ispman, ou=people and `count` inetOrgPerson entries below it. */
export function writePeopleLdif(file: string, count: number): void {
  const parts = ['dn: o=ispman\nobjectClass: organization\no: ispman\n', 'dn: ou=people,o=ispman\nobjectClass: organizationalUnit\nou: people\n'];
  for (let i = 0; i < count; i++) {
    parts.push(`dn: uid=u${i},ou=people,o=ispman\nobjectClass: inetOrgPerson\nuid: u${i}\ncn: User ${i}\nsn: ${i}\nmail: u${i}@example.com\n`);
  }
  fs.writeFileSync(file, parts.join('\n'));
}

export async function importInto(db: string, ldif: string, extra: string[] = []): Promise<void> {
  const r = await ispd(['import', '--db', db, ...extra, ldif]);
  if (r.code !== 0) throw new Error(`import failed: ${describeResult(r)}`);
}

export interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

export interface Served {
  process: ServerProcess;
  pid: number;
  ldapPort: number;
  dnsPort: number;
  metricsPort: number;
  /** JSON log lines written so far (stdout; anything else is ignored). */
  logs(): LogLine[];
  /** Resolves with the first log line matching (among lines from index `from` on), waiting up to timeoutMs. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number, what?: string, from?: number): Promise<LogLine>;
  /** Resolves with the exit code and signal once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

/**
 * `ispd serve --db DB` on free LDAP, DNS and metrics ports (unless `args` sets them), JSON logs.
 * Resolves when the "ready" log line is out.
 */
export async function serve(db: string, args: string[] = [], options: { env?: NodeJS.ProcessEnv; cwd?: string; ldapPort?: number; dnsPort?: number } = {}): Promise<Served> {
  const ldapPort = options.ldapPort ?? (await pickFreePort());
  const dnsPort = options.dnsPort ?? (await pickFreePort({ udp: true }));
  const metricsPort = await pickFreePort();
  const child = await startServerProcess({
    executable: process.execPath,
    args: [ISPD_CLI, 'serve', '--db', db, '--ldap', `127.0.0.1:${ldapPort}`, '--dns', `127.0.0.1:${dnsPort}`, '--metrics', `127.0.0.1:${metricsPort}`, '--log-format', 'json', '--set', 'dns.notifyMode=explicit', ...args],
    host: '127.0.0.1',
    port: ldapPort,
    startTimeoutMs: 20000,
    env: { ...process.env, ...options.env },
    cwd: options.cwd ?? path.dirname(db),
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (child.child.exitCode !== null || child.child.signalCode !== null) resolve({ code: child.child.exitCode, signal: child.child.signalCode });
    else child.child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const logs = (): LogLine[] =>
    child
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as LogLine];
        } catch {
          return [];
        }
      });
  const waitForLog = async (match: (line: LogLine) => boolean, timeoutMs = 10000, what = 'a log line', from = 0): Promise<LogLine> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = logs().slice(from).find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; output:\n${child.output().slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const served: Served = {
    process: child,
    pid: child.child.pid!,
    ldapPort,
    dnsPort,
    metricsPort,
    logs,
    waitForLog,
    exited,
    stop: () => child.stop(),
  };
  try {
    await waitForLog((l) => l.msg === 'ready', 20000, 'the ready line');
    await waitForTcpPort('127.0.0.1', metricsPort, 10000);
  } catch (err) {
    await child.stop(1000);
    throw err;
  }
  return served;
}

/** GET http://127.0.0.1:port/path */
export function httpGet(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/** Value of one exposition series, e.g. 'ispd_ldap_operations_total{operation="bind",result="success"}'. */
export function seriesValue(exposition: string, series: string): number | undefined {
  const line = exposition.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Sum of all series of a family whose labels include every given label="value". */
export function familySum(exposition: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
