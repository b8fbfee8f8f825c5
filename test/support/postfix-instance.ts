// A Postfix instance of its own for a test: its own configuration directory, queue and data directory
// under a temporary directory, smtpd on a loopback port, the master daemon run in the foreground
// (`master -d -c DIR`) as a child of the test, in a process group of its own so that stopping it
// stops all its daemons. The machine's Postfix (if any) is neither read nor touched.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeResult, runClient } from './clients';
import { renderConfig } from './configs';
import { pickFreePort, waitForTcpPort } from './ports';
import { startServerProcess, type ServerProcess } from './server-process';

/** Debian's master daemon (not on PATH: `postfix start` runs it from daemon_directory). */
export const POSTFIX_MASTER = '/usr/lib/postfix/sbin/master';

export interface PostfixInstance {
  dir: string;
  smtpPort: number;
  /** The instance's maillog_file so far (for assertion messages). */
  maillog(): string;
  stop(): Promise<void>;
}

/** Writes a file dated a minute back: Postfix waits before reading a main.cf or table modified just now. */
function writeAged(file: string, content: string): void {
  fs.writeFileSync(file, content);
  const aMinuteAgo = new Date(Date.now() - 60000);
  fs.utimesSync(file, aMinuteAgo, aMinuteAgo);
}

export async function startPostfix(options: { dir: string; ldapPort: number; tables: Record<string, string> }): Promise<PostfixInstance> {
  const dir = options.dir;
  // Postfix's daemons run as the postfix user and must reach the configuration and the queue.
  fs.chmodSync(dir, 0o755);
  const smtpPort = await pickFreePort();
  writeAged(path.join(dir, 'main.cf'), renderConfig('postfix/mail-flow-main.cf', { DIR: dir }));
  writeAged(path.join(dir, 'master.cf'), renderConfig('postfix/mail-flow-master.cf', { SMTP_PORT: smtpPort }));
  for (const name of ['ldap-virtual-alias-maps', 'ldap-transport-maps', 'ldap-relay-domains', 'ldap-relay-recipient-maps']) {
    writeAged(path.join(dir, `${name}.cf`), renderConfig(`postfix/${name}.cf`, { LDAP_HOST: '127.0.0.1', LDAP_PORT: options.ldapPort, LDAP_VERSION: 3 }));
  }
  for (const [name, content] of Object.entries(options.tables)) writeAged(path.join(dir, name), content);
  const maillog = (): string => {
    try {
      return fs.readFileSync(path.join(dir, 'maillog'), 'utf8');
    } catch {
      return '(no maillog yet)';
    }
  };
  // `postfix check` creates the queue directories with their owners and modes; the data directory
  // (master.lock, caches) must belong to mail_owner.
  fs.mkdirSync(path.join(dir, 'queue'), { recursive: true, mode: 0o755 });
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  const check = await runClient('postfix', ['-c', dir, 'check'], { timeoutMs: 30000 });
  if (check.code !== 0) throw new Error(`postfix check failed:\n${describeResult(check)}\n  maillog:\n${maillog()}`);
  const owner = await runClient('chown', ['postfix', path.join(dir, 'data')]);
  if (owner.code !== 0) throw new Error(describeResult(owner));
  const master: ServerProcess = await startServerProcess({
    executable: POSTFIX_MASTER,
    args: ['-d', '-c', dir],
    host: '127.0.0.1',
    port: 0,
    startTimeoutMs: 0,
    waitForPort: false,
    env: { ...process.env, MAIL_CONFIG: dir },
    detached: true,
  });
  try {
    await waitForTcpPort('127.0.0.1', smtpPort, 20000, () => master.child.exitCode === null && master.child.signalCode === null);
  } catch (error) {
    await master.stop(2000);
    throw new Error(`${(error as Error).message}\n  master output: ${master.output()}\n  maillog:\n${maillog()}`);
  }
  return { dir, smtpPort, maillog, stop: () => master.stop(10000) };
}
