// Routes one decoded request to its handler, after the control check every operation shares, and
// reports the outcome to the observer. Abandon and unbind never get here (connection.ts: no response).

import { ResultCode } from '../directory/errors';
import { encodeExtendedResponse, encodeResult, type ResultKind } from './codec';
import type { Connection } from './connection';
import { unsupportedCriticalControl } from './controls';
import { handleBind } from './ops/bind';
import { handleCompare } from './ops/compare';
import { handleExtended } from './ops/extended';
import { handleSearch } from './ops/search';
import { handleUpdate } from './ops/update';
import type { ServerContext } from './server-context';
import type { LdapRequest } from './types';

const RESPONSE_KIND: Partial<Record<LdapRequest['op'], ResultKind>> = {
  bind: 'bind',
  search: 'searchDone',
  modify: 'modify',
  add: 'add',
  delete: 'delete',
  modifyDN: 'modifyDN',
  compare: 'compare',
};

export async function dispatch(server: ServerContext, conn: Connection, request: LdapRequest, signal: AbortSignal): Promise<void> {
  const started = process.hrtime.bigint();
  const code = await run(server, conn, request, signal);
  if (code === undefined) return;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const name = request.op === 'extended' ? `extended:${request.oid}` : request.op;
  server.observer?.onOperation?.(name, code, seconds);
}

/** Runs the operation; the result code sent, or undefined when no response was sent. */
async function run(server: ServerContext, conn: Connection, request: LdapRequest, signal: AbortSignal): Promise<number | undefined> {
  const refused = unsupportedCriticalControl(request);
  if (refused) {
    const result = { code: ResultCode.unavailableCriticalExtension, message: `critical extension ${refused.oid} is unavailable` };
    if (request.op === 'extended') conn.send(encodeExtendedResponse(request.messageId, result));
    else {
      const kind = RESPONSE_KIND[request.op];
      if (kind === undefined) return undefined;
      conn.send(encodeResult(kind, request.messageId, result));
    }
    return result.code;
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
