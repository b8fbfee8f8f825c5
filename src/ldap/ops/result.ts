// Turning what the directory throws into an LDAPResult.

import { StoreError } from '../../../backends/errors';
import { DirectoryError, ResultCode } from '../../directory/errors';
import type { ServerContext } from '../server-context';
import type { LdapRequest, LdapResultFields } from '../types';

/** DirectoryError carries its own code, text and matchedDN; anything else is our bug: `other`, logged. */
export function errorToResult(server: ServerContext, request: LdapRequest, err: unknown): LdapResultFields {
  if (err instanceof DirectoryError) return { code: err.code, message: err.message, matchedDN: err.matchedDN };
  // The store's transient failures are the client's to retry: busy (another writer) or unavailable. The
  // store's own text stays in the log.
  if (err instanceof StoreError) {
    server.logger.warn({ op: request.op, messageId: request.messageId, failure: err.failure, err: err.message }, 'ldap: store failure');
    return err.failure === 'busy' ? { code: ResultCode.busy, message: 'the directory is busy, try again' } : { code: ResultCode.unavailable, message: 'the directory store is unavailable' };
  }
  server.logger.error({ op: request.op, messageId: request.messageId, err }, 'ldap: directory raised an unexpected error');
  return { code: ResultCode.other, message: 'internal server error' };
}
