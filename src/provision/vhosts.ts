// Virtual hosts, as ISPMan 1.4's ApacheMan adds them (templates/vhost.ldif.template, DNSMan
// addVhostDNSRecord): an ispmanVirtualHost entry that is also an FTP/POSIX account, and an A record for the
// name in the domain's zone marked `tXTRecord: ispmanVirtualHost:<vhost>.<domain>`, so deleting the vhost
// finds the record it created.

import net from 'node:net';
import { escapeFilterValue } from '../directory/filter';
import type { BatchWrite } from '../directory/types';
import { recordWrites } from './dns-entries';
import { requireDomain } from './domains';
import { ProvisionError } from './errors';
import { DomainNames, normalizeVhostName } from './names';
import { first, type Provisioner, randomPassword } from './provisioner';

export interface AddVhostRequest {
  domain: string;
  name: string;
  /** IPv4 address of the A record; the domain's web address by default. */
  address?: string;
  password?: string;
}

const marker = (vhost: string, domain: string) => `ispmanVirtualHost:${vhost}.${domain}`;

export async function addVhost(p: Provisioner, req: AddVhostRequest): Promise<{ dn: string; fqdn: string; address: string; record: boolean }> {
  const domainEntry = requireDomain(p, req.domain);
  const domain = first(domainEntry, 'ispmanDomain')!.toLowerCase();
  const vhost = normalizeVhostName(req.name);
  const names = new DomainNames(p.base, domain);
  const gidNumber = first(domainEntry, 'gidNumber');
  if (!gidNumber) throw new ProvisionError(`domain ${domain} has no gidNumber (a replica has no virtual hosts of its own)`);
  if (p.get(names.vhostDn(vhost))) throw new ProvisionError(`virtual host ${vhost}.${domain} already exists`);
  const max = Number(first(domainEntry, 'ispmanMaxVhosts') ?? -1);
  if (max > 0 && p.find(names.vhostsDn, 'one', '(objectClass=ispmanVirtualHost)', ['1.1']).length >= max) {
    throw new ProvisionError(`domain ${domain} has reached its limit of ${max} virtual hosts (ispmanMaxVhosts)`);
  }
  const webHost = first(domainEntry, 'ispmanDomainDefaultWebHost');
  const address = req.address ?? (webHost && net.isIPv4(webHost) ? webHost : p.settings.webAddress);
  if (!net.isIPv4(address)) throw new ProvisionError(`invalid address "${address}": expected an IPv4 address`);
  const [host, port] = vhost.split(':');
  const fqdn = `${host}.${domain}${port ? `:${port}` : ''}`;
  const withZone = !!p.get(names.zoneDn);
  await p.transaction((ids) => {
    const writes: BatchWrite[] = [
      { op: 'add', dn: names.vhostsDn, attributes: { objectClass: ['ispmanBranch'], ou: ['httpdata'] }, ifMissing: true },
      {
        op: 'add',
        dn: names.vhostDn(vhost),
        attributes: {
          objectClass: ['ispmanVirtualHost', 'posixAccount', 'PureFTPdUser'],
          ispmanVhostName: [vhost],
          cn: [fqdn],
          uid: [fqdn],
          uidNumber: [String(ids.next('uid'))],
          gidNumber: [gidNumber],
          ispmanDomain: [domain],
          homeDirectory: [`${first(domainEntry, 'homeDirectory')}/vhosts/${vhost}`],
          userPassword: [req.password ?? randomPassword()],
          loginShell: [p.settings.loginShell],
          // pure-ftpd-ldap lets in only FTPStatus enabled (or TRUE); ISPMan's template default 'active' locks the
          // account out (test/interop/ftp-login.test.ts), so the value its web form sends is written.
          FTPStatus: ['enabled'],
          ispmanStatus: ['active'],
          ispmanVhostStats: ['enable'],
          // ISPMan defaultVhostFtpQuota
          FTPQuotaMBytes: ['10'],
          ispmanVhostDocumentRoot: ['htdocs'],
          ispmanVhostScriptDir: ['cgi-bin'],
          ispmanVhostIpAddress: ['*'],
          ...(webHost ? { webHost: [webHost] } : {}),
        },
      },
    ];
    if (withZone) writes.push(...recordWrites(names, [{ owner: host, type: 'A', value: address }], { tXTRecord: [marker(host, domain)] }));
    return { writes, result: undefined };
  });
  return { dn: names.vhostDn(vhost), fqdn, address, record: withZone };
}

export async function deleteVhost(p: Provisioner, domainText: string, name: string): Promise<{ dn: string; name: string; records: number }> {
  const domainEntry = requireDomain(p, domainText);
  const domain = first(domainEntry, 'ispmanDomain')!.toLowerCase();
  const vhost = normalizeVhostName(name);
  const names = new DomainNames(p.base, domain);
  const dn = names.vhostDn(vhost);
  if (!p.get(dn)) throw new ProvisionError(`virtual host ${vhost}.${domain} does not exist`);
  const host = vhost.split(':')[0];
  return p.transaction(() => {
    const below = p.find(dn, 'sub', '(objectClass=*)', ['1.1']).map((e) => e.dn).reverse();
    const records = p.find(names.zoneDn, 'sub', `(&(objectClass=dNSZone)(tXTRecord=${escapeFilterValue(marker(host, domain))}))`, ['1.1']);
    const writes: BatchWrite[] = below.map((d) => ({ op: 'delete', dn: d }) as BatchWrite);
    for (const r of records) {
      writes.push({ op: 'delete', dn: r.dn });
      // ISPMan removes the <type>=<value> branch once its last record is gone.
      const branch = r.dn.slice(r.dn.indexOf(',') + 1);
      const siblings = p.find(branch, 'one', '(objectClass=*)', ['1.1']).filter((s) => !records.some((x) => x.dn === s.dn));
      if (siblings.length === 0) writes.push({ op: 'delete', dn: branch });
    }
    return { writes, result: { dn, name: `${host}.${domain}`, records: records.length } };
  });
}
