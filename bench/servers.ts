// The servers a benchmark run starts: ispd, and the references an ISP would otherwise run on the same data —
// OpenLDAP slapd (back-mdb), PowerDNS with its LDAP backend reading that slapd, and NSD on zone files.
// Every server listens on 127.0.0.1 on ports picked free, runs in the foreground as a child of the
// benchmark, and lives in its own directory under the run's work directory.

import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pickFreePort } from '../test/support/ports';
import { findProgram } from '../test/support/clients';
import { REPO_ROOT, startServerProcess, type ServerProcess } from '../test/support/server-process';
import { schemaFiles } from '../test/support/slapd-process';

export const ISPD_CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
export const SLAPD_ROOT_DN = 'cn=root,o=ispman';
export const SLAPD_ROOT_PASSWORD = 'bench-root-secret';

export interface RunningServer {
  name: string;
  /** Processes whose resident memory counts for this server. */
  pids(): number[];
  stop(): Promise<void>;
  output(): string;
}

export interface LdapServer extends RunningServer {
  ldapUrl: string;
}

export interface DnsServer extends RunningServer {
  dnsPort: number;
}

export function requireProgram(name: string, debianPackage: string): string {
  const program = findProgram(name);
  if (!program) throw new Error(`${name} not found: install the Debian package ${debianPackage}`);
  return program;
}

/** Wall-clock seconds a command takes; throws with its output when it fails. */
export function timedCommand(program: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(program, args, { cwd: options.cwd, env: options.env ?? process.env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) {
    throw new Error(`${path.basename(program)} ${args.join(' ')} failed (${result.status ?? result.signal}):\n${(result.stdout ?? '') + (result.stderr ?? '')}`.slice(0, 4000));
  }
  return seconds;
}

// ------------------------------------------------------------------------------------------------
// slapd

/**
 * slapd.conf for the benchmark: the ISPMan schema set, back-mdb with equality indexes on every attribute the
 * benchmark's queries and PowerDNS's lookups filter on, logging off (as a tuned production server runs), and
 * ISPMan's ACLs (userPassword: auth for anonymous; everything else readable, as Postfix binds anonymously).
 */
export function slapdConfig(dir: string): string {
  return `${schemaFiles().map((file) => `include ${file}`).join('\n')}
pidfile ${dir}/slapd.pid
argsfile ${dir}/slapd.args
loglevel 0
modulepath /usr/lib/ldap
moduleload back_mdb
sizelimit 500
database mdb
maxsize 17179869184
suffix "o=ispman"
rootdn "${SLAPD_ROOT_DN}"
rootpw ${SLAPD_ROOT_PASSWORD}
directory ${dir}/db
index objectClass eq
index uid eq
index mailLocalAddress,mailAlias eq
index ispmanDomain eq
index zoneName,relativeDomainName eq
index associatedDomain eq
access to attrs=userPassword
  by self write
  by anonymous auth
  by * none
access to *
  by * read
`;
}

/** slapadd -q of `ldif` into a fresh back-mdb in `dir`; returns the seconds it took. */
export function slapaddLoad(dir: string, ldif: string, quick = true): number {
  const slapadd = requireProgram('slapadd', 'slapd');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'db'), { recursive: true });
  const conf = path.join(dir, 'slapd.conf');
  fs.writeFileSync(conf, slapdConfig(dir));
  return timedCommand(slapadd, [...(quick ? ['-q'] : []), '-f', conf, '-l', ldif]);
}

/** slapd on a directory already loaded by slapaddLoad. */
export async function startSlapd(dir: string): Promise<LdapServer> {
  const slapd = requireProgram('slapd', 'slapd');
  const port = await pickFreePort();
  const ldapUrl = `ldap://127.0.0.1:${port}`;
  const server = await startServerProcess({
    executable: slapd,
    args: ['-f', path.join(dir, 'slapd.conf'), '-h', `${ldapUrl}/`, '-d', '0'],
    host: '127.0.0.1',
    port,
    startTimeoutMs: 60_000,
  });
  return wrap('slapd', server, { ldapUrl });
}

// ------------------------------------------------------------------------------------------------
// ispd

/** `ispd import --db <dir>/ispd.sqlite <ldif>`; returns the seconds it took. */
export function ispdImport(dir: string, ldif: string, nodeFlags: string[] = []): number {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return timedCommand(process.execPath, [...nodeFlags, ISPD_CLI, 'import', '--db', path.join(dir, 'ispd.sqlite'), ldif], { cwd: dir });
}

export interface IspdServer extends LdapServer, DnsServer {
  dbFile: string;
  metricsPort: number;
  /** Milliseconds from spawn until LDAP and DNS answered (start-up: opening the store, building zones). */
  startupMs: number;
}

/**
 * `ispd serve` on the store made by ispdImport. Anonymous read on (Postfix binds anonymously; slapd gets the
 * same through its ACL), no size limit surprises, warn-level logs (slapd runs with loglevel 0).
 * `nodeFlags` lets the profiler add --cpu-prof.
 */
export async function startIspd(dir: string, nodeFlags: string[] = []): Promise<IspdServer> {
  const ldapPort = await pickFreePort();
  const dnsPort = await pickFreePort({ udp: true });
  const metricsPort = await pickFreePort();
  const dbFile = path.join(dir, 'ispd.sqlite');
  const spawnedAt = Date.now();
  const server = await startServerProcess({
    executable: process.execPath,
    args: [
      ...nodeFlags,
      ISPD_CLI,
      'serve',
      '--db',
      dbFile,
      '--ldap',
      `127.0.0.1:${ldapPort}`,
      '--dns',
      `127.0.0.1:${dnsPort}`,
      '--metrics',
      `127.0.0.1:${metricsPort}`,
      '--log-level',
      'warn',
      '--set',
      'ldap.anonymousRead=true',
    ],
    host: '127.0.0.1',
    port: ldapPort,
    startTimeoutMs: 300_000,
    cwd: dir,
  });
  await waitForUdpDns(dnsPort, 120_000);
  const startupMs = Date.now() - spawnedAt;
  return { ...wrap('ispd', server, { ldapUrl: `ldap://127.0.0.1:${ldapPort}` }), dnsPort, dbFile, metricsPort, startupMs };
}

// ------------------------------------------------------------------------------------------------
// PowerDNS with the LDAP backend

/**
 * pdns_server with launch=ldap, ldap-method=simple over ou=pdns,o=ispman: names are found by
 * (associatedDomain=<qname>) in the PowerDNS view of the zones (ispman-pdns.ldif, see generate.ts).
 * Packet cache and query cache on with the shipped TTLs (cache-ttl 20 s, query-cache-ttl 20 s).
 */
export async function startPdns(dir: string, ldapUrl: string): Promise<DnsServer> {
  const pdns = requireProgram('pdns_server', 'pdns-server');
  if (!fs.existsSync('/usr/lib/x86_64-linux-gnu/pdns/libldapbackend.so') && !findLdapBackend()) {
    throw new Error('PowerDNS LDAP backend missing: install the Debian package pdns-backend-ldap');
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const port = await pickFreePort({ udp: true });
  fs.writeFileSync(
    path.join(dir, 'pdns.conf'),
    [
      'launch=ldap',
      `ldap-host=${ldapUrl}/`,
      'ldap-basedn=ou=pdns,o=ispman',
      'ldap-method=simple',
      'local-address=127.0.0.1',
      `local-port=${port}`,
      `socket-dir=${dir}`,
      'daemon=no',
      'guardian=no',
      'disable-syslog=yes',
      'loglevel=3',
      'cache-ttl=20',
      'query-cache-ttl=20',
      'negquery-cache-ttl=60',
      'webserver=no',
      'api=no',
      'zone-cache-refresh-interval=0',
      '',
    ].join('\n'),
  );
  const server = await startServerProcess({
    executable: pdns,
    args: [`--config-dir=${dir}`],
    host: '127.0.0.1',
    port,
    startTimeoutMs: 30_000,
  });
  await waitForUdpDns(port, 30_000);
  return { ...wrap('pdns-ldap', server, {}), dnsPort: port };
}

function findLdapBackend(): boolean {
  try {
    return execFileSync('sh', ['-c', 'ls /usr/lib/*/pdns/libldapbackend.so'], { encoding: 'utf8' }).trim().length > 0;
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------------------------------------
// NSD

/** nsd in the foreground on the zone files in `zonesDir` (one file per zone, named after it). */
export async function startNsd(dir: string, zonesDir: string, zones: string[]): Promise<DnsServer> {
  const nsd = requireProgram('nsd', 'nsd');
  fs.mkdirSync(dir, { recursive: true });
  const port = await pickFreePort({ udp: true });
  const conf = path.join(dir, 'nsd.conf');
  const lines = [
    'server:',
    `  ip-address: 127.0.0.1@${port}`,
    `  port: ${port}`,
    '  username: ""',
    '  chroot: ""',
    `  zonesdir: "${zonesDir}"`,
    `  zonelistfile: "${dir}/zone.list"`,
    '  database: ""',
    `  pidfile: "${dir}/nsd.pid"`,
    `  xfrdfile: "${dir}/xfrd.state"`,
    `  xfrdir: "${dir}"`,
    `  logfile: "${dir}/nsd.log"`,
    '  verbosity: 0',
    '  hide-version: yes',
    // response rate limiting is on by default in Debian's NSD (200 qps per /24): a load test from one address would measure it
    '  rrl-ratelimit: 0',
    '  rrl-whitelist-ratelimit: 0',
    'remote-control:',
    '  control-enable: no',
  ];
  for (const zone of zones) lines.push('zone:', `  name: "${zone}"`, `  zonefile: "${zone}.zone"`);
  fs.writeFileSync(conf, lines.join('\n') + '\n');
  const check = spawnSync(requireProgram('nsd-checkconf', 'nsd'), [conf], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`nsd-checkconf: ${check.stdout}${check.stderr}`);
  const server = await startServerProcess({ executable: nsd, args: ['-d', '-c', conf], host: '127.0.0.1', port, startTimeoutMs: 120_000 });
  await waitForUdpDns(port, 120_000);
  return { ...wrap('nsd', server, {}), dnsPort: port };
}

// ------------------------------------------------------------------------------------------------

function wrap<T extends object>(name: string, server: ServerProcess, extra: T): RunningServer & T {
  return {
    name,
    pids: () => processTree(server.child.pid ?? -1),
    stop: () => server.stop(10_000),
    output: () => server.output(),
    ...extra,
  };
}

/** pid and all its descendants (NSD and ispd workers fork). */
export function processTree(root: number): number[] {
  if (root <= 0) return [];
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // the process ended while we looked
    }
  }
  const result: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    result.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return result;
}

/** Sum of VmRSS over the processes, in MiB. */
export function residentMiB(pids: number[]): number {
  let kib = 0;
  for (const pid of pids) {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (match) kib += Number(match[1]);
    } catch {
      // gone
    }
  }
  return Math.round(kib / 102.4) / 10;
}

/** Resolves once a DNS server answers a query on UDP (any answer: the zones may still be loading into REFUSED). */
export async function waitForUdpDns(port: number, timeoutMs: number): Promise<void> {
  const dgram = await import('node:dgram');
  const deadline = Date.now() + timeoutMs;
  // a fixed query for "." SOA, id 0x4242
  const query = Buffer.from('424200000001000000000000000006000001', 'hex');
  for (;;) {
    const answered = await new Promise<boolean>((resolve) => {
      const socket = dgram.createSocket('udp4');
      const timer = setTimeout(() => {
        socket.close();
        resolve(false);
      }, 500);
      socket.once('message', () => {
        clearTimeout(timer);
        socket.close();
        resolve(true);
      });
      socket.once('error', () => {
        clearTimeout(timer);
        socket.close();
        resolve(false);
      });
      socket.send(query, port, '127.0.0.1');
    });
    if (answered) return;
    if (Date.now() > deadline) throw new Error(`no DNS answer on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
