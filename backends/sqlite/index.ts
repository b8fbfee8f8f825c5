// The SQLite backend (design §4): a generic entry store in one file, with
//   entries(id, parent_id, dn, dn_norm unique, path, attrs JSON, terms JSON)
//   idx(attr, value, entry_id)            normalized values of indexed attributes → entry ids (WITHOUT ROWID)
//   changes(seq, kind, dn_norm, old_dn_norm, time)   the change log, appended in the writing transaction
//   attr_stats(attr, rows, vals)           per-attribute row and distinct-value counts, to pick the index
//                                          leaf that drives an AND (what back-mdb does with its index counts)
//   meta(key, value)                       which configured index attributes are complete
// Subtree scope is a range scan on `path` (see path.ts), one-level scope an index lookup on parent_id.
// `terms` keeps each entry's index terms, so an update rewrites only the index rows that changed.
// Candidate trees are compiled to SQL per query; prepared statements are cached by SQL text, and the SQL
// carries no values (only `?`), so the cache holds one statement per shape of query.

import Database from 'better-sqlite3';
import type {
  AttributeMap,
  Backend,
  BulkEntry,
  CandidateQuery,
  Capabilities,
  ChangeRetention,
  Candidates,
  ChangeKind,
  ChangeRecord,
  EncodedEntry,
  EntryMove,
  EntryUpdate,
  IndexTerm,
  NewEntry,
  StoredEntry,
  WriteTransaction,
} from '../types';
import { EntryCache } from './entry-cache';
import { FreshIndexBuilder, mapIterable, rowPlaceholders } from './bulk';
import { PATH_SEP, PATH_SEP_NEXT, pathOfDnNorm, rebaseDn } from './path';
import { watchCommits } from './watch';
import { StoreError } from '../errors';

export interface SqliteBackendOptions {
  /**
   * Lower-case attribute keys that are indexed. When given, index terms for other attributes are not
   * stored and candidates naming them are widened to 'all' (the directory re-checks every candidate).
   * When absent, the backend stores every term the directory passes and trusts every candidate.
   */
  indexedAttributes?: string[];
  /**
   * Page cache size in KiB (default 256 MiB; it only grows as pages are read). Lookups at 5.7 million
   * entries cost ~40% more with 64 MiB than with 256 MiB, where the index pages stay cached.
   */
  cacheSizeKiB?: number;
  /**
   * Decoded entries kept for binds and lookups by DN (default 100,000; 0 turns the cache off). About 2.5 KiB
   * of memory each for an ISPMan user.
   */
  entryCacheSize?: number;
  /** How long a write waits for another connection's write lock before it fails as busy (default 5000). */
  busyTimeoutMs?: number;
}

const SCHEMA_VERSION = 1;

const SYNC_CHECK_MS = 1000;
/** Prepared statements kept for search shapes; the oldest are dropped beyond this. */
const MAX_CACHED_STATEMENTS = 1000;
/** Rows per chunk when the caller gives no limit (see searchAll), and for all(). */
const FIRST_CHUNK_ROWS = 50;
const MAX_CHUNK_ROWS = 5000;
const CHUNK_ROWS = 1000;
/** Rows per progress callback and per statement batch in bulkLoad. */
const BULK_PROGRESS_EVERY = 10_000;
/** Index rows per multi-row INSERT in bulkLoad. */
const TERM_BATCH = 100;
/** Page cache during bulkLoad, in KiB: the tables and indexes being built stay in memory. */
const BULK_CACHE_KIB = 1 << 18;
/** SQLite allows at most 500 terms in one compound SELECT (SQLITE_MAX_COMPOUND_SELECT). */
const MAX_COMPOUND = 400;
const LIMIT_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000];
/** Changes read per batch when catching the entry cache up. */
const CACHE_SYNC_MAX_CHANGES = 1000;
const DEFAULT_ENTRY_CACHE_SIZE = 100_000;
/** SQLITE_MAX_MMAP_SIZE of the better-sqlite3 build (0x7fff0000): asking for more gets this. */
const MMAP_BYTES = 0x7fff0000;
/** Guess of how many distinct values a prefix matches, relative to one value, for cost estimates. */
const PREFIX_FANOUT = 20;

type Row = [number, number | null, string, string, string];

interface AttrStats {
  rows: number;
  vals: number;
}

interface SqlPart {
  sql: string;
  params: unknown[];
}

const ENTRY_COLUMNS = 'e.id, e.parent_id, e.dn, e.dn_norm, e.attrs';
/**
 * PRAGMA data_version as a column: a lookup through the entry cache learns in the same read transaction
 * whether another connection has committed (a separate PRAGMA statement costs a second one).
 */
const DATA_VERSION = '(SELECT data_version FROM pragma_data_version)';

function rowToEntry(r: Row): StoredEntry {
  return { id: r[0], parentId: r[1], dn: r[2], dnNorm: r[3], attrs: JSON.parse(r[4]) as AttributeMap };
}

/** Smallest string greater than every string that starts with `prefix` ('' when there is none). */
function prefixUpperBound(prefix: string): string {
  let i = prefix.length - 1;
  while (i >= 0 && prefix.charCodeAt(i) === 0xffff) i--;
  if (i < 0) return '';
  return prefix.slice(0, i) + String.fromCharCode(prefix.charCodeAt(i) + 1);
}

/**
 * LIMIT is written into the SQL text, not bound: SQLite re-prepares a statement whose LIMIT is a bound
 * parameter on every execution (its planner looks at the value), which costs more than the query itself.
 * Limits are rounded up to a few buckets so the statement cache stays small; the extra rows are dropped.
 */
function limitBucket(limit: number): number {
  for (const b of LIMIT_BUCKETS) if (limit <= b) return b;
  return Math.ceil(limit / 10_000) * 10_000;
}

function termKey(attr: string, value: string): string {
  return attr + '\u0000' + value;
}

export class SqliteBackend implements Backend {
  readonly name = 'sqlite';
  readonly capabilities: Capabilities = {
    encodedBulkLoad: {
      encode: (entry) => this.encodeBulkEntry(entry),
      load: (entries, onProgress) => this.bulkLoadEncoded(entries, onProgress),
    },
    reindex: {
      pending: () => this.pendingIndexes(),
      run: (termsOf, onProgress) => this.reindex(termsOf, onProgress),
    },
    explain: (query) => this.explainSearch(query),
    releaseMemory: () => this.releaseMemory(),
    watchCommits: (onCommit) => watchCommits(this.file, onCommit),
  };
  private readonly db: Database.Database;
  private readonly indexed: Set<string> | null;
  /**
   * Of the indexed attributes, those whose index rows are complete for every stored entry: only these answer
   * candidates. An attribute added to the configuration later is written for new entries but widened to
   * 'all' until reindex() has filled it for the old ones. Null: no configured list, every term is trusted.
   */
  private complete: Set<string> | null;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly entryCache: EntryCache;
  /** PRAGMA data_version and change seq the entry cache was last brought up to date with. */
  private cacheVersion = -1;
  private cacheSeq = 0;
  /** Set by our own commits (data_version only moves for other connections' commits). */
  private cacheStale = false;
  private readonly stats = new Map<string, AttrStats>();
  private entryCount: number;
  /** PRAGMA data_version when entryCount and stats were last read: it changes when another process commits. */
  private dataVersion: number;
  private lastSyncCheck = 0;
  /** The path of the last search base (searches mostly share one base). */
  private lastBase = { dnNorm: '', path: '' };
  /**
   * While bulkLoad fills an empty store (its DN and parent indexes dropped), what it has loaded so far, so
   * that an importer checking records as they stream in can still ask getByDnNorm and hasChildren.
   */
  private freshLoad: { idOf: Map<string, number>; parents: Set<number> } | null = null;

  // Work of the open write transaction, applied to the in-memory state only after it commits.
  private pendingStats = new Map<string, AttrStats>();
  private pendingCount = 0;
  private txDepth = 0;
  private readonly tx: WriteTransaction;
  private readonly runWrite: Database.Transaction<(fn: (tx: WriteTransaction) => unknown) => unknown>;

  private readonly s: {
    getByDnNorm: Database.Statement;
    idByDnNorm: Database.Statement;
    getById: Database.Statement;
    hasChild: Database.Statement;
    insertEntry: Database.Statement;
    insertTerm: Database.Statement;
    deleteTerm: Database.Statement;
    valueExists: Database.Statement;
    insertChange: Database.Statement;
    entryForWrite: Database.Statement;
    updateEntry: Database.Statement;
    moveEntry: Database.Statement;
    deleteEntry: Database.Statement;
    descendants: Database.Statement;
    rebaseDescendant: Database.Statement;
    upsertStats: Database.Statement;
    subtreeProbe: Database.Statement;
    lastSeq: Database.Statement;
    changedDns: Database.Statement;
    count: Database.Statement;
    dataVersion: Database.Statement;
  };

  constructor(private readonly file: string, options: SqliteBackendOptions = {}) {
    const path = file;
    // timeout: another process holding the write lock (a CLI command, an import) is waited for, 5 s by default.
    this.db = new Database(path, { timeout: options.busyTimeoutMs ?? 5000 });
    this.indexed = options.indexedAttributes ? new Set(options.indexedAttributes.map((a) => a.toLowerCase())) : null;
    const db = this.db;
    db.pragma('journal_mode = WAL');
    // FULL: the WAL is synced on every commit, so an acknowledged write survives kill -9 and power loss.
    db.pragma('synchronous = FULL');
    db.pragma(`cache_size = -${options.cacheSizeKiB ?? 262144}`);
    // Reads through a memory map of the file (up to the 2 GiB this SQLite build allows): in WAL mode SQLite
    // drops a connection's whole page cache at its first read after another process commits, so with
    // several processes (LDAP workers, the DNS primary) one write used to cost every other process a cold
    // cache (45 ms to drop 256 MiB, then every page read again with a syscall); mapped pages stay mapped,
    // and the processes share one copy of them in the OS page cache instead of a private cache each.
    db.pragma(`mmap_size = ${MMAP_BYTES}`);
    db.pragma('temp_store = MEMORY');
    this.migrate();

    const st = (sql: string) => db.prepare(sql);
    this.s = {
      getByDnNorm: st('SELECT e.id, e.parent_id, e.dn, e.dn_norm, e.attrs FROM entries e WHERE e.dn_norm = ?').raw(),
      idByDnNorm: st(`SELECT e.id, ${DATA_VERSION} FROM entries e WHERE e.dn_norm = ?`).raw(),
      getById: st('SELECT e.id, e.parent_id, e.dn, e.dn_norm, e.attrs FROM entries e WHERE e.id = ?').raw(),
      hasChild: st('SELECT 1 FROM entries WHERE parent_id = ? LIMIT 1').pluck(),
      insertEntry: st('INSERT INTO entries(parent_id, dn, dn_norm, path, attrs, terms) VALUES (?, ?, ?, ?, ?, ?)'),
      insertTerm: st('INSERT OR IGNORE INTO idx(attr, value, entry_id) VALUES (?, ?, ?)'),
      deleteTerm: st('DELETE FROM idx WHERE attr = ? AND value = ? AND entry_id = ?'),
      valueExists: st('SELECT 1 FROM idx WHERE attr = ? AND value = ? LIMIT 1').pluck(),
      insertChange: st('INSERT INTO changes(kind, dn_norm, old_dn_norm, time) VALUES (?, ?, ?, ?)'),
      entryForWrite: st('SELECT dn_norm, dn, path, terms FROM entries WHERE id = ?').raw(),
      updateEntry: st('UPDATE entries SET attrs = ?, terms = ? WHERE id = ?'),
      moveEntry: st('UPDATE entries SET parent_id = ?, dn = ?, dn_norm = ?, path = ?, attrs = ?, terms = ? WHERE id = ?'),
      deleteEntry: st('DELETE FROM entries WHERE id = ?'),
      descendants: st('SELECT id, dn, dn_norm, path FROM entries WHERE path > ? AND path < ? ORDER BY path').raw(),
      rebaseDescendant: st('UPDATE entries SET dn = ?, dn_norm = ?, path = ? WHERE id = ?'),
      upsertStats: st(
        'INSERT INTO attr_stats(attr, rows, vals) VALUES (?, ?, ?) ' +
          'ON CONFLICT(attr) DO UPDATE SET rows = rows + excluded.rows, vals = vals + excluded.vals',
      ),
      subtreeProbe: st('SELECT count(*) FROM (SELECT 1 FROM entries INDEXED BY entries_path WHERE path >= ? AND path < ? LIMIT ?)').pluck(),
      lastSeq: st("SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0)").pluck(),
      changedDns: st(`SELECT seq, dn_norm, old_dn_norm FROM changes WHERE seq > ? ORDER BY seq LIMIT ${CACHE_SYNC_MAX_CHANGES}`).raw(),
      count: st('SELECT count(*) FROM entries').pluck(),
      dataVersion: st('PRAGMA data_version').pluck(),
    };
    this.entryCount = this.s.count.get() as number;
    this.entryCache = new EntryCache(options.entryCacheSize ?? DEFAULT_ENTRY_CACHE_SIZE);
    this.reloadStats();
    this.dataVersion = this.db.pragma('data_version', { simple: true }) as number;
    this.complete = this.indexed === null ? null : this.settleIndexedAttributes();
    this.tx = this.makeWriteTransaction();
    this.runWrite = db.transaction((fn: (tx: WriteTransaction) => unknown) => {
      const result = fn(this.tx);
      if (this.txDepth === 1) this.flushPendingStats();
      return result;
    });
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    this.db.exec('CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID');
    if (version === SCHEMA_VERSION) return;
    if (version !== 0) throw new Error(`sqlite store has schema version ${version}, this ispd knows ${SCHEMA_VERSION}`);
    this.db.exec(`
      BEGIN;
      CREATE TABLE entries(
        id INTEGER PRIMARY KEY,
        parent_id INTEGER,
        dn TEXT NOT NULL,
        dn_norm TEXT NOT NULL,
        path TEXT NOT NULL,
        attrs TEXT NOT NULL,
        terms TEXT NOT NULL
      );
      CREATE UNIQUE INDEX entries_dn_norm ON entries(dn_norm);
      CREATE INDEX entries_path ON entries(path);
      CREATE INDEX entries_parent ON entries(parent_id, id);
      CREATE TABLE idx(
        attr TEXT NOT NULL,
        value TEXT NOT NULL,
        entry_id INTEGER NOT NULL,
        PRIMARY KEY(attr, value, entry_id)
      ) WITHOUT ROWID;
      CREATE TABLE changes(
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        dn_norm TEXT NOT NULL,
        old_dn_norm TEXT,
        time INTEGER NOT NULL
      );
      CREATE TABLE attr_stats(attr TEXT PRIMARY KEY, rows INTEGER NOT NULL, vals INTEGER NOT NULL) WITHOUT ROWID;
      PRAGMA user_version = ${SCHEMA_VERSION};
      COMMIT;
    `);
  }

  /**
   * Works out which configured index attributes are complete: on an empty store all of them; otherwise those
   * that were configured (and so written for every entry) the last time, as recorded in meta.
   */
  private settleIndexedAttributes(): Set<string> {
    const wanted = this.indexed!;
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'indexed_attrs'").pluck().get() as string | undefined;
    let complete: Set<string>;
    if (this.entryCount === 0 || row === undefined) complete = new Set(wanted);
    else {
      const before = new Set(JSON.parse(row) as string[]);
      complete = new Set([...wanted].filter((a) => before.has(a)));
    }
    this.saveCompleteAttributes(complete);
    return complete;
  }

  private saveCompleteAttributes(complete: Set<string>): void {
    this.db
      .prepare("INSERT INTO meta(key, value) VALUES ('indexed_attrs', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
      .run(JSON.stringify([...complete].sort()));
  }

  /** Configured index attributes whose rows are missing for entries stored before they were configured. */
  pendingIndexes(): string[] {
    if (this.indexed === null || this.complete === null) return [];
    return [...this.indexed].filter((a) => !this.complete!.has(a)).sort();
  }

  /**
   * Rebuilds the whole value index from the entries, with the directory's normalization (`termsOf`), in one
   * transaction; afterwards every configured attribute answers candidates. Returns the number of entries.
   */
  reindex(termsOf: (entry: StoredEntry) => IndexTerm[], onProgress?: (n: number) => void): number {
    if (this.txDepth > 0) throw new Error('reindex inside a write transaction');
    const db = this.db;
    const cacheSize = db.pragma('cache_size', { simple: true }) as number;
    db.pragma(`cache_size = -${BULK_CACHE_KIB}`);
    let n = 0;
    try {
      db.transaction(() => {
        db.exec('DELETE FROM idx; CREATE TEMP TABLE idx_load(attr TEXT, value TEXT, entry_id INTEGER)');
        const stage = db.prepare('INSERT INTO temp.idx_load(attr, value, entry_id) VALUES (?, ?, ?)');
        const setTerms = db.prepare('UPDATE entries SET terms = ? WHERE id = ?');
        const page = db.prepare('SELECT e.id, e.parent_id, e.dn, e.dn_norm, e.attrs FROM entries e WHERE e.id > ? ORDER BY e.id LIMIT 1000').raw();
        let after = 0;
        for (;;) {
          const rows = page.all(after) as Row[];
          for (const r of rows) {
            const terms = this.storedTerms(termsOf(rowToEntry(r)));
            for (let i = 0; i < terms.length; i += 2) stage.run(terms[i], terms[i + 1], r[0]);
            setTerms.run(JSON.stringify(terms), r[0]);
            n++;
            if (onProgress && n % BULK_PROGRESS_EVERY === 0) onProgress(n);
          }
          if (rows.length < 1000) break;
          after = rows[rows.length - 1][0];
        }
        db.exec(`
          INSERT OR IGNORE INTO idx(attr, value, entry_id) SELECT attr, value, entry_id FROM temp.idx_load ORDER BY attr, value, entry_id;
          DROP TABLE temp.idx_load;
        `);
        this.recomputeStats();
        if (this.indexed !== null) this.saveCompleteAttributes(this.indexed);
      }).immediate();
    } finally {
      db.pragma(`cache_size = ${cacheSize}`);
    }
    this.reloadStats();
    if (this.indexed !== null) this.complete = new Set(this.indexed);
    return n;
  }

  // ---- reads ----

  getByDnNorm(dnNorm: string): StoredEntry | undefined {
    if (this.freshLoad !== null) {
      // Inside a bulk load into an empty store the DN index is dropped: the load's own map knows every entry.
      const id = this.freshLoad.idOf.get(dnNorm);
      return id === undefined ? undefined : this.getById(id);
    }
    if (this.txDepth > 0 || this.entryCache.capacity <= 0) {
      // Inside a write: what this transaction sees, never the cache (the writer may change what it reads).
      const r = this.s.getByDnNorm.get(dnNorm) as Row | undefined;
      return r ? rowToEntry(r) : undefined;
    }
    // The id through the DN index (with the data version), then the entry from the cache.
    const found = this.s.idByDnNorm.get(dnNorm) as [number, number] | undefined;
    if (found === undefined) return undefined;
    this.syncEntryCache(found[1]);
    return this.cachedEntry(found[0]);
  }

  getById(id: number): StoredEntry | undefined {
    if (this.txDepth > 0 || this.freshLoad !== null || this.entryCache.capacity <= 0) {
      const r = this.s.getById.get(id) as Row | undefined;
      return r ? rowToEntry(r) : undefined;
    }
    this.syncEntryCache(this.s.dataVersion.get() as number);
    return this.cachedEntry(id);
  }

  /** The entry with this id, from the cache or read into it; the caller has synced the cache. */
  private cachedEntry(id: number): StoredEntry | undefined {
    const cached = this.entryCache.get(id);
    if (cached !== undefined) return cached;
    const r = this.s.getById.get(id) as Row | undefined;
    return r ? this.entryCache.put(rowToEntry(r)) : undefined;
  }

  /**
   * Brings the entry cache up to date before a read: every change committed since the last read, by this
   * connection or another process (another LDAP worker, a CLI command), is in the change log, written in
   * the same transaction as the change, and its DNs are evicted. PRAGMA data_version tells cheaply whether
   * another connection committed at all; our own commits set cacheStale.
   */
  private syncEntryCache(version: number): void {
    if (version === this.cacheVersion && !this.cacheStale) return;
    const first = this.cacheVersion === -1;
    this.cacheVersion = version;
    this.cacheStale = false;
    if (first) {
      this.cacheSeq = this.s.lastSeq.get() as number;
      return;
    }
    for (;;) {
      const rows = this.s.changedDns.all(this.cacheSeq) as [number, string, string | null][];
      if (rows.length > 0 && rows[0][0] !== this.cacheSeq + 1) {
        // A gap (the log was pruned, or the store replaced): start over.
        this.entryCache.clear();
        this.cacheSeq = this.s.lastSeq.get() as number;
        return;
      }
      for (const [seq, dnNorm, oldDnNorm] of rows) {
        this.entryCache.evictDnNorm(dnNorm);
        if (oldDnNorm !== null) this.entryCache.evictDnNorm(oldDnNorm);
        this.cacheSeq = seq;
      }
      if (rows.length < CACHE_SYNC_MAX_CHANGES) return;
    }
  }

  hasChildren(id: number): boolean {
    if (this.freshLoad !== null) return this.freshLoad.parents.has(id);
    return this.s.hasChild.get(id) !== undefined;
  }

  count(): number {
    this.syncWithOtherWriters(true);
    return this.entryCount;
  }

  /**
   * Another process (e.g. a CLI command next to the server) may have written: re-read the cached counts.
   * Checked at most every SYNC_CHECK_MS; the counts only steer plans and metrics.
   */
  private syncWithOtherWriters(force = false): void {
    if (this.txDepth > 0) return;
    const now = Date.now();
    if (!force && now - this.lastSyncCheck < SYNC_CHECK_MS) return;
    this.lastSyncCheck = now;
    const version = this.s.dataVersion.get() as number;
    if (version === this.dataVersion) return;
    this.dataVersion = version;
    this.entryCount = this.s.count.get() as number;
    this.reloadStats();
  }

  /** Frees the page cache (e.g. after the DNS server's full read at start, which nothing reads again soon). */
  releaseMemory(): void {
    this.db.pragma('shrink_memory');
  }

  sizeBytes(): number {
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    return pages * pageSize;
  }

  changesSince(afterSeq: number, limit = 1000): ChangeRecord[] {
    if (!(limit >= 1)) return [];
    const n = Math.floor(limit);
    const stmt = this.prepare(`SELECT seq, kind, dn_norm, old_dn_norm, time FROM changes WHERE seq > ? ORDER BY seq LIMIT ${n}`);
    const rows = stmt.all(afterSeq) as [number, ChangeKind, string, string | null, number][];
    return rows.map((r) => {
      const c: ChangeRecord = { seq: r[0], kind: r[1], dnNorm: r[2], time: r[4] };
      if (r[3] !== null) c.oldDnNorm = r[3];
      return c;
    });
  }

  lastChangeSeq(): number {
    return this.s.lastSeq.get() as number;
  }

  pruneChanges(retention: ChangeRetention): number {
    if (this.txDepth > 0) throw new Error('pruneChanges inside a write transaction');
    const last = this.lastChangeSeq();
    // A record goes when it is beyond maxRecords or older than maxAgeMs; the newest record always stays, so a
    // reader that missed pruned records still finds one after its position and sees the gap (and the
    // AUTOINCREMENT counter never goes back). Seqs and times rise together.
    const byCount = retention.maxRecords > 0 ? last - retention.maxRecords : 0;
    let byAge = 0;
    if (retention.maxAgeMs > 0) {
      const cutoff = (retention.now ?? Date.now()) - retention.maxAgeMs;
      byAge = (this.db.prepare('SELECT max(seq) FROM changes WHERE time < ?').pluck().get(cutoff) as number | null) ?? 0;
    }
    const upTo = Math.min(Math.max(byCount, byAge), last - 1);
    if (upTo <= 0) return 0;
    return this.db.prepare('DELETE FROM changes WHERE seq <= ?').run(upTo).changes;
  }

  changeLogSize(): number {
    return this.db.prepare('SELECT count(*) FROM changes').pluck().get() as number;
  }

  *all(): Iterable<StoredEntry> {
    // Parents sort before their children by path; paged by path so no statement stays open across a yield.
    const first = this.prepare(`SELECT e.id, e.parent_id, e.dn, e.dn_norm, e.attrs, e.path FROM entries e ORDER BY e.path LIMIT ${CHUNK_ROWS}`);
    const next = this.prepare(
      `SELECT e.id, e.parent_id, e.dn, e.dn_norm, e.attrs, e.path FROM entries e WHERE e.path > ? ORDER BY e.path LIMIT ${CHUNK_ROWS}`,
    );
    let rows = first.all() as (Row & { 5: string })[];
    while (rows.length > 0) {
      for (const r of rows) yield rowToEntry(r);
      if (rows.length < CHUNK_ROWS) return;
      rows = next.all(rows[rows.length - 1][5]) as (Row & { 5: string })[];
    }
  }

  search(query: CandidateQuery): Iterable<StoredEntry> {
    if (query.limit !== undefined) return this.searchChunk(query, query.afterId ?? 0, query.limit);
    return this.searchAll(query);
  }

  /**
   * No limit given: rows are fetched in chunks (no statement stays open across a yield, so writes and other
   * searches can run while a consumer is slow), small at first, since most searches stop early (size limit,
   * paging, a single match) and larger as the consumer keeps reading. Rows are decoded only when reached.
   */
  private *searchAll(query: CandidateQuery): Iterable<StoredEntry> {
    let afterId = query.afterId ?? 0;
    let chunk = FIRST_CHUNK_ROWS;
    for (;;) {
      const rows = this.searchRows(query, afterId, chunk);
      for (const r of rows) yield rowToEntry(r);
      if (rows.length < chunk) return;
      afterId = rows[rows.length - 1][0];
      chunk = Math.min(chunk * 4, MAX_CHUNK_ROWS);
    }
  }

  /**
   * One chunk of a search's candidate rows. Searches read rows, not the entry cache: measured on Postfix
   * lookups, reading ids and then cached entries saved ~15% once every entry was cached and cost ~25% more
   * while it was not (one statement more per miss), the common case for a directory larger than the cache.
   */
  private searchRows(query: CandidateQuery, afterId: number, limit: number): Row[] {
    const plan = this.plan(query, afterId, limit);
    return plan === null ? [] : (this.prepare(plan.sql).all(...plan.params) as Row[]);
  }

  private searchChunk(query: CandidateQuery, afterId: number, limit: number): StoredEntry[] {
    if (limit <= 0) return [];
    const rows = this.searchRows(query, afterId, limitBucket(limit));
    const n = Math.min(rows.length, limit);
    const out = new Array<StoredEntry>(n);
    for (let i = 0; i < n; i++) out[i] = rowToEntry(rows[i]);
    return out;
  }

  /** The SQLite query plan of one chunk of a search (for tests and diagnostics): EXPLAIN QUERY PLAN lines. */
  explainSearch(query: CandidateQuery): string[] {
    const plan = this.plan(query, query.afterId ?? 0, query.limit ?? CHUNK_ROWS);
    if (plan === null) return [];
    const rows = this.db.prepare('EXPLAIN QUERY PLAN ' + plan.sql).all(...plan.params) as { detail: string }[];
    return rows.map((r) => r.detail);
  }

  /** The prepared statement for an SQL text, prepared once (raw rows: arrays, not objects). */
  private prepare(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare(sql);
      if (stmt.reader) stmt.raw();
      if (this.statements.size >= MAX_CACHED_STATEMENTS) this.statements.delete(this.statements.keys().next().value!);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  // ---- candidate planning ----

  /** Drops what the index cannot answer ('all'), folds constants, flattens nested and/or. */
  private simplify(c: Candidates): Candidates {
    switch (c.kind) {
      case 'all':
      case 'none':
        return c;
      case 'eq':
      case 'present':
        return this.complete !== null && !this.complete.has(c.attr) ? { kind: 'all' } : c;
      case 'prefix':
        if (this.complete !== null && !this.complete.has(c.attr)) return { kind: 'all' };
        return c.prefix === '' ? { kind: 'present', attr: c.attr } : c;
      case 'and': {
        const items: Candidates[] = [];
        for (const item of c.items) {
          const s = this.simplify(item);
          if (s.kind === 'none') return s;
          if (s.kind === 'all') continue;
          if (s.kind === 'and') items.push(...s.items);
          else items.push(s);
        }
        if (items.length === 0) return { kind: 'all' };
        return items.length === 1 ? items[0] : { kind: 'and', items };
      }
      case 'or': {
        const items: Candidates[] = [];
        for (const item of c.items) {
          const s = this.simplify(item);
          if (s.kind === 'all') return s;
          if (s.kind === 'none') continue;
          if (s.kind === 'or') items.push(...s.items);
          else items.push(s);
        }
        if (items.length === 0) return { kind: 'none' };
        return items.length === 1 ? items[0] : { kind: 'or', items };
      }
    }
  }

  /** Estimated number of index rows a (simplified) candidate tree produces. */
  private cost(c: Candidates): number {
    switch (c.kind) {
      case 'all':
        return Infinity;
      case 'none':
        return 0;
      case 'eq': {
        const st = this.stats.get(c.attr);
        return st && st.vals > 0 ? st.rows / st.vals : 0;
      }
      case 'present':
        return this.stats.get(c.attr)?.rows ?? 0;
      case 'prefix': {
        const st = this.stats.get(c.attr);
        return st && st.vals > 0 ? Math.min(st.rows, (st.rows / st.vals) * PREFIX_FANOUT) : 0;
      }
      case 'and': {
        let min = Infinity;
        for (const item of c.items) min = Math.min(min, this.cost(item));
        return min;
      }
      case 'or': {
        let sum = 0;
        for (const item of c.items) sum += this.cost(item);
        return sum;
      }
    }
  }

  /** The AND item that yields fewest rows; it drives the query, the others become per-row filters. */
  private cheapest(items: Candidates[]): Candidates {
    let best = items[0];
    let bestCost = this.cost(best);
    for (let i = 1; i < items.length; i++) {
      const cost = this.cost(items[i]);
      if (cost < bestCost) {
        best = items[i];
        bestCost = cost;
      }
    }
    return best;
  }

  /**
   * A SELECT producing a column entry_id: a superset of the candidate set (only entry_id > afterId). It is
   * only ever the right side of `e.id IN (…)`, which removes duplicates itself, so the branches of an OR are
   * joined with UNION ALL: UNION would sort them into one more temporary b-tree first (measured: a Postfix
   * lookup's query ~8% faster).
   */
  private idSet(c: Candidates, afterId: number, out: unknown[]): string {
    const after = afterId > 0;
    switch (c.kind) {
      case 'eq':
        out.push(c.attr, c.value);
        if (after) out.push(afterId);
        return after
          ? 'SELECT entry_id FROM idx WHERE attr = ? AND value = ? AND entry_id > ?'
          : 'SELECT entry_id FROM idx WHERE attr = ? AND value = ?';
      case 'present':
        out.push(c.attr);
        if (after) out.push(afterId);
        return after ? 'SELECT entry_id FROM idx WHERE attr = ? AND entry_id > ?' : 'SELECT entry_id FROM idx WHERE attr = ?';
      case 'prefix': {
        const upper = prefixUpperBound(c.prefix);
        out.push(c.attr, c.prefix);
        let sql = 'SELECT entry_id FROM idx WHERE attr = ? AND value >= ?';
        if (upper !== '') {
          sql += ' AND value < ?';
          out.push(upper);
        }
        if (after) {
          sql += ' AND entry_id > ?';
          out.push(afterId);
        }
        return sql;
      }
      case 'and':
        // Nested ANDs (inside an OR) are narrowed by their cheapest item only: a superset is fine.
        return this.idSet(this.cheapest(c.items), afterId, out);
      case 'or': {
        const parts: string[] = [];
        for (let i = 0; i < c.items.length; i += MAX_COMPOUND) {
          const group = c.items.slice(i, i + MAX_COMPOUND).map((item) => {
            const sql = this.idSet(item, afterId, out);
            return sql.includes(' UNION ') ? `SELECT entry_id FROM (${sql})` : sql;
          });
          parts.push(group.join(' UNION ALL '));
        }
        return parts.length === 1 ? parts[0] : parts.map((p) => `SELECT entry_id FROM (${p})`).join(' UNION ALL ');
      }
      case 'all':
      case 'none':
        throw new Error(`idSet of ${c.kind}`); // simplify() removes these below the top level
    }
  }

  /** Per-row filters (on `col`) for the cheap equality items of an AND that do not drive the query. */
  private eqFilters(items: Candidates[], except: Candidates | null, col: string, out: unknown[]): string {
    let sql = '';
    for (const item of items) {
      if (item === except || item.kind !== 'eq') continue;
      sql += ` AND EXISTS (SELECT 1 FROM idx WHERE attr = ? AND value = ? AND entry_id = ${col})`;
      out.push(item.attr, item.value);
    }
    return sql;
  }

  private plan(query: CandidateQuery, afterId: number, limit: number): SqlPart | null {
    this.syncWithOtherWriters();
    const candidates = this.simplify(query.candidates);
    if (candidates.kind === 'none') return null;
    const base = query.base;
    const params: unknown[] = [];
    const cost = this.cost(candidates);
    // A candidate set that is a large part of the store is cheaper to walk in scope order and re-check.
    const useIndex = candidates.kind !== 'all' && cost < Math.max(1000, this.entryCount / 10);

    if (query.scope === 'base') {
      if (afterId >= base.id) return null;
      let sql = `SELECT ${ENTRY_COLUMNS} FROM entries e WHERE e.id = ?`;
      params.push(base.id);
      if (candidates.kind !== 'all') {
        sql += ` AND e.id IN (${this.idSet(candidates, 0, params)})`;
      }
      return { sql, params };
    }

    const andItems = candidates.kind === 'and' ? candidates.items : candidates.kind === 'eq' ? [candidates] : [];
    if (this.lastBase.dnNorm !== base.dnNorm) this.lastBase = { dnNorm: base.dnNorm, path: pathOfDnNorm(base.dnNorm) };
    const basePath = this.lastBase.path;

    if (useIndex) {
      const driver = candidates.kind === 'and' ? this.cheapest(candidates.items) : candidates;
      let sql: string;
      let order: string;
      if (driver.kind === 'eq') {
        // One value: its index rows are already in entry_id order, so the join streams in id order and
        // stops at the limit, with nothing materialized.
        sql = `SELECT ${ENTRY_COLUMNS} FROM idx i CROSS JOIN entries e ON e.id = i.entry_id WHERE i.attr = ? AND i.value = ?`;
        params.push(driver.attr, driver.value);
        if (afterId > 0) {
          sql += ' AND i.entry_id > ?';
          params.push(afterId);
        }
        order = 'i.entry_id';
      } else {
        // Several values: the id set is collected (deduplicated, sorted) and drives rowid lookups.
        sql = `SELECT ${ENTRY_COLUMNS} FROM entries e WHERE e.id IN (${this.idSet(driver, afterId, params)})`;
        if (afterId > 0) {
          // Unary +: the candidate list drives the query; the rowid range must not take over.
          sql += ' AND +e.id > ?';
          params.push(afterId);
        }
        order = 'e.id';
      }
      if (this.cost(driver) > 16) sql += this.eqFilters(andItems, driver, 'e.id', params);
      if (query.scope === 'one') {
        sql += ' AND +e.parent_id = ?';
        params.push(base.id);
      } else {
        sql += ' AND +e.path >= ? AND +e.path < ?';
        params.push(basePath, basePath + PATH_SEP_NEXT);
      }
      sql += ` ORDER BY ${order} LIMIT ${limit}`;
      return { sql, params };
    }

    // Scope-driven: every entry in scope, narrowed by the equality items where they are cheap to test.
    if (query.scope === 'one') {
      let sql = `SELECT ${ENTRY_COLUMNS} FROM entries e WHERE e.parent_id = ? AND e.id > ?`;
      params.push(base.id, afterId);
      sql += this.eqFilters(andItems, null, 'e.id', params);
      sql += ` ORDER BY e.id LIMIT ${limit}`;
      return { sql, params };
    }

    // Subtree: a small subtree is read through the path index and its ids sorted; a large one (a good
    // part of the store) is cheaper to walk in id order, testing each row's path.
    const probeCap = Math.max(2000, Math.floor(this.entryCount / 16));
    const subtreeRows = this.s.subtreeProbe.get(basePath, basePath + PATH_SEP_NEXT, probeCap) as number;
    if (subtreeRows < probeCap) {
      let sql =
        `SELECT ${ENTRY_COLUMNS} FROM entries e WHERE e.id IN (` +
        'SELECT s.id FROM entries s INDEXED BY entries_path WHERE s.path >= ? AND s.path < ? AND s.id > ?';
      params.push(basePath, basePath + PATH_SEP_NEXT, afterId);
      sql += this.eqFilters(andItems, null, 's.id', params);
      sql += ` ORDER BY s.id LIMIT ${limit}) ORDER BY e.id`;
      return { sql, params };
    }
    let sql = `SELECT ${ENTRY_COLUMNS} FROM entries e WHERE e.id > ? AND +e.path >= ? AND +e.path < ?`;
    params.push(afterId, basePath, basePath + PATH_SEP_NEXT);
    sql += this.eqFilters(andItems, null, 'e.id', params);
    sql += ` ORDER BY e.id LIMIT ${limit}`;
    return { sql, params };
  }

  // ---- writes ----

  write<T>(fn: (tx: WriteTransaction) => T): T {
    const outer = this.txDepth === 0;
    const savedStats = outer ? null : new Map([...this.pendingStats].map(([k, v]) => [k, { ...v }]));
    const savedCount = this.pendingCount;
    this.txDepth++;
    try {
      // IMMEDIATE takes the write lock up front, so a second process waits (busy_timeout) instead of failing.
      const result = (outer ? this.runWrite.immediate(fn) : this.runWrite(fn)) as T;
      if (outer) {
        this.applyPending();
        this.cacheStale = true;
      }
      return result;
    } catch (err) {
      if (outer) this.discardPending();
      else {
        this.pendingStats = savedStats!;
        this.pendingCount = savedCount;
      }
      throw storeErrorOf(err);
    } finally {
      this.txDepth--;
    }
  }

  private applyPending(): void {
    for (const [attr, d] of this.pendingStats) {
      const st = this.stats.get(attr);
      if (st) {
        st.rows += d.rows;
        st.vals += d.vals;
      } else this.stats.set(attr, { rows: d.rows, vals: d.vals });
    }
    this.entryCount += this.pendingCount;
    this.discardPending();
  }

  private discardPending(): void {
    this.pendingStats.clear();
    this.pendingCount = 0;
  }

  private flushPendingStats(): void {
    for (const [attr, d] of this.pendingStats) {
      if (d.rows !== 0 || d.vals !== 0) this.s.upsertStats.run(attr, d.rows, d.vals);
    }
  }

  private statDelta(attr: string, rows: number, vals: number): void {
    const d = this.pendingStats.get(attr);
    if (d) {
      d.rows += rows;
      d.vals += vals;
    } else this.pendingStats.set(attr, { rows, vals });
  }

  private requireTx(): void {
    if (this.txDepth === 0) throw new Error('write transaction used outside backend.write()');
  }

  /** The terms to store: deduplicated, only indexed attributes; flat [attr, value, attr, value…]. */
  private storedTerms(index: IndexTerm[]): string[] {
    const flat: string[] = [];
    const seen = new Set<string>();
    for (const t of index) {
      if (this.indexed !== null && !this.indexed.has(t.attr)) continue;
      const key = termKey(t.attr, t.value);
      if (seen.has(key)) continue;
      seen.add(key);
      flat.push(t.attr, t.value);
    }
    return flat;
  }

  private insertTerm(attr: string, value: string, id: number): void {
    const isNewValue = this.s.valueExists.get(attr, value) === undefined;
    if (this.s.insertTerm.run(attr, value, id).changes > 0) this.statDelta(attr, 1, isNewValue ? 1 : 0);
  }

  private deleteTerm(attr: string, value: string, id: number): void {
    if (this.s.deleteTerm.run(attr, value, id).changes === 0) return;
    const lastValue = this.s.valueExists.get(attr, value) === undefined;
    this.statDelta(attr, -1, lastValue ? -1 : 0);
  }

  /** Applies the difference between the stored terms and the new ones. */
  private replaceTerms(id: number, oldTermsJson: string, newTerms: string[]): void {
    const oldTerms = JSON.parse(oldTermsJson) as string[];
    const newKeys = new Set<string>();
    for (let i = 0; i < newTerms.length; i += 2) newKeys.add(termKey(newTerms[i], newTerms[i + 1]));
    const oldKeys = new Set<string>();
    for (let i = 0; i < oldTerms.length; i += 2) {
      const key = termKey(oldTerms[i], oldTerms[i + 1]);
      oldKeys.add(key);
      if (!newKeys.has(key)) this.deleteTerm(oldTerms[i], oldTerms[i + 1], id);
    }
    for (let i = 0; i < newTerms.length; i += 2) {
      if (!oldKeys.has(termKey(newTerms[i], newTerms[i + 1]))) this.insertTerm(newTerms[i], newTerms[i + 1], id);
    }
  }

  private logChange(kind: ChangeKind, dnNorm: string, oldDnNorm: string | null): void {
    this.s.insertChange.run(kind, dnNorm, oldDnNorm, Date.now());
  }

  private entryForWrite(id: number): [string, string, string, string] {
    const r = this.s.entryForWrite.get(id) as [string, string, string, string] | undefined;
    if (!r) throw new Error(`no entry with id ${id}`);
    return r;
  }

  private makeWriteTransaction(): WriteTransaction {
    return {
      add: (entry: NewEntry): number => {
        this.requireTx();
        const terms = this.storedTerms(entry.index);
        const id = Number(
          this.s.insertEntry.run(
            entry.parentId,
            entry.dn,
            entry.dnNorm,
            pathOfDnNorm(entry.dnNorm),
            JSON.stringify(entry.attrs),
            JSON.stringify(terms),
          ).lastInsertRowid,
        );
        for (let i = 0; i < terms.length; i += 2) this.insertTerm(terms[i], terms[i + 1], id);
        this.logChange('add', entry.dnNorm, null);
        this.pendingCount++;
        return id;
      },
      update: (update: EntryUpdate): void => {
        this.requireTx();
        const [dnNorm, , , oldTerms] = this.entryForWrite(update.id);
        const terms = this.storedTerms(update.index);
        this.replaceTerms(update.id, oldTerms, terms);
        this.s.updateEntry.run(JSON.stringify(update.attrs), JSON.stringify(terms), update.id);
        this.logChange('modify', dnNorm, null);
      },
      remove: (id: number): void => {
        this.requireTx();
        const [dnNorm, , , oldTerms] = this.entryForWrite(id);
        this.replaceTerms(id, oldTerms, []);
        this.s.deleteEntry.run(id);
        this.logChange('delete', dnNorm, null);
        this.pendingCount--;
      },
      move: (move: EntryMove, oldDnNorm: string, oldDn: string): void => {
        this.requireTx();
        const [storedDnNorm, , oldPath, oldTerms] = this.entryForWrite(move.id);
        if (storedDnNorm !== oldDnNorm) throw new Error(`move: entry ${move.id} is ${storedDnNorm}, not ${oldDnNorm}`);
        const newPath = pathOfDnNorm(move.newDnNorm);
        const terms = this.storedTerms(move.index);
        this.replaceTerms(move.id, oldTerms, terms);
        this.s.moveEntry.run(
          move.newParentId,
          move.newDn,
          move.newDnNorm,
          newPath,
          JSON.stringify(move.attrs),
          JSON.stringify(terms),
          move.id,
        );
        this.logChange('rename', move.newDnNorm, oldDnNorm);
        // Descendants keep their ids and parent ids; their DNs, normalized DNs and paths get the new suffix.
        const oldDepth = oldPath.split(PATH_SEP).length;
        const below = this.s.descendants.all(oldPath + PATH_SEP, oldPath + PATH_SEP_NEXT) as [number, string, string, string][];
        for (const [id, dn, dnNorm, path] of below) {
          const depthBelow = path.split(PATH_SEP).length - oldDepth;
          const newDnNorm = dnNorm.slice(0, dnNorm.length - oldDnNorm.length) + move.newDnNorm;
          const newDn = rebaseDn(dn, oldDn, move.newDn, depthBelow);
          this.s.rebaseDescendant.run(newDn, newDnNorm, newPath + path.slice(oldPath.length), id);
          this.logChange('rename', newDnNorm, dnNorm);
        }
      },
      getByDnNorm: (dnNorm: string) => this.getByDnNorm(dnNorm),
      hasChildren: (id: number) => this.hasChildren(id),
    };
  }

  // ---- bulk load ----

  /**
   * Loads entries given parents first, in ONE transaction: a throw from the iterable (a parse or schema
   * error in the importer) or a constraint failure rolls the whole load back, so an import either lands
   * completely or not at all. Call it several times to load in separate transactions; parents are found
   * among the entries of this call and then in the store.
   * Into an empty store (an offline import, like slapadd) the secondary indexes are dropped and rebuilt
   * sorted at the end, index rows are staged and inserted in key order, the file uses a rollback journal for
   * the load, and no per-entry change is logged (no reader can hold state from before). Into a non-empty
   * store every entry is logged as an 'add', like any write.
   * While the load runs, the iterable may call getByDnNorm, getById and hasChildren (an importer checking
   * each record against what came before); searches must wait for the load to finish.
   */
  bulkLoad(entries: Iterable<BulkEntry>, onProgress?: (n: number) => void): number {
    // A parent given by id only is named by its DN (the encoded form carries DNs).
    const encode = (entry: BulkEntry) =>
      this.encodeBulkEntry(entry.parentDnNorm === null && entry.parentId !== null ? { ...entry, parentDnNorm: this.getById(entry.parentId)?.dnNorm ?? null } : entry);
    return this.bulkLoadEncoded(mapIterable(entries, encode), onProgress);
  }

  /**
   * An entry as bulkLoadEncoded takes it: fields [dn, path, attrs JSON, terms JSON, ...terms (attr, value…)],
   * its index terms filtered and deduplicated as this backend stores them. Pure: an importer may encode in a
   * worker thread, with a backend opened on ':memory:' with the same indexed attributes, while the loading
   * thread writes.
   */
  encodeBulkEntry(entry: BulkEntry): EncodedEntry {
    const terms = this.storedTerms(entry.index);
    return {
      parentDnNorm: entry.parentDnNorm,
      dnNorm: entry.dnNorm,
      fields: [entry.dn, pathOfDnNorm(entry.dnNorm), JSON.stringify(entry.attrs), JSON.stringify(terms), ...terms],
    };
  }

  /** bulkLoad of entries made by encodeBulkEntry. */
  bulkLoadEncoded(entries: Iterable<EncodedEntry>, onProgress?: (n: number) => void): number {
    if (this.txDepth > 0) throw new Error('bulkLoad inside a write transaction');
    const db = this.db;
    const fresh = this.entryCount === 0;
    const idOf = new Map<string, number>();
    const parents = new Set<number>();
    let n = 0;
    const insertEntry = this.s.insertEntry;
    const insertChange = this.s.insertChange;
    const cacheSize = db.pragma('cache_size', { simple: true }) as number;

    // A fresh store is filled with a rollback journal instead of the WAL: every page is then written once
    // (to the database) instead of twice (WAL, then checkpoint), and the journal of an empty database is
    // tiny. Switching needs the store to ourselves (an offline import); otherwise we stay in WAL.
    const journal = fresh ? this.trySetJournalMode('delete') : false;
    // In WAL mode the load commits without syncing and the final checkpoint (with FULL) makes it durable. With a
    // rollback journal, FULL costs a sync only when the cache spills and at the commit.
    if (!journal) db.pragma('synchronous = OFF');
    db.pragma(`cache_size = -${BULK_CACHE_KIB}`); // keep the B-trees being filled in memory
    db.pragma('threads = 2'); // the index sorts may use a helper thread
    // Staged index rows and sorts go to temporary files (kept in the OS cache while there is room), so a load
    // of millions of entries does not need gigabytes of process memory.
    db.pragma('temp_store = FILE');
    try {
      const load = db.transaction(() => {
        if (fresh) {
          db.exec('DROP INDEX entries_path; DROP INDEX entries_parent; DROP INDEX entries_dn_norm;');
          this.freshLoad = { idOf, parents };
        }
        // Into a fresh store, index rows are gathered and written into idx in key order at the end (see
        // bulk.ts). Into a live store they go straight into idx, with multi-row INSERTs.
        const builder = fresh ? new FreshIndexBuilder(db) : null;
        const insertOne = db.prepare('INSERT OR IGNORE INTO idx(attr, value, entry_id) VALUES (?, ?, ?)');
        const insertBatch = db.prepare('INSERT OR IGNORE INTO idx(attr, value, entry_id) VALUES ' + rowPlaceholders(TERM_BATCH));
        const batch: unknown[] = [];
        const now = Date.now();
        for (const entry of entries) {
          let parentId: number | null = null;
          if (entry.parentDnNorm !== null) {
            const known = idOf.get(entry.parentDnNorm);
            if (known !== undefined) parentId = known;
            else {
              const stored = fresh ? undefined : this.getByDnNorm(entry.parentDnNorm);
              if (!stored) throw new Error(`bulk load: parent ${entry.parentDnNorm} of ${entry.fields[0]} is not loaded before it`);
              parentId = stored.id;
            }
          }
          const f = entry.fields;
          if (fresh && idOf.has(entry.dnNorm)) throw new Error(`bulk load: duplicate entry ${f[0]}`);
          const id = Number(insertEntry.run(parentId, f[0], entry.dnNorm, f[1], f[2], f[3]).lastInsertRowid);
          idOf.set(entry.dnNorm, id);
          if (builder !== null) {
            if (parentId !== null) parents.add(parentId);
            for (let i = 4; i < f.length; i += 2) builder.add(f[i], f[i + 1], id);
          } else {
            for (let i = 4; i < f.length; i += 2) {
              batch.push(f[i], f[i + 1], id);
              if (batch.length === TERM_BATCH * 3) {
                insertBatch.run(batch);
                batch.length = 0;
              }
            }
            // A fresh store has no one to replay the load to (consumers start from a full read); a load into
            // a live store is logged entry by entry, like any write.
            insertChange.run('add', entry.dnNorm, null, now);
          }
          n++;
          if (onProgress && n % BULK_PROGRESS_EVERY === 0) onProgress(n);
        }
        for (let i = 0; i < batch.length; i += 3) insertOne.run(batch[i], batch[i + 1], batch[i + 2]);
        if (builder !== null) {
          const counts = builder.finish();
          db.exec(`
            CREATE UNIQUE INDEX entries_dn_norm ON entries(dn_norm);
            CREATE INDEX entries_path ON entries(path);
            CREATE INDEX entries_parent ON entries(parent_id, id);
          `);
          db.exec('DELETE FROM attr_stats');
          const insertStats = db.prepare('INSERT INTO attr_stats(attr, rows, vals) VALUES (?, ?, ?)');
          for (const c of counts) insertStats.run(c.attr, c.rows, c.vals);
          if (this.indexed !== null) this.saveCompleteAttributes(this.indexed);
        } else this.recomputeStats();
      });
      load.immediate();
    } catch (err) {
      this.reloadStats();
      throw err;
    } finally {
      this.freshLoad = null;
      db.pragma('synchronous = FULL');
      db.pragma(`cache_size = ${cacheSize}`);
      db.pragma('threads = 0');
      db.pragma('temp_store = MEMORY');
      if (journal) this.trySetJournalMode('wal');
    }
    // Fold a WAL-mode load back into the database file.
    if (!journal) db.pragma('wal_checkpoint(TRUNCATE)');
    this.entryCount = this.s.count.get() as number;
    this.reloadStats();
    if (onProgress && n % BULK_PROGRESS_EVERY !== 0) onProgress(n);
    return n;
  }

  /** Switches the journal mode; false when SQLite keeps the old one (another connection has the file open). */
  private trySetJournalMode(mode: 'delete' | 'wal'): boolean {
    try {
      return (this.db.pragma(`journal_mode = ${mode}`, { simple: true }) as string).toLowerCase() === mode;
    } catch {
      return false;
    }
  }

  private recomputeStats(): void {
    this.db.exec(`
      DELETE FROM attr_stats;
      INSERT INTO attr_stats(attr, rows, vals)
        SELECT attr, sum(n), count(*) FROM (SELECT attr, value, count(*) AS n FROM idx GROUP BY attr, value) GROUP BY attr;
    `);
  }

  private reloadStats(): void {
    this.stats.clear();
    for (const r of this.db.prepare('SELECT attr, rows, vals FROM attr_stats').raw().all() as [string, number, number][]) {
      this.stats.set(r[0], { rows: r[1], vals: r[2] });
    }
  }

  close(): void {
    // No ANALYZE / PRAGMA optimize: the plans here are chosen by this code (attr_stats, unary +, INDEXED BY),
    // and SQLite's stat4 samples would make it re-prepare statements on every new binding.
    if (this.db.open) this.db.close();
  }
}

export function openSqliteBackend(path: string, options?: SqliteBackendOptions): SqliteBackend {
  return new SqliteBackend(path, options);
}

/**
 * SQLite's failures as the store contract types them (backends/errors.ts); anything else (a constraint, an
 * error the transaction's callback threw) passes unchanged.
 */
function storeErrorOf(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return err;
  const message = (err as Error).message;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return new StoreError('busy', `store busy: ${message}`, { cause: err });
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return new StoreError('broken', `store damaged: ${message}`, { cause: err });
  if (code.startsWith('SQLITE_FULL') || code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_READONLY')) {
    return new StoreError('unavailable', `store unavailable: ${message}`, { cause: err });
  }
  return err;
}
