// `ispd vhost add|del`: a domain's virtual hosts (ispmanVirtualHost) with their A record.

import { addVhost, deleteVhost } from '../provision';
import { passwordFrom } from './domain';
import { helpRequested, withProvisioner } from './provision-session';
import { UsageError } from './usage';

const USAGE = `usage: ispd vhost add DOMAIN NAME [--address IPV4] [--password PW | --password-file FILE]
       ispd vhost del DOMAIN NAME            e.g. ispd vhost add example.com shop`;

const A = 1;

export async function runVhost(argv: string[]): Promise<number> {
  if (helpRequested(argv, USAGE)) return 0;
  return withProvisioner(argv, { '--address': 'string', '--password': 'string', '--password-file': 'string' }, async ({ p, cl, out, flag, served }) => {
    const [sub, domain, name, ...rest] = cl.positionals;
    if ((sub !== 'add' && sub !== 'del') || !domain || !name || rest.length) throw new UsageError('expected: vhost add|del DOMAIN NAME');
    if (sub === 'add') {
      const r = await addVhost(p, { domain, name, address: flag('--address'), password: passwordFrom(flag) });
      out.write(`virtual host ${r.fqdn} added${r.record ? ` (A ${r.address})` : ''}\n`);
      if (r.record) await served(r.fqdn.split(':')[0], A, (a) => a.values.includes(r.address), `${r.fqdn.split(':')[0]} A ${r.address}`);
    } else {
      const r = await deleteVhost(p, domain, name);
      out.write(`virtual host ${name}.${domain} deleted (${r.records} DNS record${r.records === 1 ? '' : 's'})\n`);
      if (r.records) await served(r.name, A, (a) => a.values.length === 0, `no A for ${r.name}`);
    }
    return 0;
  });
}
