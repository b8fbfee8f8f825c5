// Request controls: which ones we act on, which ones we tolerate, and the paged results codec.
//
// Controls arrive already split into {oid, critical, value} by codec.ts (not through @ldapjs/controls'
// getControl, which throws on nslcd's value-less ppolicy control). Only the paged results control
// and Relax Rules (relax.ts) change what we do, manageDsaIT is honoured trivially; ppolicy, deref and anything else are ignored
// when not critical and refused with unavailableCriticalExtension when critical (RFC 4511 §4.1.11).

import { asn1, controls as ldapjsControls, type BerWriter, type LdapjsControl } from '../ldapjs';
import type { LdapRequest, RequestControl } from '../types';

export const OID = {
  pagedResults: '1.2.840.113556.1.4.319',
  passwordPolicy: '1.3.6.1.4.1.42.2.27.8.5.1',
  deref: '1.3.6.1.4.1.4203.666.5.16',
  manageDsaIT: '2.16.840.1.113730.3.4.2',
  /** Relax Rules (OpenLDAP, `ldapmodify -e relax`): see relax.ts. */
  relaxRules: '1.3.6.1.4.1.4203.666.5.12',
} as const;

/**
 * Controls we implement, per operation. ManageDsaIT (RFC 3296) is honoured by doing nothing: the
 * directory holds no referral objects, so every operation already treats entries as plain entries
 * (`ldapmodify -MM` sends it critical).
 */
const SUPPORTED_BY_OP: Partial<Record<LdapRequest['op'], readonly string[]>> = {
  search: [OID.pagedResults, OID.manageDsaIT],
  compare: [OID.manageDsaIT],
  add: [OID.manageDsaIT, OID.relaxRules],
  modify: [OID.manageDsaIT, OID.relaxRules],
  delete: [OID.manageDsaIT, OID.relaxRules],
  modifyDN: [OID.manageDsaIT, OID.relaxRules],
};

/** Advertised as supportedControl in the root DSE. */
export const SUPPORTED_CONTROLS: readonly string[] = [OID.pagedResults, OID.manageDsaIT, OID.relaxRules];

/** The first critical control this operation cannot honour, if any. */
export function unsupportedCriticalControl(request: LdapRequest): RequestControl | undefined {
  const supported = SUPPORTED_BY_OP[request.op] ?? [];
  return request.controls.find((control) => control.critical && !supported.includes(control.oid));
}

export function findControl(request: LdapRequest, oid: string): RequestControl | undefined {
  return request.controls.find((control) => control.oid === oid);
}

/** A control value that does not decode; the message is ours (sent to the client), the cause is for the log. */
export class ControlValueError extends Error {}

/** RFC 2696 request value: SEQUENCE { size INTEGER, cookie OCTET STRING }. */
export function decodePagedRequest(control: RequestControl): { size: number; cookie: string } {
  if (control.value === undefined) throw new ControlValueError('paged results control without a value');
  let parsed: { size: number; cookie: Buffer };
  try {
    parsed = new ldapjsControls.PagedResultsControl({ criticality: control.critical, value: control.value }).value;
  } catch (err) {
    throw new ControlValueError('malformed paged results control value', { cause: err });
  }
  if (!Number.isInteger(parsed.size) || parsed.size < 0) throw new ControlValueError('paged results size out of range');
  // The cookie is one we handed out: a string from the directory, sent as its UTF-8 octets.
  const cookie = Buffer.isBuffer(parsed.cookie) ? parsed.cookie.toString('utf8') : String(parsed.cookie ?? '');
  return { size: parsed.size, cookie };
}

/**
 * A response control, encoded by us. @ldapjs/controls' Control.toBer always writes the criticality
 * BOOLEAN, FALSE included; DER omits a DEFAULT value, and libldap reads an explicit FALSE on a response
 * control as critical (ldapsearch prints "control: 1.2.840.113556.1.4.319 true"). The object passes
 * @ldapjs/messages' LdapControl check so the result classes can carry it.
 */
export class ResponseControl implements LdapjsControl {
  constructor(
    readonly type: string,
    readonly value: Buffer | undefined,
    readonly criticality = false,
  ) {}

  get [Symbol.toStringTag](): string {
    return 'LdapControl';
  }

  toBer(writer: BerWriter = new asn1.BerWriter()): BerWriter {
    writer.startSequence();
    writer.writeString(this.type);
    if (this.criticality) writer.writeBoolean(true);
    if (this.value !== undefined) writer.writeBuffer(this.value, 0x04);
    writer.endSequence();
    return writer;
  }
}

/** RFC 2696 response value: SEQUENCE { size INTEGER (0: unknown), cookie OCTET STRING }. */
export function encodePagedResponse(cookie: string | undefined): ResponseControl {
  const writer = new asn1.BerWriter({ size: 64 });
  writer.startSequence();
  writer.writeInt(0);
  writer.writeString(cookie ?? '');
  writer.endSequence();
  return new ResponseControl(OID.pagedResults, writer.buffer);
}
