// What the provisioning commands (domain, user, alias, forward, vhost, farm) share: the command line, the
// store opened with its write hooks (SOA serials), the provisioner writing as the configured admin, the
// queued post-add/post-delete commands run after each command, and the wait until a running ispd's DNS
// answers what was written.

import { parseCommandLine, renderOptionsHelp, type CommandLine } from '../config/load';
import { createProvisioner, runPendingJobs, type Provisioner } from '../provision';
import { openStore } from '../server';
import { waitUntilServed, type DnsAnswer } from './dns-served';
import { UsageError } from './usage';

export type FlagSpec = Record<string, 'string' | 'boolean'>;

export interface Session {
  p: Provisioner;
  cl: CommandLine;
  out: NodeJS.WritableStream;
  /** A string flag's value, or undefined. */
  flag(name: string): string | undefined;
  /** A comma-separated list flag. */
  list(name: string): string[];
  /** Waits until the configured DNS listener answers `name`/`type` as `ok` says, and says so. */
  served(name: string, type: number, ok: (a: DnsAnswer) => boolean, what: string): Promise<void>;
}

export function helpRequested(argv: string[], usage: string): boolean {
  if (!argv.includes('--help')) return false;
  process.stdout.write(usage + '\n\nOptions (any configuration option may be given too):\n' + renderOptionsHelp() + '\n');
  return true;
}

/** Runs one provisioning command against the configured store; returns its exit code. */
export async function withProvisioner(argv: string[], flags: FlagSpec, run: (s: Session) => Promise<number>): Promise<number> {
  const cl = parseCommandLine(argv, process.env, { commandFlags: flags, positionals: true });
  const store = openStore(cl.config);
  const p = createProvisioner(store.directory, cl.config);
  const out = process.stdout;
  const session: Session = {
    p,
    cl,
    out,
    flag: (name) => {
      const v = cl.flags[name];
      if (v === true) throw new UsageError(`${name} needs a value`);
      return v;
    },
    list: (name) => {
      const v = cl.flags[name];
      return typeof v === 'string' ? v.split(',').map((x) => x.trim()).filter(Boolean) : [];
    },
    async served(name, type, ok, what) {
      const started = Date.now();
      const r = await waitUntilServed(cl.config.dns.listen, name, type, ok);
      const at = `${cl.config.dns.listen?.host}:${cl.config.dns.listen?.port}`;
      if (r === 'served') out.write(`DNS at ${at} answers ${what} (${Date.now() - started} ms after the commit)\n`);
      else if (r === 'timeout') process.stderr.write(`ispd: warning: DNS at ${at} did not answer ${what} within 5 s (is that ispd serving this store?)\n`);
    },
  };
  try {
    const code = await run(session);
    // The queue is durable: jobs of this command and any that failed before run now.
    for (const job of await runPendingJobs(p)) {
      if (job.ok) out.write(`ran: ${job.command}\n`);
      else process.stderr.write(`ispd: warning: "${job.command}" failed (${job.message}); kept in the queue (ispd farm retry)\n`);
    }
    return code;
  } finally {
    store.backend.close();
  }
}
