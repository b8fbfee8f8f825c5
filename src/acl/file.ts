// Reading access rules from a YAML file (config acl.file). Format:
//
//   rules:
//     - to: { attrs: [userPassword] }            # or dn: <DN>, subtree: <DN>, exceptAttrs: [...]
//       by:
//         - { who: self, access: write, writeOnly: true }   # who: anyone | anonymous | users | self | admins | domainOwner
//         - { dn: "uid=postfix,ou=services,o=ispman", access: read }
//         - { subtree: "ou=admins,o=ispman", access: write }
//         - { who: anyone, access: auth }
//
// `write` includes `read`, as in slapd; `writeOnly: true` on a write makes it write without read (slapd's
// `=w`): for secrets their owner sets but never reads back.
// First matching rule, then first matching `by`, decides; no match → none (default deny).

import fs from 'node:fs';
import YAML from 'yaml';
import type { DNNormalizer } from '../directory/dn';
import type { AccessLevel, AclBy, AclRule, Who } from './index';

const LEVELS: AccessLevel[] = ['none', 'auth', 'compare', 'search', 'read', 'write'];
const WHO = ['anyone', 'anonymous', 'users', 'self', 'admins', 'domainOwner'];

export class AclFileError extends Error {}

export function parseAclRules(text: string, dn: DNNormalizer, source = 'acl'): AclRule[] {
  const doc = YAML.parse(text) as { rules?: unknown };
  if (!doc || !Array.isArray(doc.rules)) throw new AclFileError(`${source}: expected a top-level "rules:" list`);
  return doc.rules.map((raw: any, i: number): AclRule => {
    const where = `${source}: rules[${i}]`;
    const to = raw?.to ?? {};
    const lowerList = (v: unknown, key: string) => {
      if (v === undefined) return undefined;
      if (!Array.isArray(v)) throw new AclFileError(`${where}.to.${key}: expected a list of attribute names`);
      return v.map((a) => String(a).toLowerCase());
    };
    const target = {
      dn: to.dn !== undefined ? dn.normalize(String(to.dn)) : undefined,
      subtree: to.subtree !== undefined ? dn.normalize(String(to.subtree)) : undefined,
      attrs: lowerList(to.attrs, 'attrs'),
      exceptAttrs: lowerList(to.exceptAttrs, 'exceptAttrs'),
    };
    if (!Array.isArray(raw?.by) || raw.by.length === 0) throw new AclFileError(`${where}.by: expected a non-empty list`);
    const by = raw.by.map((b: any, j: number): AclBy => {
      const w = `${where}.by[${j}]`;
      if (!LEVELS.includes(b?.access)) throw new AclFileError(`${w}.access: ${JSON.stringify(b?.access)} is not one of ${LEVELS.join(', ')}`);
      let who: Who;
      if (b.dn !== undefined) who = { kind: 'dn', dnNorm: dn.normalize(String(b.dn)) };
      else if (b.subtree !== undefined) who = { kind: 'subtree', dnNorm: dn.normalize(String(b.subtree)) };
      else if (WHO.includes(b.who)) who = { kind: b.who } as Who;
      else throw new AclFileError(`${w}.who: ${JSON.stringify(b?.who)} is not one of ${WHO.join(', ')} (or give dn: / subtree:)`);
      if (b.writeOnly !== undefined && typeof b.writeOnly !== 'boolean') throw new AclFileError(`${w}.writeOnly: expected true or false`);
      if (b.writeOnly && b.access !== 'write') throw new AclFileError(`${w}.writeOnly: only with access: write`);
      return b.writeOnly ? { who, access: b.access, writeOnly: true } : { who, access: b.access };
    });
    return { to: target, by };
  });
}

export function loadAclFile(file: string, dn: DNNormalizer): AclRule[] {
  return parseAclRules(fs.readFileSync(file, 'utf8'), dn, file);
}
