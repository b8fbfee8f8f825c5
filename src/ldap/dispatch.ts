// Routes one decoded request to its handler, after the control check every operation shares, and
// reports the outcome to the observer. Abandon and unbind never get here (connection.ts: no response).

import { ResultCode } from '../directory/errors';
import { encodeExtendedResponse, encodeResult, type ResultKind } from './codec';
import type { Connection, OperationSignal } from './connection';
import { unsupportedCriticalControl } from './controls';
import { handleBind } from './ops/bind';
import { handleCompare } from './ops/compare';
import { PASSWORD_MODIFY_OID, START_TLS_OID, WHO_AM_I_OID, handleExtended } from './ops/extended';
import { handleSearch } from './ops/search';
import { handleUpdate } from './ops/update';
import type { ServerContext } from './server-context';
import type { LdapRequest, LdapResultFields } from './types';

/**
 * Built on first use: ops/extended and connection import each other through this module, and depending on
 * which of them a program loads first the OID constants may not be initialized yet when this file runs.
 */
let knownExtensions: Set<string> | undefined;

const RESPONSE_KIND: Partial<Record<LdapRequest['op'], ResultKind>> = {
  bind: 'bind',
  search: 'searchDone',
  modify: 'modify',
  add: 'add',
  delete: 'delete',
  modifyDN: 'modifyDN',
  compare: 'compare',
};

export async function dispatch(server: ServerContext, conn: Connection, request: LdapRequest, signal: OperationSignal): Promise<void> {
  const started = process.hrtime.bigint();
  let code: number | undefined;
  try {
    code = await run(server, conn, request, signal);
  } catch (err) {
    // A bug of ours (an encoder fed a bad value, say): the client still gets an answer instead of waiting forever.
    server.logger.error({ conn: conn.id, op: request.op, messageId: request.messageId, err }, 'ldap: operation failed with an unexpected error');
    code = signal.aborted ? undefined : sendResult(conn, request, { code: ResultCode.other, message: 'internal server error' });
  }
  if (code === undefined) return;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  // Only OIDs we know become label values: a client inventing OIDs must not grow the metric series.
  const name = request.op === 'extended' ? `extended:${(knownExtensions ??= new Set([WHO_AM_I_OID, START_TLS_OID, PASSWORD_MODIFY_OID])).has(request.oid) ? request.oid : 'other'}` : request.op;
  const r = request as { dn?: string; base?: string; scope?: unknown };
  // For the access log (server.ts decides whether to write it); never request values, so never a password.
  server.observer?.onOperation?.(name, code, seconds, { conn: conn.id, peer: conn.peer, msgid: request.messageId, dn: r.dn ?? r.base, scope: r.scope });
}

/** Runs the operation; the result code sent, or undefined when no response was sent. */
async function run(server: ServerContext, conn: Connection, request: LdapRequest, signal: OperationSignal): Promise<number | undefined> {
  const refused = unsupportedCriticalControl(request);
  if (refused) {
    return sendResult(conn, request, { code: ResultCode.unavailableCriticalExtension, message: `critical extension ${refused.oid} is unavailable` });
  }
  switch (request.op) {
    case 'bind':
      return handleBind(server, conn, request, signal);
    case 'search':
      return handleSearch(server, conn, request, signal);
    case 'compare':
      return handleCompare(server, conn, request, signal);
    case 'add':
    case 'modify':
    case 'delete':
    case 'modifyDN':
      return handleUpdate(server, conn, request, signal);
    case 'extended':
      return handleExtended(server, conn, request, signal);
    default:
      return undefined;
  }
}

/** Answers `request` with a bare result of its response type; undefined for requests without a response. */
function sendResult(conn: Connection, request: LdapRequest, result: LdapResultFields): number | undefined {
  if (request.op === 'extended') {
    conn.send(encodeExtendedResponse(request.messageId, result));
    return result.code;
  }
  const kind = RESPONSE_KIND[request.op];
  if (kind === undefined) return undefined;
  conn.send(encodeResult(kind, request.messageId, result));
  return result.code;
}
