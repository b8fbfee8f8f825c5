import fs from 'node:fs';
import { parseCommandLine, renderOptionsHelp } from '../config/load';
import { parseLdifFileSync, parseLdifStream, type LdifRecord } from '../directory/ldif';
import { DirectoryError, resultCodeName } from '../directory/errors';
import { SYSTEM_CONTEXT } from '../directory/operations';
import { openStore, type Store } from '../server';
import type { NewEntry } from '../../backends/types';
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
    progress.phase('load', typeof source === 'string' ? countRecords(source) : 0);
    const n = store.backend.bulkLoad(checkedEntries(store, parseLdifFileSync(source), file, relaxed), (k) => progress.tick(k));
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

type BulkEntry = NewEntry & { parentDnNorm: string | null };

/** Checks each record as it comes and yields it ready for bulkLoad; throws "file:line: …" on the first error. */
function* checkedEntries(store: Store, records: Iterable<LdifRecord>, file: string, relaxed: boolean): Generator<BulkEntry> {
  const { directory, backend } = store;
  const seen = new Set<string>();
  for (const record of records) {
    const where = `${file}:${record.line}`;
    if (record.kind !== 'entry' && record.changetype !== 'add') {
      throw new Error(`${where}: changetype ${record.changetype} is not supported by import (use ldapmodify)`);
    }
    const attrs: Record<string, string[]> = {};
    for (const [name, value] of record.attributes) (attrs[name] ??= []).push(value);
    let prepared;
    try {
      prepared = directory.prepareEntry(record.dn, attrs, SYSTEM_CONTEXT, { relaxed, keepOperational: true });
    } catch (err) {
      const msg = err instanceof DirectoryError ? `${err.message} (${resultCodeName(err.code)})` : (err as Error).message;
      throw new Error(`${where}: dn: ${record.dn}: ${msg}`);
    }
    if (seen.has(prepared.dnNorm) || backend.getByDnNorm(prepared.dnNorm)) throw new Error(`${where}: dn: ${record.dn}: entry already exists`);
    const parent = prepared.parentDnNorm;
    if (parent === null) {
      if (prepared.dnNorm !== directory.baseNorm) throw new Error(`${where}: dn: ${record.dn}: not below the naming context ${directory.namingContexts[0]}`);
    } else if (!seen.has(parent) && !backend.getByDnNorm(parent)) {
      throw new Error(`${where}: dn: ${record.dn}: parent entry does not exist (parents must come first)`);
    }
    seen.add(prepared.dnNorm);
    yield { parentId: null, parentDnNorm: parent, dn: prepared.dn, dnNorm: prepared.dnNorm, attrs: prepared.attrs, index: directory.indexTerms(prepared.attrs) };
  }
}

/** Entries in an LDIF file, counted from its "dn:" lines (cheap: one read, no parsing), for the progress ETA. */
function countRecords(file: string): number {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let count = 0;
  let atLineStart = true;
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      for (let i = 0; i < n; i++) {
        const c = buf[i];
        if (atLineStart && c === 0x64 /* d */ && i + 2 < n && buf[i + 1] === 0x6e && buf[i + 2] === 0x3a) count++;
        atLineStart = c === 0x0a;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return count;
}
