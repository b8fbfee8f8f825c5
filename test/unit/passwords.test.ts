// userPassword verification and hashing, checked against hashes made by real tools: slappasswd (OpenLDAP,
// with its pw-sha2 and argon2 modules), openssl passwd, mkpasswd (Debian's whois), libc's crypt(3) through
// perl, the argon2 command-line tool and python3's hashlib. Fixed vectors made once with those tools keep
// the test meaningful anywhere; the run-time cases make fresh ones with whatever password the test picks.
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  DEFAULT_COST_LIMITS,
  decoyVerify,
  generatePassword,
  hashPassword,
  identifyScheme,
  isHashed,
  needsRehash,
  normalizeHashScheme,
  verifyPassword,
  verifyPasswordSync,
} from '../../src/auth';
import type { SchemeId } from '../../src/auth';
import { argon2Phc } from '../../src/auth/passwords';
import { describeResult, requirePrograms, runClient } from '../support/clients';
import { startSlapd } from '../support/slapd-process';

interface Vector {
  /** The tool and options that produced `stored`. */
  tool: string;
  stored: string;
  password: string;
  id: SchemeId;
}

const ASCII = 'secret';
const UNICODE = 'pässwörd €';

// Made with the tools named, on Debian 12 (OpenLDAP 2.5, OpenSSL 3.0, whois 5.5, libxcrypt, argon2 0~20171227).
const VECTORS: Vector[] = [
  { tool: 'slappasswd -h {SSHA}', stored: '{SSHA}+zq8GvKJNkbmtdWJrijdANf++gDkV2MG', password: ASCII, id: 'ssha' },
  { tool: 'slappasswd -h {SHA}', stored: '{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=', password: ASCII, id: 'sha' },
  { tool: 'slappasswd -h {MD5}', stored: '{MD5}Xr4ilOzQ4PCOq3aQ0qbuaQ==', password: ASCII, id: 'md5' },
  { tool: 'slappasswd -h {SMD5}', stored: '{SMD5}9sP/RDoA4TTGid9lrLu73mSjfvc=', password: ASCII, id: 'smd5' },
  { tool: 'slappasswd pw-sha2 {SSHA256}', stored: '{SSHA256}5GY1XU87yNeVjEWdvzqeBXleLOD/j5otRoaThPyijM1c7pyC8xka2Q==', password: ASCII, id: 'ssha256' },
  { tool: 'slappasswd pw-sha2 {SHA256}', stored: '{SHA256}K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=', password: ASCII, id: 'sha256' },
  { tool: 'slappasswd pw-sha2 {SSHA512}', stored: '{SSHA512}uq67awI27+PueYIwmF8rk0nErSgkoejg1hE76CAVMWngFFMFWfGdoJ/yOcWUM0THuyy83vI7Ed9GSmp+JGzXf0xr8HjLhYna', password: ASCII, id: 'ssha512' },
  { tool: 'slappasswd pw-sha2 {SHA512}', stored: '{SHA512}vSsar3708Jvp9Szi2NWZZ02Bqp1qRCFpbcTZPdBhnWgs5WtNZKnvCXdhztmeD2cmW192CF5bDufKRpayrW/isg==', password: ASCII, id: 'sha512' },
  { tool: 'slappasswd argon2 {ARGON2}', stored: '{ARGON2}$argon2i$v=19$m=4096,t=3,p=1$D8K3Ki8XQBlyjnIiJQwGxQ$E3b9sl+3RJjAGGDwgT4AbUNvIxJgW9v8Gko+MZ3VT/8', password: ASCII, id: 'argon2' },
  { tool: 'slappasswd -h {CRYPT} -c %.2s', stored: '{CRYPT}oCg9BFONKlTN.', password: ASCII, id: 'crypt-des' },
  { tool: 'slappasswd -h {CRYPT} -c $1$%.8s', stored: '{CRYPT}$1$/8.3HBa2$49r/s7gCdfyxxNbC9s83b1', password: ASCII, id: 'crypt-md5' },
  { tool: 'slappasswd -h {CRYPT} -c $5$%.16s', stored: '{CRYPT}$5$pHsw.nLAyXenBMY/$mOqEtRoJ.YtR8I5t9ja4yR2ovBXn.h6pETw72Nm168B', password: ASCII, id: 'crypt-sha256' },
  { tool: 'slappasswd -h {CRYPT} -c $6$%.16s', stored: '{CRYPT}$6$CzWGmCoQEEw9MK7R$KxjaIUxq.7RF7ie1qP7X1MAsDBojNyVmwYGftMs8.3.EvXzk6ATZFVczRBeG9ZvyLqsq3ieeT4lcu8ACBvg77/', password: ASCII, id: 'crypt-sha512' },
  { tool: 'openssl passwd -1', stored: '{CRYPT}$1$mqkirYEJ$49u0VYp9Pihqrh3JuABZc/', password: ASCII, id: 'crypt-md5' },
  { tool: 'openssl passwd -5', stored: '{CRYPT}$5$4cmlkvIH4eYsaJKC$5ElS4gXQ10o/gVMxQ24AneqXfszXauiGoNUtz9VK6/D', password: ASCII, id: 'crypt-sha256' },
  { tool: 'openssl passwd -6', stored: '{CRYPT}$6$tM/WcKB9hQE/ckbl$JaqdX1UkukaymNhfRSfwdZ0pqyLGENQDBFTCivbrnB3vX4pqnxDclAu0lFQ/cLqg9YMWiCi7j8BKvJjY3KQD0/', password: ASCII, id: 'crypt-sha512' },
  { tool: 'mkpasswd -m descrypt', stored: '{crypt}jPXPOnqJDORhs', password: ASCII, id: 'crypt-des' },
  { tool: 'mkpasswd -m bcrypt', stored: '{CRYPT}$2b$05$T92CIcO0YQ160wA/q.t.6ORrhaR.enV1.sTCoxiOmXaWvEeOhCZZi', password: ASCII, id: 'crypt-bcrypt' },
  { tool: 'mkpasswd -m bcrypt-a', stored: '{CRYPT}$2a$05$x8jjRlFqfKj3mPwlb4hNpOMgxCVniAL7BNLIX6awyNhAPUSdf5JHu', password: ASCII, id: 'crypt-bcrypt' },
  { tool: 'mkpasswd -m sha512crypt -R 12345', stored: '{CRYPT}$6$rounds=12345$/n7Oid/HUNq/8enx$TIL3bl.Gm60x.mg3/7v83NUuWXIMAugQv9ASUQ/excXbtsQpFtFssxbTRo9AyC7NAMvzxnNTpVoxiZCADwftf0', password: ASCII, id: 'crypt-sha512' },
  { tool: 'mkpasswd -m sha512crypt -R 100000', stored: '{CRYPT}$6$rounds=100000$OjFDI5mujCWxO/jT$OHY4uZJPKWf7fk0lveNeGOV9ifWDvdWFmkcTguZOwrLErs71H3E1Hww8WPXJkhBklwzm/DBhRCkAQ.pv68Mx8.', password: ASCII, id: 'crypt-sha512' },
  { tool: 'mkpasswd -m sha256crypt -R 1000', stored: '{CRYPT}$5$rounds=1000$vv46QmXtsdLBtfUC$U8SuOc/LEtlkCQ1yggW4lxWGZPzvgI19sdnF2erAUbD', password: ASCII, id: 'crypt-sha256' },
  { tool: 'perl crypt() $2y$05$', stored: '{CRYPT}$2y$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a', password: ASCII, id: 'crypt-bcrypt' },
  { tool: 'argon2 -id -m 12 -t 2 -p 2', stored: '{ARGON2}$argon2id$v=19$m=4096,t=2,p=2$c2FsdHNhbHRzYWx0$qOIxmk6OnJSUNR7/qet7ADQJwGs3ZjB7toqz9lnkiYE', password: ASCII, id: 'argon2' },
  { tool: 'argon2 -i -m 10', stored: '{ARGON2}$argon2i$v=19$m=1024,t=3,p=1$c2FsdHNhbHRzYWx0$pGl2CDpOH+V0Vdbac/tBnIWv5mH3surV53UU6j5iMM8', password: ASCII, id: 'argon2' },
  { tool: 'argon2 -d -m 10', stored: '{ARGON2}$argon2d$v=19$m=1024,t=3,p=1$c2FsdHNhbHRzYWx0$T9joPSzWdKEubxP4+UpBJK7urihItTEjKvx95ujWnk4', password: ASCII, id: 'argon2' },
  { tool: 'python3 hashlib {SSHA256}', stored: '{SSHA256}eFc6A2Fe0tXLKXFwXJAJmJptj3TH1DRhDGytQzXahD6wNocuqsRHpQ==', password: ASCII, id: 'ssha256' },
  { tool: 'python3 hashlib {SSHA512} 16-byte salt', stored: '{SSHA512}bBuPc5fLrjnpGl2UOXtRrJx2Baci/CWOd8d7PxeXYt3areKCpKBbB4WbAYj8WXXCFBh3irA5HAY26RqiEZF+dQlOwTVjXCJ1mxaF9Ad2Cl8=', password: ASCII, id: 'ssha512' },
  { tool: 'python3 hashlib {SSHA} 8-byte salt', stored: '{SSHA}N2rX6ofXJMrlwvt5TJlAlMg+4DDVwWxmTByk7w==', password: ASCII, id: 'ssha' },
  // The same tools on a non-ASCII password: every scheme hashes its UTF-8 bytes.
  { tool: 'slappasswd -h {SSHA}', stored: '{SSHA}Dw4d0khxj4duJhtIt8e4wNqFPGXsMxhO', password: UNICODE, id: 'ssha' },
  { tool: 'slappasswd -h {SHA}', stored: '{SHA}WLrsXwWKD/4HtaIdI5GNgo9kV0k=', password: UNICODE, id: 'sha' },
  { tool: 'slappasswd -h {MD5}', stored: '{MD5}7z+3xHSwly3LJ1fG6PgnCw==', password: UNICODE, id: 'md5' },
  { tool: 'slappasswd -h {SMD5}', stored: '{SMD5}Eb+bbqK18ImGQDl+KRjLMZ3SsnY=', password: UNICODE, id: 'smd5' },
  { tool: 'slappasswd pw-sha2 {SSHA256}', stored: '{SSHA256}LEsH5WDWpi+4FNDCmvlh1RNeipxZpYm0Qj4qhpzaD3QAgMpeVzXOeQ==', password: UNICODE, id: 'ssha256' },
  { tool: 'slappasswd pw-sha2 {SHA256}', stored: '{SHA256}6OaMpS98G+mszSip5GS3bP5KdnG8PCoQJgk4XyUToeI=', password: UNICODE, id: 'sha256' },
  { tool: 'slappasswd pw-sha2 {SSHA512}', stored: '{SSHA512}GYEhG9NZJImRjGZJZgj4ChyXuqiP6dS4h3Jhbwp37EcCrMqvax1znHs4xU/oOsvmTKmj/3xLg2H1JlMfzjJf3zdv/OEcSm7q', password: UNICODE, id: 'ssha512' },
  { tool: 'slappasswd pw-sha2 {SHA512}', stored: '{SHA512}MmTbal+yxGQJKiR4bu0xm1wpX3R2868BWWXQ6t+GXzlAF+yDNLajjHa2X8kp1PxMLpwtXUyAXmbH5QiSKBm8Kw==', password: UNICODE, id: 'sha512' },
  { tool: 'slappasswd argon2 {ARGON2}', stored: '{ARGON2}$argon2i$v=19$m=4096,t=3,p=1$3xD1IajHxgs+j2ALi5YaPA$kLgI+Oe4Kh5lFh9/h72kgckzfq16ZgMGnDhaz8SSiWI', password: UNICODE, id: 'argon2' },
  { tool: 'slappasswd -h {CRYPT} -c %.2s', stored: '{CRYPT}Yft1rHu9JuZks', password: UNICODE, id: 'crypt-des' },
  { tool: 'slappasswd -h {CRYPT} -c $1$%.8s', stored: '{CRYPT}$1$mzAs9Mep$qJ3NG0MjXyBltt.BlmSph/', password: UNICODE, id: 'crypt-md5' },
  { tool: 'slappasswd -h {CRYPT} -c $5$%.16s', stored: '{CRYPT}$5$m40D/CGJsUwlt0GC$eCT4ZVIov4ynRtcD4gTMTSbjodi.I6roDrScnsVOzx6', password: UNICODE, id: 'crypt-sha256' },
  { tool: 'slappasswd -h {CRYPT} -c $6$%.16s', stored: '{CRYPT}$6$Kwp3bI.sv9z0kIBP$GekL7bd0ZK4PhjUkdx48CfNMVd1KRmV/zvxKkaweuku0bY1yR9ddcTfwP58INffmvJeJ6qpP7GJpyFpJTp1Ef.', password: UNICODE, id: 'crypt-sha512' },
  { tool: 'openssl passwd -1', stored: '{CRYPT}$1$jUOjmmRk$YSeMTs3/54t./4eQ6hQh60', password: UNICODE, id: 'crypt-md5' },
  { tool: 'openssl passwd -5', stored: '{CRYPT}$5$.TWHpoy2N6pTXSAZ$1NEpOkQpoRGEsbJ1bHaxCOwj6yQP7SaHL7wBI/fgx70', password: UNICODE, id: 'crypt-sha256' },
  { tool: 'openssl passwd -6', stored: '{CRYPT}$6$eWxiN0zqcKE5ew0Z$5UWFLXd3.kxkDeqhytmfbVeCdqtmOqcA.Q2MpHyxza9lxOx8gNVTpiuh/3LIsqloIr7RJvoLXuqKBHSbrdFTl1', password: UNICODE, id: 'crypt-sha512' },
  { tool: 'mkpasswd -m descrypt', stored: '{CRYPT}hzCQNnIeVQ7fY', password: UNICODE, id: 'crypt-des' },
  { tool: 'mkpasswd -m bcrypt', stored: '{CRYPT}$2b$05$aG687.w4zvpHuvt0kKwaYuT3sEoQABlxb2wnnp6kavJRkEOh1W98W', password: UNICODE, id: 'crypt-bcrypt' },
  { tool: 'mkpasswd -m bcrypt-a', stored: '{CRYPT}$2a$05$tx8/8Xv8Yv0K6Kcrqxg5guKRAM0pyn.N25TLHr1duRcJRVRI8kjV6', password: UNICODE, id: 'crypt-bcrypt' },
  { tool: 'mkpasswd -m sha512crypt -R 12345', stored: '{CRYPT}$6$rounds=12345$4QATp8Qa0HGERD32$OL2k/CT/pLtRAWyNbmGGbIj5sLBzmyhlE.xF1c9z8lxiETEswr0jciefRMAcqgVLQ/aYgLamBftEjFgOTO07z0', password: UNICODE, id: 'crypt-sha512' },
  { tool: 'mkpasswd -m sha256crypt -R 1000', stored: '{CRYPT}$5$rounds=1000$QcwnX4IDg/ELBW7u$AipnZdbcoS/j.EizlObzBKZoJVGar2/V8DP/G3.jql.', password: UNICODE, id: 'crypt-sha256' },
  { tool: 'perl crypt() $2y$05$', stored: '{CRYPT}$2y$05$abcdefghijklmnopqrstuuY8YJcx7OeCJ9JYO3w834ps8x/8H3Gfy', password: UNICODE, id: 'crypt-bcrypt' },
  { tool: 'argon2 -id -m 12 -t 2 -p 2', stored: '{ARGON2}$argon2id$v=19$m=4096,t=2,p=2$c2FsdHNhbHRzYWx0$NgJWfZXbfuTCk+z9joOoFscCPYet/C6C4tN5S83m18Q', password: UNICODE, id: 'argon2' },
  { tool: 'python3 hashlib {SSHA256}', stored: '{SSHA256}6ljDP+3CvscFMpnPpzJFHJ/c8yccFb4KS8lH2kmdm4K0EYZjEoWqcg==', password: UNICODE, id: 'ssha256' },
  { tool: 'python3 hashlib {SSHA512} 16-byte salt', stored: '{SSHA512}MJlArWSqpQ/q2IpiFBKvicvT3fd6h/+fuUvyPi1kj55aOFXSsKKr+8bWsATCgbeuL7hxjN2HK4U3W5t4oUqSrJosZwCiRk2zBBKq9OO+948=', password: UNICODE, id: 'ssha512' },
];

/** Near misses of a password: case, a trailing space, a truncation, the other test password, empty. */
function wrongPasswords(password: string): string[] {
  const first = password[0]!;
  const swapped = first.toUpperCase() !== first ? first.toUpperCase() : first.toLowerCase();
  const caseMiss = swapped !== first ? swapped + password.slice(1) : `x${password}`;
  return [caseMiss, password + ' ', password.slice(0, -1), password === ASCII ? UNICODE : ASCII, ''];
}

/** DES crypt reads only the first 8 bytes: a near miss that keeps them is the same password to crypt(3). */
function sameForDes(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')];
  return x.length >= 8 && y.length >= 8 && x.subarray(0, 8).equals(y.subarray(0, 8));
}

/** Asserts that `stored` accepts `password` and refuses every near miss, through both entry points. */
async function assertVerifies(stored: string, password: string, what: string): Promise<void> {
  assert.equal(await verifyPassword(stored, password), true, `${what}: right password refused for ${stored}`);
  const sync = verifyPasswordSync(stored, password);
  assert.ok(sync === true || sync === undefined, `${what}: verifyPasswordSync said ${sync} for the right password`);
  const info = identifyScheme(stored);
  for (const wrong of wrongPasswords(password)) {
    if (info.supported && info.id === 'crypt-des' && sameForDes(password, wrong)) {
      assert.equal(await verifyPassword(stored, wrong), true, `${what}: DES crypt ignores bytes past the 8th`);
      continue;
    }
    assert.equal(await verifyPassword(stored, wrong), false, `${what}: wrong password ${JSON.stringify(wrong)} accepted for ${stored}`);
    assert.notEqual(verifyPasswordSync(stored, wrong), true, `${what}: verifyPasswordSync accepted ${JSON.stringify(wrong)}`);
  }
}

/** Runs a tool and returns its trimmed stdout, failing the test with its output when it fails. */
async function tool(program: string, args: string[], input?: string): Promise<string> {
  const result = await runClient(program, args, { input, timeoutMs: 20000 });
  assert.equal(result.code, 0, describeResult(result));
  return result.stdout.trim();
}

/** A fresh password for run-time vectors: random, with a non-ASCII part so byte handling shows. */
function freshPassword(): string {
  // A letter first, so that no tool takes it for an option.
  return `p${randomBytes(6).toString('base64url')}-é€`;
}

describe('auth/passwords', function () {
  this.timeout(60000);

  describe('fixed vectors made by real tools', () => {
    for (const vector of VECTORS) {
      it(`${vector.tool} (${vector.password === ASCII ? 'ASCII' : 'UTF-8'})`, async () => {
        const info = identifyScheme(vector.stored);
        assert.deepEqual(info.supported && info.id, vector.id, JSON.stringify(info));
        await assertVerifies(vector.stored, vector.password, vector.tool);
      });
    }
  });

  describe('scheme prefixes and cleartext', () => {
    it('reads scheme names case-insensitively, as ISPMan writes them ({crypt}, {md5}, {sha})', async () => {
      for (const stored of ['{sha}5en6G6MezRroT3XKqkdPOmY/BfQ=', '{Sha}5en6G6MezRroT3XKqkdPOmY/BfQ=', '{md5}Xr4ilOzQ4PCOq3aQ0qbuaQ==', '{ssha}+zq8GvKJNkbmtdWJrijdANf++gDkV2MG', '{crypt}oCg9BFONKlTN.', '{argon2}$argon2id$v=19$m=4096,t=2,p=2$c2FsdHNhbHRzYWx0$qOIxmk6OnJSUNR7/qet7ADQJwGs3ZjB7toqz9lnkiYE']) {
        await assertVerifies(stored, ASCII, stored);
      }
    });

    it('compares a value without a scheme as cleartext, byte for byte', async () => {
      await assertVerifies('secret', 'secret', 'cleartext');
      await assertVerifies(UNICODE, UNICODE, 'cleartext');
      assert.equal(await verifyPassword('secret', 'secret\u0000'), false);
      // NFC and NFD forms of the same text are different bytes, and cleartext compares bytes.
      assert.equal(await verifyPassword('\u00e9', 'e\u0301'), false);
      assert.deepEqual(identifyScheme('secret'), { supported: true, id: 'cleartext', label: 'cleartext' });
      assert.equal(verifyPasswordSync('secret', 'secret'), true);
    });

    it('never accepts an empty password, whatever is stored', async () => {
      assert.equal(await verifyPassword('', ''), false);
      // python3 -c 'import base64,hashlib; print("{SSHA}"+base64.b64encode(hashlib.sha1(b"salt").digest()+b"salt").decode())'
      const emptyHash = '{SSHA}spXRFxNal2PaKC59rnOlyn0+WxFzYWx0';
      assert.equal(identifyScheme(emptyHash).supported, true);
      assert.equal(await verifyPassword(emptyHash, ''), false);
      assert.equal(verifyPasswordSync(emptyHash, ''), false);
    });

    it('refuses a candidate with a NUL byte against {CRYPT}, as slapd does', async () => {
      const stored = '{CRYPT}$6$CzWGmCoQEEw9MK7R$KxjaIUxq.7RF7ie1qP7X1MAsDBojNyVmwYGftMs8.3.EvXzk6ATZFVczRBeG9ZvyLqsq3ieeT4lcu8ACBvg77/';
      assert.equal(await verifyPassword(stored, 'secret\u0000more'), false);
      assert.equal(await verifyPassword('{CRYPT}oCg9BFONKlTN.', 'secret\u0000'), false);
    });
  });

  describe('unsupported and malformed values', () => {
    const cases: Array<{ stored: string; label: string; reason: RegExp }> = [
      { stored: '{FOO}secret', label: '{FOO}', reason: /unknown password scheme/ },
      { stored: '{K5KEY}', label: '{K5KEY}', reason: /unknown/ },
      // mkpasswd -m yescrypt secret (Debian 12's default for /etc/shadow), -m bsdicrypt, -m sunmd5
      { stored: '{CRYPT}$y$j9T$MOtOvRq7m7fPsWqUzkyrp.$90mMaigoIeuE/unV.il4QweQAGa6mCZpmIOaWpBMyX7', label: '{CRYPT}$y$', reason: /variant \$y\$/ },
      { stored: '{CRYPT}_J9..QWJ7p0MokRk3Yws', label: '{CRYPT}_', reason: /variant _/ },
      { stored: '{CRYPT}$md5,rounds=75892$J1SMqbXi$$gi8puEo4VSDDw.S.ZeSmP0', label: '{CRYPT}', reason: /malformed/ },
      { stored: '{CRYPT}$2x$05$T92CIcO0YQ160wA/q.t.6ORrhaR.enV1.sTCoxiOmXaWvEeOhCZZi', label: '{CRYPT}$2x$', reason: /variant/ },
      { stored: '{CRYPT}$apr1$abcdefgh$abcdefghijklmnopqrstuv', label: '{CRYPT}$apr1$', reason: /variant/ },
      { stored: '{CRYPT}', label: '{CRYPT}', reason: /malformed/ },
      { stored: '{SSHA}not base64!', label: '{SSHA}', reason: /base64/ },
      { stored: '{SHA}5en6G6MezRroT3XKqkdPOmY/BfQA', label: '{SHA}', reason: /bytes/ },
      // a salted digest needs at least one byte of salt (slapd's rule): this is a bare SHA-1
      { stored: '{SSHA}5en6G6MezRroT3XKqkdPOmY/BfQ=', label: '{SSHA}', reason: /bytes/ },
      // crypt(3) clamps rounds below 1000 and prints the clamped count, so rounds=999 never came from it
      { stored: '{CRYPT}$6$rounds=999$abc$' + 'a'.repeat(86), label: '{CRYPT}$6$', reason: /rounds=999/ },
      { stored: '{CRYPT}$6$abc$tooShort', label: '{CRYPT}$6$', reason: /hash length/ },
      { stored: '{ARGON2}$argon2id$m=1,t=1$c2FsdA$aGFzaA', label: '{ARGON2}', reason: /PHC/ },
      { stored: '{ARGON2}secret', label: '{ARGON2}', reason: /PHC/ },
    ];
    for (const { stored, label, reason } of cases) {
      it(`${stored.slice(0, 40)} → unsupported`, async () => {
        const info = identifyScheme(stored);
        assert.equal(info.supported, false);
        assert.equal(info.label, label);
        assert.match(info.supported ? '' : info.reason, reason);
        assert.equal(await verifyPassword(stored, 'secret'), false);
        assert.equal(verifyPasswordSync(stored, 'secret'), false);
        assert.ok(isHashed(stored), 'a value with a {scheme} is not cleartext, known or not');
      });
    }

    it('refuses hashes that ask for more work than the limits allow, and honours raised limits', async () => {
      const bcrypt16 = '{CRYPT}$2b$16$T92CIcO0YQ160wA/q.t.6ORrhaR.enV1.sTCoxiOmXaWvEeOhCZZi';
      assert.match(JSON.stringify(identifyScheme(bcrypt16)), /cost above limit/);
      const sha = '{CRYPT}$6$rounds=2000000$abc$' + 'a'.repeat(86);
      assert.match(JSON.stringify(identifyScheme(sha)), /cost above limit: rounds=2000000/);
      assert.equal(identifyScheme(sha, { limits: { shaCryptRounds: 3_000_000 } }).supported, true);
      const argonHuge = '{ARGON2}$argon2id$v=19$m=4194304,t=3,p=1$c2FsdHNhbHRzYWx0$qOIxmk6OnJSUNR7/qet7ADQJwGs3ZjB7toqz9lnkiYE';
      assert.match(JSON.stringify(identifyScheme(argonHuge)), /cost above limit: m=4194304/);
      assert.equal(await verifyPassword(argonHuge, 'secret'), false);
      // The mkpasswd -R 12345 vector is refused under a lower limit.
      const v12345 = VECTORS.find((v) => v.tool.endsWith('-R 12345'))!;
      assert.equal(await verifyPassword(v12345.stored, v12345.password, { limits: { shaCryptRounds: 10000 } }), false);
      assert.ok(DEFAULT_COST_LIMITS.shaCryptRounds >= 656000, "passlib's default rounds fit the default limit");
    });
  });

  describe('synchronous verification', () => {
    it('answers the digest schemes and cheap crypt(3) synchronously and defers bcrypt, Argon2 and costly sha-crypt', () => {
      const byTool = (prefix: string): Vector => VECTORS.find((v) => v.tool.startsWith(prefix) && v.password === ASCII)!;
      for (const prefix of ['slappasswd -h {SSHA}', 'slappasswd pw-sha2 {SSHA512}', 'slappasswd -h {CRYPT} -c $6$', 'mkpasswd -m descrypt', 'openssl passwd -1', 'mkpasswd -m sha512crypt -R 12345']) {
        assert.equal(verifyPasswordSync(byTool(prefix).stored, ASCII), true, prefix);
        assert.equal(verifyPasswordSync(byTool(prefix).stored, 'Secret'), false, prefix);
      }
      for (const prefix of ['mkpasswd -m bcrypt', 'argon2 -id', 'slappasswd argon2', 'mkpasswd -m sha512crypt -R 100000']) {
        assert.equal(verifyPasswordSync(byTool(prefix).stored, ASCII), undefined, prefix);
      }
    });
  });

  describe('vectors made at run time by the tools on this machine', () => {
    it('slappasswd: {SSHA} {SHA} {MD5} {SMD5}, pw-sha2 and argon2 modules, {CRYPT} with $1$ $5$ $6$ and DES', async function () {
      requirePrograms(this, 'slappasswd');
      const password = freshPassword();
      const runs: string[][] = [
        ['-h', '{SSHA}'], ['-h', '{SHA}'], ['-h', '{MD5}'], ['-h', '{SMD5}'],
        ...['{SSHA256}', '{SHA256}', '{SSHA512}', '{SHA512}'].map((h) => ['-o', 'module-load=pw-sha2', '-h', h]),
        ['-o', 'module-load=argon2', '-h', '{ARGON2}'],
        ...['%.2s', '$1$%.8s', '$5$%.16s', '$6$%.16s', '$6$rounds=7000$%.16s'].map((c) => ['-h', '{CRYPT}', '-c', c]),
      ];
      for (const args of runs) {
        const stored = await tool('slappasswd', [...args, '-s', password]);
        await assertVerifies(stored, password, `slappasswd ${args.join(' ')}`);
      }
    });

    it('openssl passwd -1 / -5 / -6', async function () {
      requirePrograms(this, 'openssl');
      const password = freshPassword();
      for (const flag of ['-1', '-5', '-6']) {
        const stored = '{CRYPT}' + (await tool('openssl', ['passwd', flag, password]));
        await assertVerifies(stored, password, `openssl passwd ${flag}`);
      }
    });

    it('mkpasswd: descrypt, md5crypt, sha256crypt, sha512crypt with rounds, bcrypt, bcrypt-a', async function () {
      requirePrograms(this, 'mkpasswd');
      const password = freshPassword();
      for (const args of [['-m', 'descrypt'], ['-m', 'md5crypt'], ['-m', 'sha256crypt', '-R', '4321'], ['-m', 'sha512crypt'], ['-m', 'sha512crypt', '-R', '30000'], ['-m', 'bcrypt', '-R', '6'], ['-m', 'bcrypt-a']]) {
        const stored = '{CRYPT}' + (await tool('mkpasswd', [...args, password]));
        await assertVerifies(stored, password, `mkpasswd ${args.join(' ')}`);
      }
      // A password of exactly 32 and 64 bytes fills whole SHA-256 / SHA-512 blocks: an edge some crypt ports get wrong.
      for (const [method, length] of [['sha256crypt', 32], ['sha512crypt', 64], ['sha512crypt', 128], ['md5crypt', 16]] as const) {
        const exact = randomBytes(length).toString('base64').slice(0, length);
        const stored = '{CRYPT}' + (await tool('mkpasswd', ['-m', method, exact]));
        await assertVerifies(stored, exact, `mkpasswd -m ${method} (${length}-byte password)`);
      }
    });

    it('libc crypt(3) through perl: $2y$ bcrypt and salts of every length', async function () {
      requirePrograms(this, 'perl');
      const password = freshPassword();
      const salts = ['$2y$04$abcdefghijklmnopqrstuu', '$1$$', '$1$a$', '$5$$', '$5$rounds=1000$x$', '$6$0123456789abcdef$', 'zz'];
      for (const salt of salts) {
        const stored = '{CRYPT}' + (await tool('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1])', password, salt]));
        await assertVerifies(stored, password, `crypt(3) salt ${salt}`);
      }
    });

    it('argon2 command-line tool: argon2id, argon2i, argon2d', async function () {
      requirePrograms(this, 'argon2');
      const password = freshPassword();
      for (const type of ['-id', '-i', '-d']) {
        const stored = '{ARGON2}' + (await tool('argon2', ['somesaltsomesalt', type, '-m', '10', '-t', '2', '-p', '1', '-e'], password));
        await assertVerifies(stored, password, `argon2 ${type}`);
      }
    });
  });

  describe('hashPassword', () => {
    it('hashes with {SSHA512} by default, with a fresh salt each time', async () => {
      const a = await hashPassword('secret');
      const b = await hashPassword('secret');
      assert.match(a, /^\{SSHA512\}/);
      assert.notEqual(a, b);
      await assertVerifies(a, 'secret', 'default scheme');
    });

    for (const scheme of ['{ARGON2}', '{SSHA512}', '{SSHA256}', '{SSHA}', '{CRYPT}', 'ssha512', '{crypt}']) {
      it(`${scheme}: round trip, isHashed, needsRehash`, async () => {
        const normalized = normalizeHashScheme(scheme);
        for (const password of [ASCII, UNICODE]) {
          const stored = await hashPassword(password, scheme);
          assert.ok(stored.startsWith(normalized), stored);
          assert.ok(isHashed(stored));
          await assertVerifies(stored, password, `hashPassword ${scheme}`);
          assert.equal(needsRehash(stored, scheme), false, `a fresh ${scheme} hash needs no rehash`);
          assert.equal(needsRehash(stored, normalized === '{SSHA}' ? '{SSHA512}' : '{SSHA}'), true);
        }
      });
    }

    it('refuses schemes it will not write', async () => {
      for (const scheme of ['{MD5}', '{SHA}', '{CLEARTEXT}', 'bogus']) {
        await assert.rejects(hashPassword('x', scheme), /unsupported password hash scheme/);
      }
      await assert.rejects(hashPassword('a\u0000b', '{CRYPT}'), /NUL/);
    });

    it('{SSHA}, {SSHA256}, {SSHA512} hashes verify in python3 hashlib', async function () {
      requirePrograms(this, 'python3');
      const script = [
        'import base64, hashlib, sys',
        'algs = {"{SSHA}": ("sha1", 20), "{SSHA256}": ("sha256", 32), "{SSHA512}": ("sha512", 64)}',
        'password = sys.argv[1].encode("utf-8", "surrogateescape")',
        'for stored in sys.argv[2:]:',
        '    scheme, data = stored[:stored.index("}") + 1], base64.b64decode(stored[stored.index("}") + 1:])',
        '    alg, size = algs[scheme]',
        '    print(hashlib.new(alg, password + data[size:]).digest() == data[:size])',
      ].join('\n');
      const password = freshPassword();
      const hashes = await Promise.all(['{SSHA}', '{SSHA256}', '{SSHA512}'].map((s) => hashPassword(password, s)));
      assert.equal(await tool('python3', ['-c', script, password, ...hashes]), 'True\nTrue\nTrue');
      assert.equal(await tool('python3', ['-c', script, password + 'x', ...hashes]), 'False\nFalse\nFalse');
    });

    it('{CRYPT} hashes are reproduced by libc crypt(3) and openssl passwd -6', async function () {
      requirePrograms(this, 'perl', 'openssl');
      const password = freshPassword();
      const stored = await hashPassword(password, '{CRYPT}');
      const crypt = stored.slice('{CRYPT}'.length);
      assert.equal(await tool('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1])', password, crypt]), crypt);
      const salt = crypt.split('$')[2]!;
      assert.equal(await tool('openssl', ['passwd', '-6', '-salt', salt, password]), crypt);
      assert.notEqual(await tool('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1])', password + 'x', crypt]), crypt);
    });

    it('{ARGON2} strings have libargon2\'s own layout: the argon2 tool prints the same string for the same salt', async function () {
      requirePrograms(this, 'argon2');
      const salt = 'ispd-salt-16byte';
      for (const password of [ASCII, UNICODE]) {
        const ours = await argon2Phc(Buffer.from(password, 'utf8'), Buffer.from(salt));
        // 65536 KiB = 2^16, t=3, p=4, 32-byte hash: ARGON2_HASH_OPTIONS
        const theirs = await tool('argon2', [salt, '-id', '-m', '16', '-t', '3', '-p', '4', '-l', '32', '-e'], password);
        assert.equal(ours, theirs);
      }
    });

    it('hashes written by hashPassword let a real slapd bind', async function () {
      requirePrograms(this, 'slapd', 'slapadd', 'ldapwhoami');
      this.timeout(60000);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ispd-auth-'));
      try {
        const schemes = ['{SSHA512}', '{SSHA256}', '{SSHA}', '{CRYPT}', '{ARGON2}'];
        const password = freshPassword();
        const users = await Promise.all(schemes.map(async (scheme, i) => ({ dn: `cn=user${i},o=ispman`, scheme, stored: await hashPassword(password, scheme) })));
        const ldif = [
          'dn: o=ispman\nobjectClass: organization\no: ispman\n',
          ...users.map((u, i) => `dn: ${u.dn}\nobjectClass: person\ncn: user${i}\nsn: user${i}\nuserPassword: ${u.stored}\n`),
        ].join('\n');
        const ldifFile = path.join(dir, 'users.ldif');
        fs.writeFileSync(ldifFile, ldif);
        // slapd verifies {ARGON2} only with its argon2 module; an include file may carry any slapd.conf line.
        const moduleFile = path.join(dir, 'argon2-module.conf');
        fs.writeFileSync(moduleFile, 'moduleload /usr/lib/ldap/argon2.so\n');
        const slapd = await startSlapd({ ldif: ldifFile, extraSchema: [moduleFile] });
        try {
          for (const user of users) {
            const ok = await runClient('ldapwhoami', ['-x', '-H', slapd.ldapUrl, '-D', user.dn, '-w', password]);
            assert.equal(ok.code, 0, `${user.scheme}: ${describeResult(ok)}`);
            const bad = await runClient('ldapwhoami', ['-x', '-H', slapd.ldapUrl, '-D', user.dn, '-w', password + 'x']);
            assert.equal(bad.code, 49, `${user.scheme} wrong password: ${describeResult(bad)}`);
          }
        } finally {
          await slapd.stop();
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('decoyVerify', () => {
    it('answers false for every scheme, whatever the candidate, and refuses unknown schemes', async () => {
      for (const scheme of ['{SSHA512}', '{SSHA}', '{CRYPT}', '{ARGON2}']) {
        assert.equal(await decoyVerify('secret', scheme), false);
        assert.equal(await decoyVerify('', scheme), false);
      }
      await assert.rejects(decoyVerify('secret', '{NOPE}'), /unsupported password hash scheme/);
    });
  });

  describe('isHashed, needsRehash, generatePassword', () => {
    it('isHashed: a {scheme} prefix, as slapd tells a hash from cleartext', () => {
      assert.equal(isHashed('{SSHA}abc'), true);
      assert.equal(isHashed('{crypt}abc'), true);
      assert.equal(isHashed('{X}'), true);
      assert.equal(isHashed('secret'), false);
      assert.equal(isHashed('{}secret'), false);
      assert.equal(isHashed('$6$abc$def'), false, 'a bare crypt string is cleartext to LDAP');
      assert.equal(isHashed(''), false);
    });

    it('needsRehash: cleartext and legacy schemes yes, unsupported values no, weaker Argon2 yes', () => {
      assert.equal(needsRehash('secret', '{SSHA512}'), true);
      assert.equal(needsRehash('{crypt}oCg9BFONKlTN.', '{CRYPT}'), true, 'DES is not the $6$ we write');
      assert.equal(needsRehash('{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=', '{SSHA}'), true);
      assert.equal(needsRehash('{FOO}bar', '{SSHA512}'), false);
      const slapdArgon2i = VECTORS.find((v) => v.tool === 'slappasswd argon2 {ARGON2}')!.stored;
      assert.equal(needsRehash(slapdArgon2i, '{ARGON2}'), true, 'argon2i with 4 MiB is weaker than what we write');
      const strong = '{ARGON2}$argon2id$v=19$m=131072,t=4,p=4$c2FsdHNhbHRzYWx0$qOIxmk6OnJSUNR7/qet7ADQJwGs3ZjB7toqz9lnkiYE';
      assert.equal(needsRehash(strong, '{ARGON2}'), false, 'a stronger Argon2 is kept');
      assert.throws(() => needsRehash('secret', '{NOPE}'), /unsupported password hash scheme/);
    });

    it('generatePassword: random, of the asked length, from an unambiguous alphabet', () => {
      const seen = new Set<string>();
      for (let i = 0; i < 50; i++) {
        const p = generatePassword();
        assert.match(p, /^[a-km-zA-HJ-NP-Z2-9]{16}$/);
        seen.add(p);
      }
      assert.equal(seen.size, 50);
      assert.equal(generatePassword(24).length, 24);
    });
  });
});
