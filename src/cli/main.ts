// ispd's command line (design §9). One file per command; this one dispatches and maps failures to exit
// codes: 0 ok, 1 runtime failure, 2 bad usage or configuration, with a one-line reason on stderr.

import { ConfigError } from '../config/load';
import { ProvisionError } from '../provision/errors';
import { UsageError } from './usage';

type Command = (argv: string[]) => Promise<number | void>;

const COMMANDS: Record<string, { summary: string; load: () => Command }> = {
  serve: { summary: 'run the LDAP, DNS and metrics listeners', load: () => require('./serve').runServe },
  import: { summary: 'bulk-load an LDIF file into the store (offline, like slapadd)', load: () => require('./import').runImport },
  export: { summary: 'write the whole directory as LDIF on stdout (like slapcat)', load: () => require('./export').runExport },
  reindex: { summary: 'rebuild the value index (after adding to indexes; like slapindex)', load: () => require('./reindex').runReindex },
  'check-config': { summary: 'validate the configuration and print the effective values', load: () => require('./check-config').runCheckConfig },
  dnssec: { summary: 'dnssec enable|disable|status|ds|rollover ZONE: DNSSEC signing and keys', load: () => require('./dnssec').runDnssec },
  zone: { summary: 'zone export ZONE: print a zone in BIND master-file format', load: () => require('./zone').runZoneCommand },
  domain: { summary: 'domain add|del|list|show: hosted domains with their DNS zone', load: () => require('./domain').runDomain },
  user: { summary: 'user add|del|passwd|show: mail users (add --csv FILE for many)', load: () => require('./user').runUser },
  alias: { summary: 'alias add|del: extra addresses of a user', load: () => require('./alias').runAlias },
  forward: { summary: 'forward add|del: where a user\'s mail is also sent', load: () => require('./forward').runForward },
  vhost: { summary: 'vhost add|del: virtual hosts with their A record', load: () => require('./vhost').runVhost },
  farm: { summary: 'farm status|retry: users per mail store, queued post-add/delete commands', load: () => require('./farm').runFarm },
};

function usage(): string {
  const lines = ['usage: ispd <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(14)} ${c.summary}`);
  lines.push('', 'Run "ispd <command> --help" for the options of a command.');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  if (name === '--version') {
    process.stdout.write(require('../server').VERSION + '\n');
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`ispd: unknown command "${name}"\n${usage()}\n`);
    return 2;
  }
  try {
    const code = await command.load()(rest);
    return typeof code === 'number' ? code : 0;
  } catch (err) {
    if (err instanceof ConfigError || err instanceof UsageError || err instanceof ProvisionError) {
      process.stderr.write(`ispd ${name}: ${(err as Error).message}\n`);
      return 2;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`ispd ${name}: ${message.split('\n')[0]}\n`);
    if (process.env.ISPD_DEBUG) process.stderr.write(String((err as Error)?.stack) + '\n');
    return 1;
  }
}

/**
 * Runs the command line of this process and sets its exit code. bin/ispd calls it, however it was reached
 * (./bin/ispd, npx ispd through node_modules/.bin, an `npm link` symlink on the PATH): recognizing the
 * script by the path it was started under missed npx's `.bin/ispd`, which then printed nothing.
 */
export function run(argv: string[] = process.argv.slice(2)): void {
  main(argv).then(
    (code) => {
      // serve keeps running; other commands exit with their code. A failure exits now: a serve that failed
      // half-way (the store damaged past its first listener) must not stay up with what it had opened.
      // (stderr to a pipe or file is written synchronously on Linux: the reason line is out.)
      if (code > 0) process.exit(code);
      if (code !== -1) process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`ispd: ${err?.message ?? err}\n`);
      process.exitCode = 1;
    },
  );
}

// `node dist/src/cli/main.js …` (npm start, the tests) runs it too.
if (require.main === module) run();
