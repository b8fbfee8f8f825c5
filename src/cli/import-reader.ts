// The reading half of `ispd import`, in a worker thread: it parses the LDIF, checks each record on its own
// (change type, DN syntax, schema, RDN values, operational attributes) and encodes it for the SQLite bulk
// load, while the main thread applies the checks that depend on order (duplicates, parents) and writes.
// On a 2-core machine this about halves an import: parsing and checking cost as much as SQLite's writes.
//
// The main thread's bulk load is synchronous (one transaction), so it takes batches with
// receiveMessageOnPort and sleeps on a shared counter (Atomics.wait) when none is there; the worker sleeps
// likewise when it is MAX_BATCHES_AHEAD ahead, so memory stays bounded whatever the size of the file.
// Records and errors keep file order: an error goes as an item after the records before it, and the main
// thread throws it only when it gets there, so the first error in the file is the one reported.

import { MessageChannel, type MessagePort, Worker, isMainThread, receiveMessageOnPort, workerData } from 'node:worker_threads';
import path from 'node:path';
import { SqliteBackend } from '../../backends/sqlite';
import type { EncodedBulkEntry } from '../../backends/sqlite/bulk';
import type { Config } from '../config/config';
import { DirectoryError, resultCodeName } from '../directory/errors';
import { parseLdifFileSync, type LdifRecord } from '../directory/ldif';
import { SYSTEM_CONTEXT } from '../directory/operations';
import { openStore, type Store } from '../server';

const BATCH = 256;
const MAX_BATCHES_AHEAD = 64;
/** Slots of the shared counters. */
const POSTED = 0;
const TAKEN = 1;
const STOP = 2;

export interface ReaderItem {
  line: number;
  /** The DN as written, for messages. */
  recordDn: string;
  entry: EncodedBulkEntry;
}

/**
 * A batch goes as one flat array of strings and numbers, FIELDS per record followed by its terms (structured
 * clone of an array of objects cost the worker a fifth of its time): line, DN as written, DN, normalized DN,
 * parent's normalized DN or null, path, attributes JSON, terms JSON, number of terms, then the terms.
 */
type Batch = { records: Array<string | number | null> } | { error: string } | { done: true };
const FIELDS = 9;

function pushRecord(out: Array<string | number | null>, line: number, recordDn: string, e: EncodedBulkEntry): void {
  out.push(line, recordDn, e.dn, e.dnNorm, e.parentDnNorm, e.path, e.attrsJson, e.termsJson, e.terms.length);
  for (const t of e.terms) out.push(t);
}

function* unpackRecords(records: Array<string | number | null>): Generator<ReaderItem> {
  for (let i = 0; i < records.length; ) {
    const count = records[i + 8] as number;
    const start = i + FIELDS;
    yield {
      line: records[i] as number,
      recordDn: records[i + 1] as string,
      entry: {
        parentId: null,
        dn: records[i + 2] as string,
        dnNorm: records[i + 3] as string,
        parentDnNorm: records[i + 4] as string | null,
        path: records[i + 5] as string,
        attrsJson: records[i + 6] as string,
        termsJson: records[i + 7] as string,
        terms: records.slice(start, start + count) as string[],
      },
    };
    i = start + count;
  }
}

interface ReaderData {
  role: 'ispd-import-reader';
  config: Config;
  source: string | number;
  file: string;
  relaxed: boolean;
  counters: SharedArrayBuffer;
  port: MessagePort;
}

/**
 * The checks of one record on its own, in any thread: change type, DN syntax, schema (unless relaxed), RDN
 * values, operational attributes. Throws "file:line: …".
 */
export function prepareRecord(directory: Store['directory'], record: LdifRecord, file: string, relaxed: boolean): ReturnType<Store['directory']['prepareEntry']> {
  if (record.kind !== 'entry' && record.changetype !== 'add') {
    throw new Error(`${file}:${record.line}: changetype ${record.changetype} is not supported by import (use ldapmodify)`);
  }
  const attrs: Record<string, string[]> = {};
  for (const [name, value] of record.attributes) (attrs[name] ??= []).push(value);
  try {
    return directory.prepareEntry(record.dn, attrs, SYSTEM_CONTEXT, { relaxed, keepOperational: true });
  } catch (err) {
    const msg = err instanceof DirectoryError ? `${err.message} (${resultCodeName(err.code)})` : (err as Error).message;
    throw new Error(`${file}:${record.line}: dn: ${record.dn}: ${msg}`);
  }
}

export interface Reader {
  /** The records in file order; throws the first error of the file where it occurs. */
  items(): Generator<ReaderItem>;
  /** Ends the worker (at once when the load stopped early). */
  stop(): Promise<void>;
}

/** Starts the reading worker on an LDIF file (or descriptor 0 for stdin). */
export function startReader(config: Config, source: string | number, file: string, relaxed: boolean): Reader {
  const counters = new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT);
  const shared = new Int32Array(counters);
  const { port1, port2 } = new MessageChannel();
  const data: ReaderData = { role: 'ispd-import-reader', config, source, file, relaxed, counters, port: port2 };
  const worker = new Worker(path.join(__dirname, 'import-reader.js'), { workerData: data, transferList: [port2] });
  let failure: Error | null = null;
  worker.on('error', (err) => (failure = err));

  function* items(): Generator<ReaderItem> {
    let taken = 0;
    try {
      for (;;) {
        const received = receiveMessageOnPort(port1);
        if (received === undefined) {
          // Nothing yet: sleep until the worker posts (the timeout only bounds a wait on a worker that died).
          if (Atomics.load(shared, POSTED) === taken) Atomics.wait(shared, POSTED, taken, 1000);
          if (failure) throw failure;
          continue;
        }
        Atomics.store(shared, TAKEN, ++taken);
        Atomics.notify(shared, TAKEN);
        const batch = received.message as Batch;
        if ('error' in batch) throw new Error(batch.error);
        if ('done' in batch) return;
        yield* unpackRecords(batch.records);
      }
    } finally {
      // Also when the load stops early (an order check or the store failed): the worker stops reading.
      Atomics.store(shared, STOP, 1);
      Atomics.notify(shared, TAKEN);
    }
  }

  return {
    items,
    stop: async () => {
      Atomics.store(shared, STOP, 1);
      Atomics.notify(shared, TAKEN);
      port1.close();
      await worker.terminate();
    },
  };
}

/** The worker's side. */
function runReader(data: ReaderData): void {
  const shared = new Int32Array(data.counters);
  const port = data.port;
  let posted = 0;
  let records: Array<string | number | null> = [];
  let inBatch = 0;
  const post = (batch: Batch): boolean => {
    port.postMessage(batch);
    Atomics.store(shared, POSTED, ++posted);
    Atomics.notify(shared, POSTED);
    // Wait while far enough ahead of the loading thread.
    for (;;) {
      if (Atomics.load(shared, STOP) !== 0) return false;
      const taken = Atomics.load(shared, TAKEN);
      if (posted - taken < MAX_BATCHES_AHEAD) return true;
      Atomics.wait(shared, TAKEN, taken, 1000);
    }
  };
  try {
    // The directory for the checks, on an empty in-memory store: the same schema, naming context and
    // indexed attributes as the real one, which only the main thread opens.
    const store = openStore({ ...data.config, db: ':memory:' });
    const backend = store.backend;
    if (!(backend instanceof SqliteBackend)) throw new Error('the import reader encodes for the sqlite backend only');
    const directory = store.directory;
    for (const record of parseLdifFileSync(data.source)) {
      const prepared = prepareRecord(directory, record, data.file, data.relaxed);
      const entry = backend.encodeBulkEntry({
        parentId: null,
        parentDnNorm: prepared.parentDnNorm,
        dn: prepared.dn,
        dnNorm: prepared.dnNorm,
        attrs: prepared.attrs,
        index: directory.indexTerms(prepared.attrs),
      });
      pushRecord(records, record.line, record.dn, entry);
      if (++inBatch === BATCH) {
        if (!post({ records })) return;
        records = [];
        inBatch = 0;
      }
    }
    if (inBatch > 0 && !post({ records })) return;
    post({ done: true });
  } catch (err) {
    // The records before the bad one first: the main thread may find an earlier error among them.
    if (inBatch > 0 && !post({ records })) return;
    post({ error: (err as Error).message });
  }
}

if (!isMainThread && (workerData as ReaderData | null)?.role === 'ispd-import-reader') runReader(workerData as ReaderData);
