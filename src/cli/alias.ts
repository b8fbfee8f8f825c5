// `ispd alias add|del`: extra addresses of a user (mailAlias, and mailacceptinggeneralid for the article's
// maps); an address is unique across the whole tree.

import { addAliases, deleteAlias } from '../provision';
import { helpRequested, withProvisioner } from './provision-session';
import { UsageError } from './usage';

const USAGE = `usage: ispd alias add USER ALIAS [ALIAS…]    e.g. ispd alias add bob@example.com info@example.com
       ispd alias del ALIAS`;

export async function runAlias(argv: string[]): Promise<number> {
  if (helpRequested(argv, USAGE)) return 0;
  return withProvisioner(argv, {}, async ({ p, cl, out }) => {
    const [sub, ...args] = cl.positionals;
    if (sub === 'add') {
      if (args.length < 2) throw new UsageError('expected: alias add USER ALIAS [ALIAS…]');
      const added = await addAliases(p, args[0], args.slice(1));
      out.write(`${added.join(', ')} now deliver${added.length === 1 ? 's' : ''} to ${args[0]}\n`);
      return 0;
    }
    if (sub === 'del') {
      if (args.length !== 1) throw new UsageError('expected: alias del ALIAS');
      await deleteAlias(p, args[0]);
      out.write(`alias ${args[0]} deleted\n`);
      return 0;
    }
    throw new UsageError('expected: alias add|del (see ispd alias --help)');
  });
}
