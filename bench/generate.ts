// Deterministic ISP dataset for the benchmarks: N domains x M users in ISPMan 1.4 shape (design §5,
// shared/reference/ispman-model.md §2, §3, §6), written as LDIF one domain at a time (never one giant string),
// plus the query files the load generators replay (every query carries its expected answer).
//
// Outputs in `dir`:
//   ispman.ldif        the directory, pure ISPMan 1.4 shape; loaded into ispd and (for the import timing) slapadd
//   ispman-pdns.ldif   the same entries plus the same zones ALSO in PowerDNS's LDAP layout under ou=pdns,o=ispman:
//                      PowerDNS's LDAP backend cannot read ISPMan's dNSZone layout (it finds names only by
//                      (associatedDomain=<qname>), and wants SOA times as numbers and host names without the
//                      trailing dot, while ISPMan writes "3H 30M 1W 1D", "ns1.isp.net." and relative CNAME targets).
//                      So each name gets one cosine dNSDomain + domainRelatedObject entry (PowerDNS docs, "simple"
//                      method). slapd serves this file: the LDAP figures include these few extra entries.
//   postfix.tsv        address <TAB> expected mailRoutingAddress (mailLocalAddress and mailAlias values)
//   binds.tsv          user DN <TAB> clear password ({SSHA} hashes in the LDIF)
//   dns-queries.txt    dnsperf input "name TYPE": A, MX, NS, SOA, CNAME-chasing A, NXDOMAIN names
//   zones.txt          one zone name per line
//   meta.json          parameters and counts
// Re-running with the same parameters gives byte-identical files.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface DatasetParams {
  domains: number;
  usersPerDomain: number;
  seed: number;
}

export interface DatasetMeta extends DatasetParams {
  entries: number;
  users: number;
  dnsZoneEntries: number;
  files: Record<'ldif' | 'pdnsLdif' | 'postfix' | 'binds' | 'dnsQueries' | 'zones', string>;
  /** The clear passwords behind the precomputed {SSHA} hashes (benchmark data: public on purpose). */
  passwords: string[];
}

export const GENERATOR_VERSION = 4;
const BASE = 'o=ispman';
const TLDS = ['com', 'net', 'org', 'ch', 'de'];
const WORDS = ['alpine', 'bakery', 'garage', 'studio', 'design', 'school', 'travel', 'office', 'market', 'clinic', 'lawyer', 'winery'];
const GIVEN = ['Anna', 'Bruno', 'Clara', 'David', 'Elena', 'Felix', 'Greta', 'Hugo', 'Ines', 'Jonas', 'Karin', 'Luca'];
const SURNAMES = ['Meier', 'Keller', 'Weber', 'Huber', 'Schmid', 'Frei', 'Brunner', 'Baumann', 'Fischer', 'Graf'];
export const NAMESERVERS = ['ns1.isp-bench.net.', 'ns2.isp-bench.net.'];
export const MAIL_EXCHANGERS = ['10 mx1.isp-bench.net.', '20 mx2.isp-bench.net.'];
export const SOA_TIMES = '3H 30M 1W 1D';
export const SOA_SERIAL = 2024010101;
const PASSWORD_COUNT = 8;
const POSTFIX_SAMPLE = 100_000;
const BIND_SAMPLE = 20_000;
const DNS_SAMPLE = 100_000;

/** mulberry32: small, fast and good enough to pick users and query names deterministically. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function domainName(index: number): string {
  return `d${String(index).padStart(5, '0')}-${WORDS[index % WORDS.length]}.${TLDS[index % TLDS.length]}`;
}

export function userName(index: number): string {
  return `u${String(index).padStart(3, '0')}`;
}

/** ISPMan's user uid: <user>_<domain with dots turned into underscores> (UserMan getUserDN). */
export function userUid(user: string, domain: string): string {
  return `${user}_${domain.replace(/\./g, '_')}`;
}

export function userDn(user: string, domain: string): string {
  return `uid=${userUid(user, domain)},ou=users,ispmanDomain=${domain},${BASE}`;
}

/** dc=<label1>,dc=<label2>,…,ou=DNS,o=ispman (DNSMan getDNSDN). */
export function zoneDn(domain: string): string {
  return `${domain.split('.').map((label) => `dc=${label}`).join(',')},ou=DNS,${BASE}`;
}

/** The dNSZone leaf for one record: relativeDomainName=<owner>,<type>=<value>,ou=<type>,<zone DN> (DNSMan newDNSRecord). */
export function recordDn(domain: string, type: string, value: string, owner: string): string {
  return `relativeDomainName=${owner},${type}=${escapeDnValue(value)},ou=${type},${zoneDn(domain)}`;
}

function escapeDnValue(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, '\\$1').replace(/^([ #])/, '\\$1').replace(/ $/, '\\ ');
}

/** Addresses of domain i: www and @ on one address, mail on the next (10.0.0.0/8, two per domain). */
export function domainAddresses(index: number): { web: string; mail: string } {
  const n = index * 2 + 1;
  const ip = (k: number): string => `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`;
  return { web: ip(n), mail: ip(n + 1) };
}

/** {SSHA} = base64(SHA1(password + salt) + salt), salt derived from the seed so the files are reproducible. */
export function sshaHash(password: string, salt: Buffer): string {
  const digest = crypto.createHash('sha1').update(password).update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}

export function benchPasswords(seed: number): Array<{ password: string; hash: string }> {
  const result: Array<{ password: string; hash: string }> = [];
  for (let i = 0; i < PASSWORD_COUNT; i++) {
    const password = `bench-secret-${i}`;
    const salt = crypto.createHash('sha256').update(`salt:${seed}:${i}`).digest().subarray(0, 8);
    result.push({ password, hash: sshaHash(password, salt) });
  }
  return result;
}

/** Which of the user's addresses exist: the local address, one or two aliases, a forward on every 5th user. */
function userMail(user: string, domain: string, userIndex: number): { local: string; aliases: string[]; forwards: string[] } {
  const local = `${user}@${domain}`;
  const aliases = [`${user}.alias@${domain}`];
  if (userIndex % 3 === 0) aliases.push(`${user}.info@${domain}`);
  const forwards = userIndex % 5 === 0 ? [`${user}@forward.example.org`] : [];
  return { local, aliases, forwards };
}

function mailHostFor(domainIndex: number): string {
  return `mail${(domainIndex % 4) + 1}.isp-bench.net`;
}

class LdifWriter {
  private readonly fd: number;
  private buffer: string[] = [];
  private size = 0;
  entries = 0;
  constructor(file: string) {
    this.fd = fs.openSync(file, 'w');
  }
  entry(dn: string, lines: string[]): void {
    const text = `dn: ${dn}\n${lines.join('\n')}\n\n`;
    this.buffer.push(text);
    this.size += text.length;
    this.entries++;
    if (this.size > 1 << 20) this.flush();
  }
  flush(): void {
    if (this.buffer.length > 0) fs.writeSync(this.fd, this.buffer.join(''));
    this.buffer = [];
    this.size = 0;
  }
  close(): void {
    this.flush();
    fs.closeSync(this.fd);
  }
}

/** Writes the entries every server gets into both LDIF files, and PowerDNS's own view into the second only. */
class TwinWriter {
  constructor(
    readonly plain: LdifWriter,
    readonly pdns: LdifWriter,
  ) {}
  entry(dn: string, lines: string[]): void {
    this.plain.entry(dn, lines);
    this.pdns.entry(dn, lines);
  }
  pdnsOnly(dn: string, lines: string[]): void {
    this.pdns.entry(dn, lines);
  }
}

/** The zone in PowerDNS's LDAP layout: dc=<name>,dc=<zone>,ou=pdns,o=ispman, records aggregated per name. */
function writePdnsZone(out: TwinWriter, domain: string, index: number): void {
  const { web, mail } = domainAddresses(index);
  const noDot = (name: string): string => name.replace(/\.$/, '');
  const seconds = SOA_TIMES.split(' ').map(bindTimeSeconds).join(' ');
  const zone = `dc=${domain},ou=pdns,${BASE}`;
  const entry = (dn: string, dc: string, name: string, records: string[]): void =>
    out.pdnsOnly(dn, ['objectclass: top', 'objectclass: dNSDomain', 'objectclass: domainRelatedObject', `dc: ${dc}`, `associatedDomain: ${name}`, ...records]);
  entry(zone, domain, domain, [
    `sOARecord: ${noDot(NAMESERVERS[0])} hostmaster.${domain} ${SOA_SERIAL} ${seconds}`,
    ...NAMESERVERS.map((ns) => `nSRecord: ${noDot(ns)}`),
    ...MAIL_EXCHANGERS.map((mx) => `mXRecord: ${noDot(mx)}`),
    `aRecord: ${web}`,
  ]);
  entry(`dc=www,${zone}`, 'www', `www.${domain}`, [`aRecord: ${web}`]);
  entry(`dc=mail,${zone}`, 'mail', `mail.${domain}`, [`aRecord: ${mail}`]);
  entry(`dc=ftp,${zone}`, 'ftp', `ftp.${domain}`, [`cNAMERecord: www.${domain}`]);
}

/** BIND time token (3H, 30M, 1W, 1D, 3600) in seconds. */
export function bindTimeSeconds(token: string): number {
  const units: Record<string, number> = { S: 1, M: 60, H: 3600, D: 86400, W: 604800 };
  let total = 0;
  for (const [, amount, unit] of token.toUpperCase().matchAll(/(\d+)([SMHDW]?)/g)) total += Number(amount) * (unit ? units[unit] : 1);
  return total;
}

function writeZone(out: TwinWriter, domain: string, index: number, counters: { dnsZone: number }): void {
  const zone = zoneDn(domain);
  out.entry(zone, ['objectclass: ispmanBranch', `dc: ${domain.split('.')[0]}`]);
  const { web, mail } = domainAddresses(index);
  const records: Array<{ type: string; value: string; owners: string[] }> = [
    { type: 'sOARecord', value: `${NAMESERVERS[0]} hostmaster.${domain}. ${SOA_SERIAL} ${SOA_TIMES}`, owners: ['@'] },
    ...NAMESERVERS.map((ns) => ({ type: 'nSRecord', value: ns, owners: ['@'] })),
    ...MAIL_EXCHANGERS.map((mx) => ({ type: 'mXRecord', value: mx, owners: ['@'] })),
    { type: 'aRecord', value: web, owners: ['@', 'www'] },
    { type: 'aRecord', value: mail, owners: ['mail'] },
    { type: 'cNAMERecord', value: 'www', owners: ['ftp'] },
  ];
  const typeBranches = new Set<string>();
  for (const record of records) {
    if (!typeBranches.has(record.type)) {
      typeBranches.add(record.type);
      out.entry(`ou=${record.type},${zone}`, ['objectclass: ispmanBranch', `ou: ${record.type}`]);
    }
    out.entry(`${record.type}=${escapeDnValue(record.value)},ou=${record.type},${zone}`, ['objectclass: ispmanBranch', `${record.type}: ${record.value}`]);
    for (const owner of record.owners) {
      counters.dnsZone++;
      out.entry(
        recordDn(domain, record.type, record.value, owner),
        ['objectclass: top', 'objectclass: dnsZone', `relativeDomainName: ${owner}`, `zoneName: ${domain}`, `${record.type}: ${record.value}`],
      );
    }
  }
}

function writeDomain(out: TwinWriter, index: number, params: DatasetParams, passwords: Array<{ hash: string }>): void {
  const domain = domainName(index);
  const gid = 100_000 + index;
  out.entry(`ispmanDomain=${domain},${BASE}`, [
    'objectclass: posixAccount',
    'objectclass: ispmanDomain',
    'objectclass: PureFTPdUser',
    `ispmanDomain: ${domain}`,
    'ispmanStatus: active',
    'ispmanCreateTimestamp: 1230768000',
    'ispmanDomainType: primary',
    `ispmanDomainCustomer: cust${index}`,
    `ispmanDomainMailDeliveryMethod: ${index % 2 === 0 ? 'local' : 'smtp'}`,
    `cn: ${domain}`,
    `uid: ${domain}`,
    `uidNumber: ${gid}`,
    `gidNumber: ${gid}`,
    `homeDirectory: /ispman/domains/${domain}`,
    `userPassword: ${passwords[index % passwords.length].hash}`,
    'loginShell: /bin/false',
    'ispmanMaxAccounts: -1',
    'ispmanDomainService: mail',
    `ispmanDomainDefaultMailDropHost: ${mailHostFor(index)}`,
    'FTPStatus: active',
  ]);
  out.entry(`ou=users,ispmanDomain=${domain},${BASE}`, ['objectclass: ispmanBranch', 'ou: users']);
  for (let u = 0; u < params.usersPerDomain; u++) {
    const user = userName(u);
    const uid = userUid(user, domain);
    const mail = userMail(user, domain, u);
    const given = GIVEN[(index + u) % GIVEN.length];
    const surname = SURNAMES[(index * 7 + u) % SURNAMES.length];
    out.entry(userDn(user, domain), [
      'objectclass: posixAccount',
      'objectclass: ispmanDomainUser',
      `givenName: ${given}`,
      `sn: ${surname}`,
      `cn: ${given} ${surname}`,
      `uid: ${uid}`,
      `uid: ${mail.local}`,
      `userPassword: ${passwords[(index + u) % passwords.length].hash}`,
      `uidNumber: ${1_000_000 + index * params.usersPerDomain + u}`,
      `gidNumber: ${gid}`,
      `homeDirectory: /ispman/domains/${domain}/users/${uid}`,
      'loginShell: /bin/false',
      'ispmanStatus: active',
      'ispmanCreateTimestamp: 1230768000',
      `ispmanUserId: ${user}`,
      `ispmanDomain: ${domain}`,
      `mailLocalAddress: ${mail.local}`,
      ...mail.aliases.map((alias) => `mailAlias: ${alias}`),
      ...mail.forwards.map((forward) => `mailForwardingAddress: ${forward}`),
      'mailQuota: 51200',
      `mailHost: ${mailHostFor(index)}`,
      `mailRoutingAddress: ${mail.local}`,
    ]);
  }
}

/** Everything the generator writes for these parameters, in `dir`. */
export function datasetFiles(dir: string): DatasetMeta['files'] {
  return {
    ldif: path.join(dir, 'ispman.ldif'),
    pdnsLdif: path.join(dir, 'ispman-pdns.ldif'),
    postfix: path.join(dir, 'postfix.tsv'),
    binds: path.join(dir, 'binds.tsv'),
    dnsQueries: path.join(dir, 'dns-queries.txt'),
    zones: path.join(dir, 'zones.txt'),
  };
}

export function generateDataset(dir: string, params: DatasetParams): DatasetMeta {
  fs.mkdirSync(dir, { recursive: true });
  const files = datasetFiles(dir);
  const passwords = benchPasswords(params.seed);
  const plain = new LdifWriter(files.ldif);
  const pdns = new LdifWriter(files.pdnsLdif);
  const out = new TwinWriter(plain, pdns);
  const counters = { dnsZone: 0 };

  out.entry(BASE, ['objectclass: top', 'objectclass: organization', 'o: ispman']);
  out.entry(`ou=admins,${BASE}`, ['objectclass: ispmanBranch', 'ou: admins']);
  out.entry(`uid=ispman,ou=admins,${BASE}`, [
    'objectclass: top',
    'objectclass: ispmanSysadmin',
    'ou: admins',
    'uid: ispman',
    'cn: ISPMan Admin',
    `userPassword: ${passwords[0].hash}`,
    'ispmanSysadminLevel: 100',
  ]);
  out.entry(`ou=DNS,${BASE}`, ['objectclass: ispmanBranch', 'ou: DNS']);
  const usedTlds = TLDS.slice(0, Math.min(TLDS.length, params.domains));
  for (const tld of usedTlds) out.entry(`dc=${tld},ou=DNS,${BASE}`, ['objectclass: ispmanBranch', `dc: ${tld}`]);
  for (let d = 0; d < params.domains; d++) {
    writeDomain(out, d, params, passwords);
    writeZone(out, domainName(d), d, counters);
  }
  out.pdnsOnly(`ou=pdns,${BASE}`, ['objectclass: organizationalUnit', 'ou: pdns']);
  for (let d = 0; d < params.domains; d++) writePdnsZone(out, domainName(d), d);
  plain.close();
  pdns.close();

  writeQueryFiles(files, params, passwords);
  const meta: DatasetMeta = {
    ...params,
    entries: plain.entries,
    users: params.domains * params.usersPerDomain,
    dnsZoneEntries: counters.dnsZone,
    files,
    passwords: passwords.map((p) => p.password),
  };
  fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({ generatorVersion: GENERATOR_VERSION, ...meta }, null, 2) + '\n');
  return meta;
}

function writeQueryFiles(files: DatasetMeta['files'], params: DatasetParams, passwords: Array<{ password: string }>): void {
  const random = seededRandom(params.seed ^ 0x5eed);
  const pick = (n: number): number => Math.floor(random() * n);

  const postfix: string[] = [];
  for (let i = 0; i < POSTFIX_SAMPLE; i++) {
    const d = pick(params.domains);
    const u = pick(params.usersPerDomain);
    const domain = domainName(d);
    const mail = userMail(userName(u), domain, u);
    const addresses = [mail.local, ...mail.aliases];
    postfix.push(`${addresses[pick(addresses.length)]}\t${mail.local}`);
  }
  fs.writeFileSync(files.postfix, postfix.join('\n') + '\n');

  const binds: string[] = [];
  for (let i = 0; i < BIND_SAMPLE; i++) {
    const d = pick(params.domains);
    const u = pick(params.usersPerDomain);
    binds.push(`${userDn(userName(u), domainName(d))}\t${passwords[(d + u) % passwords.length].password}`);
  }
  fs.writeFileSync(files.binds, binds.join('\n') + '\n');

  // The mix an ISP's authoritative servers see: mostly A and MX, some NS/SOA (resolvers, secondaries),
  // a CNAME to chase, and a real share of names that do not exist.
  const mix: Array<[number, (domain: string) => string]> = [
    [0.3, (domain) => `www.${domain} A`],
    [0.1, (domain) => `${domain} A`],
    [0.1, (domain) => `mail.${domain} A`],
    [0.2, (domain) => `${domain} MX`],
    [0.05, (domain) => `${domain} NS`],
    [0.05, (domain) => `${domain} SOA`],
    [0.05, (domain) => `ftp.${domain} A`],
    [0.15, (domain) => `nx${pick(1_000_000)}.${domain} A`],
  ];
  const dns: string[] = [];
  for (let i = 0; i < DNS_SAMPLE; i++) {
    const domain = domainName(pick(params.domains));
    let r = random();
    for (const [share, make] of mix) {
      if (r < share) {
        dns.push(make(domain));
        break;
      }
      r -= share;
    }
  }
  fs.writeFileSync(files.dnsQueries, dns.join('\n') + '\n');

  const zones: string[] = [];
  for (let d = 0; d < params.domains; d++) zones.push(domainName(d));
  fs.writeFileSync(files.zones, zones.join('\n') + '\n');
}

/** The cached dataset for these parameters, generated when missing or made by an older generator. */
export function ensureDataset(root: string, params: DatasetParams): DatasetMeta {
  const dir = path.join(root, `data-${params.domains}x${params.usersPerDomain}-s${params.seed}`);
  const metaFile = path.join(dir, 'meta.json');
  if (fs.existsSync(metaFile)) {
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as DatasetMeta & { generatorVersion?: number };
    if (meta.generatorVersion === GENERATOR_VERSION && Object.values(meta.files).every((file) => fs.existsSync(file))) return meta;
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return generateDataset(dir, params);
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const value = (flag: string, fallback: number): number => {
    const i = args.indexOf(flag);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  const dir = args.find((a, i) => !a.startsWith('--') && (i === 0 || !args[i - 1].startsWith('--'))) ?? '.bench/data';
  const started = Date.now();
  const meta = generateDataset(dir, { domains: value('--domains', 1000), usersPerDomain: value('--users', 50), seed: value('--seed', 1) });
  process.stdout.write(`${meta.entries} entries (${meta.users} users, ${meta.domains} zones) in ${dir}, ${Date.now() - started} ms\n`);
}

/**
 * BIND master files for NSD, written from the same model as the LDIF (the fallback while `ispd zone export`
 * is not available, and the cross-check for it). One file per zone, `<zone>.zone`, in `dir`.
 */
export function writeZoneFiles(dir: string, params: DatasetParams): void {
  fs.mkdirSync(dir, { recursive: true });
  for (let d = 0; d < params.domains; d++) {
    const domain = domainName(d);
    const { web, mail } = domainAddresses(d);
    const times = SOA_TIMES.split(' ').map(bindTimeSeconds);
    const lines = [
      `$ORIGIN ${domain}.`,
      '$TTL 86400',
      `@ IN SOA ${NAMESERVERS[0]} hostmaster.${domain}. ( ${SOA_SERIAL} ${times.join(' ')} )`,
      ...NAMESERVERS.map((ns) => `@ IN NS ${ns}`),
      ...MAIL_EXCHANGERS.map((mx) => `@ IN MX ${mx}`),
      `@ IN A ${web}`,
      `www IN A ${web}`,
      `mail IN A ${mail}`,
      'ftp IN CNAME www',
    ];
    fs.writeFileSync(path.join(dir, `${domain}.zone`), lines.join('\n') + '\n');
  }
}
