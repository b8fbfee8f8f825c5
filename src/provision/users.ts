// Mail and shell users, as ISPMan 1.4's UserMan adds them (templates/users.ldif.template): the uid
// convention (bob_example_com and bob@example.com), uidNumber from the counter, the domain's gidNumber,
// mailLocalAddress, mailRoutingAddress and mailHost, aliases unique across the tree, forwards. The
// article-era mailacceptinggeneralid -> maildrop pair is kept equal to what ISPMan's maps answer
// (every address of the user -> its routing address and forwards), so both map styles agree.

import { escapeFilterValue } from '../directory/filter';
import type { BatchWrite, Entry, Modification } from '../directory/types';
import { requireDomain } from './domains';
import { ProvisionError } from './errors';
import { chooseStore } from './farm';
import { queueJob } from './jobs';
import { createUid, DomainNames, mailQuotaKB, parseAddress, parseForeignAddress } from './names';
import { first, type Provisioner, randomPassword, values } from './provisioner';

export const ARTICLE_CLASS = 'ispdArticleMailUser';

export interface AddUserRequest {
  address: string;
  /** Clear text or already hashed; generated when absent. */
  password?: string;
  mailHost?: string;
  aliases?: string[];
  forwards?: string[];
  /** MB (stored as KB, like ISPMan). */
  quotaMB?: number;
  givenName?: string;
  sn?: string;
}

export interface AddUserResult {
  address: string;
  uid: string;
  dn: string;
  uidNumber: number;
  mailHost?: string;
  password?: string;
}

/** A user of a hosted domain by address (its uid value user@domain, or its mailLocalAddress). */
export function findUser(p: Provisioner, addressText: string): Entry {
  const a = parseAddress(addressText);
  requireDomain(p, a.domain);
  const names = new DomainNames(p.base, a.domain);
  const uid = createUid(a.user, a.domain);
  const v = escapeFilterValue(a.address);
  const e = p.find(names.usersDn, 'one', `(&(objectClass=ispmanDomainUser)(|(uid=${escapeFilterValue(uid)})(uid=${v})(mailLocalAddress=${v})))`)[0];
  if (!e) throw new ProvisionError(`user ${a.address} does not exist`);
  return e;
}

/** The maildrop values for the article's map: where ISPMan's virtual alias map sends the mail. */
export function maildropOf(routing: string | undefined, forwards: string[]): string[] {
  const out: string[] = [];
  for (const v of [...forwards, ...(routing ? [routing] : [])]) if (!out.some((o) => o.toLowerCase() === v.toLowerCase())) out.push(v);
  return out;
}

/** Checks that an address of a hosted domain is free everywhere in the tree. */
function requireFree(p: Provisioner, address: string): void {
  const owner = p.addressOwner(address);
  if (owner) throw new ProvisionError(`address ${address} is already in use (by ${owner.dn})`);
}

function hostedAlias(p: Provisioner, text: string, taken: Set<string>): string {
  const a = parseAddress(text);
  requireDomain(p, a.domain);
  if (taken.has(a.address)) throw new ProvisionError(`address ${a.address} is given twice`);
  requireFree(p, a.address);
  taken.add(a.address);
  return a.address;
}

/** How many users a domain has and whether one more fits ispmanMaxAccounts (-1 or 0 = unlimited). */
function checkLimit(p: Provisioner, domainEntry: Entry, names: DomainNames): void {
  const max = Number(first(domainEntry, 'ispmanMaxAccounts') ?? -1);
  if (!(max > 0)) return;
  const count = p.find(names.usersDn, 'one', '(objectClass=ispmanDomainUser)', ['1.1']).length;
  if (count >= max) throw new ProvisionError(`domain ${names.domain} has reached its limit of ${max} accounts (ispmanMaxAccounts)`);
}

export async function addUser(p: Provisioner, req: AddUserRequest, loads?: Map<string, number>): Promise<AddUserResult> {
  const a = parseAddress(req.address);
  const domainEntry = requireDomain(p, a.domain);
  if (first(domainEntry, 'ispmanDomainType') === 'replica') {
    throw new ProvisionError(`domain ${a.domain} is a replica of ${first(domainEntry, 'ispmanReplicaMaster')}: add the user there`);
  }
  const names = new DomainNames(p.base, a.domain);
  const uid = createUid(a.user, a.domain);
  if (p.find(p.base, 'sub', `(uid=${escapeFilterValue(uid)})`, ['1.1']).length) throw new ProvisionError(`user ${a.address} already exists (uid ${uid})`);
  requireFree(p, a.address);
  checkLimit(p, domainEntry, names);
  const taken = new Set([a.address]);
  const aliases = (req.aliases ?? []).map((x) => hostedAlias(p, x, taken));
  const forwards = (req.forwards ?? []).map(parseForeignAddress);
  const quota = mailQuotaKB(req.quotaMB ?? p.settings.mailQuotaMB);
  const mailHost = chooseStore(p, req.mailHost, first(domainEntry, 'ispmanDomainDefaultMailDropHost'), loads);
  const routing = mailHost ? (p.settings.virtDomains ? a.address : `${uid}@${mailHost}`) : undefined;
  const generated = req.password ? undefined : randomPassword();
  const home = `${first(domainEntry, 'homeDirectory') ?? `${p.settings.homeDirectory}/${a.domain}`}/users/${uid}`;
  const gidNumber = first(domainEntry, 'gidNumber');
  if (!gidNumber) throw new ProvisionError(`domain ${a.domain} has no gidNumber (not an ISPMan primary, slave or nodns domain)`);

  const result = await p.transaction((ids) => {
    const uidNumber = ids.next('uid');
    const attributes: Record<string, string[]> = {
      objectClass: ['posixAccount', 'ispmanDomainUser', 'radiusprofile', ARTICLE_CLASS],
      ...(req.givenName ? { givenName: [req.givenName] } : {}),
      sn: [req.sn ?? a.user],
      cn: [req.givenName && req.sn ? `${req.givenName} ${req.sn}` : a.user],
      uid: [uid, a.address],
      userPassword: [req.password ?? generated!],
      uidNumber: [String(uidNumber)],
      gidNumber: [gidNumber],
      homeDirectory: [home],
      loginShell: [p.settings.loginShell],
      ispmanStatus: ['active'],
      ispmanCreateTimestamp: [String(Math.floor(Date.now() / 1000))],
      ispmanUserId: [a.user],
      ispmanDomain: [a.domain],
      DestinationAddress: ['127.0.0.1'],
      DestinationPort: ['21'],
      FTPStatus: ['enabled'],
      // ISPMan defaultUserFtpQuota
      FTPQuotaMBytes: ['1'],
      mailLocalAddress: [a.address],
      mailQuota: [quota],
      mailacceptinggeneralid: [a.address, ...aliases],
    };
    if (aliases.length) attributes.mailAlias = aliases;
    if (forwards.length) attributes.mailForwardingAddress = forwards;
    if (mailHost) {
      attributes.mailHost = [mailHost];
      attributes.mailRoutingAddress = [routing!];
    }
    const drop = maildropOf(routing, forwards);
    if (drop.length) attributes.maildrop = drop;
    const writes: BatchWrite[] = [
      { op: 'add', dn: names.usersDn, attributes: { objectClass: ['ispmanBranch'], ou: ['users'] }, ifMissing: true },
      { op: 'add', dn: names.userDn(uid), attributes },
      ...queueJob(p, ids, 'postAdd', { address: a.address, uid, domain: a.domain, mailHost }),
    ];
    return { writes, result: { uidNumber } };
  });
  if (mailHost && loads) loads.set(mailHost, (loads.get(mailHost) ?? 0) + 1);
  return { address: a.address, uid, dn: names.userDn(uid), uidNumber: result.uidNumber, mailHost, password: generated };
}

export async function deleteUser(p: Provisioner, addressText: string): Promise<{ address: string; dn: string }> {
  const user = findUser(p, addressText);
  const a = parseAddress(addressText);
  const uid = values(user, 'uid').find((v) => !v.includes('@')) ?? createUid(a.user, a.domain);
  const address = first(user, 'mailLocalAddress') ?? a.address;
  await p.transaction((ids) => {
    const below = p.find(user.dn, 'sub', '(objectClass=*)', ['1.1']).map((e) => e.dn).filter((dn) => dn !== user.dn);
    const writes: BatchWrite[] = [
      ...below.reverse().map((dn) => ({ op: 'delete', dn }) as BatchWrite),
      { op: 'delete', dn: user.dn },
      ...queueJob(p, ids, 'postDelete', { address, uid, domain: a.domain, mailHost: first(user, 'mailHost') }),
    ];
    return { writes, result: undefined };
  });
  return { address, dn: user.dn };
}

export async function setPassword(p: Provisioner, addressText: string, password: string | undefined): Promise<{ dn: string; password?: string }> {
  const user = findUser(p, addressText);
  const generated = password ? undefined : randomPassword();
  await p.directory.writeBatch([{ op: 'modify', dn: user.dn, changes: [{ operation: 'replace', attribute: 'userPassword', values: [password ?? generated!] }] }], p.ctx);
  return { dn: user.dn, password: generated };
}

/** The modifications that keep mailacceptinggeneralid/maildrop equal to the ISPMan attributes after a change. */
function articleSync(user: Entry, addresses: string[], routing: string | undefined, forwards: string[]): Modification[] {
  const mods: Modification[] = [];
  if (!values(user, 'objectClass').some((c) => c.toLowerCase() === ARTICLE_CLASS.toLowerCase())) mods.push({ operation: 'add', attribute: 'objectClass', values: [ARTICLE_CLASS] });
  mods.push({ operation: 'replace', attribute: 'mailacceptinggeneralid', values: addresses });
  mods.push({ operation: 'replace', attribute: 'maildrop', values: maildropOf(routing, forwards) });
  return mods;
}

function addressesOf(user: Entry): string[] {
  return [...values(user, 'mailLocalAddress'), ...values(user, 'mailAlias')];
}

export async function addAliases(p: Provisioner, addressText: string, aliasTexts: string[]): Promise<string[]> {
  const user = findUser(p, addressText);
  const taken = new Set(addressesOf(user).map((x) => x.toLowerCase()));
  const aliases = aliasTexts.map((x) => hostedAlias(p, x, taken));
  if (!aliases.length) throw new ProvisionError('no alias given');
  await p.directory.writeBatch(
    [{ op: 'modify', dn: user.dn, changes: [{ operation: 'add', attribute: 'mailAlias', values: aliases }, ...articleSync(user, [...addressesOf(user), ...aliases], first(user, 'mailRoutingAddress'), values(user, 'mailForwardingAddress'))] }],
    p.ctx,
  );
  return aliases;
}

/** Removes an alias from whichever user (or mail group) holds it. */
export async function deleteAlias(p: Provisioner, aliasText: string): Promise<string> {
  const alias = parseAddress(aliasText).address;
  const holder = p.find(p.base, 'sub', `(mailAlias=${escapeFilterValue(alias)})`)[0];
  if (!holder) throw new ProvisionError(`alias ${alias} does not exist`);
  const left = addressesOf(holder).filter((x) => x.toLowerCase() !== alias);
  const isUser = values(holder, 'objectClass').some((c) => c.toLowerCase() === 'ispmandomainuser');
  const changes: Modification[] = [{ operation: 'delete', attribute: 'mailAlias', values: values(holder, 'mailAlias').filter((x) => x.toLowerCase() === alias) }];
  if (isUser) changes.push(...articleSync(holder, left, first(holder, 'mailRoutingAddress'), values(holder, 'mailForwardingAddress')));
  await p.directory.writeBatch([{ op: 'modify', dn: holder.dn, changes }], p.ctx);
  return holder.dn;
}

export async function addForwards(p: Provisioner, addressText: string, targets: string[]): Promise<string[]> {
  const user = findUser(p, addressText);
  const have = values(user, 'mailForwardingAddress');
  const add = targets.map(parseForeignAddress);
  if (!add.length) throw new ProvisionError('no forward given');
  for (const f of add) if (have.some((h) => h.toLowerCase() === f.toLowerCase())) throw new ProvisionError(`${first(user, 'mailLocalAddress')} already forwards to ${f}`);
  await p.directory.writeBatch(
    [{ op: 'modify', dn: user.dn, changes: [{ operation: 'add', attribute: 'mailForwardingAddress', values: add }, ...articleSync(user, addressesOf(user), first(user, 'mailRoutingAddress'), [...have, ...add])] }],
    p.ctx,
  );
  return add;
}

export async function deleteForwards(p: Provisioner, addressText: string, targets: string[]): Promise<void> {
  const user = findUser(p, addressText);
  const have = values(user, 'mailForwardingAddress');
  const drop = targets.map(parseForeignAddress);
  const remove: string[] = [];
  for (const f of drop) {
    const v = have.find((h) => h.toLowerCase() === f.toLowerCase());
    if (!v) throw new ProvisionError(`${first(user, 'mailLocalAddress')} does not forward to ${f}`);
    remove.push(v);
  }
  const left = have.filter((h) => !remove.includes(h));
  await p.directory.writeBatch(
    [{ op: 'modify', dn: user.dn, changes: [{ operation: 'delete', attribute: 'mailForwardingAddress', values: remove }, ...articleSync(user, addressesOf(user), first(user, 'mailRoutingAddress'), left)] }],
    p.ctx,
  );
}
