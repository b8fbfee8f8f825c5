// The reading half of `ispd import`, in a worker thread: it parses the LDIF, checks each record on its own
// (change type, DN syntax, schema, RDN values, operational attributes) and encodes it for the engine's bulk
// load (capability encodedBulkLoad), while the main thread applies the checks that depend on order (duplicates, parents) and writes.
// On a 2-core machine this about halves an import: parsing and checking cost as much as SQLite's writes.
//
// The main thread's bulk load is synchronous (one transaction), so it takes batches with
// receiveMessageOnPort and sleeps on a shared counter (Atomics.wait) when none is there; the worker sleeps
// likewise when it is MAX_BATCHES_AHEAD ahead, so memory stays bounded whatever the size of the file.
// Records and errors keep file order: an error goes as an item after the records before it, and the main
// thread throws it only when it gets there, so the first error in the file is the one reported.

import { MessageChannel, type MessagePort, Worker, isMainThread, parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import path from 'node:path';
import type { EncodedBulkLoad, EncodedEntry } from '../../backends/types';
import type { Config } from '../config/config';
import { DirectoryError, resultCodeName } from '../directory/errors';
import { parseLdifFileSync, type LdifRecord } from '../directory/ldif';
import { SYSTEM_CONTEXT } from '../directory/operations';
import { openStore, type Store } from '../server';

const BATCH = 256;
const MAX_BATCHES_AHEAD = 64;
const STALL_MS = 600_000;
/** Slots of the shared counters. */
const POSTED = 0;
const TAKEN = 1;
const STOP = 2;

export interface ReaderItem {
  line: number;
  /** The DN as written, for messages. */
  recordDn: string;
  entry: EncodedEntry;
}

/**
 * A batch goes as one flat array of strings and numbers (structured clone of an array of objects cost the
 * worker a fifth of its time). Per record a tag, then:
 * - ENCODED: line, DN as written, normalized DN, parent's normalized DN or null, number of fields, the
 *   engine's fields;
 * - RAW (parsed only, checked and encoded by the main thread): line, DN, number of attribute lines, then
 *   name and value of each.
 */
type Flat = Array<string | number | null>;
type Batch = { records: Flat } | { error: string } | { done: true };
const ENCODED = 0;
const RAW = 1;
/**
 * The worker sends raw records when the main thread has fewer batches than this waiting: parsing and
 * checking cost more than writing, so the main thread, rather than wait, checks some records itself.
 */
const HUNGRY = 2;

function pushEncoded(out: Flat, line: number, recordDn: string, e: EncodedEntry): void {
  out.push(ENCODED, line, recordDn, e.dnNorm, e.parentDnNorm, e.fields.length);
  for (const f of e.fields) out.push(f);
}

function pushRaw(out: Flat, record: LdifRecord): void {
  out.push(RAW, record.line, record.dn, record.attributes.length);
  for (const [name, value] of record.attributes) out.push(name, value);
}

type Encoder = (record: LdifRecord) => EncodedEntry;

/** A record checked on its own (prepareRecord) and encoded for the bulk load. */
function encoder(directory: Store['directory'], bulk: EncodedBulkLoad, file: string, relaxed: boolean): Encoder {
  return (record) => {
    const prepared = prepareRecord(directory, record, file, relaxed);
    return bulk.encode({
      parentId: null,
      parentDnNorm: prepared.parentDnNorm,
      dn: prepared.dn,
      dnNorm: prepared.dnNorm,
      attrs: prepared.attrs,
      index: directory.indexTerms(prepared.attrs),
    });
  };
}

function* unpack(records: Flat, encode: Encoder): Generator<ReaderItem> {
  for (let i = 0; i < records.length; ) {
    const line = records[i + 1] as number;
    const recordDn = records[i + 2] as string;
    if (records[i] === RAW) {
      const count = records[i + 3] as number;
      const attributes: Array<[string, string]> = new Array(count);
      let p = i + 4;
      for (let k = 0; k < count; k++, p += 2) attributes[k] = [records[p] as string, records[p + 1] as string];
      i = p;
      yield { line, recordDn, entry: encode({ kind: 'entry', dn: recordDn, attributes, line }) };
      continue;
    }
    const count = records[i + 5] as number;
    const start = i + 6;
    yield {
      line,
      recordDn,
      entry: {
        dnNorm: records[i + 3] as string,
        parentDnNorm: records[i + 4] as string | null,
        fields: records.slice(start, start + count) as string[],
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
  /** Resolves once the worker runs (rejects when it could not start). */
  started: Promise<void>;
  /** The records in file order; throws the first error of the file where it occurs. */
  items(): Generator<ReaderItem>;
  /** Ends the worker (at once when the load stopped early). */
  stop(): Promise<void>;
}

/**
 * Starts the reading worker on an LDIF file (or descriptor 0 for stdin). `store` is the store being loaded:
 * the main thread checks and encodes with its directory the records the worker passes on raw.
 */
export function startReader(config: Config, store: Store, bulk: EncodedBulkLoad, source: string | number, file: string, relaxed: boolean): Reader {
  const encode = encoder(store.directory, bulk, file, relaxed);
  const counters = new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT);
  const shared = new Int32Array(counters);
  const { port1, port2 } = new MessageChannel();
  const data: ReaderData = { role: 'ispd-import-reader', config, source, file, relaxed, counters, port: port2 };
  const worker = new Worker(path.join(__dirname, 'import-reader.js'), { workerData: data, transferList: [port2] });
  // The load is synchronous and cannot hear the worker's events: await `started` before it. From then on all
  // the worker does is inside runReader's try, and its errors come through the port, in file order.
  const started = new Promise<void>((resolve, reject) => {
    worker.once('message', () => {
      worker.removeAllListeners();
      worker.on('error', () => {}); // seen by items() as a stall
      resolve();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the import reader exited with code ${code} before it started`)));
  });
  started.catch(() => {}); // awaited by the caller; not an unhandled rejection if the caller stopped first

  function* items(): Generator<ReaderItem> {
    let taken = 0;
    try {
      for (;;) {
        const received = receiveMessageOnPort(port1);
        if (received === undefined) {
          // Nothing yet: sleep until the worker posts. A worker that died (out of memory) posts nothing more:
          // after STALL_MS without a batch the load fails (and rolls back) instead of waiting forever.
          if (Atomics.load(shared, POSTED) === taken && Atomics.wait(shared, POSTED, taken, STALL_MS) === 'timed-out') {
            throw new Error(`the import reader sent nothing for ${STALL_MS / 1000} s (stopped or stuck reading ${file})`);
          }
          continue;
        }
        Atomics.store(shared, TAKEN, ++taken);
        Atomics.notify(shared, TAKEN);
        const batch = received.message as Batch;
        if ('error' in batch) throw new Error(batch.error);
        if ('done' in batch) return;
        yield* unpack(batch.records, encode);
      }
    } finally {
      // Also when the load stops early (an order check or the store failed): the worker stops reading.
      Atomics.store(shared, STOP, 1);
      Atomics.notify(shared, TAKEN);
    }
  }

  return {
    started,
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
  let records: Flat = [];
  let inBatch = 0;
  let raw = true;
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
  parentPort!.postMessage('started');
  try {
    // The directory for the checks, on an empty in-memory store: the same schema, naming context and
    // indexed attributes as the real one, which only the main thread opens.
    const store = openStore({ ...data.config, db: ':memory:' });
    const bulk = store.backend.capabilities.encodedBulkLoad;
    if (!bulk) throw new Error(`the ${store.backend.name} backend has no bulk load of encoded entries`);
    const encode = encoder(store.directory, bulk, data.file, data.relaxed);
    for (const record of parseLdifFileSync(data.source)) {
      // Change records other than add are refused by prepareRecord, here, in file order.
      if (raw && record.kind === 'entry') pushRaw(records, record);
      else pushEncoded(records, record.line, record.dn, encode(record));
      if (++inBatch === BATCH) {
        if (!post({ records })) return;
        records = [];
        inBatch = 0;
        raw = posted - Atomics.load(shared, TAKEN) < HUNGRY;
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
