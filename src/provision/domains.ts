// Hosted domains, as ISPMan 1.4's DomainMan adds and deletes them (templates domain.common, domain.extended,
// domain.<type>, domain.posixGroup, domain.dnszone): the domain entry (an FTP/POSIX account of its own),
// its group, its branches and, for a primary domain, its DNS zone from the operator's template, written
// as one transaction.

import net from 'node:net';
import { parseDN } from '../directory/dn';
import { escapeFilterValue } from '../directory/filter';
import type { BatchWrite, Entry } from '../directory/types';
import { initialSerial } from '../dns/serial';
import { domainRecords, type RecordSpec } from './dns-template';
import { recordWrites, soaWithSerial, zoneBranchWrites } from './dns-entries';
import { ProvisionError } from './errors';
import { queueJob } from './jobs';
import { DomainNames, normalizeDomain } from './names';
import { first, type Provisioner, randomPassword, values } from './provisioner';

export const DOMAIN_TYPES = ['primary', 'slave', 'replica', 'nodns'] as const;
export type DomainType = (typeof DOMAIN_TYPES)[number];
export const DELIVERY_METHODS = ['local', 'smtp'] as const;

export interface AddDomainRequest {
  domain: string;
  type?: DomainType;
  mailDelivery?: (typeof DELIVERY_METHODS)[number];
  /** Default mail store of the domain's users (ispmanDomainDefaultMailDropHost). */
  mailHost?: string;
  /** Web server (ispmanDomainDefaultWebHost): an IPv4 address, or a host of ou=hosts with ispmanHostIp. */
  webHost?: string;
  /** Clear text (hashed by the directory) or already hashed ({SSHA}…); generated when absent. */
  password?: string;
  /** slave: the primary servers' addresses (ispmanDnsMasters). */
  masters?: string[];
  /** replica: the domain it mirrors (ispmanReplicaMaster). */
  master?: string;
  maxAccounts?: number;
}

export interface AddDomainResult {
  domain: string;
  dn: string;
  type: DomainType;
  uidNumber?: number;
  gidNumber?: number;
  /** Set when the password was generated. */
  password?: string;
  records: RecordSpec[];
  serial?: number;
}

/** The domain's entry, or a help-desk error naming the missing domain. */
export function requireDomain(p: Provisioner, domain: string): Entry {
  const d = normalizeDomain(domain);
  const e = p.get(new DomainNames(p.base, d).dn);
  if (!e) throw new ProvisionError(`domain ${d} does not exist (add it first: ispd domain add ${d})`);
  return e;
}

/** The address the domain's A records point to: --webhost as an address, or the host's ispmanHostIp. */
function webAddress(p: Provisioner, webHost: string | undefined): string {
  if (!webHost) return p.settings.webAddress;
  if (net.isIPv4(webHost)) return webHost;
  const host = p.find(`ou=hosts,${p.base}`, 'one', `(|(ispmanHostName=${escapeFilterValue(webHost)})(ispmanHostAlias=${escapeFilterValue(webHost)}))`, ['ispmanHostIp'])[0];
  const ip = first(host, 'ispmanHostIp');
  if (!ip || !net.isIPv4(ip)) throw new ProvisionError(`web host ${webHost} is neither an IPv4 address nor a host of ou=hosts with an ispmanHostIp`);
  return ip;
}

export async function addDomain(p: Provisioner, req: AddDomainRequest): Promise<AddDomainResult> {
  const domain = normalizeDomain(req.domain);
  const type = req.type ?? 'primary';
  if (!DOMAIN_TYPES.includes(type)) throw new ProvisionError(`invalid domain type "${type}": expected ${DOMAIN_TYPES.join(', ')}`);
  const delivery = req.mailDelivery ?? 'local';
  if (!DELIVERY_METHODS.includes(delivery)) throw new ProvisionError(`invalid mail delivery "${delivery}": expected local or smtp`);
  if (req.maxAccounts !== undefined && (!Number.isInteger(req.maxAccounts) || req.maxAccounts < -1)) throw new ProvisionError(`invalid account limit "${req.maxAccounts}": expected a number (-1 = unlimited)`);
  const names = new DomainNames(p.base, domain);
  if (!p.get(p.base)) throw new ProvisionError(`the directory has no ${p.base} entry: load ISPMan's base entries first (ispd import)`);
  if (p.get(names.dn)) throw new ProvisionError(`domain ${domain} already exists`);

  const now = String(Math.floor(Date.now() / 1000));
  const writes: BatchWrite[] = [];
  if (type === 'replica') {
    if (!req.master) throw new ProvisionError('a replica domain needs --master DOMAIN (the domain it mirrors)');
    const master = normalizeDomain(req.master);
    const masterEntry = requireDomain(p, master);
    if (first(masterEntry, 'ispmanDomainType') === 'replica') throw new ProvisionError(`domain ${master} is itself a replica; name the domain it mirrors`);
    writes.push({
      op: 'add',
      dn: names.dn,
      attributes: {
        objectClass: ['ispmanDomain', 'ispmanBranch'],
        ispmanDomain: [domain],
        ispmanDomainType: ['replica'],
        ispmanReplicaMaster: [master],
        ispmanStatus: ['active'],
        ispmanCreateTimestamp: [now],
        ispmanDomainMailDeliveryMethod: [delivery],
        // ISPMan's domain alias: every address of the replica is the master's (Postfix virtual, "@domain").
        mailLocalAddress: [`@${domain}`],
        mailForwardingAddress: [`@${master}`],
      },
    });
    await p.directory.writeBatch(writes, p.ctx);
    return { domain, dn: names.dn, type, records: [] };
  }
  if (type === 'slave') {
    if (!req.masters?.length) throw new ProvisionError('a slave domain needs --masters ADDRESS[,ADDRESS] (its primary name servers)');
    for (const m of req.masters) if (!net.isIP(m)) throw new ProvisionError(`invalid master "${m}": expected an IP address`);
  }
  if (type === 'primary' && p.get(names.zoneDn)) throw new ProvisionError(`DNS zone ${domain} already exists (${names.zoneDn})`);
  const address = type === 'primary' ? webAddress(p, req.webHost) : p.settings.webAddress;
  const generated = req.password ? undefined : randomPassword();
  const mailHost = req.mailHost?.trim().toLowerCase();
  const serial = initialSerial(p.settings.serialFormat ?? 'date');
  const records =
    type === 'primary'
      ? domainRecords(p.settings.dnsTemplate, { domain, webaddress: address, mailhost: mailHost }, p.settings.recordSources).map((r) =>
          r.type === 'SOA' ? { ...r, value: soaWithSerial(r.value, serial) } : r,
        )
      : [];

  const result = await p.transaction((ids) => {
    const uidNumber = ids.next('uid');
    const gidNumber = ids.next('gid');
    const home = `${p.settings.homeDirectory.replace(/\/$/, '')}/${domain}`;
    const attributes: Record<string, string[]> = {
      objectClass: ['posixAccount', 'ispmanDomain', 'PureFTPdUser'],
      ispmanDomain: [domain],
      ispmanDomainType: [type],
      ispmanStatus: ['active'],
      ispmanCreateTimestamp: [now],
      ispmanDomainMailDeliveryMethod: [delivery],
      cn: [domain],
      uid: [domain],
      uidNumber: [String(uidNumber)],
      gidNumber: [String(gidNumber)],
      homeDirectory: [home],
      userPassword: [req.password ?? generated!],
      loginShell: [p.settings.loginShell],
      ispmanMaxAccounts: [String(req.maxAccounts ?? -1)],
      ispmanMaxVhosts: ['-1'],
      ispmanMaxDatabases: ['-1'],
      ispmanDomainService: ['mail', 'http'],
      // pure-ftpd-ldap lets in only FTPStatus enabled (or TRUE); ISPMan's template default 'active' locks the
      // account out (test/interop/ftp-login.test.ts), so the value its web form sends is written.
      FTPStatus: ['enabled'],
      // ISPMan defaultDomainFtpQuota
      FTPQuotaMBytes: ['20'],
    };
    if (mailHost) attributes.ispmanDomainDefaultMailDropHost = [mailHost];
    if (req.webHost) attributes.ispmanDomainDefaultWebHost = [req.webHost];
    if (type === 'slave') attributes.ispmanDnsMasters = [...req.masters!];
    const w: BatchWrite[] = [
      { op: 'add', dn: names.dn, attributes },
      { op: 'add', dn: names.groupDn, attributes: { objectClass: ['posixGroup'], cn: [domain], gidNumber: [String(gidNumber)] } },
      { op: 'add', dn: names.usersDn, attributes: { objectClass: ['ispmanBranch'], ou: ['users'] } },
      { op: 'add', dn: names.vhostsDn, attributes: { objectClass: ['ispmanBranch'], ou: ['httpdata'] } },
    ];
    if (type === 'primary') {
      const branches = zoneBranchWrites(names);
      // The zone's own branch is new (checked above): a concurrent add of the same zone fails the batch.
      const zone = branches.pop()!;
      w.push(...branches, { ...zone, ifMissing: false } as BatchWrite, ...recordWrites(names, records));
    }
    return { writes: w, result: { uidNumber, gidNumber } };
  });
  return { domain, dn: names.dn, type, ...result, password: generated, records, serial: type === 'primary' ? serial : undefined };
}

export interface DeleteDomainResult {
  domain: string;
  entries: number;
  users: number;
}

/** DNs deepest first, so each is a leaf when deleted. */
function deepestFirst(dns: string[]): string[] {
  return dns.map((dn) => ({ dn, depth: parseDN(dn).length })).sort((a, b) => b.depth - a.depth).map((x) => x.dn);
}

/**
 * Removes a domain with everything below it (users, vhosts, groups, branches) and its DNS zone, in one
 * transaction; queues the post-delete command for each user. Replicas of it must go first.
 */
export async function deleteDomain(p: Provisioner, domainText: string): Promise<DeleteDomainResult> {
  const domain = normalizeDomain(domainText);
  requireDomain(p, domain);
  const names = new DomainNames(p.base, domain);
  const replicas = p.find(p.base, 'one', `(&(objectClass=ispmanDomain)(ispmanReplicaMaster=${escapeFilterValue(domain)}))`, ['ispmanDomain']);
  if (replicas.length) throw new ProvisionError(`domain ${domain} is mirrored by ${replicas.map((r) => first(r, 'ispmanDomain')).join(', ')}: delete the replica first`);
  return p.transaction((ids) => {
    const below = p.find(names.dn, 'sub', '(objectClass=*)', ['1.1']).map((e) => e.dn);
    const zone = p.get(names.zoneDn) ? p.find(names.zoneDn, 'sub', '(objectClass=*)', ['1.1']).map((e) => e.dn) : [];
    const users = p.find(names.usersDn, 'one', '(objectClass=ispmanDomainUser)', ['uid', 'mailLocalAddress', 'mailHost']);
    const jobs: BatchWrite[] = [];
    for (const u of users) {
      const uid = values(u, 'uid').find((v) => !v.includes('@')) ?? '';
      jobs.push(...queueJob(p, ids, 'postDelete', { address: first(u, 'mailLocalAddress') ?? uid, uid, domain, mailHost: first(u, 'mailHost') }));
    }
    const writes: BatchWrite[] = [...deepestFirst(zone), ...deepestFirst(below)].map((dn) => ({ op: 'delete', dn }) as BatchWrite);
    return { writes: [...writes, ...jobs], result: { domain, entries: writes.length, users: users.length } };
  });
}

export interface DomainSummary {
  domain: string;
  type: string;
  delivery: string;
  status: string;
}

export function listDomains(p: Provisioner): DomainSummary[] {
  return p
    .find(p.base, 'one', '(objectClass=ispmanDomain)', ['ispmanDomain', 'ispmanDomainType', 'ispmanDomainMailDeliveryMethod', 'ispmanStatus'])
    .map((e) => ({
      domain: first(e, 'ispmanDomain') ?? '',
      type: first(e, 'ispmanDomainType') ?? '',
      delivery: first(e, 'ispmanDomainMailDeliveryMethod') ?? '',
      status: first(e, 'ispmanStatus') ?? '',
    }))
    .sort((a, b) => a.domain.localeCompare(b.domain));
}

export interface DomainDetails {
  entry: Entry;
  users: string[];
  vhosts: string[];
  records: Array<{ owner: string; type: string; value: string }>;
}

export function showDomain(p: Provisioner, domainText: string): DomainDetails {
  const entry = requireDomain(p, domainText);
  const names = new DomainNames(p.base, first(entry, 'ispmanDomain') ?? normalizeDomain(domainText));
  const users = p.find(names.usersDn, 'one', '(objectClass=ispmanDomainUser)', ['mailLocalAddress']).map((u) => first(u, 'mailLocalAddress') ?? u.dn);
  const vhosts = p.find(names.vhostsDn, 'one', '(objectClass=ispmanVirtualHost)', ['ispmanVhostName']).map((v) => first(v, 'ispmanVhostName') ?? v.dn);
  const records: DomainDetails['records'] = [];
  for (const e of p.find(names.zoneDn, 'sub', '(objectClass=dNSZone)')) {
    const owner = first(e, 'relativeDomainName') ?? '@';
    for (const [type, attr] of [['SOA', 'sOARecord'], ['NS', 'nSRecord'], ['MX', 'mXRecord'], ['A', 'aRecord'], ['AAAA', 'aAAARecord'], ['CNAME', 'cNAMERecord'], ['TXT', 'tXTRecord']]) {
      for (const v of values(e, attr)) records.push({ owner, type, value: v });
    }
  }
  const order = ['SOA', 'NS', 'MX', 'A', 'AAAA', 'CNAME', 'TXT'];
  records.sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type) || a.owner.localeCompare(b.owner));
  return { entry, users: users.sort(), vhosts: vhosts.sort(), records };
}
