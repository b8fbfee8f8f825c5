// crypt(3) variants that userPassword {CRYPT} values use: DES, MD5-crypt ($1$) and SHA-crypt ($5$, $6$).
//
// Node's crypto has no crypt(3). DES comes from the unix-crypt-td-js package (fed UTF-8 bytes, as libc's
// crypt sees them). MD5-crypt and SHA-crypt are implemented here on Buffers because the npm packages for
// them were checked against libc's crypt on this machine and found wrong: `unixcrypt` 3.0.4 hashes keys
// whose length is a multiple of the digest size incorrectly, and `apache-md5` 1.1.8 hashes non-ASCII
// passwords as Latin-1 instead of their UTF-8 bytes. Both algorithms are short and fully specified:
// MD5-crypt by Poul-Henning Kamp's FreeBSD code, SHA-crypt by Ulrich Drepper's specification
// ("Unix crypt using SHA-256 and SHA-512", the text glibc and libxcrypt implement).
import { createHash } from 'node:crypto';
import unixCryptTD = require('unix-crypt-td-js');

/** The crypt(3) alphabet, used for salts and for the hash encoding. */
export const CRYPT_ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

const DES_SALT = /^[./0-9A-Za-z]{2}$/;

/**
 * Traditional DES crypt: 13 characters, salt = the first two. Only the first 8 bytes of the key count
 * (and only their low 7 bits), which is what every crypt(3) does.
 */
export function desCrypt(key: Buffer, salt: string): string {
  if (!DES_SALT.test(salt)) throw new Error('DES crypt salt must be two characters of [./0-9A-Za-z]');
  // unix-crypt-td-js reads key characters with charCodeAt: a Latin-1 string maps each byte to one char.
  return unixCryptTD(key.toString('latin1'), salt);
}

/** Appends `count` crypt-alphabet characters encoding the low bits of `value`, least significant first. */
function encode24(value: number, count: number): string {
  let out = '';
  for (let i = 0; i < count; i++) {
    out += CRYPT_ALPHABET[value & 0x3f];
    value >>>= 6;
  }
  return out;
}

/** Encodes a digest in crypt's order: each group is three byte indexes (most significant first) and a char count. */
function encodeDigest(digest: Buffer, groups: ReadonlyArray<readonly [number, number, number, number]>): string {
  let out = '';
  for (const [a, b, c, count] of groups) {
    // An index of -1 stands for a zero byte (the short final groups).
    const byte = (i: number): number => (i < 0 ? 0 : digest[i]!);
    out += encode24((byte(a) << 16) | (byte(b) << 8) | byte(c), count);
  }
  return out;
}

const MD5_GROUPS = [
  [0, 6, 12, 4], [1, 7, 13, 4], [2, 8, 14, 4], [3, 9, 15, 4], [4, 10, 5, 4], [-1, -1, 11, 2],
] as const;

/** MD5-crypt ($1$): the salt is cut at 8 bytes; returns `$1$salt$hash`. */
export function md5Crypt(key: Buffer, salt: string): string {
  const magic = Buffer.from('$1$');
  const saltBytes = Buffer.from(salt, 'utf8').subarray(0, 8);
  const alternate = createHash('md5').update(key).update(saltBytes).update(key).digest();
  const ctx = createHash('md5').update(key).update(magic).update(saltBytes);
  for (let left = key.length; left > 0; left -= 16) ctx.update(alternate.subarray(0, Math.min(left, 16)));
  // Kamp's original code adds a zero byte for a set bit and the key's first byte for a clear bit.
  const zero = Buffer.alloc(1);
  for (let bits = key.length; bits > 0; bits >>>= 1) ctx.update(bits & 1 ? zero : key.subarray(0, 1));
  let final = ctx.digest();
  for (let i = 0; i < 1000; i++) {
    const round = createHash('md5');
    round.update(i & 1 ? key : final);
    if (i % 3) round.update(saltBytes);
    if (i % 7) round.update(key);
    round.update(i & 1 ? final : key);
    final = round.digest();
  }
  return `$1$${saltBytes.toString('utf8')}$${encodeDigest(final, MD5_GROUPS)}`;
}

const SHA256_GROUPS = [
  [0, 10, 20, 4], [21, 1, 11, 4], [12, 22, 2, 4], [3, 13, 23, 4], [24, 4, 14, 4],
  [15, 25, 5, 4], [6, 16, 26, 4], [27, 7, 17, 4], [18, 28, 8, 4], [9, 19, 29, 4], [-1, 31, 30, 3],
] as const;

const SHA512_GROUPS = [
  [0, 21, 42, 4], [22, 43, 1, 4], [44, 2, 23, 4], [3, 24, 45, 4], [25, 46, 4, 4], [47, 5, 26, 4],
  [6, 27, 48, 4], [28, 49, 7, 4], [50, 8, 29, 4], [9, 30, 51, 4], [31, 52, 10, 4], [53, 11, 32, 4],
  [12, 33, 54, 4], [34, 55, 13, 4], [56, 14, 35, 4], [15, 36, 57, 4], [37, 58, 16, 4], [59, 17, 38, 4],
  [18, 39, 60, 4], [40, 61, 19, 4], [62, 20, 41, 4], [-1, -1, 63, 2],
] as const;

export const SHA_CRYPT_DEFAULT_ROUNDS = 5000;
export const SHA_CRYPT_MIN_ROUNDS = 1000;
export const SHA_CRYPT_MAX_ROUNDS = 999_999_999;

/** Repeats `block` (a digest) to exactly `length` bytes: the P and S sequences of the specification. */
function stretch(block: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let offset = 0; offset < length; offset += block.length) block.copy(out, offset, 0, Math.min(block.length, length - offset));
  return out;
}

interface ShaCryptState {
  variant: '5' | '6';
  algorithm: 'sha256' | 'sha512';
  saltBytes: Buffer;
  rounds: number;
  printRounds: boolean;
  p: Buffer;
  s: Buffer;
  c: Buffer;
  done: number;
}

/** Steps 1-20 of the specification: everything before the rounds. */
function shaCryptPrepare(variant: '5' | '6', key: Buffer, salt: string, rounds: number | undefined): ShaCryptState {
  const algorithm = variant === '5' ? 'sha256' : 'sha512';
  const size = variant === '5' ? 32 : 64;
  const saltBytes = Buffer.from(salt, 'utf8').subarray(0, 16);
  const h = (): ReturnType<typeof createHash> => createHash(algorithm);

  // Steps 4-8: digest B.
  const digestB = h().update(key).update(saltBytes).update(key).digest();
  // Steps 1-3 and 9-12: digest A.
  const ctxA = h().update(key).update(saltBytes);
  let left = key.length;
  for (; left > size; left -= size) ctxA.update(digestB);
  ctxA.update(digestB.subarray(0, left));
  for (let bits = key.length; bits > 0; bits >>>= 1) ctxA.update(bits & 1 ? digestB : key);
  const digestA = ctxA.digest();
  // Steps 13-16: P, the key-derived byte sequence.
  const dp = h();
  for (let i = 0; i < key.length; i++) dp.update(key);
  const p = stretch(dp.digest(), key.length);
  // Steps 17-20: S, the salt-derived byte sequence (16 + A[0] repetitions of the salt).
  const ds = h();
  for (let i = 0; i < 16 + digestA[0]!; i++) ds.update(saltBytes);
  const s = stretch(ds.digest(), saltBytes.length);
  return {
    variant,
    algorithm,
    saltBytes,
    rounds: rounds === undefined ? SHA_CRYPT_DEFAULT_ROUNDS : Math.min(Math.max(rounds, SHA_CRYPT_MIN_ROUNDS), SHA_CRYPT_MAX_ROUNDS),
    printRounds: rounds !== undefined,
    p,
    s,
    c: digestA,
    done: 0,
  };
}

/** Step 21: runs up to `count` more rounds. */
function shaCryptRounds(state: ShaCryptState, count: number): void {
  const { algorithm, p, s } = state;
  const end = Math.min(state.rounds, state.done + count);
  let c = state.c;
  for (let i = state.done; i < end; i++) {
    const round = createHash(algorithm);
    round.update(i & 1 ? p : c);
    if (i % 3) round.update(s);
    if (i % 7) round.update(p);
    round.update(i & 1 ? c : p);
    c = round.digest();
  }
  state.c = c;
  state.done = end;
}

/** Step 22: the output string. */
function shaCryptFinish(state: ShaCryptState): string {
  const roundsPart = state.printRounds ? `rounds=${state.rounds}$` : '';
  const encoded = encodeDigest(state.c, state.variant === '5' ? SHA256_GROUPS : SHA512_GROUPS);
  return `$${state.variant}$${roundsPart}${state.saltBytes.toString('utf8')}$${encoded}`;
}

/**
 * SHA-crypt ($5$ = SHA-256, $6$ = SHA-512). `rounds` undefined means the default 5000 and no `rounds=`
 * in the output, as crypt(3) does; an explicit value is clamped to [1000, 999999999] and printed.
 * The salt is cut at 16 bytes.
 */
export function shaCrypt(variant: '5' | '6', key: Buffer, salt: string, rounds?: number): string {
  const state = shaCryptPrepare(variant, key, salt, rounds);
  shaCryptRounds(state, state.rounds);
  return shaCryptFinish(state);
}

/** Rounds run between two yields to the event loop (a few milliseconds of work). */
const ROUNDS_PER_SLICE = 5000;

/**
 * The same as shaCrypt, but a hash with many rounds (passlib's default is 656000, about a second here)
 * gives the event loop back between slices instead of stalling every other client.
 */
export async function shaCryptAsync(variant: '5' | '6', key: Buffer, salt: string, rounds?: number): Promise<string> {
  const state = shaCryptPrepare(variant, key, salt, rounds);
  for (;;) {
    shaCryptRounds(state, ROUNDS_PER_SLICE);
    if (state.done >= state.rounds) return shaCryptFinish(state);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
