// Extended operations: WhoAmI (RFC 4532), StartTLS (RFC 4511 §4.14, RFC 4513 §3), Password Modify
// (RFC 3062). Anything else gets protocolError "unsupported extended operation", as from slapd.

import { ResultCode } from '../../directory/errors';
import { BerCursor } from '../ber-cursor';
import { encodeExtendedResponse } from '../codec';
import { START_TLS_OID, type Connection, type OperationSignal } from '../connection';
import { asn1 } from '../ldapjs';
import type { ServerContext } from '../server-context';
import type { ExtendedOp, LdapResultFields } from '../types';
import { errorToResult } from './result';

export const WHO_AM_I_OID = '1.3.6.1.4.1.4203.1.11.3';
export const PASSWORD_MODIFY_OID = '1.3.6.1.4.1.4203.1.11.1';
export { START_TLS_OID };

/** The extensions this server answers, for the root DSE's supportedExtension. */
export function supportedExtensions(server: { tlsConfigured: boolean; passwordModify: boolean }): string[] {
  const oids = [WHO_AM_I_OID];
  if (server.tlsConfigured) oids.push(START_TLS_OID);
  if (server.passwordModify) oids.push(PASSWORD_MODIFY_OID);
  return oids;
}

export async function handleExtended(server: ServerContext, conn: Connection, request: ExtendedOp, signal: OperationSignal): Promise<number | undefined> {
  switch (request.oid) {
    case WHO_AM_I_OID: {
      const authzId = conn.identity.dn === '' ? '' : `dn:${conn.identity.dn}`;
      return reply(conn, request, { code: ResultCode.success }, undefined, Buffer.from(authzId, 'utf8'));
    }
    case START_TLS_OID:
      return startTls(server, conn, request);
    case PASSWORD_MODIFY_OID:
      if (server.directory.passwordModify) return passwordModify(server, conn, request, signal);
      break;
  }
  return reply(conn, request, { code: ResultCode.protocolError, message: 'unsupported extended operation' });
}

function reply(conn: Connection, request: ExtendedOp, result: LdapResultFields, name?: string, value?: Buffer): number {
  conn.send(encodeExtendedResponse(request.messageId, result, name, value));
  return result.code;
}

function startTls(server: ServerContext, conn: Connection, request: ExtendedOp): number {
  const context = server.secureContext();
  if (context === undefined) {
    // slapd without TLS configured does not know the operation at all.
    return reply(conn, request, { code: ResultCode.protocolError, message: 'unsupported extended operation' });
  }
  if (conn.secure) {
    return reply(conn, request, { code: ResultCode.operationsError, message: 'TLS already started' }, START_TLS_OID);
  }
  if (conn.othersOutstanding(request.messageId) > 0) {
    return reply(conn, request, { code: ResultCode.operationsError, message: 'cannot start TLS after outstanding operations' }, START_TLS_OID);
  }
  const code = reply(conn, request, { code: ResultCode.success }, START_TLS_OID);
  conn.upgradeToTls(context);
  return code;
}

/** PasswdModifyRequestValue ::= SEQUENCE { userIdentity [0] OPTIONAL, oldPasswd [1] OPTIONAL, newPasswd [2] OPTIONAL } */
export function decodePasswordModify(value: Buffer | undefined): { userIdentity?: string; oldPassword?: string; newPassword?: string } {
  const fields: { userIdentity?: string; oldPassword?: string; newPassword?: string } = {};
  if (value === undefined || value.length === 0) return fields;
  const cursor = new BerCursor(value);
  const end = cursor.enter(0x30);
  if (cursor.offset < end && cursor.peek() === 0x80) fields.userIdentity = cursor.string(0x80);
  if (cursor.offset < end && cursor.peek() === 0x81) fields.oldPassword = cursor.string(0x81);
  if (cursor.offset < end && cursor.peek() === 0x82) fields.newPassword = cursor.string(0x82);
  cursor.expectAt(end);
  if (end !== value.length) throw new Error('bytes after the password modify request value');
  return fields;
}

/** PasswdModifyResponseValue ::= SEQUENCE { genPasswd [0] OCTET STRING OPTIONAL } */
export function encodePasswordModifyResponse(generated: string): Buffer {
  const writer = new asn1.BerWriter({ size: 64 });
  writer.startSequence();
  writer.writeString(generated, 0x80);
  writer.endSequence();
  return writer.buffer;
}

async function passwordModify(server: ServerContext, conn: Connection, request: ExtendedOp, signal: OperationSignal): Promise<number | undefined> {
  let fields: ReturnType<typeof decodePasswordModify>;
  try {
    fields = decodePasswordModify(request.value);
  } catch {
    return reply(conn, request, { code: ResultCode.protocolError, message: 'malformed password modify request' });
  }
  const modify = server.directory.passwordModify;
  if (!modify) return reply(conn, request, { code: ResultCode.protocolError, message: 'unsupported extended operation' });
  let result: LdapResultFields;
  let generated: string | undefined;
  try {
    generated = await modify.call(server.directory, fields.userIdentity, fields.oldPassword, fields.newPassword, conn.context(signal));
    result = { code: ResultCode.success };
  } catch (err) {
    result = errorToResult(server, request, err);
  }
  if (signal.aborted) return undefined;
  const value = result.code === ResultCode.success && generated !== undefined ? encodePasswordModifyResponse(generated) : undefined;
  return reply(conn, request, result, undefined, value);
}
