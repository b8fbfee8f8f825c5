// search: entries are pulled from the directory one at a time and written as they come. When the
// socket buffer is full we wait for 'drain' before pulling the next one, so a slow or vanished client
// costs one entry of memory, not the whole result. Entries go out in corked batches (fewer syscalls),
// and between batches the event loop turns, so an abandon or another client is not starved.

import { ResultCode } from '../../directory/errors';
import { SCAN_PAUSE, type Entry, type ScanPause, type SearchRequest } from '../../directory/types';
import { encodeResult, encodeSearchEntry } from '../codec';
import type { Connection, OperationSignal } from '../connection';
import { ControlValueError, OID, decodePagedRequest, encodePagedResponse, findControl } from '../controls';
import type { LdapjsControl } from '../ldapjs';
import type { ServerContext } from '../server-context';
import type { LdapResultFields, SearchOp } from '../types';
import { errorToResult } from './result';
import { performance } from 'node:perf_hooks';

/** Entries written per corked batch before the event loop gets a turn. */
const BATCH = 64;
/** Milliseconds an indexed search may scan non-matching candidates before it lets the loop turn. */
const UNSCHEDULED_SLICE_MS = 5;

export async function handleSearch(server: ServerContext, conn: Connection, request: SearchOp, signal: OperationSignal): Promise<number | undefined> {
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
      server.logger.debug({ conn: conn.id, messageId: request.messageId, err: err.cause instanceof Error ? err.cause.message : err.cause }, 'ldap: bad paged results control');
      return finish(conn, request, { code: ResultCode.protocolError, message: err.message }, signal);
    }
  }

  if (request.base === '' && request.scope === 'base') {
    const entry = server.rootDse.read(request.filter, request.attributes);
    conn.cork();
    if (entry) conn.send(encodeSearchEntry(request.messageId, entry, request.typesOnly));
    const code = finish(conn, request, { code: ResultCode.success }, signal, pagedControl ? [encodePagedResponse('')] : undefined);
    conn.uncork();
    return code;
  }

  let iterator: Iterator<Entry | ScanPause> | undefined;
  let release: (() => void) | undefined;
  let result: LdapResultFields;
  let pagedCookie: string | undefined;
  // A completed stream leaves its last batch corked, so that SearchResultDone goes out in the same
  // write as the entries: one syscall for the usual one-entry lookup.
  let corked = false;
  try {
    const outcome = server.directory.search(searchRequest, conn.context(signal));
    iterator = outcome.entries[Symbol.iterator]();
    let scans: ServerContext['scans'] | undefined;
    if (outcome.unindexed) {
      // Few at a time per identity, and never ahead of the clients already waiting for the loop.
      scans = server.scans;
      const key = conn.identity.dnNorm === '' ? `anonymous@${conn.peer}` : conn.identity.dnNorm;
      release = await scans.admit(key, signal);
      if (release === undefined) {
        iterator.return?.();
        return undefined;
      }
      await scans.turn();
    }
    const completed = await stream(conn, request, iterator, signal, scans);
    corked = completed;
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
  } finally {
    release?.();
  }
  const controls = pagedControl ? [encodePagedResponse(pagedCookie)] : undefined;
  const code = finish(conn, request, result, signal, controls);
  if (corked) conn.uncork();
  return code;
}

/**
 * Writes every entry; false when the operation was abandoned or the client went away. On true the
 * socket is still corked: the caller uncorks after writing SearchResultDone.
 */
async function stream(conn: Connection, request: SearchOp, iterator: Iterator<Entry | ScanPause>, signal: OperationSignal, scans?: ServerContext['scans']): Promise<boolean> {
  let sliceStarted = performance.now();
  for (;;) {
    conn.cork();
    let full = false;
    let leaveCorked = false;
    try {
      for (let i = 0; i < BATCH; ) {
        if (signal.aborted || conn.isClosed) return false;
        const next = iterator.next();
        if (next.done) {
          leaveCorked = true;
          return true;
        }
        if (next.value === SCAN_PAUSE) {
          // An unindexed scan gives the loop back once its slice is used up; any other search only when it
          // has scanned for as long without finding anything.
          if (scans ? scans.spent(sliceStarted) : performance.now() - sliceStarted >= UNSCHEDULED_SLICE_MS) {
            break;
          }
          continue;
        }
        i++;
        full = !conn.send(encodeSearchEntry(request.messageId, next.value, request.typesOnly));
        if (full) break;
      }
    } finally {
      if (!leaveCorked) conn.uncork();
    }
    if (full) await conn.waitDrain(signal);
    else if (scans) await scans.turn();
    else await new Promise<void>((resolve) => setImmediate(resolve));
    sliceStarted = performance.now();
  }
}

function finish(conn: Connection, request: SearchOp, result: LdapResultFields, signal: OperationSignal, controls?: LdapjsControl[]): number | undefined {
  if (signal.aborted) return undefined;
  conn.send(encodeResult('searchDone', request.messageId, result, controls));
  return result.code;
}
