// Schema checking of a whole entry (what slapd's entry_schema_check does), with slapd's result codes.

import type { AttributeMap } from '../../backends/types';
import { DirectoryError } from './errors';
import { keyOfStoredName, isOperational } from './entry';
import type { AttributeNames } from './filter';
import type { AttributeType, ObjectClass, Schema } from './schema/types';

interface ClassSetRules {
  must: AttributeType[];
  /** keys allowed (must ∪ may); null when extensibleObject allows everything */
  allowed: Set<string> | null;
  structural: ObjectClass;
}

const rulesCache = new WeakMap<Schema, Map<string, ClassSetRules>>();

function rulesFor(schema: Schema, classNames: string[]): ClassSetRules {
  let cache = rulesCache.get(schema);
  if (!cache) rulesCache.set(schema, (cache = new Map()));
  const key = classNames.map((c) => c.toLowerCase()).sort().join('$');
  const hit = cache.get(key);
  if (hit) return hit;

  const classes: ObjectClass[] = [];
  classNames.forEach((name, i) => {
    const oc = schema.objectClass(name);
    if (!oc) throw DirectoryError.of('invalidAttributeSyntax', `objectClass: value #${i} invalid per syntax`);
    classes.push(oc);
  });
  const structural = classes.filter((c) => c.kind === 'STRUCTURAL');
  if (structural.length === 0) throw DirectoryError.of('objectClassViolation', 'no structural object class provided');
  // One chain: the most specific structural class must have every other structural class as a superclass.
  const leaf = structural.find((s) => {
    const closure = schema.classClosure(s);
    return structural.every((o) => closure.includes(o));
  });
  if (!leaf) {
    throw DirectoryError.of('objectClassViolation', `invalid structural object class chain (${structural.map((s) => s.name).join('/')})`);
  }
  const all = new Set<ObjectClass>();
  for (const c of classes) for (const s of schema.classClosure(c)) all.add(s);
  const must = new Map<string, AttributeType>();
  let allowed: Set<string> | null = new Set();
  for (const c of all) {
    if (c.key === 'extensibleobject') allowed = null;
    for (const a of c.must) must.set(a.key, a);
    if (allowed) {
      for (const a of c.must) allowed.add(a.key);
      for (const a of c.may) allowed.add(a.key);
    }
  }
  const rules = { must: [...must.values()], allowed, structural: leaf };
  cache.set(key, rules);
  return rules;
}

/** Throws the DirectoryError slapd would give for an entry that breaks the schema. */
export function checkEntry(schema: Schema, attrs: AttributeMap, names: AttributeNames): void {
  const ocs = attrs.objectClass;
  if (!ocs || ocs.length === 0) throw DirectoryError.of('objectClassViolation', 'no objectClass attribute');
  const rules = rulesFor(schema, ocs);
  for (const at of rules.must) {
    const present = names.namesOf(at).some((n) => attrs[n] && attrs[n].length > 0);
    if (!present) throw DirectoryError.of('objectClassViolation', `object class '${classRequiring(schema, ocs, at)}' requires attribute '${at.name}'`);
  }
  for (const [name, values] of Object.entries(attrs)) {
    const at = keyOfStoredName(schema, name);
    if (!at) throw DirectoryError.of('undefinedAttributeType', `${name}: attribute type undefined`);
    if (!isOperational(at) && rules.allowed && !rules.allowed.has(at.key)) {
      throw DirectoryError.of('objectClassViolation', `attribute '${at.name}' not allowed`);
    }
    if (at.singleValue && values.length > 1) throw DirectoryError.of('constraintViolation', `attribute '${at.name}' cannot have multiple values`);
    for (let i = 0; i < values.length; i++) {
      const err = schema.checkSyntax(at, values[i]);
      if (err !== null) throw DirectoryError.of('invalidAttributeSyntax', `${at.name}: value #${i} invalid per syntax`);
    }
  }
}

function classRequiring(schema: Schema, ocs: string[], at: AttributeType): string {
  for (const n of ocs) {
    const oc = schema.objectClass(n);
    if (!oc) continue;
    for (const c of schema.classClosure(oc)) if (c.must.includes(at)) return c.name;
  }
  return ocs[0];
}

export function structuralOf(schema: Schema, classNames: string[]): string {
  return rulesFor(schema, classNames).structural.name;
}
