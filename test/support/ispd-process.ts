import * as fs from 'node:fs';
import * as path from 'node:path';
import { pickFreePort, waitForTcpPort } from './ports';
import { describeResult, runClient } from './clients';
import { DEMO_LDIF, REPO_ROOT, makeTempDir, startServerProcess } from './server-process';

/** The compiled CLI (design §9): `ispd import` and `ispd serve`. */
export const ISPD_CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

export interface IspdOptions {
  /** LDIF loaded with `ispd import` before serving; default: the demo data. `null`: start on an empty store. */
  ldif?: string | null;
  /** Extra flags for `ispd import` (e.g. ['--relaxed']). */
  importFlags?: string[];
  /** Extra flags appended to `ispd serve`. */
  config?: string[];
  /** How long to wait for the listeners (default 15 s). */
  startTimeoutMs?: number;
}

/** The listeners whose flag the caller did not override in `config` (e.g. `--dns off`). */
function listenersToAwait(config: string[]): Array<'dns' | 'metrics'> {
  return (['dns', 'metrics'] as const).filter((name) => !config.includes(`--${name}`));
}

export interface IspdHandle {
  kind: 'ispd';
  ldapUrl: string;
  ldapPort: number;
  dnsPort: number;
  metricsPort: number;
  dbFile: string;
  dir: string;
  /** The main process's id (the workers are its children: see processTreeRss). */
  pid: number;
  /** What the server wrote to stdout/stderr so far. */
  output(): string;
  /** SIGTERM, then SIGKILL after a grace period; removes the temp dir. */
  stop(): Promise<void>;
}

/**
 * Starts ispd as the operator would: `ispd import --db <tmp>/ispd.sqlite <ldif>`, then
 * `ispd serve --db … --ldap 127.0.0.1:<p1> --dns 127.0.0.1:<p2> --metrics 127.0.0.1:<p3>`, each
 * port picked free. Resolves once the LDAP port accepts a connection, then the DNS (TCP) and metrics
 * ports unless `config` overrides their flags. On a timeout the error carries the server's output.
 */
export async function startIspd(options: IspdOptions = {}): Promise<IspdHandle> {
  if (!fs.existsSync(ISPD_CLI)) throw new Error(`${ISPD_CLI} does not exist: run \`npm run build\` first`);
  const dir = makeTempDir('interop');
  const removeDir = (): void => fs.rmSync(dir, { recursive: true, force: true });
  try {
    const dbFile = path.join(dir, 'ispd.sqlite');
    const ldif = options.ldif === undefined ? DEMO_LDIF : options.ldif;
    if (ldif !== null) {
      const load = await runClient(process.execPath, [ISPD_CLI, 'import', '--db', dbFile, ...(options.importFlags ?? []), ldif], {
        timeoutMs: 60000,
      });
      if (load.code !== 0) throw new Error(`ispd import failed:\n${describeResult(load)}`);
    }
    const ldapPort = await pickFreePort();
    const dnsPort = await pickFreePort({ udp: true });
    const metricsPort = await pickFreePort();
    const server = await startServerProcess({
      executable: process.execPath,
      args: [
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
        // NOTIFY only to targets a test names: the demo zones' NS hosts are public addresses (issue 12).
        '--set',
        'dns.notifyMode=explicit',
        ...(options.config ?? []),
      ],
      host: '127.0.0.1',
      port: ldapPort,
      startTimeoutMs: options.startTimeoutMs ?? 15000,
      cwd: dir,
    });
    // LDAP is up; DNS (its TCP side) and metrics may open a moment later
    try {
      for (const listener of listenersToAwait(options.config ?? [])) {
        await waitForTcpPort('127.0.0.1', listener === 'dns' ? dnsPort : metricsPort, options.startTimeoutMs ?? 15000, () => server.child.exitCode === null);
      }
    } catch (error) {
      await server.stop(1000);
      throw new Error(`${(error as Error).message}\n  output:\n${server.output()}`);
    }
    return {
      kind: 'ispd',
      ldapUrl: `ldap://127.0.0.1:${ldapPort}/`,
      ldapPort,
      dnsPort,
      metricsPort,
      dbFile,
      dir,
      pid: server.child.pid!,
      output: server.output,
      stop: async () => {
        await server.stop();
        removeDir();
      },
    };
  } catch (error) {
    removeDir();
    throw error;
  }
}
