// Decodes an RFC 4511 §4.5.1.7 Filter from BER straight into the directory's Filter AST.
//
// Why not @ldapjs/messages' SearchRequest: it turns the decoded filter into a string and parses that
// string again, and what comes out keeps the escapes — (cn=Zoë) arrives as the value "Zo\c3\ab" and
// (cn=a\2ab) as "a\2ab" — and attribute options such as "userCertificate;binary" make it throw
// (test/unit/ldap-codec.test.ts shows each case). Values here are the octets the client sent, UTF-8 decoded.

import type { Filter } from '../directory/types';
import { BerCursor, RequestSyntaxError } from './ber-cursor';

const AND = 0xa0;
const OR = 0xa1;
const NOT = 0xa2;
const EQUALITY = 0xa3;
const SUBSTRINGS = 0xa4;
const GE = 0xa5;
const LE = 0xa6;
const PRESENT = 0x87;
const APPROX = 0xa8;
const EXTENSIBLE = 0xa9;

/** Deeper nesting than this is an attack, not a directory query; refusing it keeps the stack bounded. */
const MAX_DEPTH = 64;

export function decodeFilter(cursor: BerCursor, depth = 0): Filter {
  if (depth > MAX_DEPTH) throw new RequestSyntaxError(`filter nested deeper than ${MAX_DEPTH}`);
  const tag = cursor.peek();
  switch (tag) {
    case AND:
    case OR: {
      const end = cursor.enter(tag);
      const filters: Filter[] = [];
      while (cursor.offset < end) filters.push(decodeFilter(cursor, depth + 1));
      cursor.expectAt(end);
      return { type: tag === AND ? 'and' : 'or', filters };
    }
    case NOT: {
      const end = cursor.enter(NOT);
      const filter = decodeFilter(cursor, depth + 1);
      cursor.expectAt(end);
      return { type: 'not', filter };
    }
    case EQUALITY:
    case GE:
    case LE:
    case APPROX: {
      const end = cursor.enter(tag);
      const attribute = cursor.string();
      const value = cursor.string();
      cursor.expectAt(end);
      const type = tag === EQUALITY ? 'equality' : tag === GE ? 'ge' : tag === LE ? 'le' : 'approx';
      return { type, attribute, value };
    }
    case PRESENT:
      return { type: 'present', attribute: cursor.string(PRESENT) };
    case SUBSTRINGS: {
      const end = cursor.enter(SUBSTRINGS);
      const attribute = cursor.string();
      const partsEnd = cursor.enter(0x30);
      const filter: Filter = { type: 'substrings', attribute, any: [] };
      let count = 0;
      while (cursor.offset < partsEnd) {
        const partTag = cursor.peek();
        const value = cursor.string(partTag ?? -1);
        // RFC 4511: initial only first, final only last, at least one part.
        if (partTag === 0x80 && count === 0) filter.initial = value;
        else if (partTag === 0x81 && filter.final === undefined) filter.any.push(value);
        else if (partTag === 0x82 && filter.final === undefined) filter.final = value;
        else throw new RequestSyntaxError('substring filter parts out of order');
        count++;
      }
      if (count === 0) throw new RequestSyntaxError('substring filter without parts');
      cursor.expectAt(partsEnd);
      cursor.expectAt(end);
      return filter;
    }
    case EXTENSIBLE: {
      const end = cursor.enter(EXTENSIBLE);
      let rule: string | undefined;
      let attribute: string | undefined;
      if (cursor.offset < end && cursor.peek() === 0x81) rule = cursor.string(0x81);
      if (cursor.offset < end && cursor.peek() === 0x82) attribute = cursor.string(0x82);
      const value = cursor.string(0x83);
      let dnAttributes = false;
      if (cursor.offset < end && cursor.peek() === 0x84) dnAttributes = cursor.boolean(0x84);
      cursor.expectAt(end);
      if (rule === undefined && attribute === undefined) throw new RequestSyntaxError('extensible filter without rule or type');
      const filter: Filter = { type: 'extensible', value, dnAttributes };
      if (rule !== undefined) filter.rule = rule;
      if (attribute !== undefined) filter.attribute = attribute;
      return filter;
    }
    default:
      throw new RequestSyntaxError(`unknown filter tag 0x${(tag ?? 0).toString(16)}`);
  }
}
