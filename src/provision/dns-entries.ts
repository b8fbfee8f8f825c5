// DNS records as ISPMan 1.4 stores them (DNSMan newDNSRecord; ispman-model.md §6): one dNSZone entry per
// record, two levels below a per-type branch of the zone,
//
//   relativeDomainName=<owner>,<type>=<value>,ou=<type>,dc=example,dc=com,ou=DNS,o=ispman
//
// with the branches as ispmanBranch entries (shared between records: written only when missing).

import { escapeDNValue } from '../directory/dn';
import type { BatchWrite } from '../directory/types';
import type { RecordSpec, RecordType } from './dns-template';
import { dnsDn, DomainNames } from './names';

/** The cosine/dnszone attribute ISPMan stores each record type in. */
export const RECORD_ATTRIBUTE: Record<RecordType, string> = {
  SOA: 'sOARecord',
  NS: 'nSRecord',
  MX: 'mXRecord',
  A: 'aRecord',
  AAAA: 'aAAARecord',
  CNAME: 'cNAMERecord',
  TXT: 'tXTRecord',
};

/** The SOA value with the serial in third place (the template leaves it out; ispd owns it). */
export function soaWithSerial(value: string, serial: number): string {
  const fields = value.trim().split(/\s+/);
  if (fields.length === 6) fields.splice(2, 0, String(serial));
  else if (fields.length === 7) fields[2] = String(serial);
  else throw new Error(`SOA "${value}" is not "primary hostmaster [serial] refresh retry expire minimum"`);
  return fields.join(' ');
}

/** The branch entries from ou=DNS down to the zone itself, each written only when missing. */
export function zoneBranchWrites(names: DomainNames): BatchWrite[] {
  const out: BatchWrite[] = [{ op: 'add', dn: dnsDn(names.base), attributes: { objectClass: ['ispmanBranch'], ou: ['DNS'] }, ifMissing: true }];
  const labels = names.domain.split('.');
  for (let i = labels.length - 1; i >= 0; i--) {
    const dn = labels.slice(i).map((l) => `dc=${escapeDNValue(l)}`).join(',') + `,${dnsDn(names.base)}`;
    out.push({ op: 'add', dn, attributes: { objectClass: ['ispmanBranch'], dc: [labels[i]] }, ifMissing: true });
  }
  return out;
}

/** The DN of one record's entry. */
export function recordDn(names: DomainNames, r: RecordSpec): string {
  const attr = RECORD_ATTRIBUTE[r.type];
  return `relativeDomainName=${escapeDNValue(r.owner)},${attr}=${escapeDNValue(r.value)},ou=${attr},${names.zoneDn}`;
}

/**
 * The writes for records of a zone whose branch exists or is written before them. `extra` adds attributes
 * to each record entry (the vhost marker tXTRecord: ispmanVirtualHost:<vhost>). An identical record already
 * there is left alone, as ISPMan's newDNSRecord skips a duplicate DN.
 */
export function recordWrites(names: DomainNames, records: RecordSpec[], extra: Record<string, string[]> = {}): BatchWrite[] {
  const out: BatchWrite[] = [];
  const seen = new Set<string>();
  const once = (w: BatchWrite) => {
    const key = w.dn.toLowerCase();
    if (seen.has(key)) return;
    seen.add(key);
    out.push(w);
  };
  for (const r of records) {
    const attr = RECORD_ATTRIBUTE[r.type];
    const typeBranch = `ou=${attr},${names.zoneDn}`;
    const valueBranch = `${attr}=${escapeDNValue(r.value)},${typeBranch}`;
    once({ op: 'add', dn: typeBranch, attributes: { objectClass: ['ispmanBranch'], ou: [attr] }, ifMissing: true });
    once({ op: 'add', dn: valueBranch, attributes: { objectClass: ['ispmanBranch'], [attr]: [r.value] }, ifMissing: true });
    once({
      op: 'add',
      dn: recordDn(names, r),
      attributes: { objectClass: ['top', 'dNSZone'], relativeDomainName: [r.owner], zoneName: [names.domain], [attr]: [r.value], ...extra },
      ifMissing: true,
    });
  }
  return out;
}
