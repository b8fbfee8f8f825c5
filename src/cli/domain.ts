// `ispd domain add|del|list|show`: hosted domains (src/provision/domains.ts), written to the store as one
// transaction each; with an ispd serving that store, its DNS answers the new zone when the command returns.

import { readFileSync } from 'node:fs';
import { addDomain, deleteDomain, DOMAIN_TYPES, listDomains, ProvisionError, showDomain, type DomainType } from '../provision';
import { first } from '../provision/provisioner';
import { helpRequested, withProvisioner } from './provision-session';
import { UsageError } from './usage';

const USAGE = `usage: ispd domain add DOMAIN [--type primary|slave|replica|nodns] [--mail-delivery local|smtp]
                         [--mailhost HOST] [--webhost HOST|ADDRESS] [--password PW | --password-file FILE]
                         [--masters ADDR,ADDR (slave)] [--master DOMAIN (replica)] [--max-accounts N]
       ispd domain del DOMAIN      (the domain with its users, aliases, vhosts and DNS zone)
       ispd domain list
       ispd domain show DOMAIN`;

const FLAGS = {
  '--type': 'string',
  '--mail-delivery': 'string',
  '--mailhost': 'string',
  '--webhost': 'string',
  '--password': 'string',
  '--password-file': 'string',
  '--masters': 'string',
  '--master': 'string',
  '--max-accounts': 'string',
} as const;

const SOA = 6;

/** A password from --password or the first line of --password-file (keeps it out of `ps`). */
export function passwordFrom(flag: (n: string) => string | undefined): string | undefined {
  const file = flag('--password-file');
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new UsageError(`--password-file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const pw = text.split('\n')[0].replace(/\r$/, '');
    if (!pw) throw new UsageError(`--password-file ${file}: the first line is empty`);
    return pw;
  }
  return flag('--password');
}

export async function runDomain(argv: string[]): Promise<number> {
  if (helpRequested(argv, USAGE)) return 0;
  return withProvisioner(argv, FLAGS, async ({ p, cl, out, flag, list, served }) => {
    const [sub, ...args] = cl.positionals;
    const one = () => {
      if (args.length !== 1) throw new UsageError(`expected: domain ${sub} DOMAIN`);
      return args[0];
    };
    switch (sub) {
      case 'add': {
        const type = (flag('--type') ?? 'primary') as DomainType;
        if (!DOMAIN_TYPES.includes(type)) throw new UsageError(`--type: "${type}" is not one of ${DOMAIN_TYPES.join(', ')}`);
        const max = flag('--max-accounts');
        if (max !== undefined && !/^-?\d+$/.test(max)) throw new UsageError(`--max-accounts: "${max}" is not a number`);
        const r = await addDomain(p, {
          domain: one(),
          type,
          mailDelivery: flag('--mail-delivery') as 'local' | 'smtp' | undefined,
          mailHost: flag('--mailhost'),
          webHost: flag('--webhost'),
          password: passwordFrom(flag),
          masters: list('--masters'),
          master: flag('--master'),
          maxAccounts: max === undefined ? undefined : Number(max),
        });
        const ids = r.uidNumber !== undefined ? `, uidNumber ${r.uidNumber}, gidNumber ${r.gidNumber}` : '';
        const dns = r.serial !== undefined ? `, ${r.records.length} DNS records, serial ${r.serial}` : '';
        out.write(`domain ${r.domain} added (${r.type}${ids}${dns})\n`);
        if (r.password) out.write(`password: ${r.password}\n`);
        if (r.serial !== undefined) await served(r.domain, SOA, (a) => a.rcode === 0 && a.values.some((s) => Number(s) >= r.serial!), `${r.domain} SOA`);
        return 0;
      }
      case 'del': {
        const r = await deleteDomain(p, one());
        out.write(`domain ${r.domain} deleted (${r.entries} entries, ${r.users} users)\n`);
        await served(r.domain, SOA, (a) => a.rcode === 5, `REFUSED for ${r.domain}`);
        return 0;
      }
      case 'list': {
        if (args.length) throw new UsageError('expected: domain list');
        for (const d of listDomains(p)) out.write(`${d.domain}\t${d.type}\t${d.delivery}\t${d.status}\n`);
        return 0;
      }
      case 'show': {
        const d = showDomain(p, one());
        out.write(`dn: ${d.entry.dn}\n`);
        for (const [k, vs] of Object.entries(d.entry.attributes)) for (const v of vs) out.write(`${k}: ${v}\n`);
        out.write(`users: ${d.users.length}${d.users.length ? ' (' + d.users.join(', ') + ')' : ''}\n`);
        out.write(`vhosts: ${d.vhosts.length}${d.vhosts.length ? ' (' + d.vhosts.join(', ') + ')' : ''}\n`);
        for (const r of d.records) out.write(`dns: ${r.owner} ${r.type} ${r.value}\n`);
        if (!first(d.entry, 'ispmanDomain')) throw new ProvisionError('not an ISPMan domain entry');
        return 0;
      }
      default:
        throw new UsageError(`expected: domain add|del|list|show (see ispd domain --help)`);
    }
  });
}
