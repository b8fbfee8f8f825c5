// nslcd (nss-pam-ldapd) for interop tests: Debian's stock options, libnss-ldapd and libpam-ldapd, driven
// with getent, id and pamtester. nslcd reads only /etc/nslcd.conf and talks to NSS/PAM over
// /run/nslcd/socket, so the tests edit /etc (nslcd.conf, nsswitch.conf, pam.d/<service>) through an
// EtcGuard that restores every file afterwards, even when a test fails.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { clientsAreMandatory, describeResult, findProgram, requirePrograms, runClient, type ClientResult } from './clients';
import { renderConfig } from './configs';
import { EtcGuard, addNsswitchSource } from './etc-guard';
import { startServerProcess, type ServerProcess } from './server-process';

export const NSLCD_CONF = '/etc/nslcd.conf';
const NSSWITCH_CONF = '/etc/nsswitch.conf';
/** The PAM service the tests use (/etc/pam.d/ispd-test). */
export const PAM_SERVICE = 'ispd-test';
const PAM_SERVICE_FILE = `/etc/pam.d/${PAM_SERVICE}`;
const NSLCD_RUN_DIR = '/run/nslcd';
const NSLCD_SOCKET = `${NSLCD_RUN_DIR}/socket`;
const PAM_LDAP_MODULES = ['/lib/x86_64-linux-gnu/security/pam_ldap.so', '/usr/lib/x86_64-linux-gnu/security/pam_ldap.so', '/lib/security/pam_ldap.so'];
const NSS_LDAP_LIBRARIES = ['/lib/x86_64-linux-gnu/libnss_ldap.so.2', '/usr/lib/x86_64-linux-gnu/libnss_ldap.so.2'];

/** Waits for nslcd's socket: nslcd -d creates it once it is ready to answer. */
async function waitForFile(file: string, timeoutMs: number, isAlive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(file)) {
    if (!isAlive()) throw new Error(`nslcd exited before creating ${file}`);
    if (Date.now() > deadline) throw new Error(`${file} did not appear within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Skips (or, in CI, fails) unless nslcd, pamtester, pam_ldap.so and libnss_ldap.so.2 are installed and
 * the test runs as root; throws when another nslcd is running (its socket path is fixed).
 */
export function requireNslcd(context: Mocha.Context): void {
  requirePrograms(context, 'nslcd', 'pamtester', 'getent', 'id');
  const pamModule = PAM_LDAP_MODULES.find((file) => fs.existsSync(file));
  const nssLibrary = NSS_LDAP_LIBRARIES.find((file) => fs.existsSync(file));
  if (!pamModule || !nssLibrary) requirePrograms(context, pamModule ?? 'pam_ldap.so (libpam-ldapd)', nssLibrary ?? 'libnss_ldap.so.2 (libnss-ldapd)');
  if (process.getuid?.() !== 0) {
    if (clientsAreMandatory()) throw new Error('the nslcd/PAM test edits /etc and must run as root (CI=true)');
    console.warn('    skipped: the nslcd/PAM test must run as root');
    context.skip();
  }
  const running = spawnSync(findProgram('nslcd') ?? 'nslcd', ['-c']);
  if (running.status === 0) throw new Error('an nslcd is already running (nslcd -c); stop it first, this test starts its own');
}

export interface NslcdOptions {
  ldapUrl: string;
  base?: string;
  /** Lines appended to the rendered nslcd.conf (e.g. `ssl start_tls` and `tls_cacertfile …`). */
  extraConfig?: string;
  /** The PAM service file's content; default: test/interop/configs/nslcd/pam.d-ispd-test (auth and account). */
  pamConfig?: string;
}

export interface Nslcd {
  process: ServerProcess;
  /** nslcd's debug log so far. */
  output(): string;
  /** An assertion message: the client's result plus the tail of nslcd's log (which LDAP operation failed). */
  explain(result: ClientResult): string;
  /** Stops nslcd and restores /etc. */
  stop(): Promise<void>;
}

/** Writes /etc/nslcd.conf, nsswitch.conf and the PAM service (restored by stop()), then runs `nslcd -d` in the foreground. */
export async function startNslcd(options: NslcdOptions): Promise<Nslcd> {
  const etc = new EtcGuard();
  let nslcd: ServerProcess | undefined;
  try {
    const nslcdUser = spawnSync('id', ['-u', 'nslcd'], { encoding: 'utf8' });
    const nslcdGroup = spawnSync('id', ['-g', 'nslcd'], { encoding: 'utf8' });
    if (nslcdUser.status !== 0) throw new Error('user nslcd does not exist (Debian package nslcd creates it)');
    const conf = renderConfig('nslcd/nslcd.conf', { LDAP_URI: options.ldapUrl, BASE: options.base ?? 'o=ispman' });
    etc.write(NSLCD_CONF, options.extraConfig ? `${conf.replace(/\n*$/, '\n')}${options.extraConfig.replace(/\n*$/, '\n')}` : conf, 0o640);
    etc.edit(NSSWITCH_CONF, (content) => addNsswitchSource(content, ['passwd', 'group'], 'ldap'));
    etc.write(PAM_SERVICE_FILE, options.pamConfig ?? renderConfig('nslcd/pam.d-ispd-test', {}), 0o644);
    etc.ensureDir(NSLCD_RUN_DIR, { uid: Number(nslcdUser.stdout.trim()), gid: Number(nslcdGroup.stdout.trim()) });

    let alive = true;
    // -d: stay in the foreground and log to stderr, so the test owns the process and sees why a lookup failed
    nslcd = await startServerProcess({ executable: findProgram('nslcd') ?? 'nslcd', args: ['-d'], host: '', port: 0, startTimeoutMs: 0, waitForPort: false });
    nslcd.child.once('exit', () => (alive = false));
    await waitForFile(NSLCD_SOCKET, 15000, () => alive);
  } catch (error) {
    await nslcd?.stop();
    etc.restore();
    throw error;
  }
  const started = nslcd;
  return {
    process: started,
    output: started.output,
    explain: (result) => `${describeResult(result)}\n  nslcd log (tail):\n${started.output().split('\n').slice(-40).join('\n')}`,
    stop: async () => {
      await started.stop();
      etc.restore();
    },
  };
}

/** pamtester `authenticate acct_mgmt` for a user, the password on stdin. */
export function pamLogin(user: string, password: string): Promise<ClientResult> {
  return runClient('pamtester', ['-v', PAM_SERVICE, user, 'authenticate', 'acct_mgmt'], { input: `${password}\n`, timeoutMs: 30000 });
}
