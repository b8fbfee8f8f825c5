// compare: compareTrue / compareFalse from the directory, or its error.

import { ResultCode } from '../../directory/errors';
import { encodeResult } from '../codec';
import type { Connection, OperationSignal } from '../connection';
import type { ServerContext } from '../server-context';
import type { CompareOp, LdapResultFields } from '../types';
import { errorToResult } from './result';

export async function handleCompare(server: ServerContext, conn: Connection, request: CompareOp, signal: OperationSignal): Promise<number | undefined> {
  let result: LdapResultFields;
  try {
    const equal = server.directory.compare(request.dn, request.attribute, request.value, conn.context(signal));
    result = { code: equal ? ResultCode.compareTrue : ResultCode.compareFalse };
  } catch (err) {
    result = errorToResult(server, request, err);
  }
  if (signal.aborted) return undefined;
  conn.send(encodeResult('compare', request.messageId, result));
  return result.code;
}
