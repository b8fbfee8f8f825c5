// add, modify, delete, modifyDN: each maps to one Directory method and answers with its result.

import { ResultCode } from '../../directory/errors';
import { encodeResult, type ResultKind } from '../codec';
import type { Connection, OperationSignal } from '../connection';
import type { ServerContext } from '../server-context';
import type { AddOp, DeleteOp, LdapResultFields, ModifyDnOp, ModifyOp } from '../types';
import { ControlValueError } from '../controls';
import { relaxRequested } from '../controls/relax';
import { errorToResult } from './result';

export type UpdateOp = AddOp | ModifyOp | DeleteOp | ModifyDnOp;

const RESPONSE_KIND: Record<UpdateOp['op'], ResultKind> = { add: 'add', modify: 'modify', delete: 'delete', modifyDN: 'modifyDN' };

export async function handleUpdate(server: ServerContext, conn: Connection, request: UpdateOp, signal: OperationSignal): Promise<number | undefined> {
  const directory = server.directory;
  let result: LdapResultFields;
  try {
    const ctx = conn.context(signal);
    if (relaxRequested(request)) ctx.relax = true;
    switch (request.op) {
      case 'add':
        await directory.add(request.dn, request.attributes, ctx);
        break;
      case 'modify':
        await directory.modify(request.dn, request.changes, ctx);
        break;
      case 'delete':
        await directory.delete(request.dn, ctx);
        break;
      case 'modifyDN':
        await directory.modifyDN(request.dn, request.newRdn, request.deleteOldRdn, request.newSuperior, ctx);
        break;
    }
    result = { code: ResultCode.success };
  } catch (err) {
    result = err instanceof ControlValueError ? { code: ResultCode.protocolError, message: err.message } : errorToResult(server, request, err);
  }
  // An abandoned write may still have happened; RFC 4511 §4.11 says no response either way.
  if (signal.aborted) return undefined;
  conn.send(encodeResult(RESPONSE_KIND[request.op], request.messageId, result));
  return result.code;
}
