// Public types of the LDAP protocol adapter, and the decoded form of the requests it serves.

import type { Directory, Filter, Modification, Scope } from '../directory/types';

/** The pino subset the adapter logs through (pino.Logger satisfies it). */
export interface LdapLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** Hooks for metrics; every method is optional so an observer can count only what it cares about. */
export interface LdapObserver {
  onConnectionOpen?(info: { peer: string; secure: boolean }): void;
  onConnectionClose?(info: { peer: string; secure: boolean; reason: string }): void;
  /** A connection refused at accept time (maxConnections, maxConnectionsPerAddress). */
  onConnectionRefused?(reason: string): void;
  /** One finished operation: its kind (bind, search, …, extended:<oid>, extended:other), its result code and duration. */
  /** `detail`: connection id, client address, message id, DN or search base, scope (no values). */
  onOperation?(op: string, resultCode: number, seconds: number, detail?: Record<string, unknown>): void;
  /** PDU too large, garbage bytes, malformed message, TLS handshake failure. */
  onProtocolError?(reason: string): void;
  onBindFailure?(reason: string): void;
  /** This process started running unindexed searches (true), or has run none for a moment (false). */
  onScanning?(busy: boolean): void;
}

export interface TlsMaterial {
  cert: Buffer | string;
  key: Buffer | string;
  ca?: Buffer | string | Array<Buffer | string>;
}

export interface LdapLimits {
  /** Largest LDAPMessage accepted, checked on the BER length before the body is buffered. */
  maxPduBytes: number;
  /**
   * The same while the connection is anonymous (before a bind, or after an anonymous one): slapd's
   * sockbuf_max_incoming, 256 KiB, against sockbuf_max_incoming_auth for bound clients. Default: maxPduBytes.
   */
  maxPduBytesAnonymous?: number;
  /** A connection with nothing in flight and no traffic for this long is closed. 0 = never. */
  idleTimeoutSeconds: number;
  maxConnections: number;
  /** 0 = no per-address limit. */
  maxConnectionsPerAddress: number;
  /** Bytes of answers one connection may have waiting for the client to read; past it the connection is closed. Default 16 MiB. */
  maxBufferedOutput?: number;
  /** The same for all connections of the process together (the connections holding the most are closed first). Default 256 MiB. */
  maxBufferedOutputTotal?: number;
  /** A connection whose answers have waited this long for the client to read is closed (slapd: writetimeout). 0 = never. Default 60. */
  writeTimeoutSeconds?: number;
  /** Unindexed searches one identity (anonymous: one client address) runs at once per process; more wait. 0 = no limit. Default 2. */
  unindexedPerIdentity?: number;
  /** Milliseconds a scanning search works before it lets other clients in (scan-scheduler.ts). Default 2. */
  scanSliceMs?: number;
  /** Requests in flight per connection before the socket stops being read (backpressure). Default 64. */
  maxOutstandingPerConnection?: number;
}

export interface LdapServerOptions {
  directory: Directory;
  listen: { host: string; port: number };
  ldaps?: { host: string; port: number };
  /** Enables the LDAPS listener (when `ldaps` is given) and StartTLS. */
  tls?: TlsMaterial;
  limits: LdapLimits;
  /** Simple binds with a password over an unprotected connection get confidentialityRequired. */
  requireTlsForBind?: boolean;
  allowAnonymous: boolean;
  allowV2Bind: boolean;
  rootDse: { namingContexts: string[]; vendorVersion: string; vendorName?: string };
  logger: LdapLogger;
  observer?: LdapObserver;
  /** How long close() waits for in-flight operations before ending sockets anyway. Default 5000. */
  shutdownGraceMs?: number;
}

export interface LdapServer {
  address(): { host: string; port: number };
  ldapsAddress(): { host: string; port: number } | undefined;
  /** Stops accepting, lets in-flight operations finish, then ends every socket. */
  close(): Promise<void>;
  connections(): number;
  /** Replaces the certificate and key for new LDAPS connections and StartTLS. */
  reloadTls(tls: TlsMaterial): void;
}

// ---- decoded requests ------------------------------------------------------------------------------

export interface RequestControl {
  oid: string;
  critical: boolean;
  /** The controlValue octets, absent when the client sent none. */
  value?: Buffer;
}

interface RequestBase {
  messageId: number;
  controls: RequestControl[];
}

export type BindAuthentication =
  | { kind: 'simple'; password: string }
  | { kind: 'sasl'; mechanism: string };

export interface BindOp extends RequestBase { op: 'bind'; version: number; name: string; auth: BindAuthentication }
export interface UnbindOp extends RequestBase { op: 'unbind' }
export interface SearchOp extends RequestBase {
  op: 'search';
  base: string;
  scope: Scope;
  derefAliases: number;
  sizeLimit: number;
  timeLimit: number;
  typesOnly: boolean;
  filter: Filter;
  attributes: string[];
}
export interface ModifyOp extends RequestBase { op: 'modify'; dn: string; changes: Modification[] }
export interface AddOp extends RequestBase { op: 'add'; dn: string; attributes: Record<string, string[]> }
export interface DeleteOp extends RequestBase { op: 'delete'; dn: string }
export interface ModifyDnOp extends RequestBase { op: 'modifyDN'; dn: string; newRdn: string; deleteOldRdn: boolean; newSuperior?: string }
export interface CompareOp extends RequestBase { op: 'compare'; dn: string; attribute: string; value: string }
export interface AbandonOp extends RequestBase { op: 'abandon'; abandonId: number }
export interface ExtendedOp extends RequestBase { op: 'extended'; oid: string; value?: Buffer }

export type LdapRequest = BindOp | UnbindOp | SearchOp | ModifyOp | AddOp | DeleteOp | ModifyDnOp | CompareOp | AbandonOp | ExtendedOp;

/** The LDAPResult part of a response (RFC 4511 §4.1.9). */
export interface LdapResultFields {
  code: number;
  message?: string;
  matchedDN?: string;
}
