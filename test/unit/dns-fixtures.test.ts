// Fixtures for the DNS tests: the article's 4unet.net dnsdata entries exactly as printed, an ISPMan 1.4
// dNSZone zone, and a PowerDNS dNSDomain2 zone; plus a minimal LDIF reader for them (plain values, folded
// lines, no base64) until the store's LDIF parser is available to tests.

import assert from 'node:assert/strict';
import type { Entry } from '../../src/directory/types';

export function readLdif(text: string): Entry[] {
  const entries: Entry[] = [];
  const unfolded = text.replace(/\r?\n /g, '');
  for (const block of unfolded.split(/\n\s*\n/)) {
    let dn = '';
    const attributes: Record<string, string[]> = {};
    for (const line of block.split('\n')) {
      if (!line.trim() || line.startsWith('#')) continue;
      const m = line.match(/^([A-Za-z0-9;.-]+):\s?(.*)$/);
      if (!m) throw new Error(`bad LDIF line: ${line}`);
      const [, name, value] = m;
      if (name.toLowerCase() === 'dn') dn = value.trim();
      else (attributes[name] ??= []).push(value.trimEnd());
    }
    if (dn) entries.push({ dn, attributes });
  }
  return entries;
}

/** The article's DNS data for 4unet.net, as printed (attribute order and spacing included). */
export const ARTICLE_LDIF = `dn: ou=dnsdata, domain=4unet.net, o=ispman
domain: 4unet.net
ou: dnsdata
objectclass: top
objectclass: domainrelatedobject
objectclass: posixAccount
uid: 4unet.net
uidNumber: 2000
gidNumber: 1000
homeDirectory: /home/4unet.net
userPassword: {crypt}XXffGGHH
loginShell: /bin/true

dn: cn=soarecords, ou=dnsdata, domain=4unet.net, o=ispman
cn: soarecords
primary: ns1.4unet.net
ou: dnsdata
retry: 1800
rootmail: dnsmaster.4unet.net
domain: 4unet.net
minimum: 432000
objectclass: top
objectclass: domainRelatedObject
expire: 1209600
refresh: 21600

dn: cn=nsrecords, ou=dnsdata, domain=4unet.net, o=ispman
domain: 4unet.net
cn: nsrecords
ou: dnsdata
objectclass: top
objectclass: domainRelatedObject
record: @,ns1.4unet.net
record: @,ns2.4unet.net

dn: cn=mxrecords, ou=dnsdata, domain=4unet.net, o=ispman
domain: 4unet.net
cn: mxrecords
ou: dnsdata
objectclass: top
objectclass: domainRelatedObject
record: @,10, mx1.4unet.net
record: @,100, mx2.4unet.net

dn: cn=arecords, ou=dnsdata, domain=4unet.net, o=ispman
objectclass: top
objectclass: domainRelatedObject
domain: 4unet.net
cn: arecords
ou: dnsdata
record: ns1, 193.247.80.43
record: ns2, 193.247.80.44
record: @,193.247.80.43
record: @,193.247.80.44

dn: cn=cnames, ou=dnsdata, domain=4unet.net, o=ispman
objectclass: top
objectclass: domainRelatedObject
domain: 4unet.net
cn: cnames
ou: dnsdata
record: ftp, www
record: mail, www
record: *, www
`;

/** An ISPMan 1.4 zone as DNSMan writes it (DN shapes per ispman-model.md §6), with every record type. */
export const ISPMAN_LDIF = `dn: relativeDomainName=@,sOARecord=ns1.isp.net. dnsmaster.example.com. 2009010101 3H 30M 1W 1D,ou=sOARecord,dc=example,dc=com,ou=DNS,o=ispman
objectClass: top
objectClass: dNSZone
relativeDomainName: @
zoneName: example.com
sOARecord: ns1.isp.net. dnsmaster.example.com. 2009010101 3H 30M 1W 1D

dn: relativeDomainName=@,nsRecord=ns1.isp.net.,ou=nsRecord,dc=example,dc=com,ou=DNS,o=ispman
objectClass: top
objectClass: dnsZone
relativeDomainName: @
zoneName: example.com
nSRecord: ns1.isp.net.

dn: relativeDomainName=@,nsRecord=ns2.example.com,ou=nsRecord,dc=example,dc=com,ou=DNS,o=ispman
objectClass: top
objectClass: dnsZone
relativeDomainName: @
zoneName: example.com
nSRecord: ns2.example.com

dn: relativeDomainName=ns2,aRecord=192.0.2.53,ou=aRecord,dc=example,dc=com,ou=DNS,o=ispman
objectClass: dnsZone
relativeDomainName: ns2
zoneName: example.com
aRecord: 192.0.2.53

dn: relativeDomainName=@,mXRecord=10 mx1.example.com.,ou=mXRecord,dc=example,dc=com,ou=DNS,o=ispman
objectClass: top
objectClass: dnsZone
relativeDomainName: @
zoneName: example.com
mXRecord: 10 mx1.example.com.

dn: relativeDomainName=@,mXRecord=20 mx2.isp.net,ou=mXRecord,dc=example,dc=com,ou=DNS,o=ispman
objectClass: top
objectClass: dnsZone
relativeDomainName: @
zoneName: example.com
mXRecord: 20 mx2.isp.net

dn: relativeDomainName=mx1,aRecord=192.0.2.25,ou=aRecord,dc=example,dc=com,ou=DNS,o=ispman
objectClass: top
objectClass: dnsZone
relativeDomainName: mx1
zoneName: example.com
aRecord: 192.0.2.25
pTRRecord: 192.0.2.25

dn: relativeDomainName=www,aRecord=192.0.2.10,ou=aRecord,dc=example,dc=com,ou=DNS,o=ispman
objectClass: top
objectClass: dnsZone
relativeDomainName: www
zoneName: example.com
aRecord: 192.0.2.10
pTRRecord: 192.0.2.10

dn: relativeDomainName=@,aRecord=192.0.2.10,ou=aRecord,dc=example,dc=com,ou=DNS,o=ispman
objectClass: top
objectClass: dnsZone
relativeDomainName: @
zoneName: example.com
aRecord: 192.0.2.10

dn: relativeDomainName=www,aAAARecord=2001:db8::10,ou=aAAARecord,dc=example,dc=com,ou=DNS,o=ispman
objectClass: top
objectClass: dnsZone
relativeDomainName: www
zoneName: example.com
aAAARecord: 2001:DB8:0:0::10

dn: relativeDomainName=webmail,cNAMERecord=www,ou=cNAMERecord,dc=example,dc=com,ou=DNS,o=ispman
objectClass: top
objectClass: dnsZone
relativeDomainName: webmail
zoneName: example.com
cNAMERecord: www

dn: relativeDomainName=loop1,cNAMERecord=loop2,ou=cNAMERecord,dc=example,dc=com,ou=DNS,o=ispman
objectClass: dnsZone
relativeDomainName: loop1
zoneName: example.com
cNAMERecord: loop2

dn: relativeDomainName=loop2,cNAMERecord=loop1,ou=cNAMERecord,dc=example,dc=com,ou=DNS,o=ispman
objectClass: dnsZone
relativeDomainName: loop2
zoneName: example.com
cNAMERecord: loop1

dn: relativeDomainName=out,cNAMERecord=www.example.org.,ou=cNAMERecord,dc=example,dc=com,ou=DNS,o=ispman
objectClass: dnsZone
relativeDomainName: out
zoneName: example.com
cNAMERecord: www.example.org.

dn: relativeDomainName=@,tXTRecord=v=spf1 mx -all,ou=tXTRecord,dc=example,dc=com,ou=DNS,o=ispman
objectClass: top
objectClass: dnsZone
relativeDomainName: @
zoneName: example.com
tXTRecord: v=spf1 mx -all

dn: relativeDomainName=_sip._tcp,sRVRecord=10 60 5060 sip.example.com.,ou=sRVRecord,dc=example,dc=com,ou=DNS,o=ispman
objectClass: dnsZone
relativeDomainName: _sip._tcp
zoneName: example.com
sRVRecord: 10 60 5060 sip.example.com.

dn: relativeDomainName=sip,aRecord=192.0.2.60,ou=aRecord,dc=example,dc=com,ou=DNS,o=ispman
objectClass: dnsZone
relativeDomainName: sip
zoneName: example.com
aRecord: 192.0.2.60
dNSTTL: 300

dn: relativeDomainName=@,cAARecord=0 issue letsencrypt.org,ou=cAARecord,dc=example,dc=com,ou=DNS,o=ispman
objectClass: dnsZone
relativeDomainName: @
zoneName: example.com
cAARecord: 0 issue "letsencrypt.org"

dn: relativeDomainName=*.dyn,aRecord=192.0.2.99,ou=aRecord,dc=example,dc=com,ou=DNS,o=ispman
objectClass: dnsZone
relativeDomainName: *.dyn
zoneName: example.com
aRecord: 192.0.2.99

dn: relativeDomainName=host.deep.ent,aRecord=192.0.2.77,ou=aRecord,dc=example,dc=com,ou=DNS,o=ispman
objectClass: dnsZone
relativeDomainName: host.deep.ent
zoneName: example.com
aRecord: 192.0.2.77

dn: relativeDomainName=sub,nsRecord=ns.sub.example.com.,ou=nsRecord,dc=example,dc=com,ou=DNS,o=ispman
objectClass: dnsZone
relativeDomainName: sub
zoneName: example.com
nSRecord: ns.sub.example.com.

dn: relativeDomainName=ns.sub,aRecord=192.0.2.200,ou=aRecord,dc=example,dc=com,ou=DNS,o=ispman
objectClass: dnsZone
relativeDomainName: ns.sub
zoneName: example.com
aRecord: 192.0.2.200
`;

/** PowerDNS LDAP backend layout (dnsdomain2.schema), names absolute without trailing dot. */
export const POWERDNS_LDIF = `dn: dc=pdns,dc=test,ou=hosts,o=ispman
objectClass: top
objectClass: dcObject
objectClass: dNSDomain2
dc: pdns
associatedDomain: pdns.test
sOARecord: ns1.pdns.test hostmaster.pdns.test 7 10800 3600 604800 3600
nSRecord: ns1.pdns.test
mXRecord: 10 mail.pdns.test

dn: dc=ns1,dc=pdns,dc=test,ou=hosts,o=ispman
objectClass: top
objectClass: dNSDomain2
dc: ns1
associatedDomain: ns1.pdns.test
aRecord: 198.51.100.1

dn: dc=mail,dc=pdns,dc=test,ou=hosts,o=ispman
objectClass: top
objectClass: dNSDomain2
dc: mail
associatedDomain: mail.pdns.test
aRecord: 198.51.100.25
aAAARecord: 2001:db8:25::1
cNAMERecord: x.invalid

dn: dc=alias,dc=pdns,dc=test,ou=hosts,o=ispman
objectClass: top
objectClass: dNSDomain2
dc: alias
associatedDomain: alias.pdns.test
cNAMERecord: mail.pdns.test
`;

export function allFixtureEntries(): Entry[] {
  return [...readLdif(ARTICLE_LDIF), ...readLdif(ISPMAN_LDIF), ...readLdif(POWERDNS_LDIF)];
}

describe('dns fixtures', () => {
  it('read as LDIF', () => {
    assert.equal(readLdif(ARTICLE_LDIF).length, 6);
    assert.ok(readLdif(ISPMAN_LDIF).length > 15);
    assert.equal(readLdif(POWERDNS_LDIF).length, 4);
  });
});
