// The one way to open a storage engine. Nothing outside backends/ imports an engine's module: callers name
// an engine (the `backend` option), get a Backend, and ask its `capabilities` for anything beyond the core
// contract. An engine's module is loaded only when it is opened (better-sqlite3 is not needed to check a
// configuration, and a future PostgreSQL engine's client is not loaded by SQLite users).

import type { Backend } from './types';

/** What every engine is opened with; an engine ignores what does not apply to it. */
export interface EngineOptions {
  /** Where the data is: a file path for SQLite (':memory:' for a private in-memory store). */
  location: string;
  /**
   * Lower-case attribute keys that are indexed; an attribute missing here is not trusted for candidates.
   * Absent: every term the directory passes is stored and trusted.
   */
  indexedAttributes?: string[];
  /** Decoded entries kept per process for DN and id lookups (0 = none). */
  entryCacheSize?: number;
  /** How long a write waits for another writer's lock before it fails as `busy`. */
  busyTimeoutMs?: number;
}

export interface Engine {
  readonly name: string;
  readonly summary: string;
  open(options: EngineOptions): Backend;
  /** Where a fresh, empty store of this engine lives inside a scratch directory (the conformance suite). */
  scratchLocation(dir: string): string;
}

const ENGINES: readonly Engine[] = [
  {
    name: 'sqlite',
    summary: 'one SQLite file (WAL, synchronous=FULL) shared by the processes of one host',
    open: (o) => {
      const sqlite = require('./sqlite') as typeof import('./sqlite');
      return sqlite.openSqliteBackend(o.location, { indexedAttributes: o.indexedAttributes, entryCacheSize: o.entryCacheSize, busyTimeoutMs: o.busyTimeoutMs });
    },
    scratchLocation: (dir) => `${dir}/store.sqlite`,
  },
];

/** The engines this build offers, by name (the values the `backend` option accepts). */
export const ENGINE_NAMES: readonly string[] = ENGINES.map((e) => e.name);

/** Every engine this build offers (the conformance suite runs against each). */
export function engines(): readonly Engine[] {
  return ENGINES;
}

/** Opens the named engine; an unknown name is an error naming the engines there are. */
export function openBackend(name: string, options: EngineOptions): Backend {
  const engine = ENGINES.find((e) => e.name === name);
  if (!engine) throw new Error(`storage backend "${name}" is not available in this build (available: ${ENGINE_NAMES.join(', ')})`);
  return engine.open(options);
}
