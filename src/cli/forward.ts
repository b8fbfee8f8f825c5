// `ispd forward add|del`: where a user's mail is also sent (mailForwardingAddress, and maildrop for the
// article's maps).

import { addForwards, deleteForwards } from '../provision';
import { helpRequested, withProvisioner } from './provision-session';
import { UsageError } from './usage';

const USAGE = `usage: ispd forward add USER TARGET [TARGET…]   e.g. ispd forward add bob@example.com bob@elsewhere.org
       ispd forward del USER TARGET [TARGET…]`;

export async function runForward(argv: string[]): Promise<number> {
  if (helpRequested(argv, USAGE)) return 0;
  return withProvisioner(argv, {}, async ({ p, cl, out }) => {
    const [sub, user, ...targets] = cl.positionals;
    if ((sub !== 'add' && sub !== 'del') || !user || targets.length === 0) throw new UsageError('expected: forward add|del USER TARGET [TARGET…]');
    if (sub === 'add') {
      const added = await addForwards(p, user, targets);
      out.write(`${user} now forwards to ${added.join(', ')}\n`);
    } else {
      await deleteForwards(p, user, targets);
      out.write(`${user} no longer forwards to ${targets.join(', ')}\n`);
    }
    return 0;
  });
}
