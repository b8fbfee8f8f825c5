// The storage interface. A backend stores entries and answers candidate queries; it knows nothing of
// LDAP, DNS, ACLs or schema. The directory hands it normalized keys (DN and index values) that it
// computed with the schema, and always re-checks the candidates it gets back against the real filter.

/** Attribute values keyed by attribute name as the entry carries it (e.g. "objectClass", "mailLocalAddress"). */
export type AttributeMap = Record<string, string[]>;

export interface StoredEntry {
  id: number;
  parentId: number | null;
  /** The DN as it was written (user form). */
  dn: string;
  /** The normalized DN: the unique key. */
  dnNorm: string;
  attrs: AttributeMap;
}

/** One normalized value of an indexed attribute: attr is the attribute's key (lower-case primary name). */
export interface IndexTerm {
  attr: string;
  value: string;
}

/**
 * What the directory could narrow a filter to with the indexes. Anything the index cannot answer is 'all':
 * the backend then returns every entry in scope and the directory filters them.
 */
export type Candidates =
  | { kind: 'all' }
  | { kind: 'none' }
  | { kind: 'eq'; attr: string; value: string }
  | { kind: 'present'; attr: string }
  | { kind: 'prefix'; attr: string; prefix: string }
  | { kind: 'and'; items: Candidates[] }
  | { kind: 'or'; items: Candidates[] };

export type Scope = 'base' | 'one' | 'sub';

export interface CandidateQuery {
  /** The search base, already resolved to an existing entry. */
  base: StoredEntry;
  scope: Scope;
  candidates: Candidates;
  /** Only entries with id greater than this (for paging: the last id already returned). */
  afterId?: number;
  /** Stop after this many rows (the directory asks for a bit more than it needs). */
  limit?: number;
}

export type ChangeKind = 'add' | 'modify' | 'delete' | 'rename';

export interface ChangeRecord {
  /** Monotonic change number. */
  seq: number;
  kind: ChangeKind;
  dnNorm: string;
  /** For rename: the old normalized DN. */
  oldDnNorm?: string;
  /** Unix milliseconds. */
  time: number;
}

/** How much of the change log to keep (0 = no limit of that kind). */
export interface ChangeRetention {
  maxAgeMs: number;
  maxRecords: number;
  /** The clock, in Unix milliseconds (tests). */
  now?: number;
}

export interface NewEntry {
  parentId: number | null;
  dn: string;
  dnNorm: string;
  attrs: AttributeMap;
  index: IndexTerm[];
}

export interface EntryUpdate {
  id: number;
  attrs: AttributeMap;
  index: IndexTerm[];
}

export interface EntryMove {
  id: number;
  newParentId: number | null;
  newDn: string;
  newDnNorm: string;
  attrs: AttributeMap;
  index: IndexTerm[];
}

/**
 * Writes happen inside `write(fn)`: one transaction, committed durably before it returns; a throw rolls it
 * back. Each write call appends to the change log in the same transaction.
 */
export interface WriteTransaction {
  add(entry: NewEntry): number;
  update(update: EntryUpdate): void;
  /** Removes one entry (the directory has checked it has no children). */
  remove(id: number): void;
  /**
   * Moves/renames an entry. Descendants' DNs are rewritten by the backend by replacing the old normalized
   * DN suffix with the new one (and the user-form suffix likewise).
   */
  move(move: EntryMove, oldDnNorm: string, oldDn: string): void;
  getByDnNorm(dnNorm: string): StoredEntry | undefined;
  hasChildren(id: number): boolean;
}

/** An entry for bulkLoad: parents come first, and a parent may be named by DN instead of id. */
export type BulkEntry = NewEntry & { parentDnNorm: string | null };

/**
 * An entry encoded by an engine for its own bulk load (capability `encodedBulkLoad`). Plain strings only, so
 * an importer can encode in a worker thread and pass batches to the loading thread cheaply.
 */
export interface EncodedEntry {
  readonly dnNorm: string;
  readonly parentDnNorm: string | null;
  /** Everything else, in the engine's own layout (opaque to callers). */
  readonly fields: string[];
}

/** Bulk load of pre-encoded entries: `encode` is pure (any thread, any instance opened with the same options). */
export interface EncodedBulkLoad {
  encode(entry: BulkEntry): EncodedEntry;
  /** Like Backend.bulkLoad, for entries made by `encode`. */
  load(entries: Iterable<EncodedEntry>, onProgress?: (n: number) => void): number;
}

/** Rebuilding the value index from the stored entries (`ispd reindex`, like slapindex). */
export interface Reindex {
  /** Configured index attributes not yet filled in for entries stored before they were configured. */
  pending(): string[];
  /** Rebuilds the whole index with the directory's normalization; returns the number of entries. */
  run(termsOf: (entry: StoredEntry) => IndexTerm[], onProgress?: (n: number) => void): number;
}

/**
 * What an engine can do beyond the core contract. Callers ask (`backend.capabilities.reindex?.run(…)`) and
 * do without when it is absent; nothing outside backends/ tests for an engine's class.
 */
export interface Capabilities {
  readonly encodedBulkLoad?: EncodedBulkLoad;
  readonly reindex?: Reindex;
  /** The engine's plan for one chunk of a candidate query, as text lines (diagnostics, tests). */
  readonly explain?: (query: CandidateQuery) => string[];
  /** Frees what reads cached (after a one-off full read, such as the DNS server's at start). */
  readonly releaseMemory?: () => void;
  /**
   * Calls `onCommit` soon after another process (or host) commits, so a reader need not wait for its next
   * poll of the change log; the changes themselves are still read from the log. Returns the stop function.
   */
  readonly watchCommits?: (onCommit: () => void) => () => void;
}

export interface Backend {
  readonly name: string;
  readonly capabilities: Capabilities;
  getByDnNorm(dnNorm: string): StoredEntry | undefined;
  getById(id: number): StoredEntry | undefined;
  hasChildren(id: number): boolean;
  /** Candidate entries in scope, ordered by id ascending. */
  search(query: CandidateQuery): Iterable<StoredEntry>;
  write<T>(fn: (tx: WriteTransaction) => T): T;
  /** Bulk load (import): like write, but may batch many entries per transaction and defer index building. */
  bulkLoad(entries: Iterable<BulkEntry>, onProgress?: (n: number) => void): number;
  /**
   * Changes with seq > afterSeq, oldest first. Seqs have no gaps except where the log was pruned: a reader
   * whose first record is not afterSeq + 1 is behind the pruned horizon and must reload in full.
   */
  changesSince(afterSeq: number, limit?: number): ChangeRecord[];
  lastChangeSeq(): number;
  /** Drops change records past the retention; the newest record always stays. Returns how many went. */
  pruneChanges(retention: ChangeRetention): number;
  /** Records in the change log now (a metric). */
  changeLogSize(): number;
  /** Every entry, parents before children (export). */
  all(): Iterable<StoredEntry>;
  count(): number;
  /** Size of the store in bytes, for metrics. */
  sizeBytes(): number;
  close(): void;
}
