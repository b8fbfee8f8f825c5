// The schema package: load OpenLDAP .schema files into a Schema (see types.ts for the interface).
export * from './types';
export { loadSchema, SchemaRegistry, defaultSchemaDir, DEFAULT_SCHEMA_FILES, POWERDNS_SCHEMA_FILES } from './registry';
export type { LoadSchemaOptions } from './registry';
export { parseSchemaText, SchemaError, formatAttributeType, formatObjectClass, isNumericOid } from './parse';
export type { AttributeTypeDefinition, ObjectClassDefinition, ObjectIdentifierDefinition, SchemaDefinition } from './parse';
export { normalizeInteger, compareIntegers } from './matching';
export { SYNTAX } from './syntax';
export { parseGeneralizedTime, formatGeneralizedTime, compareGeneralizedTime } from './time';
