// LDAP syntaxes (RFC 4517 and the ones slapd knows that the shipped schema files name) and their value checks.
//
// Descriptions and X- flags are slapd's (as its cn=Subschema publishes them). A syntax without a validator
// accepts any value: slapd knows more syntaxes than we check, and rejecting data slapd stores would be worse
// than storing it unchecked.

import { isNumericOid } from './parse';
import { parseGeneralizedTime } from './time';

export const SYNTAX = {
  bitString: '1.3.6.1.4.1.1466.115.121.1.6',
  boolean: '1.3.6.1.4.1.1466.115.121.1.7',
  countryString: '1.3.6.1.4.1.1466.115.121.1.11',
  dn: '1.3.6.1.4.1.1466.115.121.1.12',
  directoryString: '1.3.6.1.4.1.1466.115.121.1.15',
  generalizedTime: '1.3.6.1.4.1.1466.115.121.1.24',
  ia5String: '1.3.6.1.4.1.1466.115.121.1.26',
  integer: '1.3.6.1.4.1.1466.115.121.1.27',
  nameAndOptionalUID: '1.3.6.1.4.1.1466.115.121.1.34',
  numericString: '1.3.6.1.4.1.1466.115.121.1.36',
  oid: '1.3.6.1.4.1.1466.115.121.1.38',
  octetString: '1.3.6.1.4.1.1466.115.121.1.40',
  postalAddress: '1.3.6.1.4.1.1466.115.121.1.41',
  printableString: '1.3.6.1.4.1.1466.115.121.1.44',
  telephoneNumber: '1.3.6.1.4.1.1466.115.121.1.50',
  substringAssertion: '1.3.6.1.4.1.1466.115.121.1.58',
} as const;

/** Checks a value; returns an error text or null. `dnValid` is supplied by the registry (DN parsing lives in dn.ts). */
export type SyntaxValidator = (value: string, ctx: SyntaxContext) => string | null;

export interface SyntaxContext {
  /** Length bound from SYNTAX oid{n}, if any. */
  maxLength?: number;
  /** True when the string parses as a DN. */
  isDN(value: string): boolean;
}

export interface LdapSyntax {
  oid: string;
  desc: string;
  /** Extra RFC 4512 extension text slapd publishes, e.g. "X-NOT-HUMAN-READABLE 'TRUE'". */
  flags?: string;
  validate?: SyntaxValidator;
  /** Not listed in cn=Subschema by slapd (it marks them hidden), but valid in SYNTAX. */
  hidden?: boolean;
}

function isAscii(value: string): boolean {
  for (let k = 0; k < value.length; k++) if (value.charCodeAt(k) > 127) return false;
  return true;
}

/** PrintableCharacter of RFC 4517: ALPHA / DIGIT / SQUOTE / LPAREN / RPAREN / PLUS / COMMA / HYPHEN / DOT / EQUALS / SLASH / COLON / QUESTION / SPACE. */
function isPrintableChar(c: number): boolean {
  return (
    (c >= 65 && c <= 90) ||
    (c >= 97 && c <= 122) ||
    (c >= 48 && c <= 57) ||
    c === 39 || c === 40 || c === 41 || c === 43 || c === 44 || c === 45 || c === 46 ||
    c === 61 || c === 47 || c === 58 || c === 63 || c === 32
  );
}

function isPrintable(value: string): boolean {
  for (let k = 0; k < value.length; k++) if (!isPrintableChar(value.charCodeAt(k))) return false;
  return true;
}

const INTEGER = /^(0|-?[1-9][0-9]*)$/;
const NUMERIC_STRING = /^[0-9 ]+$/;
const DESCR = /^[A-Za-z][A-Za-z0-9-]*$/;
const BIT_STRING = /^'[01]*'B$/;

/** RFC 4512 lone-surrogate check: a JS string decoded from bytes that were not UTF-8 carries U+FFFD instead. */
function hasLoneSurrogate(value: string): boolean {
  for (let k = 0; k < value.length; k++) {
    const c = value.charCodeAt(k);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = value.charCodeAt(k + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return true;
      k++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return true;
  }
  return false;
}

function lengthBound(value: string, ctx: SyntaxContext): string | null {
  if (ctx.maxLength !== undefined && value.length > ctx.maxLength) {
    return `value longer than the ${ctx.maxLength} characters the syntax allows`;
  }
  return null;
}

const ia5: SyntaxValidator = (v, ctx) => (isAscii(v) ? lengthBound(v, ctx) : 'IA5 String allows ASCII characters only');
const directoryString: SyntaxValidator = (v) =>
  v.length === 0 ? 'Directory String must not be empty' : hasLoneSurrogate(v) ? 'value is not valid UTF-8' : null;
const printable: SyntaxValidator = (v) =>
  v.length === 0 ? 'Printable String must not be empty' : isPrintable(v) ? null : 'value has characters outside Printable String';

const nameAndOptionalUID: SyntaxValidator = (v, ctx) => {
  // dn [ "#" BitString ]: the '#' that starts the UID is the last one followed by a bit string.
  const hash = v.lastIndexOf('#');
  if (hash >= 0 && BIT_STRING.test(v.slice(hash + 1))) v = v.slice(0, hash);
  return ctx.isDN(v) ? null : 'value is not a DN (with optional #\'bits\'B UID)';
};

export const SYNTAXES: LdapSyntax[] = [
  { oid: '1.3.6.1.4.1.1466.115.121.1.4', desc: 'Audio', flags: "X-NOT-HUMAN-READABLE 'TRUE'" },
  { oid: '1.3.6.1.4.1.1466.115.121.1.5', desc: 'Binary', flags: "X-NOT-HUMAN-READABLE 'TRUE'" },
  { oid: SYNTAX.bitString, desc: 'Bit String', validate: (v) => (BIT_STRING.test(v) ? null : "Bit String must look like '0101'B") },
  { oid: SYNTAX.boolean, desc: 'Boolean', validate: (v) => (v === 'TRUE' || v === 'FALSE' ? null : 'Boolean must be TRUE or FALSE') },
  { oid: '1.3.6.1.4.1.1466.115.121.1.8', desc: 'Certificate', flags: "X-BINARY-TRANSFER-REQUIRED 'TRUE' X-NOT-HUMAN-READABLE 'TRUE'" },
  { oid: '1.3.6.1.4.1.1466.115.121.1.9', desc: 'Certificate List', flags: "X-BINARY-TRANSFER-REQUIRED 'TRUE' X-NOT-HUMAN-READABLE 'TRUE'" },
  { oid: '1.3.6.1.4.1.1466.115.121.1.10', desc: 'Certificate Pair', flags: "X-BINARY-TRANSFER-REQUIRED 'TRUE' X-NOT-HUMAN-READABLE 'TRUE'" },
  { oid: SYNTAX.dn, desc: 'Distinguished Name', validate: (v, ctx) => (ctx.isDN(v) ? null : 'value is not a valid DN') },
  { oid: '1.3.6.1.4.1.1466.115.121.1.14', desc: 'Delivery Method' },
  { oid: SYNTAX.directoryString, desc: 'Directory String', validate: directoryString },
  { oid: '1.3.6.1.4.1.1466.115.121.1.22', desc: 'Facsimile Telephone Number' },
  { oid: SYNTAX.generalizedTime, desc: 'Generalized Time', validate: (v) => (parseGeneralizedTime(v) ? null : 'value is not a Generalized Time (YYYYMMDDHH[MM[SS[.f]]](Z|±hhmm))') },
  { oid: SYNTAX.ia5String, desc: 'IA5 String', validate: ia5 },
  { oid: SYNTAX.integer, desc: 'Integer', validate: (v) => (INTEGER.test(v) ? null : 'value is not an Integer') },
  { oid: '1.3.6.1.4.1.1466.115.121.1.28', desc: 'JPEG', flags: "X-NOT-HUMAN-READABLE 'TRUE'" },
  { oid: SYNTAX.nameAndOptionalUID, desc: 'Name And Optional UID', validate: nameAndOptionalUID },
  { oid: SYNTAX.numericString, desc: 'Numeric String', validate: (v) => (NUMERIC_STRING.test(v) ? null : 'Numeric String allows digits and spaces only') },
  { oid: SYNTAX.oid, desc: 'OID', validate: (v) => (isNumericOid(v) || DESCR.test(v) ? null : 'value is not an OID or a name') },
  { oid: '1.3.6.1.4.1.1466.115.121.1.39', desc: 'Other Mailbox' },
  { oid: SYNTAX.octetString, desc: 'Octet String' },
  {
    oid: SYNTAX.postalAddress,
    desc: 'Postal Address',
    validate: (v) => (v.length === 0 ? 'Postal Address must not be empty' : hasLoneSurrogate(v) ? 'value is not valid UTF-8' : null),
  },
  { oid: SYNTAX.printableString, desc: 'Printable String', validate: printable },
  {
    oid: SYNTAX.countryString,
    desc: 'Country String',
    validate: (v) => (v.length === 2 && isPrintable(v) ? null : 'Country String must be two printable characters'),
  },
  { oid: '1.3.6.1.4.1.1466.115.121.1.45', desc: 'SubtreeSpecification' },
  { oid: '1.3.6.1.4.1.1466.115.121.1.49', desc: 'Supported Algorithm', flags: "X-BINARY-TRANSFER-REQUIRED 'TRUE' X-NOT-HUMAN-READABLE 'TRUE'" },
  { oid: SYNTAX.telephoneNumber, desc: 'Telephone Number', validate: printable },
  { oid: '1.3.6.1.4.1.1466.115.121.1.52', desc: 'Telex Number' },
  { oid: '1.3.6.1.1.1.0.0', desc: 'RFC2307 NIS Netgroup Triple' },
  { oid: '1.3.6.1.1.1.0.1', desc: 'RFC2307 Boot Parameter' },
  { oid: '1.3.6.1.1.16.1', desc: 'UUID' },
  { oid: '1.3.6.1.4.1.4203.666.11.10.2.1', desc: 'X.509 AttributeCertificate', flags: "X-BINARY-TRANSFER-REQUIRED 'TRUE' X-NOT-HUMAN-READABLE 'TRUE'" },
  { oid: '1.2.36.79672281.1.5.0', desc: 'RDN' },
  { oid: '1.2.840.113549.1.8.1.1', desc: 'PKCS#8 PrivateKeyInfo' },
  // Known to slapd (or defined by RFC 2252/4517) but not published in its cn=Subschema; accepted in SYNTAX
  // so that a schema slapd loads loads here too.
  { oid: '1.3.6.1.4.1.1466.115.121.1.1', desc: 'ACI Item', hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.2', desc: 'Access Point', hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.18', desc: 'DL Submit Permission', hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.20', desc: 'DSE Type', hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.29', desc: 'Master And Shadow Access Points', hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.32', desc: 'Mail Preference', hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.33', desc: 'MHS OR Address', hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.46', desc: 'Supplier Information', hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.47', desc: 'Supplier Or Consumer', hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.48', desc: 'Supplier And Consumer', hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.55', desc: 'Modify Rights', hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.56', desc: 'LDAP Schema Definition', hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.57', desc: 'LDAP Schema Description', hidden: true },
  { oid: '1.3.6.1.1.15.1', desc: 'Certificate Exact Assertion', hidden: true },
  { oid: '1.3.6.1.1.15.2', desc: 'Certificate Assertion', hidden: true },
  { oid: '1.3.6.1.1.15.5', desc: 'Certificate List Exact Assertion', hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.3', desc: 'Attribute Type Description', hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.13', desc: 'Data Quality', hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.16', desc: 'DIT Content Rule Description', hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.17', desc: 'DIT Structure Rule Description', hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.19', desc: 'DSA Quality', hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.21', desc: 'Enhanced Guide', hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.23', desc: 'Fax', flags: "X-NOT-HUMAN-READABLE 'TRUE'", hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.25', desc: 'Guide', hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.30', desc: 'Matching Rule Description', hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.31', desc: 'Matching Rule Use Description', hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.35', desc: 'Name Form Description', hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.37', desc: 'Object Class Description', hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.42', desc: 'Protocol Information', hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.43', desc: 'Presentation Address', hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.51', desc: 'Teletex Terminal Identifier', hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.53', desc: 'UTC Time', hidden: true },
  { oid: '1.3.6.1.4.1.1466.115.121.1.54', desc: 'LDAP Syntax Description', hidden: true },
  { oid: SYNTAX.substringAssertion, desc: 'Substring Assertion', hidden: true },
  { oid: '1.3.6.1.4.1.4203.666.11.2.1', desc: 'CSN', hidden: true },
];

const BY_OID = new Map(SYNTAXES.map((s) => [s.oid, s]));

export function ldapSyntax(oid: string): LdapSyntax | undefined {
  return BY_OID.get(oid);
}

/** RFC 4512 LDAPSyntaxDescription text. */
export function formatSyntax(s: LdapSyntax): string {
  return `( ${s.oid} DESC '${s.desc}'${s.flags ? ' ' + s.flags : ''} )`;
}
