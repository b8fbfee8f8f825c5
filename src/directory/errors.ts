// LDAP result codes (RFC 4511 §4.1.9) as the directory model speaks them. The directory raises
// DirectoryError with one of these; protocol adapters translate it to their wire form.
export const ResultCode = {
  success: 0,
  operationsError: 1,
  protocolError: 2,
  timeLimitExceeded: 3,
  sizeLimitExceeded: 4,
  compareFalse: 5,
  compareTrue: 6,
  authMethodNotSupported: 7,
  strongerAuthRequired: 8,
  adminLimitExceeded: 11,
  unavailableCriticalExtension: 12,
  confidentialityRequired: 13,
  noSuchAttribute: 16,
  undefinedAttributeType: 17,
  inappropriateMatching: 18,
  constraintViolation: 19,
  attributeOrValueExists: 20,
  invalidAttributeSyntax: 21,
  noSuchObject: 32,
  aliasProblem: 33,
  invalidDNSyntax: 34,
  inappropriateAuthentication: 48,
  invalidCredentials: 49,
  insufficientAccessRights: 50,
  busy: 51,
  unavailable: 52,
  unwillingToPerform: 53,
  loopDetect: 54,
  namingViolation: 64,
  objectClassViolation: 65,
  notAllowedOnNonLeaf: 66,
  notAllowedOnRDN: 67,
  entryAlreadyExists: 68,
  objectClassModsProhibited: 69,
  affectsMultipleDSAs: 71,
  other: 80,
  cancelled: 118,
} as const;

export type ResultCodeName = keyof typeof ResultCode;

export class DirectoryError extends Error {
  readonly code: number;
  /** For noSuchObject: the DN of the deepest existing ancestor, as RFC 4511 §4.1.9 asks. */
  readonly matchedDN: string;

  constructor(code: number, message: string, matchedDN = '') {
    super(message);
    this.name = 'DirectoryError';
    this.code = code;
    this.matchedDN = matchedDN;
  }

  static of(name: ResultCodeName, message: string, matchedDN = ''): DirectoryError {
    return new DirectoryError(ResultCode[name], message, matchedDN);
  }
}

const NAMES_BY_CODE = new Map<number, string>(Object.entries(ResultCode).map(([name, code]) => [code, name]));

export function resultCodeName(code: number): string {
  return NAMES_BY_CODE.get(code) ?? `code${code}`;
}
