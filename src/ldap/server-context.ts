// What a connection and the operation handlers need from the server that accepted them.

import type * as tls from 'node:tls';
import type { Directory } from '../directory/types';
import type { Connection } from './connection';
import type { RootDse } from './rootdse';
import type { ScanScheduler } from './scan-scheduler';
import type { LdapLogger, LdapObserver, LdapServerOptions } from './types';

export interface ServerContext {
  readonly options: LdapServerOptions;
  readonly directory: Directory;
  readonly logger: LdapLogger;
  readonly observer: LdapObserver | undefined;
  readonly rootDse: RootDse;
  /** Admission and time slices of unindexed searches, shared by every connection of the process. */
  readonly scans: ScanScheduler;
  /** The current TLS context, or undefined when TLS is not configured (StartTLS unavailable). */
  secureContext(): tls.SecureContext | undefined;
  connectionClosed(connection: Connection, reason: string): void;
}
