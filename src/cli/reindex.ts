import { parseCommandLine, renderOptionsHelp } from '../config/load';
import { openStore } from '../server';
import { Progress } from './progress';

/**
 * `ispd reindex`: rebuilds the value index from the stored entries with the configured `indexes`
 * (offline, like slapindex). Needed after adding an attribute to `indexes`: until then searches on it
 * scan instead of using the index. Progress on stderr.
 */
export async function runReindex(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    process.stdout.write('usage: ispd reindex [--db FILE] [--config FILE]   (stop ispd serve first, like slapindex)\n\n' + renderOptionsHelp() + '\n');
    return 0;
  }
  const { config } = parseCommandLine(argv);
  const { backend, directory } = openStore(config);
  try {
    const reindex = backend.capabilities.reindex;
    if (!reindex) throw new Error(`the ${backend.name} backend cannot reindex (it keeps its index current itself)`);
    const pending = reindex.pending();
    const progress = new Progress('reindex', process.stderr);
    progress.phase('index', backend.count());
    const n = reindex.run((entry) => directory.indexTerms(entry.attrs), (k) => progress.tick(k));
    progress.done(`${n} entries reindexed${pending.length ? ` (filled in: ${pending.join(', ')})` : ''}`);
  } finally {
    backend.close();
  }
  return 0;
}
