// LDAP fuzz inputs: valid PDUs of every operation (RFC 4511 §4.2–§4.12) with controls and nested filters,
// mutated as BER trees (tags, values, children, nesting, lying lengths), then sometimes damaged byte by
// byte; plus plain random bytes. Each input is what one connection sends.

import { cons, encode, enumeration, int, mutateTree, prim, str, bool, type Tlv } from './ber';
import { damageBytes, Rng } from './random';

export const ADMIN_DN = 'uid=ispman,ou=admins,o=ispman';
export const ADMIN_PASSWORD = 'ispman-admin';

const control = (oid: string, critical?: boolean, value?: Buffer): Tlv =>
  cons(0x30, str(oid), ...(critical === undefined ? [] : [bool(critical)]), ...(value ? [prim(0x04, value)] : []));

const PAGED = (size: number, cookie = '') => control('1.2.840.113556.1.4.319', true, encode(cons(0x30, int(size), str(cookie))));
const CONTROLS: Array<() => Tlv> = [
  () => PAGED(2),
  () => PAGED(0, 'not-a-cookie'),
  () => control('1.3.6.1.4.1.42.2.27.8.5.1'), // ppolicy, no value (nslcd)
  () => control('2.16.840.1.113730.3.4.2', false), // manageDsaIT
  () => control('1.2.3.4.5.6', true, Buffer.from('x')), // unknown critical
  () => control('1.3.6.1.4.1.4203.1.10.1', false, Buffer.from([0x30, 0x00])), // subentries
];

// Filters (RFC 4511 §4.5.1.7)
const eq = (a: string, v: string) => cons(0xa3, str(a), str(v));
const present = (a: string) => prim(0x87, a);
const substrings = (a: string, ...parts: Array<[number, string]>) => cons(0xa4, str(a), cons(0x30, ...parts.map(([t, v]) => prim(t, v))));
const FILTERS: Array<() => Tlv> = [
  () => present('objectClass'),
  () => eq('uid', 'alice_example_com'),
  () => cons(0xa0, eq('objectClass', 'posixAccount'), eq('uid', 'bob@example.com')),
  () => cons(0xa1, eq('mailLocalAddress', 'alice@example.com'), eq('mailAlias', 'alice@example.com')),
  () => cons(0xa2, cons(0xa0, present('cn'), cons(0xa1, eq('sn', 'x'), cons(0xa2, present('mail'))))),
  () => substrings('cn', [0x80, 'a'], [0x81, 'b'], [0x82, 'c']),
  () => substrings('mail', [0x81, ' Us ']),
  () => cons(0xa5, str('uidNumber'), str('1000')),
  () => cons(0xa6, str('gidNumber'), str('2000')),
  () => cons(0xa8, str('cn'), str('alise')),
  () => cons(0xa9, prim(0x81, '2.5.13.2'), prim(0x82, 'cn'), prim(0x83, 'Alice'), prim(0x84, Buffer.from([0xff]))),
  () => cons(0xa9, prim(0x82, 'ou'), prim(0x83, 'users'), prim(0x84, Buffer.from([0xff]))),
  () => cons(0xa0),
  () => cons(0xa1),
];

const DNS = ['', 'o=ispman', 'ispmanDomain=example.com,o=ispman', 'uid=alice_example_com,ou=users,ispmanDomain=example.com,o=ispman', 'cn=subschema', 'ou=DNS,o=ispman', 'uid=fuzz,ou=users,ispmanDomain=example.com,o=ispman'];

/** Writes (as admin) go only to entries the batch checks do not read: the DNS data and the suffix stay as they are. */
const WRITE_DNS = ['uid=alice_example_com,ou=users,ispmanDomain=example.com,o=ispman', 'uid=fuzz,ou=users,ispmanDomain=example.com,o=ispman', 'uid=bob_example_com,ou=users,ispmanDomain=example.com,o=ispman', 'cn=nosuch,o=ispman'];

const message = (id: number, op: Tlv, controls: Tlv[] = []): Tlv => cons(0x30, int(id), op, ...(controls.length ? [cons(0xa0, ...controls)] : []));

function attributes(rng: Rng): Tlv {
  const names = ['cn', 'uid', 'mail', '*', '+', '1.1', 'objectClass', 'userPassword', 'mailLocalAddress;binary', 'createTimestamp'];
  return cons(0x30, ...Array.from({ length: rng.int(4) }, () => str(rng.pick(names))));
}

/** A valid request PDU of a random operation. */
export function seedRequest(rng: Rng, id = 1 + rng.int(1000)): Tlv {
  const dn = rng.pick(DNS);
  const target = rng.pick(WRITE_DNS);
  const controls = rng.chance(0.3) ? Array.from({ length: 1 + rng.int(2) }, () => rng.pick(CONTROLS)()) : [];
  const partial = (type: string, ...values: string[]) => cons(0x30, str(type), cons(0x31, ...values.map((v) => str(v))));
  switch (rng.int(13)) {
    case 0:
      return message(id, cons(0x60, int(3), str(rng.chance(0.5) ? ADMIN_DN : dn), prim(0x80, rng.chance(0.5) ? ADMIN_PASSWORD : 'wrong')), controls);
    case 1:
      return message(id, cons(0x60, int(rng.pick([2, 3])), str(''), cons(0xa3, str(rng.pick(['PLAIN', 'EXTERNAL', 'GSSAPI'])), str('creds'))), controls);
    case 2:
    case 3:
    case 4:
      return message(id, cons(0x63, str(dn), enumeration(rng.int(4)), enumeration(rng.int(4)), int(rng.int(10)), int(rng.int(5)), bool(rng.chance(0.2)), rng.pick(FILTERS)(), attributes(rng)), controls);
    case 5:
      return message(id, cons(0x66, str(target), cons(0x30, ...Array.from({ length: 1 + rng.int(3) }, () => cons(0x30, enumeration(rng.int(4)), partial(rng.pick(['description', 'mailAlias', 'uidNumber', 'objectClass', 'cn']), 'fuzz', '42'))))), controls);
    case 6:
      return message(id, cons(0x68, str('uid=fuzz,ou=users,ispmanDomain=example.com,o=ispman'), cons(0x30, partial('objectClass', 'top', 'person', 'inetOrgPerson'), partial('uid', 'fuzz'), partial('cn', 'fuzz'), partial('sn', 'fuzz'))), controls);
    case 7:
      return message(id, prim(0x4a, target), controls);
    case 8:
      return message(id, cons(0x6c, str(target), str(rng.pick(['uid=fuzz2', 'cn=a+cn=b', 'uid=FUZZ'])), bool(rng.chance(0.5)), ...(rng.chance(0.5) ? [prim(0x80, 'ou=users,ispmanDomain=example.net,o=ispman')] : [])), controls);
    case 9:
      return message(id, cons(0x6e, str(dn), cons(0x30, str(rng.pick(['objectClass', 'uid', 'cn', 'userPassword'])), str(rng.pick(['person', 'top', 'alice_example_com', 'x'])))), controls);
    case 10:
      return message(id, int(rng.int(5), 0x50), controls);
    case 11: {
      const oid = rng.pick(['1.3.6.1.4.1.4203.1.11.3', '1.3.6.1.4.1.4203.1.11.1', '1.2.3.4']);
      const value = oid === '1.3.6.1.4.1.4203.1.11.1' ? [prim(0x81, encode(cons(0x30, prim(0x80, target), prim(0x81, 'old'), prim(0x82, 'new'))))] : [];
      return message(id, cons(0x77, prim(0x80, oid), ...value), controls);
    }
    default:
      return message(id, prim(0x42, Buffer.alloc(0)), controls);
  }
}

/** The unbind that ends every fuzz connection that is still open (RFC 4511 §4.3). */
export const UNBIND = encode(message(0x7ffffff0, prim(0x42, Buffer.alloc(0))));
export const ADMIN_BIND = encode(message(1, cons(0x60, int(3), str(ADMIN_DN), prim(0x80, ADMIN_PASSWORD))));

/** PDUs above this are cut: the server refuses them from the length header alone (ldap.maxPduBytes). */
const MAX_INPUT = 64 * 1024;

export type LdapInputKind = 'mutated' | 'damaged' | 'random' | 'valid';

/** One fuzz input: the bytes a connection sends before its unbind, and whether an admin bind goes first. */
export function ldapInput(rng: Rng): { bytes: Buffer; asAdmin: boolean; kind: LdapInputKind } {
  const asAdmin = rng.chance(0.25);
  const r = rng.int(100);
  if (r < 5) return { bytes: rng.bytes(rng.size(2000)), asAdmin, kind: 'random' };
  if (r < 8) {
    // random bytes in a plausible envelope
    const body = rng.bytes(rng.size(300));
    return { bytes: Buffer.concat([Buffer.from([0x30, body.length < 128 ? body.length : 0x81]), body.length < 128 ? Buffer.alloc(0) : Buffer.from([body.length & 0xff]), body]), asAdmin, kind: 'random' };
  }
  let tree = seedRequest(rng);
  if (r < 12) return { bytes: encode(tree), asAdmin, kind: 'valid' };
  for (let n = 1 + rng.int(3); n > 0; n--) tree = mutateTree(rng, tree);
  let bytes = encode(tree);
  let kind: LdapInputKind = 'mutated';
  if (rng.chance(0.3)) {
    bytes = damageBytes(rng, bytes);
    kind = 'damaged';
  }
  if (bytes.length > MAX_INPUT) bytes = bytes.subarray(0, MAX_INPUT);
  // Sometimes several requests pipelined on the connection.
  if (rng.chance(0.1)) bytes = Buffer.concat([bytes, encode(seedRequest(rng)), encode(seedRequest(rng))]);
  return { bytes, asAdmin, kind };
}
