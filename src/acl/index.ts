// Access control: OpenLDAP-style ordered rules, default deny.
//
// A rule says which entries and attributes it is `to`, then an ordered `by` list of who gets what level.
// The first rule whose `to` matches (entry and attribute) decides; within it the first matching `by`
// decides; no match anywhere → none. Levels are ordered like slapd's:
//   none < auth < compare < search < read < write
// (auth = may be used to bind with; search = may be used in a filter; read implies search and compare.)

export type AccessLevel = 'none' | 'auth' | 'compare' | 'search' | 'read' | 'write';
const LEVELS: AccessLevel[] = ['none', 'auth', 'compare', 'search', 'read', 'write'];

export function levelAtLeast(have: AccessLevel, need: AccessLevel): boolean {
  return LEVELS.indexOf(have) >= LEVELS.indexOf(need);
}

/** Who a `by` clause is for. DNs here are normalized. */
export type Who =
  | { kind: 'anyone' }
  | { kind: 'anonymous' }
  | { kind: 'users' } // any authenticated identity
  | { kind: 'self' }
  | { kind: 'admins' } // identities under the admins subtree
  | { kind: 'dn'; dnNorm: string }
  | { kind: 'subtree'; dnNorm: string }
  /** The domain an entry belongs to binds as itself (ispmanDomain=<d>,<base>): it may manage its subtree. */
  | { kind: 'domainOwner' };

export interface AclBy {
  who: Who;
  access: AccessLevel;
  /**
   * Write without read, compare or search (slapd's `=w` privilege): a secret its owner may set and bind
   * with but never read back. Without it `write` includes everything below it, as in slapd.
   */
  writeOnly?: boolean;
}

export interface AclTarget {
  /** Normalized DN subtree the rule applies to ('' = everything). */
  subtree?: string;
  /** Only the entry itself at this normalized DN. */
  dn?: string;
  /** Attribute keys (lower-case primary names); absent = all attributes (including the entry itself). */
  attrs?: string[];
  /** The rule applies to these attributes' complement. */
  exceptAttrs?: string[];
}

export interface AclRule {
  to: AclTarget;
  by: AclBy[];
}

export interface Requester {
  /** Normalized bind DN, '' when anonymous. */
  dnNorm: string;
}

/** The pseudo attribute for access to the entry itself (add/delete/rename need write on it; search needs read). */
export const ENTRY = 'entry';

export class AccessControl {
  constructor(private rules: AclRule[], private readonly adminsNorm: string, private readonly baseNorm: string) {}

  replaceRules(rules: AclRule[]): void {
    this.rules = rules;
  }

  /** The access level `who` has to attribute `attrKey` (or ENTRY) of the entry at `entryNorm`. */
  level(who: Requester, entryNorm: string, attrKey: string): AccessLevel {
    return this.decide(who, entryNorm, attrKey).access;
  }

  can(who: Requester, entryNorm: string, attrKey: string, need: AccessLevel): boolean {
    const by = this.decide(who, entryNorm, attrKey);
    if (by.writeOnly && need !== 'write' && need !== 'auth' && need !== 'none') return false;
    return levelAtLeast(by.access, need);
  }

  /** The `by` clause that decides (first matching rule, first matching `by`); none → default deny. */
  private decide(who: Requester, entryNorm: string, attrKey: string): Pick<AclBy, 'access' | 'writeOnly'> {
    if (who.dnNorm !== '' && who.dnNorm === this.rootNorm) return { access: 'write' };
    for (const rule of this.rules) {
      if (!targetMatches(rule.to, entryNorm, attrKey)) continue;
      for (const by of rule.by) if (this.whoMatches(by.who, who, entryNorm)) return by;
      return DENY;
    }
    return DENY;
  }

  /** Optional configured root identity (like slapd's rootdn): bypasses ACLs. */
  rootNorm = '\u0000none';

  isAdmin(who: Requester): boolean {
    return who.dnNorm !== '' && within(who.dnNorm, this.adminsNorm) && who.dnNorm !== this.adminsNorm;
  }

  private whoMatches(w: Who, who: Requester, entryNorm: string): boolean {
    switch (w.kind) {
      case 'anyone':
        return true;
      case 'anonymous':
        return who.dnNorm === '';
      case 'users':
        return who.dnNorm !== '';
      case 'self':
        return who.dnNorm !== '' && who.dnNorm === entryNorm;
      case 'admins':
        return this.isAdmin(who);
      case 'dn':
        return who.dnNorm === w.dnNorm;
      case 'subtree':
        return who.dnNorm !== '' && within(who.dnNorm, w.dnNorm);
      case 'domainOwner': {
        // ispmanDomain=<d>,<base> owns everything below it.
        if (who.dnNorm === '' || !who.dnNorm.startsWith('ispmandomain=')) return false;
        if (!who.dnNorm.endsWith(',' + this.baseNorm)) return false;
        return within(entryNorm, who.dnNorm);
      }
    }
  }
}

const DENY: Pick<AclBy, 'access'> = { access: 'none' };

function within(dnNorm: string, baseNorm: string): boolean {
  return baseNorm === '' || dnNorm === baseNorm || dnNorm.endsWith(',' + baseNorm);
}

function targetMatches(t: AclTarget, entryNorm: string, attrKey: string): boolean {
  if (t.dn !== undefined && t.dn !== entryNorm) return false;
  if (t.subtree !== undefined && !within(entryNorm, t.subtree)) return false;
  if (t.attrs && !t.attrs.includes(attrKey)) return false;
  if (t.exceptAttrs && t.exceptAttrs.includes(attrKey)) return false;
  return true;
}

/** Attributes a mail server needs to route mail (Postfix maps of ISPMan 1.4 and of the article). */
export const MAIL_ROUTING_ATTRIBUTES = [
  'objectclass', 'uid', 'ispmandomain', 'ispmandomainmaildeliverymethod', 'maillocaladdress', 'mailalias',
  'mailroutingaddress', 'mailforwardingaddress', 'mailhost', 'mailacceptinggeneralid', 'maildrop', 'ispmanstatus',
];

/**
 * ISPMan's own slapd ACLs (design §8, ispman-model §7.3), as the shipped default:
 *  - userPassword (and its subtype ispmanControlPanelPassword): admins write and so read, as in ISPMan's
 *    slapd, where `write` includes `read`: ISPMan's services that check hashes themselves (pure-ftpd-ldap,
 *    Dovecot without auth_bind, RADIUS) bind as uid=ispman,ou=admins. Its owner and the owning domain's
 *    account may set it but not read it back (stricter than ISPMan's slapd, which let a user read its own
 *    hash); anyone may bind with it (auth); nobody else sees it. An acl.file can narrow this further;
 *  - mail routing attributes: admins and the domain account write; the mail service identities
 *    (entries under ou=services) read, as do authenticated users, and anonymous when `anonymousRead`;
 *  - everything else: admins and the domain account write, a user reads its own entry, authenticated users
 *    read, service identities do not (they see only what they need), anonymous only when `anonymousRead`.
 */
/** Private key material ispd keeps for a zone or domain: readable and writable by admins only. */
export const PRIVATE_KEY_ATTRIBUTES = ['ispddnssecprivatekey'];

/** userPassword and its ISPMan subtype. */
export const SECRET_ATTRIBUTES = ['userpassword', 'ispmancontrolpanelpassword'];

export function defaultRules(opts: { baseNorm: string; adminsNorm: string; servicesNorm: string; anonymousRead: boolean }): AclRule[] {
  const secrets = SECRET_ATTRIBUTES;
  const writers: AclBy[] = [
    { who: { kind: 'admins' }, access: 'write' },
    { who: { kind: 'domainOwner' }, access: 'write' },
    { who: { kind: 'self' }, access: 'read' },
  ];
  const anonymous: AclBy[] = opts.anonymousRead ? [{ who: { kind: 'anonymous' }, access: 'read' }] : [];
  return [
    // Private keys (DNSSEC signing keys): admins alone, and nobody may bind with them.
    { to: { attrs: [...PRIVATE_KEY_ATTRIBUTES] }, by: [{ who: { kind: 'admins' }, access: 'write' }] },
    {
      to: { attrs: secrets },
      by: [
        { who: { kind: 'self' }, access: 'write', writeOnly: true },
        { who: { kind: 'admins' }, access: 'write' },
        { who: { kind: 'domainOwner' }, access: 'write', writeOnly: true },
        { who: { kind: 'anyone' }, access: 'auth' },
      ],
    },
    {
      to: { attrs: [...MAIL_ROUTING_ATTRIBUTES, ENTRY] },
      by: [...writers, { who: { kind: 'subtree', dnNorm: opts.servicesNorm }, access: 'read' }, { who: { kind: 'users' }, access: 'read' }, ...anonymous],
    },
    {
      to: { subtree: '' },
      by: [...writers, { who: { kind: 'subtree', dnNorm: opts.servicesNorm }, access: 'none' }, { who: { kind: 'users' }, access: 'read' }, ...anonymous],
    },
  ];
}
