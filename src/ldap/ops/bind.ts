// bind: simple binds (LDAPv3, and LDAPv2 when allowed, for old Postfix configs), anonymous binds when
// allowed. The answers for the odd cases are slapd's (servers/slapd/bind.c).

import { ResultCode, resultCodeName } from '../../directory/errors';
import { encodeResult } from '../codec';
import { ANONYMOUS, type Connection, type OperationSignal } from '../connection';
import type { ServerContext } from '../server-context';
import type { BindOp, LdapResultFields } from '../types';
import { errorToResult } from './result';

export async function handleBind(server: ServerContext, conn: Connection, request: BindOp, signal: OperationSignal): Promise<number | undefined> {
  // RFC 4513 §5.1: a bind, whatever its outcome, first drops the current authentication.
  conn.identity = ANONYMOUS;
  const result = await bind(server, conn, request, signal);
  if (result.code !== ResultCode.success) {
    server.observer?.onBindFailure?.(resultCodeName(result.code));
    server.logger.info({ conn: conn.id, peer: conn.peer, dn: request.name, code: result.code }, 'ldap: bind failed');
  }
  if (signal.aborted) return undefined;
  conn.send(encodeResult('bind', request.messageId, result));
  return result.code;
}

async function bind(server: ServerContext, conn: Connection, request: BindOp, signal: OperationSignal): Promise<LdapResultFields> {
  const options = server.options;
  if (request.version !== 3 && !(request.version === 2 && options.allowV2Bind)) {
    return { code: ResultCode.protocolError, message: 'requested protocol version not supported' };
  }
  if (request.auth.kind === 'sasl') {
    return { code: ResultCode.authMethodNotSupported, message: `SASL mechanism ${request.auth.mechanism} not supported` };
  }
  const password = request.auth.password;
  if (request.name === '' || password === '') {
    if (password !== '') return { code: ResultCode.invalidCredentials, message: '' };
    if (request.name !== '') return { code: ResultCode.unwillingToPerform, message: 'unauthenticated bind (DN with no password) disallowed' };
    if (!options.allowAnonymous) return { code: ResultCode.inappropriateAuthentication, message: 'anonymous bind disallowed' };
    return { code: ResultCode.success };
  }
  if (options.requireTlsForBind && !conn.secure) {
    return { code: ResultCode.confidentialityRequired, message: 'TLS confidentiality required' };
  }
  try {
    const identity = await server.directory.bind(request.name, password, conn.context(signal));
    // An abandoned or disconnected bind must not leave the connection authenticated.
    if (signal.aborted) return { code: ResultCode.cancelled };
    conn.identity = identity;
    return { code: ResultCode.success };
  } catch (err) {
    return errorToResult(server, request, err);
  }
}
