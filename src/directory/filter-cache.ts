// The compiled-filter cache of one process, bounded by the bytes it holds rather than by its number of keys:
// a client sending distinct multi-megabyte filters must not grow a process by gigabytes (issue 13: 600 distinct
// 2 MiB filters took each worker from 136 MB to 1.3 GB with a 10,000-key bound).
//
// The cost of an entry is estimated from its key (identity + filter text): the compiled test and the candidate
// plan hold the filter's values again, normalized, so a compiled filter costs a small multiple of its text.
// Eviction is oldest-inserted first; a hit does not reorder (the hot path of every lookup stays one Map.get).

/** Bytes charged per key character: the key itself, the parsed filter's values, their normalized copies. */
const BYTES_PER_KEY_CHAR = 4;
/** Fixed cost of an entry: Map slot, closures, plan objects. */
const ENTRY_OVERHEAD = 512;

export class FilterCache<V> {
  private readonly entries = new Map<string, { value: V; cost: number }>();
  private bytes = 0;
  /** Filters estimated above this are compiled for each search and never kept: one would evict many. */
  readonly maxEntryBytes: number;

  constructor(readonly maxBytes: number) {
    this.maxEntryBytes = Math.max(ENTRY_OVERHEAD * 2, Math.floor(maxBytes / 64));
  }

  /** Estimated bytes held now. */
  get size(): number {
    return this.bytes;
  }

  get count(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    return this.entries.get(key)?.value;
  }

  set(key: string, value: V): void {
    const cost = key.length * BYTES_PER_KEY_CHAR + ENTRY_OVERHEAD;
    if (cost > this.maxEntryBytes || this.maxBytes <= 0) return;
    const old = this.entries.get(key);
    if (old) {
      this.bytes -= old.cost;
      this.entries.delete(key);
    }
    this.entries.set(key, { value, cost });
    this.bytes += cost;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.cost;
    }
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }
}
