// search: entries are pulled from the directory one at a time and written as they come. When the
// socket buffer is full we wait for 'drain' before pulling the next one, so a slow or vanished client
// costs one entry of memory, not the whole result. Entries go out in corked batches (fewer syscalls),
// and between batches the event loop turns, so an abandon or another client is not starved.

import { ResultCode } from '../../directory/errors';
import type { Entry, SearchRequest } from '../../directory/types';
import { encodeResult, encodeSearchEntry } from '../codec';
import type { Connection } from '../connection';
import { ControlValueError, OID, decodePagedRequest, encodePagedResponse, findControl } from '../controls';
import type { LdapjsControl } from '../ldapjs';
import type { ServerContext } from '../server-context';
import type { LdapResultFields, SearchOp } from '../types';
import { errorToResult } from './result';

/** Entries written per corked batch before the event loop gets a turn. */
const BATCH = 64;

export async function handleSearch(server: ServerContext, conn: Connection, request: SearchOp, signal: AbortSignal): Promise<number | undefined> {
  const pagedControl = findControl(request, OID.pagedResults);
  const searchRequest: SearchRequest = {
    base: request.base,
    scope: request.scope,
    filter: request.filter,
    attributes: request.attributes,
    typesOnly: request.typesOnly,
    sizeLimit: request.sizeLimit,
    timeLimit: request.timeLimit,
  };
  if (pagedControl) {
    try {
      searchRequest.paged = decodePagedRequest(pagedControl);
    } catch (err) {
      if (!(err instanceof ControlValueError)) throw err;
      return finish(conn, request, { code: ResultCode.protocolError, message: err.message }, signal);
    }
  }

  if (request.base === '' && request.scope === 'base') {
    const entry = server.rootDse.read(request.filter, request.attributes);
    if (entry) conn.send(encodeSearchEntry(request.messageId, entry, request.typesOnly));
    return finish(conn, request, { code: ResultCode.success }, signal);
  }

  let iterator: Iterator<Entry> | undefined;
  let result: LdapResultFields;
  let pagedCookie: string | undefined;
  try {
    const outcome = server.directory.search(searchRequest, conn.context(signal));
    iterator = outcome.entries[Symbol.iterator]();
    const completed = await stream(conn, request, iterator, signal);
    if (!completed) {
      // Abandoned or disconnected: let the directory release what it holds, answer nothing.
      iterator.return?.();
      return undefined;
    }
    const done = outcome.done();
    result = { code: done.code, message: done.message };
    pagedCookie = done.pagedCookie;
  } catch (err) {
    try {
      iterator?.return?.();
    } catch {
      // the directory's cleanup failing does not change the answer
    }
    result = errorToResult(server, request, err);
  }
  const controls = pagedControl ? [encodePagedResponse(pagedCookie)] : undefined;
  return finish(conn, request, result, signal, controls);
}

/** Writes every entry; false when the operation was abandoned or the client went away. */
async function stream(conn: Connection, request: SearchOp, iterator: Iterator<Entry>, signal: AbortSignal): Promise<boolean> {
  for (;;) {
    conn.cork();
    let full = false;
    try {
      for (let i = 0; i < BATCH; i++) {
        if (signal.aborted || conn.isClosed) return false;
        const next = iterator.next();
        if (next.done) return true;
        full = !conn.send(encodeSearchEntry(request.messageId, next.value, request.typesOnly));
        if (full) break;
      }
    } finally {
      conn.uncork();
    }
    if (full) await conn.waitDrain(signal);
    else await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

function finish(conn: Connection, request: SearchOp, result: LdapResultFields, signal: AbortSignal, controls?: LdapjsControl[]): number | undefined {
  if (signal.aborted) return undefined;
  conn.send(encodeResult('searchDone', request.messageId, result, controls));
  return result.code;
}
