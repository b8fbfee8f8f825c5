// The schema model: what the rest of the directory asks of a loaded schema.
// Implementations live beside this file (parse.ts reads OpenLDAP .schema text, registry.ts holds it,
// matching.ts has the matching rules, syntax.ts the syntax validators).

export type Usage = 'userApplications' | 'directoryOperation' | 'distributedOperation' | 'dSAOperation';
export type ClassKind = 'STRUCTURAL' | 'AUXILIARY' | 'ABSTRACT';

export interface MatchingRule {
  oid: string;
  name: string;
  /** Equality/ordering normal form of one value, or null when the value is not valid for the rule. */
  normalize(value: string): string | null;
  /** For ordering rules: negative, 0, positive comparing two normalized values. */
  compare?(a: string, b: string): number;
}

export interface SubstringRule {
  oid: string;
  name: string;
  /** Normal form of a value or an assertion fragment, such that substring containment can be tested on normal forms. */
  normalize(value: string): string;
}

export interface AttributeType {
  oid: string;
  /** All names, as declared (first is the primary one). Empty for an OID-only type. */
  names: string[];
  /** Primary name as declared (e.g. "mailLocalAddress"), or the OID when unnamed. */
  name: string;
  /** Lower-cased primary name: the key used in storage, indexes and ACLs. */
  key: string;
  sup?: AttributeType;
  /** Effective syntax OID (inherited through SUP when absent). */
  syntax: string;
  syntaxLength?: number;
  /** Effective rules, inherited through SUP when absent. */
  equality?: MatchingRule;
  ordering?: MatchingRule;
  substr?: SubstringRule;
  singleValue: boolean;
  collective: boolean;
  noUserModification: boolean;
  usage: Usage;
  obsolete: boolean;
  desc?: string;
  /** The definition as published in cn=Subschema (RFC 4512 form). */
  definition: string;
}

export interface ObjectClass {
  oid: string;
  names: string[];
  name: string;
  key: string;
  sup: ObjectClass[];
  kind: ClassKind;
  /** Direct MUST/MAY of this class only; use Schema.classClosure for inherited ones. */
  must: AttributeType[];
  may: AttributeType[];
  obsolete: boolean;
  desc?: string;
  definition: string;
}

export interface Schema {
  /** By any name (case-insensitive) or OID. Unknown → undefined. */
  attributeType(nameOrOid: string): AttributeType | undefined;
  objectClass(nameOrOid: string): ObjectClass | undefined;
  attributeTypes(): Iterable<AttributeType>;
  objectClasses(): Iterable<ObjectClass>;
  /** Names (as declared) of the matching rules and syntaxes in use, for cn=Subschema. */
  matchingRuleDefinitions(): string[];
  syntaxDefinitions(): string[];
  /** RFC 4512 matchingRuleUse texts for cn=Subschema (optional: added after the first version). */
  matchingRuleUseDefinitions?(): string[];
  /** A matching rule by name or OID, case-insensitive (extensible match filters); optional like the above. */
  matchingRule?(nameOrOid: string): MatchingRule | SubstringRule | undefined;
  /** The class with all its superclasses (transitively), itself first. */
  classClosure(oc: ObjectClass): ObjectClass[];
  /**
   * Equality normal form of a value of this attribute: by its equality rule, or, without one,
   * the value itself. Returns null when the value is invalid for the rule (e.g. "abc" for integerMatch).
   */
  normalizeValue(attr: AttributeType, value: string): string | null;
  /** Syntax check of a value written to this attribute. Returns an error text or null when valid. */
  checkSyntax(attr: AttributeType, value: string): string | null;
  /** True when `attr` is `ancestor` or a subtype of it (used for filters on a supertype, e.g. (name=x)). */
  isSubtype(attr: AttributeType, ancestor: AttributeType): boolean;
}
