// Index rows of a bulk load into an EMPTY store (SqliteBackend.bulkLoad), written into idx in key order.
//
// idx is a WITHOUT ROWID B-tree keyed (attr, value, entry_id): appending rows in key order is far cheaper
// than inserting millions of rows at random places. Rows are gathered two ways while the entries stream in:
// - values that repeat (objectClass, gidNumber, ispmanDomain, zoneName…) are held in memory as lists of entry
//   ids per (attr, value). Entries get increasing ids, so each list is already sorted: at the end the values
//   are sorted and each list goes in as one run, without any SQL sort. objectClass alone is about half of all
//   index rows (every class and its superclasses per entry), and sorting those in SQL was the biggest part of
//   an import's time;
// - an attribute with more than HELD_VALUES_PER_ATTR distinct values (uid, mail addresses: nearly one value
//   per entry) is staged in a temporary table and inserted sorted by SQLite's external merge sort, so memory
//   stays bounded whatever the size of the load.

import type Database from 'better-sqlite3';

/** Distinct values per attribute held in memory; an attribute beyond this is staged for an SQL sort instead. */
const HELD_VALUES_PER_ATTR = 20_000;
/** A held value with at least this many ids goes in with one statement over a JSON array of ids. */
const JSON_RUN_MIN = 16;
/** Rows per multi-row INSERT. */
const ROW_BATCH = 100;

export interface AttrCounts {
  attr: string;
  /** Index rows of the attribute. */
  rows: number;
  /** Distinct values. */
  vals: number;
}

export class FreshIndexBuilder {
  /** attr -> value -> entry ids, ascending. */
  private readonly held = new Map<string, Map<string, number[]>>();
  /** Attributes whose rows go to the staging table. */
  private readonly staged = new Set<string>();
  private readonly batch: unknown[] = [];
  private readonly stageOne: Database.Statement;
  private readonly stageBatch: Database.Statement;

  constructor(private readonly db: Database.Database) {
    db.exec('CREATE TEMP TABLE idx_load(attr TEXT, value TEXT, entry_id INTEGER)');
    this.stageOne = db.prepare('INSERT INTO temp.idx_load(attr, value, entry_id) VALUES (?, ?, ?)');
    this.stageBatch = db.prepare('INSERT INTO temp.idx_load(attr, value, entry_id) VALUES ' + rowPlaceholders(ROW_BATCH));
  }

  /** One index row; ids must come in increasing order. */
  add(attr: string, value: string, id: number): void {
    if (!this.staged.has(attr)) {
      let values = this.held.get(attr);
      if (values === undefined) this.held.set(attr, (values = new Map()));
      const ids = values.get(value);
      if (ids !== undefined) {
        ids.push(id);
        return;
      }
      if (values.size < HELD_VALUES_PER_ATTR) {
        values.set(value, [id]);
        return;
      }
      // Too many distinct values to hold: this attribute's rows go to the staging table from now on.
      this.held.delete(attr);
      this.staged.add(attr);
      for (const [v, list] of values) for (const i of list) this.stage(attr, v, i);
    }
    this.stage(attr, value, id);
  }

  private stage(attr: string, value: string, id: number): void {
    const batch = this.batch;
    batch.push(attr, value, id);
    if (batch.length === ROW_BATCH * 3) {
      this.stageBatch.run(batch);
      batch.length = 0;
    }
  }

  /** Fills idx (which must be empty) and returns the row and distinct-value counts per attribute. */
  finish(): AttrCounts[] {
    const db = this.db;
    const batch = this.batch;
    for (let i = 0; i < batch.length; i += 3) this.stageOne.run(batch[i], batch[i + 1], batch[i + 2]);
    batch.length = 0;
    const counts: AttrCounts[] = [];
    if (this.staged.size > 0) {
      db.exec('INSERT INTO idx(attr, value, entry_id) SELECT attr, value, entry_id FROM temp.idx_load ORDER BY attr, value, entry_id');
      const count = db.prepare('SELECT count(*), count(DISTINCT value) FROM idx WHERE attr = ?').raw();
      for (const attr of this.staged) {
        const [rows, vals] = count.get(attr) as [number, number];
        counts.push({ attr, rows, vals });
      }
    }
    db.exec('DROP TABLE temp.idx_load');

    const insertRun = db.prepare('INSERT INTO idx(attr, value, entry_id) SELECT ?, ?, value FROM json_each(?)');
    const insertOne = db.prepare('INSERT INTO idx(attr, value, entry_id) VALUES (?, ?, ?)');
    const insertBatch = db.prepare('INSERT INTO idx(attr, value, entry_id) VALUES ' + rowPlaceholders(ROW_BATCH));
    const flush = () => {
      for (let i = 0; i < batch.length; i += 3) insertOne.run(batch[i], batch[i + 1], batch[i + 2]);
      batch.length = 0;
    };
    for (const attr of [...this.held.keys()].sort()) {
      const values = this.held.get(attr)!;
      let rows = 0;
      for (const value of [...values.keys()].sort()) {
        const ids = values.get(value)!;
        rows += ids.length;
        if (ids.length >= JSON_RUN_MIN) {
          flush(); // keeps the rows in key order
          insertRun.run(attr, value, '[' + ids.join(',') + ']');
          continue;
        }
        for (const id of ids) {
          batch.push(attr, value, id);
          if (batch.length === ROW_BATCH * 3) {
            insertBatch.run(batch);
            batch.length = 0;
          }
        }
      }
      flush();
      counts.push({ attr, rows, vals: values.size });
    }
    this.held.clear();
    return counts;
  }
}

/** "(?, ?, ?), (?, ?, ?), …" for n rows. */
export function rowPlaceholders(n: number, columns = 3): string {
  const one = '(' + new Array(columns).fill('?').join(', ') + ')';
  return new Array(n).fill(one).join(', ');
}

export function* mapIterable<T, U>(items: Iterable<T>, fn: (item: T) => U): Generator<U> {
  for (const item of items) yield fn(item);
}
