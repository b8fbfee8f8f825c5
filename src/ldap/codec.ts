// LDAPMessage decoding (one PDU → LdapRequest) and response encoding.
//
// @ldapjs/messages does the work where it is right: CompareRequest, DeleteRequest, ModifyDnRequest and
// AbandonRequest bodies are read with their parseToPojo, and every LDAPResult-shaped response is
// encoded with its response class. Where it is wrong we do the case ourselves, each with a test in
// test/unit/ldap-codec.test.ts:
// - the envelope and controls: parseToMessage builds controls with @ldapjs/controls' getControl, whose
//   PasswordPolicyControl throws on a control without a value — the one nslcd sends with every bind;
// - BindRequest: parseToPojo throws on SASL credentials; the answer must be authMethodNotSupported;
// - AddRequest: parseToPojo lowercases attribute names;
// - ModifyRequest: Change.fromBer throws on increment (RFC 4525);
// - SearchRequest: the filter loses its escapes (see filter-ber.ts);
// - SearchResultEntry: its constructor re-parses and re-formats the DN of every entry (", " becomes ","
//   and a DN it cannot parse throws), which is both wrong and slow on the hottest path;
// - ExtendedResponse: ExtensionResponse writes responseValue as a UTF-8 string only; Password Modify's
//   response value is BER.

import type { Entry, Filter, Modification, ModificationOp, Scope } from '../directory/types';
import { BerCursor, RequestSyntaxError } from './ber-cursor';
import { decodeFilter } from './filter-ber';
import { asn1, messages, type LdapjsControl, type LdapjsMessage } from './ldapjs';
import type { LdapRequest, LdapResultFields, RequestControl } from './types';

/**
 * Raised for any PDU that is not a well-formed LDAP request; the connection answers protocolError and closes.
 * `message` is ours and goes to the client; `internal` is what a library threw, for the log only.
 */
export class DecodeError extends Error {
  constructor(
    message: string,
    readonly messageId?: number,
    readonly internal?: string,
  ) {
    super(message);
    this.name = 'DecodeError';
  }
}

// protocolOp tags (RFC 4511 §4.2 … §4.12)
const TAG = {
  bindRequest: 0x60,
  unbindRequest: 0x42,
  searchRequest: 0x63,
  modifyRequest: 0x66,
  addRequest: 0x68,
  delRequest: 0x4a,
  modDNRequest: 0x6c,
  compareRequest: 0x6e,
  abandonRequest: 0x50,
  extendedRequest: 0x77,
  searchResultEntry: 0x64,
  extendedResponse: 0x78,
} as const;

const SCOPES: Scope[] = ['base', 'one', 'sub'];
const MOD_OPS: ModificationOp[] = ['add', 'delete', 'replace', 'increment'];
const MAX_MESSAGE_ID = 2147483647;

export function decodeRequest(pdu: Buffer): LdapRequest {
  const cursor = new BerCursor(pdu);
  let messageId: number | undefined;
  try {
    const end = cursor.enter(0x30);
    messageId = cursor.integer();
    if (messageId < 0 || messageId > MAX_MESSAGE_ID) throw new RequestSyntaxError(`messageID ${messageId} out of range`);
    const request = decodeProtocolOp(cursor, messageId);
    if (cursor.offset < end && cursor.peek() === 0xa0) request.controls = decodeControls(cursor);
    cursor.expectAt(end);
    if (end !== pdu.length) throw new RequestSyntaxError('bytes after the LDAPMessage');
    return request;
  } catch (err) {
    if (err instanceof DecodeError) throw err;
    if (err instanceof RequestSyntaxError) throw new DecodeError(err.message, messageId, causeText(err.cause));
    // @ldapjs/messages' parseToPojo (delete, modifyDN, compare, abandon) throws its own texts and TypeErrors.
    throw new DecodeError(`malformed ${opName(pdu)} request`, messageId, err instanceof Error ? err.message : String(err));
  }
}

function causeText(cause: unknown): string | undefined {
  return cause === undefined ? undefined : cause instanceof Error ? cause.message : String(cause);
}

const OP_NAMES: Record<number, string> = {
  [TAG.bindRequest]: 'bind',
  [TAG.unbindRequest]: 'unbind',
  [TAG.searchRequest]: 'search',
  [TAG.modifyRequest]: 'modify',
  [TAG.addRequest]: 'add',
  [TAG.delRequest]: 'delete',
  [TAG.modDNRequest]: 'modify DN',
  [TAG.compareRequest]: 'compare',
  [TAG.abandonRequest]: 'abandon',
  [TAG.extendedRequest]: 'extended',
};

/** The operation a PDU names (for a fixed error text), read from the tag after the messageID. */
function opName(pdu: Buffer): string {
  let at = pdu[1] & 0x80 ? 2 + (pdu[1] & 0x7f) : 2;
  if (pdu[at] === 0x02 && at + 1 < pdu.length) at += 2 + pdu[at + 1];
  return OP_NAMES[pdu[at]] ?? 'LDAP';
}

function decodeProtocolOp(cursor: BerCursor, messageId: number): LdapRequest {
  const tag = cursor.peek();
  const controls: RequestControl[] = [];
  switch (tag) {
    case TAG.bindRequest: {
      const end = cursor.enter(tag);
      const version = cursor.integer();
      const name = cursor.string();
      const authTag = cursor.peek();
      let request: LdapRequest;
      if (authTag === 0x80) {
        request = { op: 'bind', messageId, controls, version, name, auth: { kind: 'simple', password: cursor.string(0x80) } };
      } else if (authTag === 0xa3) {
        const saslEnd = cursor.enter(0xa3);
        const mechanism = cursor.string();
        if (cursor.offset < saslEnd) cursor.bytes();
        cursor.expectAt(saslEnd);
        request = { op: 'bind', messageId, controls, version, name, auth: { kind: 'sasl', mechanism } };
      } else {
        throw new RequestSyntaxError(`unknown bind authentication choice 0x${(authTag ?? 0).toString(16)}`);
      }
      cursor.expectAt(end);
      return request;
    }
    case TAG.unbindRequest: {
      cursor.skip();
      return { op: 'unbind', messageId, controls };
    }
    case TAG.searchRequest: {
      const end = cursor.enter(tag);
      const base = cursor.string();
      const scopeNumber = cursor.enumeration();
      const scope = SCOPES[scopeNumber];
      if (scope === undefined) throw new RequestSyntaxError(`unknown search scope ${scopeNumber}`);
      const derefAliases = cursor.enumeration();
      const sizeLimit = cursor.integer();
      const timeLimit = cursor.integer();
      const typesOnly = cursor.boolean();
      const filter: Filter = decodeFilter(cursor);
      const attributesEnd = cursor.enter(0x30);
      const attributes: string[] = [];
      while (cursor.offset < attributesEnd) attributes.push(cursor.string());
      cursor.expectAt(attributesEnd);
      cursor.expectAt(end);
      if (sizeLimit < 0 || timeLimit < 0) throw new RequestSyntaxError('negative search limit');
      return { op: 'search', messageId, controls, base, scope, derefAliases, sizeLimit, timeLimit, typesOnly, filter, attributes };
    }
    case TAG.modifyRequest: {
      const end = cursor.enter(tag);
      const dn = cursor.string();
      const changesEnd = cursor.enter(0x30);
      const changes: Modification[] = [];
      while (cursor.offset < changesEnd) {
        const changeEnd = cursor.enter(0x30);
        const opNumber = cursor.enumeration();
        const operation = MOD_OPS[opNumber];
        if (operation === undefined) throw new RequestSyntaxError(`unknown modify operation ${opNumber}`);
        const { type, values } = decodePartialAttribute(cursor);
        cursor.expectAt(changeEnd);
        changes.push({ operation, attribute: type, values });
      }
      cursor.expectAt(changesEnd);
      cursor.expectAt(end);
      return { op: 'modify', messageId, controls, dn, changes };
    }
    case TAG.addRequest: {
      const end = cursor.enter(tag);
      const dn = cursor.string();
      const listEnd = cursor.enter(0x30);
      const attributes: Record<string, string[]> = Object.create(null);
      while (cursor.offset < listEnd) {
        const { type, values } = decodePartialAttribute(cursor);
        // A type repeated in one request (legal BER, odd LDAP) merges its values.
        const existing = attributes[type];
        if (existing) existing.push(...values);
        else attributes[type] = values;
      }
      cursor.expectAt(listEnd);
      cursor.expectAt(end);
      return { op: 'add', messageId, controls, dn, attributes };
    }
    case TAG.delRequest: {
      const { entry } = messages.DeleteRequest.parseToPojo(cursor.reader);
      return { op: 'delete', messageId, controls, dn: entry };
    }
    case TAG.modDNRequest: {
      const end = rewindAfterMeasuring(cursor, tag);
      const pojo = messages.ModifyDnRequest.parseToPojo(cursor.reader);
      cursor.expectAt(end);
      const request: LdapRequest = { op: 'modifyDN', messageId, controls, dn: pojo.entry, newRdn: pojo.newRdn, deleteOldRdn: pojo.deleteOldRdn };
      if (pojo.newSuperior !== undefined) request.newSuperior = pojo.newSuperior;
      return request;
    }
    case TAG.compareRequest: {
      const end = rewindAfterMeasuring(cursor, tag);
      const pojo = messages.CompareRequest.parseToPojo(cursor.reader);
      cursor.expectAt(end);
      if (typeof pojo.value !== 'string') throw new RequestSyntaxError('truncated compare request');
      return { op: 'compare', messageId, controls, dn: pojo.entry, attribute: pojo.attribute, value: pojo.value };
    }
    case TAG.abandonRequest: {
      const { abandonId } = messages.AbandonRequest.parseToPojo(cursor.reader);
      if (!Number.isFinite(abandonId)) throw new RequestSyntaxError('bad abandon request');
      return { op: 'abandon', messageId, controls, abandonId };
    }
    case TAG.extendedRequest: {
      const end = cursor.enter(tag);
      const oid = cursor.string(0x80);
      const request: LdapRequest = { op: 'extended', messageId, controls, oid };
      if (cursor.offset < end && cursor.peek() === 0x81) request.value = cursor.bytes(0x81);
      cursor.expectAt(end);
      return request;
    }
    default:
      throw new RequestSyntaxError(`not an LDAP request: protocolOp tag 0x${(tag ?? 0).toString(16)}`);
  }
}

/**
 * The parseToPojo methods read the element header themselves: measure where the element ends (to
 * check afterwards that it was consumed exactly), then step back to its tag.
 */
function rewindAfterMeasuring(cursor: BerCursor, tag: number): number {
  const start = cursor.offset;
  const end = cursor.enter(tag);
  cursor.reader.setOffset(start);
  return end;
}

function decodePartialAttribute(cursor: BerCursor): { type: string; values: string[] } {
  const end = cursor.enter(0x30);
  const type = cursor.string();
  const values: string[] = [];
  const setEnd = cursor.enter(0x31);
  while (cursor.offset < setEnd) values.push(cursor.string());
  cursor.expectAt(setEnd);
  cursor.expectAt(end);
  return { type, values };
}

function decodeControls(cursor: BerCursor): RequestControl[] {
  const end = cursor.enter(0xa0);
  const result: RequestControl[] = [];
  while (cursor.offset < end) {
    const controlEnd = cursor.enter(0x30);
    const oid = cursor.string();
    let critical = false;
    if (cursor.offset < controlEnd && cursor.peek() === 0x01) critical = cursor.boolean();
    const control: RequestControl = { oid, critical };
    if (cursor.offset < controlEnd && cursor.peek() === 0x04) control.value = cursor.bytes();
    cursor.expectAt(controlEnd);
    result.push(control);
  }
  cursor.expectAt(end);
  return result;
}

// ---- responses ----------------------------------------------------------------------------------------

export type ResultKind = 'bind' | 'searchDone' | 'modify' | 'add' | 'delete' | 'modifyDN' | 'compare';

const RESULT_CLASSES = {
  bind: messages.BindResponse,
  searchDone: messages.SearchResultDone,
  modify: messages.ModifyResponse,
  add: messages.AddResponse,
  delete: messages.DeleteResponse,
  modifyDN: messages.ModifyDnResponse,
  compare: messages.CompareResponse,
} as const;

/** protocolOp tags of the LDAPResult-shaped responses (RFC 4511 §4.2 … §4.10). */
const RESULT_TAGS: Record<ResultKind, number> = {
  bind: 0x61,
  searchDone: 0x65,
  modify: 0x67,
  add: 0x69,
  delete: 0x6b,
  modifyDN: 0x6d,
  compare: 0x6f,
};

export function encodeResult(kind: ResultKind, messageId: number, result: LdapResultFields, controls?: LdapjsControl[]): Buffer {
  if (controls === undefined || controls.length === 0) return encodeBareResult(RESULT_TAGS[kind], messageId, result);
  const message: LdapjsMessage = new RESULT_CLASSES[kind]({
    messageId,
    status: result.code,
    matchedDN: result.matchedDN ?? '',
    diagnosticMessage: result.message ?? '',
    controls: controls ?? [],
  });
  return message.toBer().buffer;
}

/**
 * An LDAPResult without controls or referrals — every bind answer and SearchResultDone — written directly:
 * the same bytes as the @ldapjs/messages classes (test/unit/ldap-codec.test.ts), without building a
 * message object and a growing BerWriter per operation.
 */
function encodeBareResult(tag: number, messageId: number, result: LdapResultFields): Buffer {
  const matchedDN = result.matchedDN ?? '';
  const message = result.message ?? '';
  const code = result.code;
  if (!Number.isInteger(code) || code < 0 || code > 0x7fffffff) throw new TypeError(`result code ${code} is not an enumeration value`);
  const matchedLength = utf8Length(matchedDN);
  const messageLength = utf8Length(message);
  const codeOctets = integerOctets(code);
  const opContent = 2 + codeOctets + 1 + lengthOctets(matchedLength) + matchedLength + 1 + lengthOctets(messageLength) + messageLength;
  const idOctets = integerOctets(messageId);
  const messageContent = 2 + idOctets + 1 + lengthOctets(opContent) + opContent;
  const out = Buffer.allocUnsafe(1 + lengthOctets(messageContent) + messageContent);
  let at = writeHeader(out, 0, 0x30, messageContent);
  at = writeInteger(out, at, 0x02, messageId, idOctets);
  at = writeHeader(out, at, tag, opContent);
  at = writeInteger(out, at, 0x0a, code, codeOctets);
  at = writeOctetString(out, at, matchedDN, matchedLength);
  at = writeOctetString(out, at, message, messageLength);
  if (at !== out.length) throw new Error(`result encoding wrote ${at} of ${out.length} bytes`);
  return out;
}

function writeInteger(out: Buffer, at: number, tag: number, value: number, octets: number): number {
  out[at++] = tag;
  out[at++] = octets;
  for (let shift = (octets - 1) * 8; shift >= 0; shift -= 8) out[at++] = (value >>> shift) & 0xff;
  return at;
}

/**
 * SearchResultEntry, encoded in two passes (sizes, then bytes into one exact allocation), on the path
 * every returned entry goes through. Measured here on a 20-attribute entry, @ldapjs/asn1's BerWriter
 * (zero-filled growth, a memmove per endSequence, native UTF-8 calls for every short string) is 2-3
 * times slower. The bytes are identical to BerWriter's (test/unit/ldap-codec.test.ts), and lengths
 * over 16 MB, where BerWriter throws, work.
 */
export function encodeSearchEntry(messageId: number, entry: Entry, typesOnly: boolean): Buffer {
  const attributes = Object.entries(entry.attributes);
  const dnLength = utf8Length(entry.dn);
  // UTF-8 lengths of every string in write order (type, values…, type, values…), and per attribute
  // the content lengths of its value set and of the attribute SEQUENCE.
  const lengths: number[] = [];
  const setContents: number[] = [];
  const attributeContents: number[] = [];
  let listContent = 0;
  for (let a = 0; a < attributes.length; a++) {
    const typeLength = utf8Length(attributes[a][0]);
    lengths.push(typeLength);
    let setContent = 0;
    if (!typesOnly) {
      const values = attributes[a][1];
      for (let v = 0; v < values.length; v++) {
        const valueLength = utf8Length(values[v]);
        lengths.push(valueLength);
        setContent += 1 + lengthOctets(valueLength) + valueLength;
      }
    }
    const attributeContent = 1 + lengthOctets(typeLength) + typeLength + 1 + lengthOctets(setContent) + setContent;
    setContents.push(setContent);
    attributeContents.push(attributeContent);
    listContent += 1 + lengthOctets(attributeContent) + attributeContent;
  }
  const opContent = 1 + lengthOctets(dnLength) + dnLength + 1 + lengthOctets(listContent) + listContent;
  const idOctets = integerOctets(messageId);
  const messageContent = 2 + idOctets + 1 + lengthOctets(opContent) + opContent;
  const out = Buffer.allocUnsafe(1 + lengthOctets(messageContent) + messageContent);

  let at = writeHeader(out, 0, 0x30, messageContent);
  out[at++] = 0x02;
  out[at++] = idOctets;
  for (let shift = (idOctets - 1) * 8; shift >= 0; shift -= 8) out[at++] = (messageId >>> shift) & 0xff;
  at = writeHeader(out, at, TAG.searchResultEntry, opContent);
  at = writeOctetString(out, at, entry.dn, dnLength);
  at = writeHeader(out, at, 0x30, listContent);
  let next = 0;
  for (let a = 0; a < attributes.length; a++) {
    at = writeHeader(out, at, 0x30, attributeContents[a]);
    at = writeOctetString(out, at, attributes[a][0], lengths[next++]);
    at = writeHeader(out, at, 0x31, setContents[a]);
    if (typesOnly) continue;
    const values = attributes[a][1];
    for (let v = 0; v < values.length; v++) at = writeOctetString(out, at, values[v], lengths[next++]);
  }
  if (at !== out.length) throw new Error(`search entry encoding wrote ${at} of ${out.length} bytes`);
  return out;
}

/** Strings longer than this go through Buffer's native UTF-8 code; short ones are cheaper in JS. */
const NATIVE_STRING_LENGTH = 64;

/** UTF-8 length of a JS string (lone surrogates count as U+FFFD, 3 octets, as Buffer writes them). */
function utf8Length(text: string): number {
  if (typeof text !== 'string') throw new TypeError(`attribute value is a ${typeof text}, not a string`);
  if (text.length > NATIVE_STRING_LENGTH) return Buffer.byteLength(text, 'utf8');
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) length += 1;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      length += 2; // a surrogate pair: 2 UTF-16 units, 4 octets
      i++;
    } else length += 2;
  }
  return length;
}

function writeOctetString(out: Buffer, at: number, text: string, octets: number): number {
  at = writeHeader(out, at, 0x04, octets);
  if (octets === text.length && octets <= NATIVE_STRING_LENGTH) {
    // ASCII: one octet per UTF-16 unit.
    for (let i = 0; i < octets; i++) out[at + i] = text.charCodeAt(i);
    return at + octets;
  }
  return at + out.write(text, at, octets, 'utf8');
}

/** Octets of a BER definite length (short form up to 127, then 0x81…0x84 + big-endian length). */
function lengthOctets(length: number): number {
  return length < 0x80 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : length < 0x1000000 ? 4 : 5;
}

/** Octets of a non-negative INTEGER in minimal two's complement (up to 2^31 - 1). */
function integerOctets(value: number): number {
  return value < 0x80 ? 1 : value < 0x8000 ? 2 : value < 0x800000 ? 3 : 4;
}

function writeHeader(out: Buffer, at: number, tag: number, length: number): number {
  out[at++] = tag;
  const octets = lengthOctets(length);
  if (octets === 1) {
    out[at++] = length;
    return at;
  }
  out[at++] = 0x80 | (octets - 1);
  for (let shift = (octets - 2) * 8; shift >= 0; shift -= 8) out[at++] = (length >>> shift) & 0xff;
  return at;
}

export function encodeExtendedResponse(messageId: number, result: LdapResultFields, responseName?: string, responseValue?: Buffer): Buffer {
  const writer = new asn1.BerWriter({ size: 256 });
  writer.startSequence();
  writer.writeInt(messageId);
  writer.startSequence(TAG.extendedResponse);
  writer.writeEnumeration(result.code);
  writer.writeString(result.matchedDN ?? '');
  writer.writeString(result.message ?? '');
  if (responseName !== undefined) writer.writeString(responseName, 0x8a);
  if (responseValue !== undefined) writer.writeBuffer(responseValue, 0x8b);
  writer.endSequence();
  writer.endSequence();
  return writer.buffer;
}

/** RFC 4511 §4.4.1 Notice of Disconnection: an unsolicited extended response, messageID 0. */
export const NOTICE_OF_DISCONNECTION_OID = '1.3.6.1.4.1.1466.20036';

export function encodeNoticeOfDisconnection(code: number, message: string): Buffer {
  return encodeExtendedResponse(0, { code, message }, NOTICE_OF_DISCONNECTION_OID);
}
