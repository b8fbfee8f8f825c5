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
    process.stdout.write('usage: ispd export [--db FILE] > dump.ldif\n\n' + renderOptionsHelp() + '\n');
    return 0;
  }
  const { config } = parseCommandLine(argv);
  const { backend } = openStore(config);
  const progress = new Progress('export', process.stderr);
  try {
    progress.phase('write', backend.count());
    let chunk = '';
    let n = 0;
    for (const e of backend.all()) {
      chunk += formatLdifEntry(e.dn, e.attrs) + '\n';
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
