// Backend query latency (ispd_backend_query_duration_seconds) without touching the backends: a wrapper
// that times each storage call the directory and DNS make. Searches are lazy iterables the directory
// consumes entry by entry, interleaved with ACL checks and encoding; only the time spent inside the
// backend's next() calls is summed, so the histogram shows storage time, not the whole operation.
import type { Backend, CandidateQuery, StoredEntry, WriteTransaction } from '../../backends/types';
import type { Histogram } from 'prom-client';

type Observe = (seconds: number) => void;

const now = (): number => performance.now();

function timedIterable(source: Iterable<StoredEntry>, observe: Observe, setupMs: number): Iterable<StoredEntry> {
  return {
    [Symbol.iterator](): Iterator<StoredEntry> {
      let spentMs = setupMs;
      const t0 = now();
      const inner = source[Symbol.iterator]();
      spentMs += now() - t0;
      let reported = false;
      const report = (): void => {
        if (reported) return;
        reported = true;
        observe(spentMs / 1000);
      };
      return {
        next(): IteratorResult<StoredEntry> {
          const t = now();
          const result = inner.next();
          spentMs += now() - t;
          if (result.done) report();
          return result;
        },
        return(value?: unknown): IteratorResult<StoredEntry> {
          const t = now();
          const result = inner.return ? inner.return(value) : { done: true as const, value: undefined };
          spentMs += now() - t;
          report();
          return result as IteratorResult<StoredEntry>;
        },
      };
    },
  };
}

/**
 * A Backend that forwards every call to `backend` and observes the duration of the hot ones in
 * `histogram` by kind: get (getByDnNorm, getById, hasChildren), search, write, changes.
 * Capabilities (reindex, bulk load …) are the backend's own, untimed.
 */
export function timeBackendQueries(backend: Backend, histogram: Histogram<'kind'>): Backend {
  const getKind = histogram.labels('get');
  const searchKind = histogram.labels('search');
  const writeKind = histogram.labels('write');
  const changesKind = histogram.labels('changes');
  const timed = <A extends unknown[], R>(child: { observe(v: number): void }, fn: (...args: A) => R) => (...args: A): R => {
    const t = now();
    try {
      return fn(...args);
    } finally {
      child.observe((now() - t) / 1000);
    }
  };
  return {
    get name() {
      return backend.name;
    },
    capabilities: backend.capabilities,
    getByDnNorm: timed(getKind, (dnNorm: string) => backend.getByDnNorm(dnNorm)),
    getById: timed(getKind, (id: number) => backend.getById(id)),
    hasChildren: timed(getKind, (id: number) => backend.hasChildren(id)),
    search(query: CandidateQuery) {
      const t = now();
      const result = backend.search(query);
      return timedIterable(result, (s) => searchKind.observe(s), now() - t);
    },
    write<T>(fn: (tx: WriteTransaction) => T): T {
      const t = now();
      try {
        return backend.write(fn);
      } finally {
        writeKind.observe((now() - t) / 1000);
      }
    },
    bulkLoad: (entries, onProgress) => backend.bulkLoad(entries, onProgress),
    changesSince: timed(changesKind, (afterSeq: number, limit?: number) => backend.changesSince(afterSeq, limit)),
    lastChangeSeq: () => backend.lastChangeSeq(),
    pruneChanges: (retention) => backend.pruneChanges(retention),
    changeLogSize: () => backend.changeLogSize(),
    all: () => backend.all(),
    count: () => backend.count(),
    sizeBytes: () => backend.sizeBytes(),
    close: () => backend.close(),
  };
}
