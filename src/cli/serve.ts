import fs from 'node:fs';
import path from 'node:path';
import { parseCommandLine, renderOptionsHelp, type Config } from '../config/load';
import { resolveRunAs, checkCanSwitch, dropPrivileges } from '../lifecycle/privileges';
import { attachWorker, isWorker, roleConfig, startWorkers, workerCount, type Workers } from '../cluster';
import { openStore, startServer, storeFiles } from '../server';
import { runStartCheck, storeOpenError } from '../store-file';
import { checkStartupResources } from './check-config';
import { importLdif } from './import';
import { Progress } from './progress';

const FLAGS = { '--demo': 'boolean' } as const;

/** The demo directory (the article's 4unet.net and developer.ch, and ISPMan 1.4-shaped domains). */
export const DEMO_LDIF = path.resolve(__dirname, '../../../src/provision/demo-data.ldif');

/**
 * `ispd serve`: runs until SIGTERM/SIGINT (drain, close the store, exit 0); SIGHUP re-reads the
 * configuration file for ACLs, TLS certificates and the log level. With --demo, a new store is first
 * loaded with the demo directory and anonymous read is on (as in ISPMan, Postfix binds anonymously).
 */
export async function runServe(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    process.stdout.write('usage: ispd serve [--demo] [--config FILE] [--db FILE] [--ldap H:P] [--dns H:P] [--metrics H:P]\n\n' + renderOptionsHelp() + '\n');
    return 0;
  }
  const readConfig = (): Config => {
    const cl = parseCommandLine(argv, process.env, { commandFlags: FLAGS });
    return cl.flags['--demo'] === true ? withAnonymousRead(cl.config) : cl.config;
  };
  const demo = parseCommandLine(argv, process.env, { commandFlags: FLAGS }).flags['--demo'] === true;
  const config = readConfig();
  // Resolved before anything is bound: an unknown user is a configuration error (exit 2), not a crash later.
  checkStartupResources(config);
  // The primary checks the file once (workers re-run this command line: they skip it).
  const startCheck = isWorker() ? null : runStartCheck(config);
  const runAs = resolveRunAs(config.runAs);
  if (runAs) checkCanSwitch(runAs);
  if (demo && !fs.existsSync(config.db)) {
    const store = openStore(config);
    try {
      await importLdif(store, fs.createReadStream(DEMO_LDIF), 'demo data', { relaxed: false, progress: new Progress('demo', process.stderr) });
    } finally {
      store.backend.close();
    }
  }
  if (isWorker()) return runWorker(readConfig, runAs);
  // With several LDAP workers, this process keeps DNS and metrics and the workers share the LDAP listeners.
  const workerProcesses = workerCount(config);
  let workers: Workers | null = null;
  // Reading the store at start (DNS zones) meets damage the start check was told to let through: name the file.
  const server = await startServer(workerProcesses ? roleConfig(config, 'primary') : config, {
    scrape: workerProcesses ? (own) => (workers ? workers.scrape() : own.scrape()) : undefined,
    // Until every worker has reported its LDAP listener up, the service is not ready (LDAP would be refused).
    othersReady: workerProcesses ? () => workers?.ready() ?? false : undefined,
  }).catch((err: unknown) => {
    throw storeOpenError(config.db, err);
  });
  const log = server.logger;
  if (startCheck) {
    server.metrics.storeCheckProblems.set(startCheck.problems.length);
    server.metrics.storeCheckSeconds.set(startCheck.seconds);
    const summary = { db: config.db, seconds: Math.round(startCheck.seconds * 1000) / 1000, checked: startCheck.checked.length, unchecked: startCheck.skipped };
    if (startCheck.problems.length > 0) log.error({ ...summary, problems: startCheck.problems }, 'store check: the database file is damaged; serving anyway (startCheck: warn): export what is readable and restore');
    else if (startCheck.skipped.length > 0) log.warn(summary, 'store check: time budget spent before every table was checked (startCheckSeconds)');
    else log.info(summary, 'store check: ok');
  }
  if (workerProcesses) workers = await startWorkers(workerProcesses, server);
  if (runAs) {
    // Listeners are bound (389, 636, 53 need root); from here on the process is the configured user.
    const { chowned } = dropPrivileges(runAs, storeFiles(config));
    log.info({ user: runAs.user, uid: runAs.uid, group: runAs.group, gid: runAs.gid, chowned }, 'dropped privileges');
  }
  const ldap = workers ? workers.ldap : server.ldapAddress();
  const dns = server.dnsAddress();
  const metrics = server.metricsAddress();
  log.info({ ldap, ldaps: workers ? workers.ldaps : server.ldapsAddress(), dns, metrics, db: config.db, pid: process.pid, workers: workerProcesses }, 'ready');
  if (process.stdout.isTTY || demo) printExamples(config, ldap, dns, metrics);

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) {
      // Ctrl-C twice: the operator does not want to wait for the drain.
      if (signal === 'SIGINT') {
        log.warn({ signal }, 'second SIGINT while draining: exiting now');
        process.exit(1);
      }
      log.info({ signal }, 'already draining');
      return;
    }
    stopping = true;
    log.info({ signal }, 'draining: no new connections, finishing operations in flight');
    try {
      server.markDraining();
      // Workers drain their connections within the same grace; a margin covers their start-up of the shutdown.
      await workers?.stop((config.ldap.shutdownGraceSeconds + 5) * 1000);
      await server.close();
      log.info({ signal }, 'stopped');
      process.exit(0);
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  // One reload at a time: a second SIGHUP during a reload runs after it, with the file as it is then.
  let reloading: Promise<void> = Promise.resolve();
  const reload = async (): Promise<void> => {
    if (stopping) return;
    let next: Config;
    try {
      next = readConfig();
    } catch (err) {
      log.error({ reason: (err as Error).message }, 'reload refused: the configuration is invalid; keeping the running one');
      return;
    }
    try {
      await server.reload(next);
      workers?.reload();
    } catch (err) {
      log.error({ reason: (err as Error).message }, 'reload refused; keeping the running configuration');
    }
  };
  // A bug that escapes every handler ends the process with a log line an operator can find, not a bare stack.
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception; exiting');
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    log.fatal({ err }, 'unhandled promise rejection; exiting');
    process.exit(1);
  });
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGHUP', () => {
    log.info({ signal: 'SIGHUP' }, 'reloading configuration');
    reloading = reloading.then(reload);
  });
  return -1;
}

/** An LDAP worker process: LDAP only; it drains on SIGTERM/SIGINT or when the primary says so, and reloads when told. */
async function runWorker(readConfig: () => Config, runAs: ReturnType<typeof resolveRunAs>): Promise<number> {
  const config = roleConfig(readConfig(), 'worker');
  const server = await startServer(config);
  if (runAs) dropPrivileges(runAs, []);
  let stopping = false;
  const stop = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    server.logger.debug({ reason }, 'worker draining');
    await server.close().catch((err) => server.logger.error({ err }, 'worker shutdown failed'));
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // SIGHUP goes to the primary, which forwards the reload; a terminal's hangup to the group is not ours to act on.
  process.on('SIGHUP', () => undefined);
  attachWorker(server, {
    stop,
    reload: async () => {
      try {
        await server.reload(roleConfig(readConfig(), 'worker'));
      } catch (err) {
        server.logger.error({ reason: (err as Error).message }, 'worker reload refused; keeping the running configuration');
      }
    },
  });
  return -1;
}

/**
 * The demo: anonymous read (Postfix binds anonymously, as with ISPMan), and NOTIFY only to configured
 * targets: the demo zones name public name servers (the article's 4unet.net), which must get nothing.
 */
function withAnonymousRead(config: Config): Config {
  const notifyMode = config.dns.notifyMode === 'no' ? 'no' : 'explicit';
  return Object.freeze({ ...config, ldap: Object.freeze({ ...config.ldap, anonymousRead: true }), dns: Object.freeze({ ...config.dns, notifyMode }) }) as Config;
}

function printExamples(config: Config, ldap: { host: string; port: number } | null, dns: { host: string; port: number } | null, metrics: { host: string; port: number } | null): void {
  const lines: string[] = ['', 'ispd is serving. Try:'];
  if (ldap) {
    const url = `ldap://${ldap.host}:${ldap.port}`;
    lines.push(
      `  ldapsearch -x -H ${url} -b ${config.baseDN} '(mailacceptinggeneralid=bob@developer.ch)' maildrop`,
      `  ldapsearch -x -H ${url} -b ${config.baseDN} '(|(mailLocalAddress=john@example.com)(mailAlias=john@example.com))' mailRoutingAddress mailForwardingAddress`,
      `  ldapwhoami -x -H ${url} -D 'uid=john_example_com,ou=users,ispmanDomain=example.com,${config.baseDN}' -w john-secret`,
      `  printf 'server_host = ${url}\\nsearch_base = ${config.baseDN}\\nquery_filter = (mailacceptinggeneralid=%%s)\\nresult_attribute = maildrop\\nbind = no\\n' > /tmp/ispd-maildrop.cf`,
      `  mkdir -p /tmp/ispd-postfix && touch /tmp/ispd-postfix/main.cf   # postmap wants a main.cf`,
      `  postmap -c /tmp/ispd-postfix -q bob@developer.ch ldap:/tmp/ispd-maildrop.cf`,
    );
  }
  if (dns) lines.push(`  dig @${dns.host} -p ${dns.port} 4unet.net SOA`, `  dig @${dns.host} -p ${dns.port} www.example.com A`);
  if (metrics) lines.push(`  curl http://${metrics.host}:${metrics.port}/metrics`);
  lines.push('');
  process.stdout.write(lines.join('\n') + '\n');
}
