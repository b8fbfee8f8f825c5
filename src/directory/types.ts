// The directory's contract with its protocol adapters (LDAP, DNS, CLI). Adapters build these requests,
// the directory (operations.ts) runs ACL → backend → re-check, and returns entries or throws DirectoryError.

import type { Scope } from '../../backends/types';

export type { Scope };

/** A filter after parsing (RFC 4515), attribute names as the client wrote them. */
export type Filter =
  | { type: 'and'; filters: Filter[] }
  | { type: 'or'; filters: Filter[] }
  | { type: 'not'; filter: Filter }
  | { type: 'equality'; attribute: string; value: string }
  | { type: 'approx'; attribute: string; value: string }
  | { type: 'ge'; attribute: string; value: string }
  | { type: 'le'; attribute: string; value: string }
  | { type: 'present'; attribute: string }
  | { type: 'substrings'; attribute: string; initial?: string; any: string[]; final?: string }
  | { type: 'extensible'; attribute?: string; rule?: string; value: string; dnAttributes: boolean };

/** An entry as the directory hands it out: DN in user form, attributes with their declared names. */
export interface Entry {
  dn: string;
  /** Attribute name (as stored/declared) → values. */
  attributes: Record<string, string[]>;
}

/** Who is asking. Built by the adapter from the connection's bind state. */
export interface Identity {
  /** Normalized bind DN, '' for anonymous. */
  dnNorm: string;
  /** Bind DN in user form, '' for anonymous. */
  dn: string;
}

export interface OperationContext {
  identity: Identity;
  /** Client address, for logs, throttling and ACL `peername` rules. */
  peer: string;
  /** Whether the connection is protected by TLS. */
  secure: boolean;
  /** Abandon / disconnect signal: searches stop yielding when it is aborted. */
  signal?: AbortSignal;
  /**
   * The client asked for the Relax Rules control (OpenLDAP's `ldapmodify -e relax`): an administrator's
   * write skips the schema checks, so data loaded with `import --relaxed` can still be edited.
   */
  relax?: boolean;
}

export interface SearchRequest {
  base: string;
  scope: Scope;
  filter: Filter;
  /** Requested attributes as sent ('*', '+', '1.1', names, OIDs); empty = all user attributes. */
  attributes: string[];
  typesOnly: boolean;
  /** 0 = no limit (the server's own limit still applies). */
  sizeLimit: number;
  /** Seconds; 0 = no limit. */
  timeLimit: number;
  /** Simple paged results (RFC 2696). */
  paged?: { size: number; cookie: string };
}

/**
 * Produced among a search's entries while it scans rows that do not match: a point where the caller may give
 * the event loop back before pulling more (a long scan must not hold up every other client; issue 13).
 */
export const SCAN_PAUSE: unique symbol = Symbol('scan pause');
export type ScanPause = typeof SCAN_PAUSE;

export interface SearchOutcome {
  /** Entries, produced lazily (with SCAN_PAUSE marks while scanning); iterate to the end to learn `done()`. */
  entries: Iterable<Entry | ScanPause>;
  /**
   * The search scans its scope without an index and runs under the per-identity limits (the requester is
   * neither an admin nor ispd itself): the adapter lets few of them run at once per identity, in slices.
   */
  unindexed?: boolean;
  /** After iteration: the result (success, sizeLimitExceeded, timeLimitExceeded…) and the paging cookie to return. */
  done(): { code: number; message: string; pagedCookie?: string };
}

export type ModificationOp = 'add' | 'delete' | 'replace' | 'increment';

export interface Modification {
  operation: ModificationOp;
  attribute: string;
  values: string[];
}

/** One write of DirectoryService.writeBatch: several of these commit together or not at all. */
export type BatchWrite =
  /** ifMissing: an entry already at the DN is left as it is (shared branches such as ou=DNS's dc=com). */
  | { op: 'add'; dn: string; attributes: Record<string, string[]>; ifMissing?: boolean }
  | { op: 'modify'; dn: string; changes: Modification[] }
  | { op: 'delete'; dn: string };

export interface Directory {
  search(req: SearchRequest, ctx: OperationContext): SearchOutcome;
  /** Returns true for compareTrue, false for compareFalse; throws DirectoryError otherwise. */
  compare(dn: string, attribute: string, value: string, ctx: OperationContext): boolean;
  /** Simple bind. Returns the identity on success; throws invalidCredentials (also for unknown DNs). */
  bind(dn: string, password: string, ctx: OperationContext): Promise<Identity>;
  add(dn: string, attributes: Record<string, string[]>, ctx: OperationContext): Promise<void>;
  modify(dn: string, changes: Modification[], ctx: OperationContext): Promise<void>;
  delete(dn: string, ctx: OperationContext): Promise<void>;
  modifyDN(dn: string, newRdn: string, deleteOldRdn: boolean, newSuperior: string | undefined, ctx: OperationContext): Promise<void>;
  /**
   * Password Modify (RFC 3062), optional. userDn undefined = the bound identity; oldPassword as sent;
   * newPassword undefined = generate one. Returns the generated password (undefined when one was given).
   */
  passwordModify?(userDn: string | undefined, oldPassword: string | undefined, newPassword: string | undefined, ctx: OperationContext): Promise<string | undefined>;
  /** Root DSE and cn=Subschema are answered by the directory too (search with base scope). */
  readonly namingContexts: string[];
}
