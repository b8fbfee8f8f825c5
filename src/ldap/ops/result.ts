// Turning what the directory throws into an LDAPResult.

import { DirectoryError, ResultCode } from '../../directory/errors';
import type { ServerContext } from '../server-context';
import type { LdapRequest, LdapResultFields } from '../types';

/** DirectoryError carries its own code, text and matchedDN; anything else is our bug: `other`, logged. */
export function errorToResult(server: ServerContext, request: LdapRequest, err: unknown): LdapResultFields {
  if (err instanceof DirectoryError) return { code: err.code, message: err.message, matchedDN: err.matchedDN };
  server.logger.error({ op: request.op, messageId: request.messageId, err }, 'ldap: directory raised an unexpected error');
  return { code: ResultCode.other, message: 'internal server error' };
}
