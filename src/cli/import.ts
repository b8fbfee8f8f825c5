import fs from 'node:fs';
import { parseCommandLine, renderOptionsHelp } from '../config/load';
import { parseLdifFileSync, parseLdifStream, type LdifRecord } from '../directory/ldif';
import { openStore, type Store } from '../server';
import { prepareRecord, startReader, type ReaderItem } from './import-reader';
import type { BulkEntry, EncodedEntry } from '../../backends/types';
import { Progress } from './progress';
import { UsageError } from './usage';

const FLAGS = { '--relaxed': 'boolean' } as const;

/**
 * `ispd import FILE.ldif`: offline bulk load, like slapadd. One pass: each record is checked (DN syntax,
 * schema unless --relaxed, duplicates, parent present in the store or earlier in the file) as it is read
 * and handed to the backend's bulk load, which is one transaction: an error names the line and rolls
 * everything back, so nothing is imported.
 */
export async function runImport(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    process.stdout.write('usage: ispd import [--relaxed] [--db FILE] FILE.ldif   (- for stdin)\n\n' + renderOptionsHelp() + '\n');
    return 0;
  }
  const cl = parseCommandLine(argv, process.env, { commandFlags: FLAGS, positionals: true });
  if (cl.positionals.length !== 1) throw new UsageError('expected exactly one LDIF file (or - for stdin)');
  const file = cl.positionals[0];
  const relaxed = cl.flags['--relaxed'] === true;
  const source: string | number = file === '-' ? 0 : file;
  if (typeof source === 'string') fs.accessSync(source, fs.constants.R_OK); // a clear error before the store is touched
  const store = openStore(cl.config);
  try {
    const progress = new Progress('import', process.stderr);
    const backend = store.backend;
    let n: number;
    const encoded = backend.capabilities.encodedBulkLoad;
    if (encoded) {
      // Parsing, the per-record checks and the encoding in a worker thread, the order checks and the writes here.
      const reader = startReader(cl.config, store, encoded, source, file, relaxed);
      try {
        progress.phase('load', typeof source === 'string' ? countRecords(source) : 0);
        await reader.started;
        n = encoded.load(checkedEncoded(store, reader.items(), file), (k) => progress.tick(k));
      } finally {
        await reader.stop();
      }
    } else {
      progress.phase('load', typeof source === 'string' ? countRecords(source) : 0);
      n = backend.bulkLoad(checkedEntries(store, parseLdifFileSync(source), file, relaxed), (k) => progress.tick(k));
    }
    progress.done(`${n} entries imported from ${file}`);
  } finally {
    store.backend.close();
  }
  return 0;
}

/** Imports an LDIF stream (small inputs: the demo data, tests); same checks and all-or-nothing load. */
export async function importLdif(store: Store, input: NodeJS.ReadableStream, name: string, opts: { relaxed: boolean; progress: Progress }): Promise<number> {
  const records: LdifRecord[] = [];
  for await (const record of parseLdifStream(input)) records.push(record);
  opts.progress.phase('load', records.length);
  const n = store.backend.bulkLoad(checkedEntries(store, records, name, opts.relaxed), (k) => opts.progress.tick(k));
  opts.progress.done(`${n} entries imported from ${name}`);
  return n;
}

type PreparedEntry = ReturnType<Store['directory']['prepareEntry']>;

/**
 * The checks that depend on what came before, in file order, in the loading thread: no duplicate, the
 * parent present in the store or earlier in the file, only the naming context's entry without a parent.
 */
class OrderCheck {
  private readonly seen = new Set<string>();

  constructor(private readonly store: Store) {}

  check(where: string, recordDn: string, dnNorm: string, parentDnNorm: string | null): void {
    const { directory, backend } = this.store;
    const seen = this.seen;
    if (seen.has(dnNorm) || backend.getByDnNorm(dnNorm)) throw new Error(`${where}: dn: ${recordDn}: entry already exists`);
    if (parentDnNorm === null) {
      if (dnNorm !== directory.baseNorm) throw new Error(`${where}: dn: ${recordDn}: not below the naming context ${directory.namingContexts[0]}`);
    } else if (!seen.has(parentDnNorm) && !backend.getByDnNorm(parentDnNorm)) {
      throw new Error(`${where}: dn: ${recordDn}: parent entry does not exist (parents must come first)`);
    }
    seen.add(dnNorm);
  }
}

/** Checks each record as it comes and yields it ready for bulkLoad; throws "file:line: …" on the first error. */
function* checkedEntries(store: Store, records: Iterable<LdifRecord>, file: string, relaxed: boolean): Generator<BulkEntry> {
  const order = new OrderCheck(store);
  for (const record of records) {
    const prepared = prepareRecord(store.directory, record, file, relaxed);
    order.check(`${file}:${record.line}`, record.dn, prepared.dnNorm, prepared.parentDnNorm);
    yield { parentId: null, parentDnNorm: prepared.parentDnNorm, dn: prepared.dn, dnNorm: prepared.dnNorm, attrs: prepared.attrs, index: store.directory.indexTerms(prepared.attrs) };
  }
}

/** The encoded entries from the reading worker, with the order checks applied in the loading thread. */
function* checkedEncoded(store: Store, items: Iterable<ReaderItem>, file: string): Generator<EncodedEntry> {
  const order = new OrderCheck(store);
  for (const item of items) {
    order.check(`${file}:${item.line}`, item.recordDn, item.entry.dnNorm, item.entry.parentDnNorm);
    yield item.entry;
  }
}

/** Entries in an LDIF file, counted from its "dn:" lines (cheap: one read, no parsing), for the progress ETA. */
function countRecords(file: string): number {
  const fd = fs.openSync(file, 'r');
  const DN_LINE = Buffer.from('\ndn:');
  const keep = DN_LINE.length - 1;
  const buf = Buffer.allocUnsafe((1 << 20) + keep);
  // The file's start counts as a line start; the last bytes of a chunk are kept for a match across chunks.
  buf[0] = 0x0a;
  let filled = 1;
  let count = 0;
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, filled, buf.length - filled, null);
      if (n === 0) break;
      const end = filled + n;
      for (let i = buf.indexOf(DN_LINE); i >= 0 && i + DN_LINE.length <= end; i = buf.indexOf(DN_LINE, i + 1)) count++;
      const tail = Math.min(keep, end);
      buf.copy(buf, 0, end - tail, end);
      filled = tail;
    }
  } finally {
    fs.closeSync(fd);
  }
  return count;
}
