// userPassword verification and hashing (design §8).
//
// A userPassword value is either `{SCHEME}data` or, without a scheme prefix, the password itself
// (cleartext, compared byte for byte). Scheme names are case-insensitive: ISPMan writes {crypt}, {md5}
// and {sha}. The rules follow OpenLDAP's lutil_passwd, so a directory moved from slapd behaves the same:
// a value that starts with `{name}` for a scheme we do not know never matches (it is not compared as
// cleartext), salted digests need at least one byte of salt, and a {CRYPT} check refuses a candidate
// containing a NUL byte (crypt(3) would silently cut the password there).
//
// Every comparison of secret-derived bytes is constant-time. The base64 digest schemes and the crypt(3)
// variants at their default cost are verified synchronously (verifyPasswordSync); bcrypt and Argon2 need
// the async path.
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import * as argon2 from 'argon2';
import * as bcrypt from 'bcryptjs';
import {
  CRYPT_ALPHABET,
  SHA_CRYPT_DEFAULT_ROUNDS,
  SHA_CRYPT_MAX_ROUNDS,
  SHA_CRYPT_MIN_ROUNDS,
  desCrypt,
  md5Crypt,
  shaCrypt,
  shaCryptAsync,
} from './crypt';

/** The schemes this module can verify. */
export type SchemeId =
  | 'cleartext'
  | 'crypt-des'
  | 'crypt-md5'
  | 'crypt-sha256'
  | 'crypt-sha512'
  | 'crypt-bcrypt'
  | 'md5'
  | 'smd5'
  | 'sha'
  | 'ssha'
  | 'sha256'
  | 'ssha256'
  | 'sha512'
  | 'ssha512'
  | 'argon2';

/**
 * What a stored userPassword value is. `label` is short and safe for logs and metric labels: the scheme
 * in upper case plus, for {CRYPT}, the crypt(3) prefix (e.g. `{CRYPT}$6$`, `{SSHA}`, `cleartext`); it never
 * contains the hash or the password. An unsupported value says why: an unknown scheme, an unknown crypt(3)
 * variant (yescrypt, $2x$, ...), a malformed value, or a cost above the configured limits.
 */
export type SchemeInfo =
  | { supported: true; id: SchemeId; label: string }
  | { supported: false; label: string; reason: string };

/** Upper bounds on the work a stored hash may ask for, so a user who writes their own userPassword
 *  hash (which the ACLs allow) cannot make a bind occupy the server for minutes or gigabytes. */
export interface CostLimits {
  /** sha-crypt ($5$/$6$) rounds; passlib's default of 656000 must fit. */
  shaCryptRounds: number;
  /** bcrypt cost exponent (2^cost iterations). */
  bcryptCost: number;
  /** Argon2 memory in KiB. */
  argon2MemoryKiB: number;
  /** Argon2 passes. */
  argon2TimeCost: number;
  /** Argon2 lanes. */
  argon2Parallelism: number;
}

export const DEFAULT_COST_LIMITS: Readonly<CostLimits> = Object.freeze({
  shaCryptRounds: 1_000_000,
  bcryptCost: 15,
  argon2MemoryKiB: 256 * 1024,
  argon2TimeCost: 16,
  argon2Parallelism: 16,
});

export interface VerifyOptions {
  limits?: Partial<CostLimits>;
}

/** Schemes hashPassword can produce. {CRYPT} means SHA-512 crypt ($6$). */
export type HashScheme = '{ARGON2}' | '{SSHA512}' | '{SSHA256}' | '{SSHA}' | '{CRYPT}';
export const DEFAULT_HASH_SCHEME: HashScheme = '{SSHA512}';
const HASH_SCHEMES: readonly HashScheme[] = ['{ARGON2}', '{SSHA512}', '{SSHA256}', '{SSHA}', '{CRYPT}'];

/** Argon2 parameters of new hashes: argon2id with the argon2 package's defaults (RFC 9106's second
 *  recommended option is stronger than these, but 64 MiB per bind is what a directory can afford). */
export const ARGON2_HASH_OPTIONS = Object.freeze({ type: argon2.argon2id, memoryCost: 65536, timeCost: 3, parallelism: 4 });

// ---------------------------------------------------------------------------------------------------
// Parsing

/** A value carries a scheme when it starts with `{name}`, name at least one character (lutil_passwd's rule). */
const SCHEME_PREFIX = /^\{([^}]+)\}/;

interface DigestSpec {
  algorithm: 'md5' | 'sha1' | 'sha256' | 'sha512';
  size: number;
  salted: boolean;
  id: SchemeId;
}

// A Map, not an object literal: the name looked up comes from stored data.
const DIGEST_SCHEMES = new Map<string, DigestSpec>(Object.entries({
  MD5: { algorithm: 'md5', size: 16, salted: false, id: 'md5' },
  SMD5: { algorithm: 'md5', size: 16, salted: true, id: 'smd5' },
  SHA: { algorithm: 'sha1', size: 20, salted: false, id: 'sha' },
  SSHA: { algorithm: 'sha1', size: 20, salted: true, id: 'ssha' },
  SHA256: { algorithm: 'sha256', size: 32, salted: false, id: 'sha256' },
  SSHA256: { algorithm: 'sha256', size: 32, salted: true, id: 'ssha256' },
  SHA512: { algorithm: 'sha512', size: 64, salted: false, id: 'sha512' },
  SSHA512: { algorithm: 'sha512', size: 64, salted: true, id: 'ssha512' },
} satisfies Record<string, DigestSpec>));

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const DES_HASH = /^[./0-9A-Za-z]{13}$/;
const MD5_CRYPT = /^\$1\$([^$]{0,8})\$([./0-9A-Za-z]{22})$/;
const SHA_CRYPT = /^\$([56])\$(?:rounds=([1-9][0-9]{0,8})\$)?([^$]{0,16})\$([./0-9A-Za-z]+)$/;
const BCRYPT = /^\$2[aby]\$([0-9]{2})\$[./A-Za-z0-9]{53}$/;
// libargon2 (and so slapd) writes m,t,p in that order; node-argon2 0.45 writes m,p,t: accept any order.
const ARGON2_PHC = /^\$argon2(id|i|d)\$(?:v=(16|19)\$)?([a-z]+=[0-9]{1,10}(?:,[a-z]+=[^,$]+)*)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/;

interface Argon2Params {
  type: 'id' | 'i' | 'd';
  version: number;
  memory: number;
  time: number;
  lanes: number;
}

/** Reads an Argon2 PHC string's type, version and m/t/p parameters; undefined when malformed. */
function parseArgon2Params(phc: string): Argon2Params | undefined {
  const m = ARGON2_PHC.exec(phc);
  if (!m) return undefined;
  const params = new Map(m[3]!.split(',').map((kv) => kv.split('=') as [string, string]));
  const memory = Number(params.get('m'));
  const time = Number(params.get('t'));
  const lanes = Number(params.get('p'));
  if (![memory, time, lanes].every((n) => Number.isInteger(n) && n > 0)) return undefined;
  // A PHC string without v= is version 1.0 (0x10).
  return { type: m[1] as Argon2Params['type'], version: m[2] === undefined ? 16 : Number(m[2]), memory, time, lanes };
}

/** How to check one parsed stored value. */
interface Verifier {
  info: SchemeInfo;
  /** Present when the check can run synchronously at this value's cost. */
  sync?: (candidate: Buffer) => boolean;
  async: (candidate: Buffer) => Promise<boolean>;
}

/** sha-crypt values at up to this many rounds are verified synchronously (a few milliseconds). */
const SYNC_SHA_CRYPT_ROUNDS = 20_000;

function unsupported(label: string, reason: string): Verifier {
  return { info: { supported: false, label, reason }, async: async () => false };
}

function syncVerifier(id: SchemeId, label: string, check: (candidate: Buffer) => boolean): Verifier {
  return { info: { supported: true, id, label }, sync: check, async: async (candidate) => check(candidate) };
}

function parse(stored: string, limits: CostLimits): Verifier {
  const prefix = SCHEME_PREFIX.exec(stored);
  if (!prefix) {
    const expected = Buffer.from(stored, 'utf8');
    return syncVerifier('cleartext', 'cleartext', (candidate) => constantTimeEqual(expected, candidate));
  }
  const name = prefix[1]!.toUpperCase();
  const data = stored.slice(prefix[0].length);
  const digest = DIGEST_SCHEMES.get(name);
  if (digest) return parseDigest(`{${name}}`, digest, data);
  if (name === 'CRYPT') return parseCrypt(data, limits);
  if (name === 'ARGON2') return parseArgon2(data, limits);
  // The label of an unknown scheme is cut short: it comes from the stored value, which a user may write.
  return unsupported(`{${name.slice(0, 24)}}`, 'unknown password scheme');
}

function parseDigest(label: string, spec: DigestSpec, data: string): Verifier {
  if (!BASE64.test(data)) return unsupported(label, 'malformed value: not base64');
  const decoded = Buffer.from(data, 'base64');
  if (spec.salted ? decoded.length <= spec.size : decoded.length !== spec.size) {
    return unsupported(label, `malformed value: ${decoded.length} bytes after base64 decoding`);
  }
  const expected = decoded.subarray(0, spec.size);
  const salt = decoded.subarray(spec.size);
  return syncVerifier(spec.id, label, (candidate) =>
    // Both sides are spec.size bytes (checked above), so they are compared directly, in constant time.
    timingSafeEqual(expected, createHash(spec.algorithm).update(candidate).update(salt).digest()),
  );
}

function parseCrypt(data: string, limits: CostLimits): Verifier {
  if (DES_HASH.test(data)) {
    const salt = data.slice(0, 2);
    return syncVerifier('crypt-des', '{CRYPT}des', (candidate) => cryptCandidateOk(candidate) && constantTimeEqual(data, desCrypt(candidate, salt)));
  }
  let m = MD5_CRYPT.exec(data);
  if (m) {
    const salt = m[1]!;
    return syncVerifier('crypt-md5', '{CRYPT}$1$', (candidate) => cryptCandidateOk(candidate) && constantTimeEqual(data, md5Crypt(candidate, salt)));
  }
  m = SHA_CRYPT.exec(data);
  if (m) {
    const variant = m[1] as '5' | '6';
    const label = `{CRYPT}$${variant}$`;
    const id: SchemeId = variant === '5' ? 'crypt-sha256' : 'crypt-sha512';
    const rounds = m[2] === undefined ? undefined : Number(m[2]);
    // crypt(3) would clamp an out-of-range count and print the clamped one, so such a value can never
    // have come from it and can never match.
    if (rounds !== undefined && (rounds < SHA_CRYPT_MIN_ROUNDS || rounds > SHA_CRYPT_MAX_ROUNDS)) {
      return unsupported(label, `malformed value: rounds=${rounds} outside [${SHA_CRYPT_MIN_ROUNDS}, ${SHA_CRYPT_MAX_ROUNDS}]`);
    }
    if (m[4]!.length !== (variant === '5' ? 43 : 86)) return unsupported(label, 'malformed value: wrong hash length');
    const cost = rounds ?? SHA_CRYPT_DEFAULT_ROUNDS;
    if (cost > limits.shaCryptRounds) return unsupported(label, `cost above limit: rounds=${cost} > ${limits.shaCryptRounds}`);
    const salt = m[3]!;
    const verifier: Verifier = {
      info: { supported: true, id, label },
      async: async (candidate) => cryptCandidateOk(candidate) && constantTimeEqual(data, await shaCryptAsync(variant, candidate, salt, rounds)),
    };
    if (cost <= SYNC_SHA_CRYPT_ROUNDS) {
      verifier.sync = (candidate) => cryptCandidateOk(candidate) && constantTimeEqual(data, shaCrypt(variant, candidate, salt, rounds));
    }
    return verifier;
  }
  m = BCRYPT.exec(data);
  if (m) {
    const label = `{CRYPT}${data.slice(0, 4)}`;
    const cost = Number(m[1]);
    if (cost < 4 || cost > 31) return unsupported(label, `malformed value: bcrypt cost ${cost}`);
    if (cost > limits.bcryptCost) return unsupported(label, `cost above limit: bcrypt cost ${cost} > ${limits.bcryptCost}`);
    return {
      info: { supported: true, id: 'crypt-bcrypt', label },
      // bcryptjs hashes the string's UTF-8 bytes and compares the results in constant time.
      async: async (candidate) => cryptCandidateOk(candidate) && bcrypt.compare(candidate.toString('utf8'), data),
    };
  }
  // Name the crypt(3) variant without echoing the value: `$y$` (yescrypt), `$2x$`, `_` (BSDi), ...
  const variant = /^\$[0-9a-z]{1,8}\$/.exec(data)?.[0] ?? (data.startsWith('_') ? '_' : '');
  return unsupported(`{CRYPT}${variant}`, variant ? `unsupported crypt(3) variant ${variant}` : 'malformed {CRYPT} value');
}

function parseArgon2(data: string, limits: CostLimits): Verifier {
  const params = parseArgon2Params(data);
  if (!params) return unsupported('{ARGON2}', 'malformed value: not an Argon2 PHC string');
  const { memory, time, lanes } = params;
  if (memory > limits.argon2MemoryKiB || time > limits.argon2TimeCost || lanes > limits.argon2Parallelism) {
    return unsupported('{ARGON2}', `cost above limit: m=${memory},t=${time},p=${lanes}`);
  }
  return {
    info: { supported: true, id: 'argon2', label: '{ARGON2}' },
    // node-argon2 decodes the PHC string and compares in constant time; a value it cannot use throws.
    async: async (candidate) => argon2.verify(data, candidate).catch(() => false),
  };
}

/** crypt(3) takes a C string: slapd refuses a password with a NUL byte rather than cut it short. */
function cryptCandidateOk(candidate: Buffer): boolean {
  return !candidate.includes(0);
}

/**
 * Constant-time equality of two byte strings of any lengths: both are reduced to SHA-256 digests first,
 * so neither the position of the first difference nor the stored length shows in the timing.
 */
function constantTimeEqual(a: Buffer | string, b: Buffer | string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

function resolveLimits(options?: VerifyOptions): CostLimits {
  return options?.limits ? { ...DEFAULT_COST_LIMITS, ...options.limits } : DEFAULT_COST_LIMITS;
}

// ---------------------------------------------------------------------------------------------------
// Verification

/** Tells what scheme a stored userPassword value uses and whether it can be verified. */
export function identifyScheme(stored: string, options?: VerifyOptions): SchemeInfo {
  return parse(stored, resolveLimits(options)).info;
}

/**
 * Checks a bind password against one stored userPassword value. An empty candidate never matches
 * (RFC 4513 §5.1.2: an empty password is an unauthenticated bind, never a proof of identity), and
 * neither does a value whose scheme is unknown, malformed or too costly (see identifyScheme for why).
 */
export async function verifyPassword(stored: string, candidate: string, options?: VerifyOptions): Promise<boolean> {
  if (candidate.length === 0) return false;
  const verifier = parse(stored, resolveLimits(options));
  const bytes = Buffer.from(candidate, 'utf8');
  return verifier.sync ? verifier.sync(bytes) : verifier.async(bytes);
}

/**
 * The synchronous form, for schemes that are cheap to check: cleartext, the base64 digests, and crypt(3)
 * DES / MD5 / SHA at moderate rounds. Returns undefined when the value needs the async path (bcrypt,
 * Argon2, sha-crypt with many rounds); an unsupported value gives false.
 */
export function verifyPasswordSync(stored: string, candidate: string, options?: VerifyOptions): boolean | undefined {
  const verifier = parse(stored, resolveLimits(options));
  if (!verifier.info.supported) return false;
  if (!verifier.sync) return undefined;
  if (candidate.length === 0) return false;
  return verifier.sync(Buffer.from(candidate, 'utf8'));
}

/** One throwaway hash per scheme, made on first use, for decoyVerify. */
const decoyHashes = new Map<HashScheme, Promise<string>>();

/**
 * Does the work of checking `candidate` against a hash of `scheme` and answers false. For a bind whose
 * DN does not exist: without it that answer comes back sooner than a wrong password's (by the whole
 * Argon2 or bcrypt cost), which tells an attacker which DNs exist.
 */
export async function decoyVerify(candidate: string, scheme: string = DEFAULT_HASH_SCHEME): Promise<false> {
  const normalized = normalizeHashScheme(scheme);
  let decoy = decoyHashes.get(normalized);
  if (!decoy) {
    decoy = hashPassword(randomBytes(16).toString('base64'), normalized);
    decoyHashes.set(normalized, decoy);
  }
  await verifyPassword(await decoy, candidate);
  return false;
}

// ---------------------------------------------------------------------------------------------------
// Hashing

/** Whether a userPassword value already carries a {scheme}, so a write stores it as given. */
export function isHashed(value: string): boolean {
  return SCHEME_PREFIX.test(value);
}

/** Accepts `{SSHA512}`, `ssha512`, `{crypt}` ...; throws for a scheme hashPassword cannot produce. */
export function normalizeHashScheme(scheme: string): HashScheme {
  const name = `{${scheme.replace(/^\{|\}$/g, '').toUpperCase()}}`;
  const found = HASH_SCHEMES.find((s) => s === name);
  if (!found) throw new Error(`unsupported password hash scheme ${scheme} (use one of ${HASH_SCHEMES.join(', ')})`);
  return found;
}

/**
 * An argon2id PHC string in libargon2's own layout (`m=…,t=…,p=…`, unpadded base64), formatted here
 * rather than taken from node-argon2: its 0.45 release puts p before t, which libargon2's decoder
 * (slapd's {ARGON2}) refuses.
 * Exported for the tests, which compare it with the argon2 command-line tool's output for a given salt.
 */
export async function argon2Phc(clear: Buffer, salt: Buffer = randomBytes(16)): Promise<string> {
  const { memoryCost, timeCost, parallelism } = ARGON2_HASH_OPTIONS;
  const hash = await argon2.hash(clear, { ...ARGON2_HASH_OPTIONS, salt, hashLength: 32, raw: true });
  const b64 = (b: Buffer): string => b.toString('base64').replace(/=+$/, '');
  return `$argon2id$v=19$m=${memoryCost},t=${timeCost},p=${parallelism}$${b64(salt)}$${b64(hash)}`;
}

function randomCryptSalt(length: number): string {
  let salt = '';
  for (let i = 0; i < length; i++) salt += CRYPT_ALPHABET[randomInt(CRYPT_ALPHABET.length)];
  return salt;
}

function saltedDigest(label: string, algorithm: 'sha1' | 'sha256' | 'sha512', clear: Buffer, saltLength: number): string {
  const salt = randomBytes(saltLength);
  const digest = createHash(algorithm).update(clear).update(salt).digest();
  return label + Buffer.concat([digest, salt]).toString('base64');
}

/** Hashes a cleartext password for storage as userPassword (default {SSHA512}), with a random salt. */
export async function hashPassword(clear: string, scheme: string = DEFAULT_HASH_SCHEME): Promise<string> {
  const bytes = Buffer.from(clear, 'utf8');
  switch (normalizeHashScheme(scheme)) {
    case '{ARGON2}':
      return '{ARGON2}' + (await argon2Phc(bytes));
    case '{SSHA512}':
      return saltedDigest('{SSHA512}', 'sha512', bytes, 16);
    case '{SSHA256}':
      return saltedDigest('{SSHA256}', 'sha256', bytes, 16);
    case '{SSHA}':
      return saltedDigest('{SSHA}', 'sha1', bytes, 8);
    case '{CRYPT}':
      // crypt(3) cannot take a NUL byte, so neither can a {CRYPT} hash of ours.
      if (bytes.includes(0)) throw new Error('a {CRYPT} password cannot contain a NUL byte');
      return '{CRYPT}' + shaCrypt('6', bytes, randomCryptSalt(16));
  }
}

/**
 * Whether a value that just verified should be replaced by a fresh hash in `preferredScheme`: it is
 * cleartext or another scheme, or a weaker Argon2 than we would write now. Unsupported values are left
 * alone (they cannot have verified).
 */
export function needsRehash(stored: string, preferredScheme: string = DEFAULT_HASH_SCHEME): boolean {
  const preferred = normalizeHashScheme(preferredScheme);
  const info = identifyScheme(stored);
  if (!info.supported) return false;
  switch (preferred) {
    case '{CRYPT}':
      return info.id !== 'crypt-sha512';
    case '{SSHA512}':
      return info.id !== 'ssha512';
    case '{SSHA256}':
      return info.id !== 'ssha256';
    case '{SSHA}':
      return info.id !== 'ssha';
    case '{ARGON2}': {
      if (info.id !== 'argon2') return true;
      const params = parseArgon2Params(stored.slice('{ARGON2}'.length))!;
      return (
        params.type !== 'id' ||
        params.version !== 19 ||
        params.memory < ARGON2_HASH_OPTIONS.memoryCost ||
        params.time < ARGON2_HASH_OPTIONS.timeCost
      );
    }
  }
}

/** A random password for Password Modify without a new password (RFC 3062 §3): 16 characters from an
 *  alphabet without look-alikes, about 92 bits. */
export function generatePassword(length = 16): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}
