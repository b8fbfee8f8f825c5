// BER as a tree, for structure-aware mutation of LDAP PDUs: seeds are built as trees, mutated as trees
// (tags, values, children, nesting), then encoded with correct lengths or with one length that lies.

import { Rng } from './random';

export interface Tlv {
  tag: number;
  /** Constructed: children; primitive: value. */
  children?: Tlv[];
  value?: Buffer;
  /** When set, the encoder writes this length header instead of the true one (a lying length). */
  lengthOverride?: Buffer;
}

export const prim = (tag: number, value: Buffer | string): Tlv => ({ tag, value: typeof value === 'string' ? Buffer.from(value, 'utf8') : value });
export const cons = (tag: number, ...children: Tlv[]): Tlv => ({ tag, children });
export const str = (value: string, tag = 0x04): Tlv => prim(tag, value);
export const bool = (value: boolean, tag = 0x01): Tlv => prim(tag, Buffer.from([value ? 0xff : 0x00]));
export const int = (value: number, tag = 0x02): Tlv => prim(tag, intBytes(value));
export const enumeration = (value: number): Tlv => int(value, 0x0a);

function intBytes(value: number): Buffer {
  const out: number[] = [];
  let v = value;
  do {
    out.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0 && v !== -1);
  if (value >= 0 && out[0] & 0x80) out.unshift(0);
  return Buffer.from(out);
}

function lengthHeader(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let v = length; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function encode(node: Tlv): Buffer {
  const body = node.children ? Buffer.concat(node.children.map(encode)) : node.value ?? Buffer.alloc(0);
  return Buffer.concat([Buffer.from([node.tag & 0xff]), node.lengthOverride ?? lengthHeader(body.length), body]);
}

export function clone(node: Tlv): Tlv {
  return { tag: node.tag, children: node.children?.map(clone), value: node.value ? Buffer.from(node.value) : undefined };
}

/** Every node with its parent (null for the root). */
function nodes(root: Tlv): Array<{ node: Tlv; parent: Tlv | null }> {
  const out: Array<{ node: Tlv; parent: Tlv | null }> = [];
  const walk = (node: Tlv, parent: Tlv | null) => {
    out.push({ node, parent });
    for (const c of node.children ?? []) walk(c, node);
  };
  walk(root, null);
  return out;
}

/** Tags that mean something in an LDAPMessage: protocolOps, filter choices, context tags, universal types. */
const INTERESTING_TAGS = [
  0x01, 0x02, 0x04, 0x0a, 0x30, 0x31, 0x42, 0x4a, 0x50, 0x60, 0x61, 0x63, 0x64, 0x65, 0x66, 0x68, 0x6c, 0x6e, 0x77, 0x78,
  0x80, 0x81, 0x82, 0x83, 0x84, 0x87, 0x8a, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0x00, 0x1f, 0xff,
];

const INTEGER_VALUES = [
  [], [0x00], [0x7f], [0x80], [0xff], [0x00, 0x80], [0x7f, 0xff, 0xff, 0xff], [0x80, 0x00, 0x00, 0x00], [0x00, 0xff, 0xff, 0xff, 0xff],
  [0x01, 0x00, 0x00, 0x00, 0x00], [0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
].map((b) => Buffer.from(b));

const STRING_VALUES = ['', '*', '\\', '\\2a', '(', ')', '=', ',', '+', '"', '#00', 'cn=', 'cn=a+cn=b', 'o=ispman', 'uid=\u0000', '\u00e9', '\uffff', '\ud800', 'a'.repeat(70000)].map((v) => Buffer.from(v));

/** Length headers that lie: short, long, indefinite, too many octets, huge, padded long form. */
function lyingLength(rng: Rng, trueLength: number): Buffer {
  switch (rng.int(7)) {
    case 0:
      return lengthHeader(Math.max(0, trueLength - 1 - rng.int(4)));
    case 1:
      return lengthHeader(trueLength + 1 + rng.int(300));
    case 2:
      return Buffer.from([0x80]);
    case 3:
      return Buffer.from([0x85, 0, 0, 0, 0, trueLength & 0xff]);
    case 4:
      return Buffer.from([0x84, 0xff, 0xff, 0xff, 0xff]);
    case 5:
      return Buffer.from([0x84, 0, 0, (trueLength >> 8) & 0xff, trueLength & 0xff]); // valid BER, not DER
    default:
      return Buffer.from([0xff]);
  }
}

/** One structural mutation of the tree (in place); the root may be replaced, so the new root is returned. */
export function mutateTree(rng: Rng, root: Tlv): Tlv {
  const all = nodes(root);
  const { node, parent } = rng.pick(all);
  switch (rng.int(11)) {
    case 0: // another tag
      node.tag = rng.chance(0.7) ? rng.pick(INTERESTING_TAGS) : rng.u32() & 0xff;
      break;
    case 1: // another value
      if (node.children) node.children = [];
      else if (node.tag === 0x02 || node.tag === 0x0a || node.tag === 0x01) node.value = rng.pick(INTEGER_VALUES);
      else node.value = rng.chance(0.5) ? rng.pick(STRING_VALUES) : rng.bytes(rng.size(400));
      break;
    case 2: // drop the node
      if (parent?.children) parent.children.splice(parent.children.indexOf(node), 1);
      break;
    case 3: // repeat it (many times when it is small: long attribute lists, wide filters)
      if (parent?.children) {
        const many = rng.chance(0.1) && encode(node).length < 64;
        parent.children.splice(parent.children.indexOf(node), 0, ...Array.from({ length: 1 + rng.int(many ? 2000 : 4) }, () => clone(node)));
      }
      break;
    case 4: // swap two siblings
      if (parent?.children && parent.children.length > 1) {
        const i = rng.int(parent.children.length);
        const j = rng.int(parent.children.length);
        [parent.children[i], parent.children[j]] = [parent.children[j], parent.children[i]];
      }
      break;
    case 5: // nest it (filters: and/or/not, deeply)
      if (parent?.children) {
        let wrapped: Tlv = node;
        for (let depth = rng.chance(0.2) ? 40 + rng.int(200) : 1 + rng.int(4); depth > 0; depth--) wrapped = cons(rng.pick([0xa0, 0xa1, 0xa2, 0x30, 0x31]), wrapped);
        parent.children[parent.children.indexOf(node)] = wrapped;
      }
      break;
    case 6: // a length that lies
      node.lengthOverride = lyingLength(rng, encode({ ...node, lengthOverride: undefined }).length - 2);
      break;
    case 7: // constructed ↔ primitive
      if (node.children) {
        node.value = Buffer.concat(node.children.map(encode));
        node.children = undefined;
      } else {
        node.children = [prim(0x04, node.value ?? Buffer.alloc(0))];
        node.value = undefined;
      }
      break;
    case 8: // graft a node from elsewhere in the tree
      if (node.children) node.children.splice(rng.int(node.children.length + 1), 0, clone(rng.pick(all).node));
      break;
    case 9: // add a random element
      if (node.children) node.children.push(rng.chance(0.5) ? prim(rng.pick(INTERESTING_TAGS), rng.bytes(rng.size(40))) : cons(rng.pick(INTERESTING_TAGS)));
      break;
    default: // empty it
      if (node.children) node.children = [];
      else node.value = Buffer.alloc(0);
  }
  return root;
}
