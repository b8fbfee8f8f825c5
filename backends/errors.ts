// The store's failures, typed (PowerDNS's dnsbackend.hh contract): "not found" is never an error (reads
// return undefined or nothing); a transient failure is a StoreError the caller may retry or report as such
// (LDAP busy 51 / unavailable 52); only a broken store is fatal.

export type StoreFailure =
  /** Another writer holds the store past the busy timeout (SQLite's SQLITE_BUSY): retry soon. */
  | 'busy'
  /** The store cannot be reached or written now (a lost connection, a full disk, an I/O error); the engine reconnects. */
  | 'unavailable'
  /** The data itself is damaged (a corrupt file): no retry helps; an operator must restore it. */
  | 'broken';

export class StoreError extends Error {
  constructor(
    readonly failure: StoreFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StoreError';
  }

  /** Whether trying again later may succeed. */
  get transient(): boolean {
    return this.failure !== 'broken';
  }
}
