import fs from 'node:fs';
import { parseCommandLine, renderOptionsHelp } from '../config/load';
import { parseLdifStream } from '../directory/ldif';
import { DirectoryError } from '../directory/errors';
import { SYSTEM_CONTEXT } from '../directory/operations';
import { openStore, type Store } from '../server';
import { Progress } from './progress';
import { UsageError } from './usage';

const FLAGS = { '--relaxed': 'boolean' } as const;

/**
 * `ispd import FILE.ldif`: offline bulk load, like slapadd. Every record is checked first (DN syntax, schema
 * unless --relaxed, duplicates, parents present in the store or earlier in the file); an error names the
 * line and nothing is imported. Then all entries are loaded in bulk.
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
  const input = file === '-' ? process.stdin : fs.createReadStream(file);
  await new Promise<void>((resolve, reject) => {
    if (file === '-') return resolve();
    (input as fs.ReadStream).once('open', () => resolve()).once('error', reject);
  });
  const store = openStore(cl.config);
  try {
    await importLdif(store, input, file, { relaxed, progress: new Progress('import', process.stderr) });
  } finally {
    store.backend.close();
  }
  return 0;
}

/** Checks every record of an LDIF stream, then bulk-loads them all; nothing is loaded if any record fails. */
export async function importLdif(store: Store, input: NodeJS.ReadableStream, name: string, opts: { relaxed: boolean; progress: Progress }): Promise<number> {
  const entries = await readAndCheck(input, name, store.directory, store.backend, opts.relaxed, opts.progress);
  opts.progress.phase('load', entries.length);
  const n = store.backend.bulkLoad(entries, (k) => opts.progress.tick(k));
  opts.progress.done(`${n} entries imported from ${name}`);
  return n;
}

async function readAndCheck(
  input: NodeJS.ReadableStream,
  file: string,
  directory: ReturnType<typeof openStore>['directory'],
  backend: ReturnType<typeof openStore>['backend'],
  relaxed: boolean,
  progress: Progress,
) {
  const entries: Array<Parameters<typeof backend.bulkLoad>[0] extends Iterable<infer T> ? T : never> = [];
  const seen = new Set<string>();
  progress.phase('check');
  for await (const record of parseLdifStream(input)) {
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
      const msg = err instanceof DirectoryError ? `${err.message} (${resultName(err.code)})` : (err as Error).message;
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
    entries.push({ parentId: null, parentDnNorm: parent, dn: prepared.dn, dnNorm: prepared.dnNorm, attrs: prepared.attrs, index: directory.indexTerms(prepared.attrs) });
    progress.tick(entries.length);
  }
  return entries;
}

function resultName(code: number): string {
  return require('../directory/errors').resultCodeName(code);
}
