import { PRIVATE_KEY_ATTRIBUTES } from '../acl';
import { parseCommandLine, renderOptionsHelp } from '../config/load';
import { formatLdifEntry } from '../directory/ldif';
import { openStore } from '../server';
import { Progress } from './progress';

/**
 * `ispd export`: every entry, parents first, as LDIF on stdout (like slapcat), operational attributes
 * included. Progress goes to stderr: a bar on a terminal, a line every few seconds otherwise.
 */
export async function runExport(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    process.stdout.write('usage: ispd export [--db FILE] [--include-private-keys] > dump.ldif\n\n' + renderOptionsHelp() + '\n');
    return 0;
  }
  const { config, flags } = parseCommandLine(argv, process.env, { commandFlags: { '--include-private-keys': 'boolean' } });
  // Private keys (DNSSEC) stay out of a dump unless asked for: dumps travel further than the store.
  const withheld = flags['--include-private-keys'] === true ? new Set<string>() : new Set(PRIVATE_KEY_ATTRIBUTES);
  const { backend } = openStore(config);
  const progress = new Progress('export', process.stderr);
  try {
    progress.phase('write', backend.count());
    let chunk = '';
    let n = 0;
    for (const e of backend.all()) {
      chunk += formatLdifEntry(e.dn, withheld.size ? withoutAttributes(e.attrs, withheld) : e.attrs) + '\n';
      progress.tick(++n);
      if (chunk.length > 1 << 16) {
        if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once('drain', r));
        chunk = '';
      }
    }
    if (chunk) process.stdout.write(chunk);
    progress.done(`${n} entries exported`);
  } finally {
    backend.close();
  }
  return 0;
}

function withoutAttributes(attrs: Record<string, string[]>, withheld: Set<string>): Record<string, string[]> {
  let out: Record<string, string[]> | undefined;
  for (const name of Object.keys(attrs)) {
    if (!withheld.has(name.toLowerCase())) continue;
    out ??= { ...attrs };
    delete out[name];
  }
  return out ?? attrs;
}
