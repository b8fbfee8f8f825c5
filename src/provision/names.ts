// ISPMan 1.4's naming rules (../shared/reference/ispman-model.md §2, §3): domain and user DNs, the
// uid convention, the DNS tree of a zone. Pure functions; the workflows (domains.ts, users.ts) use them.

import { escapeDNValue } from '../directory/dn';
import { ProvisionError } from './errors';

/** One DNS label: letters, digits and inner hyphens (RFC 1123), at most 63 characters. */
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * A hosted domain name in ISPMan's form: lower case (DomainMan addDomain lower-cases and strips spaces),
 * at least two labels, each a valid host label, no trailing dot.
 */
export function normalizeDomain(text: string): string {
  const d = text.trim().toLowerCase().replace(/\.$/, '');
  if (d.length === 0) throw new ProvisionError('invalid domain name "": empty');
  if (d.length > 253) throw new ProvisionError(`invalid domain name "${text}": longer than 253 characters`);
  const labels = d.split('.');
  if (labels.length < 2) throw new ProvisionError(`invalid domain name "${text}": needs at least two labels (example.com)`);
  for (const label of labels) {
    if (!LABEL.test(label)) throw new ProvisionError(`invalid domain name "${text}": "${label}" is not a host label (letters, digits, inner hyphens)`);
  }
  return d;
}

/**
 * A user id (the part before @) as ISPMan accepts it: lower case, [a-z0-9._-] (UserMan addUser strips other
 * characters silently; a help desk gets an error instead, so the address created is the one asked for).
 */
export function normalizeUserId(text: string, whole = text): string {
  const u = text.trim().toLowerCase();
  if (u.length === 0) throw new ProvisionError(`invalid address "${whole}": nothing before the @`);
  if (u.length > 64) throw new ProvisionError(`invalid address "${whole}": the name is longer than 64 characters`);
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(u) || u.includes('..') || u.endsWith('.')) {
    throw new ProvisionError(`invalid address "${whole}": the name may hold only letters, digits, ".", "-" and "_", starting with a letter or digit`);
  }
  return u;
}

export interface Address {
  /** user id (local part), normalized */
  user: string;
  domain: string;
  /** user@domain */
  address: string;
}

/** A mail address of a hosted domain: user@domain, both parts checked. */
export function parseAddress(text: string): Address {
  const t = text.trim();
  const at = t.lastIndexOf('@');
  if (at < 0) throw new ProvisionError(`invalid address "${text}": expected user@domain`);
  const user = normalizeUserId(t.slice(0, at), text);
  let domain: string;
  try {
    domain = normalizeDomain(t.slice(at + 1));
  } catch (e) {
    throw new ProvisionError(`invalid address "${text}": ${(e as Error).message.replace(/^invalid domain name "[^"]*": /, 'the domain ')}`);
  }
  return { user, domain, address: `${user}@${domain}` };
}

/**
 * Any mail address (a forward target may be outside the hosted domains): a local part without spaces, @,
 * and a domain of host labels.
 */
export function parseForeignAddress(text: string): string {
  const t = text.trim();
  const at = t.lastIndexOf('@');
  if (at <= 0 || /[\s<>(),;:"[\]\\]/.test(t.slice(0, at))) throw new ProvisionError(`invalid address "${text}": expected user@domain`);
  try {
    return `${t.slice(0, at)}@${normalizeDomain(t.slice(at + 1))}`;
  } catch {
    throw new ProvisionError(`invalid address "${text}": the domain is not a valid host name`);
  }
}

/**
 * ISPMan's uid (UserMan create_uid): dots become underscores in both parts, joined with "_" unless the
 * user id already ends with the domain. john.doe@example.co.uk → john_doe_example_co_uk.
 */
export function createUid(user: string, domain: string): string {
  const d = domain.replace(/\./g, '_');
  const u = user.replace(/\./g, '_');
  return u.endsWith(d) ? u : `${u}_${d}`;
}

/** DNs of one ISPMan domain's parts, under the directory's base DN. */
export class DomainNames {
  constructor(
    readonly base: string,
    readonly domain: string,
  ) {}

  get dn(): string {
    return `ispmanDomain=${escapeDNValue(this.domain)},${this.base}`;
  }
  /** The domain's posixGroup (templates/domain.posixGroup). */
  get groupDn(): string {
    return `cn=${escapeDNValue(this.domain)},${this.dn}`;
  }
  get usersDn(): string {
    return `ou=users,${this.dn}`;
  }
  get vhostsDn(): string {
    return `ou=httpdata,${this.dn}`;
  }
  userDn(uid: string): string {
    return `uid=${escapeDNValue(uid)},${this.usersDn}`;
  }
  vhostDn(vhost: string): string {
    return `ispmanVhostName=${escapeDNValue(vhost)},${this.vhostsDn}`;
  }
  /** DNSMan getDNSDN: dc=<label>,… ,ou=DNS,<base> (example.co.uk → dc=example,dc=co,dc=uk,ou=DNS,o=ispman). */
  get zoneDn(): string {
    return this.domain.split('.').map((l) => `dc=${escapeDNValue(l)}`).join(',') + `,${dnsDn(this.base)}`;
  }
}

export const dnsDn = (base: string): string => `ou=DNS,${base}`;
export const countersDn = (base: string): string => `ou=counters,${base}`;
export const processesDn = (base: string): string => `ou=processes,${base}`;

/** Mail quota as ISPMan stores it: the MB a help desk types, times 1024 (mailQuota is in KB). */
export function mailQuotaKB(megabytes: number): string {
  if (!Number.isInteger(megabytes) || megabytes < 0) throw new ProvisionError(`invalid quota "${megabytes}": expected a whole number of megabytes`);
  return String(megabytes * 1024);
}

/** A virtual host label as ISPMan names them (ispmanVhostName, optionally name:port). */
export function normalizeVhostName(text: string): string {
  const v = text.trim().toLowerCase();
  const [name, port, ...rest] = v.split(':');
  if (rest.length || !/^(?!-)[a-z0-9.-]{1,63}(?<!-)$/.test(name) || name.includes('..') || name.startsWith('.') || name.endsWith('.')) {
    throw new ProvisionError(`invalid virtual host name "${text}": expected a host label such as www (optionally name:port)`);
  }
  if (port !== undefined && !/^\d{1,5}$/.test(port)) throw new ProvisionError(`invalid virtual host name "${text}": the port must be a number`);
  return v;
}
